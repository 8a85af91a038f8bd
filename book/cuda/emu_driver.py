"""The emulator's driver API (``pycuda.driver``'s names): errors, options, device memory, copies, devices.

Device memory is shared memory with guard pages (see :class:`_Region`), visible to the forked child that
runs a launch (``emu_launch``). The exception classes follow PyCUDA's (``pycuda._driver``): ``Error`` is the
base; ``MemoryError``, ``LogicError``, ``LaunchError`` and ``RuntimeError`` derive from it.
"""

from __future__ import annotations

import builtins
import ctypes
import mmap
import os
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

PAGE = mmap.PAGESIZE
POISON = 0xFF  # uninitialised device memory: NaN as float, -1 as int


class Error(builtins.RuntimeError):
    """Base of the driver's errors, as ``pycuda.driver.Error`` (also a Python ``RuntimeError``)."""


class LogicError(Error):
    """Where PyCUDA raises ``pycuda.driver.LogicError``: an invalid launch configuration, an invalid pointer
    or value, an unknown symbol. PyCUDA also raises it for a kernel's illegal or misaligned address and a
    device-side assert (CUDA errors 700, 716, 710 are not launch errors in ``translate_cuda_error``)."""


class LaunchError(LogicError):
    """A kernel failed while running: a fault, a deadlock, an assert, a watchdog timeout.

    PyCUDA raises ``LaunchError`` for an unspecified launch failure or a timeout and ``LogicError`` for an
    illegal address; this class derives from both names, so either ``except`` clause of PyCUDA code
    catches it.
    """


class SanitizerError(LaunchError):
    """The sanitizer found a bug: memcheck, racecheck, initcheck or synccheck (the message says which)."""


class MemoryError(Error, builtins.MemoryError):  # noqa: A001  (PyCUDA's name)
    """An allocation that cannot be satisfied, as ``pycuda.driver.MemoryError`` (also a ``MemoryError``)."""


class RuntimeError(Error):  # noqa: A001  (PyCUDA's name)
    """As ``pycuda.driver.RuntimeError`` (no device, no binary for the GPU); the emulator never raises it."""


class CompileError(Error):
    """g++ rejected the kernel source (the message is the compiler's), as ``pycuda.driver.CompileError``."""

    def __init__(
        self, msg: str, command_line: Any = None, stdout: str | None = None, stderr: str | None = None
    ):
        super().__init__(msg)
        self.msg, self.command_line, self.stdout, self.stderr = msg, command_line, stdout, stderr


class PyCudaCompatWarning(UserWarning):
    """Code that PyCUDA accepts but that does something surprising on a GPU (chapter 03)."""


# ----------------------------------------------------------------------------- options
@dataclass
class Options:
    """Settings of the emulator (chapter 03): see :func:`configure`."""

    # on unless BOOK_CUDA_SANITIZE=0: a teaching tool catches bugs by default
    sanitize: bool = os.environ.get("BOOK_CUDA_SANITIZE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )
    watchdog_s: float = float(os.environ.get("BOOK_CUDA_WATCHDOG", "30"))
    stack_kib: int = 512
    preempt_ms: int = 20
    seed: int = 0


OPTIONS = Options()


def configure(**kwargs) -> Options:
    """Change the emulator's options (chapter 03): ``sanitize``, ``watchdog_s``, ``stack_kib``, ``seed``."""
    for k, v in kwargs.items():
        if not hasattr(OPTIONS, k):
            raise TypeError(f"unknown option {k!r}; options: {', '.join(vars(OPTIONS))}")
        setattr(OPTIONS, k, type(getattr(OPTIONS, k))(v))
    return OPTIONS


# ----------------------------------------------------------------------------- device memory
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_LIVE: weakref.WeakValueDictionary[int, _Region] = weakref.WeakValueDictionary()
_FREED: list[tuple[int, int, str]] = []  # (address, bytes, name) of recently freed buffers


def freed_buffer_at(ptr: int) -> str | None:
    """The name of a freed buffer that held ``ptr`` (a use after free), or None."""
    for start, nbytes, name in reversed(_FREED):
        if start <= ptr < start + max(nbytes, 1) and not any(
            s <= ptr < s + r.nbytes for s, r in list(_LIVE.items())
        ):
            return name
    return None


class _Region:
    """Shared memory (visible to the launch's child process) with guard pages on both sides.

    The data ends exactly at a guard page (its start is 4-aligned, or better when the size allows),
    so that an overrun faults at once; an init shadow (one byte per byte) records what was written.
    """

    def __init__(self, nbytes: int, init: bool):
        nbytes = int(nbytes)
        if nbytes < 0:
            raise ValueError(f"cannot allocate {nbytes} bytes")
        self.nbytes = nbytes
        span = max(nbytes + 3 & ~3, 4)
        data_pages = (span + PAGE - 1) // PAGE
        try:
            self._mm = mmap.mmap(-1, (data_pages + 2) * PAGE)
            self._shadow = mmap.mmap(-1, max(nbytes, 1))
        except (
            OSError,
            OverflowError,
            builtins.MemoryError,
        ) as exc:  # ENOMEM, or more than the address space
            raise MemoryError(
                f"cuMemAlloc failed: out of memory ({nbytes} bytes requested; the emulator's device memory is "
                "the host's)"
            ) from exc
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._mm))
        _libc.mprotect(base, PAGE, 0)
        _libc.mprotect(base + (data_pages + 1) * PAGE, PAGE, 0)
        self.ptr = base + (data_pages + 1) * PAGE - span
        self.span = span
        self.shadow_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._shadow))
        if init:
            ctypes.memset(self.ptr, 0, span)
            ctypes.memset(self.shadow_ptr, 1, nbytes)
        else:
            ctypes.memset(self.ptr, POISON, span)
        self.name = f"a mem_alloc buffer of {nbytes} bytes"
        _LIVE[self.ptr] = self

    def view(self) -> np.ndarray:
        """The bytes as a NumPy array (no copy)."""
        return np.ctypeslib.as_array((ctypes.c_uint8 * self.nbytes).from_address(self.ptr))

    def mark_init(self, offset: int = 0, nbytes: int | None = None) -> None:
        """Record bytes as written (by a copy, a memset or a non-sanitized launch)."""
        n = self.nbytes - offset if nbytes is None else nbytes
        if getattr(self, "_all_init", False):
            return
        if offset == 0 and n >= self.nbytes:  # all of it (after every fast launch): the shadow is
            self._all_init = True  # written only when a sanitizer launch reads it (sync_shadow)
            return
        ctypes.memset(self.shadow_ptr + offset, 1, max(0, min(n, self.nbytes - offset)))

    def sync_shadow(self) -> None:
        """Write a pending "all initialised" into the shadow (before a sanitizer launch or a shadow copy)."""
        if getattr(self, "_all_init", False) and not getattr(self, "_shadow_synced", False):
            ctypes.memset(self.shadow_ptr, 1, self.nbytes)
            self._shadow_synced = True

    def free(self) -> None:
        """Release the memory (a later access through a stale pointer faults, and says the buffer was freed)."""
        if getattr(self, "_mm", None) is not None:
            _LIVE.pop(self.ptr, None)
            _FREED.append((self.ptr, self.nbytes, self.name))
            del _FREED[:-64]  # the last 64 frees are enough to name a stale pointer
            self._mm = None  # the mapping goes when the last exported pointer does
            self.ptr = 0


class DeviceAllocation(_Region):
    """Emulated device memory: ``int(alloc)`` is its address, as in PyCUDA; starts uninitialised (chapter 03)."""

    def __init__(self, nbytes: int):
        super().__init__(nbytes, init=False)

    def __int__(self) -> int:
        return self.ptr

    def __index__(self) -> int:
        return self.ptr

    def __repr__(self) -> str:
        return f"<emulated DeviceAllocation of {self.nbytes} bytes>"


def _region_of(ptr: int, nbytes: int = 1) -> tuple[_Region, int]:
    for start, r in list(_LIVE.items()):
        if start <= ptr and ptr + nbytes <= start + r.nbytes:
            return r, ptr - start
    freed = freed_buffer_at(ptr)
    if freed is not None:
        raise LogicError(
            f"invalid device pointer 0x{ptr:x}: it points into {freed}, which was freed (a use after free; "
            "on a GPU: cuMemcpy failed: invalid argument)"
        )
    for start, r in list(_LIVE.items()):
        if start <= ptr < start + r.nbytes:
            raise LogicError(
                f"invalid device pointer 0x{ptr:x} for {nbytes} bytes: the copy runs "
                f"{ptr + nbytes - start - r.nbytes} bytes past the end of {r.name}"
            )
    raise LogicError(
        f"invalid device pointer 0x{ptr:x} for {nbytes} bytes: not inside a live mem_alloc buffer"
    )


def _host_bytes(a: np.ndarray, what: str, writable: bool = False) -> np.ndarray:
    """The raw bytes of ``a`` in memory order, as PyCUDA's buffer interface sees them."""
    a = np.asarray(a)
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        raise ValueError(
            f"{what}: ndarray is not contiguous (PyCUDA raises here too: it copies raw bytes and "
            "needs one block of memory; pass np.ascontiguousarray(a))"
        )
    if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous:
        warnings.warn(
            f"{what}: a Fortran-ordered (column-major) array; PyCUDA copies its raw bytes, so the "
            "kernel sees it transposed compared with C order (use np.ascontiguousarray)",
            PyCudaCompatWarning,
            stacklevel=4,
        )
    if writable and not a.flags.writeable:
        raise ValueError(f"{what}: the destination array is read-only")
    return a.reshape(-1, order="A").view(np.uint8) if a.size else np.zeros(0, np.uint8)


def mem_alloc(nbytes: int) -> DeviceAllocation:
    """Uninitialised device memory (poisoned with 0xFF bytes), as ``pycuda.driver.mem_alloc`` (chapter 03)."""
    return DeviceAllocation(nbytes)


def mem_alloc_like(a: np.ndarray) -> DeviceAllocation:
    """Device memory of ``a.nbytes`` bytes (chapter 03)."""
    return mem_alloc(a.nbytes)


def _dev(dest) -> int:
    return int(dest.gpudata) if hasattr(dest, "gpudata") else int(dest)


def memcpy_htod(dest: Any, src: np.ndarray) -> None:
    """Host to device: the raw bytes of ``src`` (chapter 03)."""
    b = _host_bytes(src, "memcpy_htod")
    region, off = _region_of(_dev(dest), max(b.size, 1))
    ctypes.memmove(region.ptr + off, b.ctypes.data, b.size)
    region.mark_init(off, b.size)


def memcpy_dtoh(dest: np.ndarray, src: Any) -> None:
    """Device to host: ``dest.nbytes`` bytes (chapter 03)."""
    b = _host_bytes(dest, "memcpy_dtoh", writable=True)
    region, off = _region_of(_dev(src), max(b.size, 1))
    ctypes.memmove(dest.ctypes.data, region.ptr + off, b.size)


def memcpy_dtod(dest: Any, src: Any, size: int) -> None:
    """Device to device, ``size`` bytes (chapter 03)."""
    rd, od = _region_of(_dev(dest), max(size, 1))
    rs, os_ = _region_of(_dev(src), max(size, 1))
    ctypes.memmove(rd.ptr + od, rs.ptr + os_, size)
    if getattr(rs, "_all_init", False):
        rd.mark_init(od, size)
    elif not getattr(rd, "_all_init", False):
        ctypes.memmove(rd.shadow_ptr + od, rs.shadow_ptr + os_, size)
    else:
        rd.sync_shadow()
        ctypes.memmove(rd.shadow_ptr + od, rs.shadow_ptr + os_, size)
        rd._all_init = rd._shadow_synced = False


def _memset(dest, value: int, count: int, dtype) -> None:
    region, off = _region_of(_dev(dest), max(count * np.dtype(dtype).itemsize, 1))
    arr = np.ctypeslib.as_array(
        (ctypes.c_uint8 * (count * np.dtype(dtype).itemsize)).from_address(region.ptr + off)
    )
    arr.view(dtype)[:] = value
    region.mark_init(off, arr.size)


def memset_d8(dest: Any, value: int, count: int) -> None:
    """Set ``count`` bytes (chapter 03)."""
    _memset(dest, value, count, np.uint8)


def memset_d16(dest: Any, value: int, count: int) -> None:
    """Set ``count`` 16-bit words (chapter 03)."""
    _memset(dest, value, count, np.uint16)


def memset_d32(dest: Any, value: int, count: int) -> None:
    """Set ``count`` 32-bit words (chapter 03)."""
    _memset(dest, value, count, np.uint32)


def memcpy_htod_async(dest: Any, src: Any, stream: Any = None) -> None:
    """As :func:`memcpy_htod` (the emulator runs every stream synchronously) (chapter 03)."""
    memcpy_htod(dest, src)


def memcpy_dtoh_async(dest: Any, src: Any, stream: Any = None) -> None:
    """As :func:`memcpy_dtoh` (chapter 03)."""
    memcpy_dtoh(dest, src)


def memcpy_dtod_async(dest: Any, src: Any, size: Any, stream: Any = None) -> None:
    """As :func:`memcpy_dtod` (chapter 03)."""
    memcpy_dtod(dest, src, size)


def memset_d8_async(dest: Any, value: Any, count: Any, stream: Any = None) -> None:
    """As :func:`memset_d8` (chapter 03)."""
    memset_d8(dest, value, count)


def memset_d32_async(dest: Any, value: Any, count: Any, stream: Any = None) -> None:
    """As :func:`memset_d32` (chapter 03)."""
    memset_d32(dest, value, count)


def to_device(a: np.ndarray) -> DeviceAllocation:
    """A new allocation holding a copy of ``a`` (chapter 03)."""
    d = mem_alloc(max(np.asarray(a).nbytes, 1))
    memcpy_htod(d, a)
    return d


def from_device(src: Any, shape: Any, dtype: Any, order: str = "C") -> np.ndarray:
    """A new host array copied from device memory (chapter 03)."""
    out = np.empty(shape, dtype, order=order)
    memcpy_dtoh(out, src)
    return out


def from_device_like(src: Any, like: np.ndarray) -> np.ndarray:
    """A new host array shaped like ``like`` (chapter 03)."""
    return from_device(src, like.shape, like.dtype)


def pagelocked_empty(shape: Any, dtype: Any, order: str = "C", mem_flags: int = 0) -> np.ndarray:
    """Host memory (page-locked on a GPU; ordinary memory here) (chapter 03)."""
    return np.empty(shape, dtype, order=order)


def pagelocked_zeros(shape: Any, dtype: Any, order: str = "C", mem_flags: int = 0) -> np.ndarray:
    """Zeroed host memory (chapter 03)."""
    return np.zeros(shape, dtype, order=order)


def pagelocked_empty_like(a: Any, mem_flags: int = 0) -> np.ndarray:
    """Host memory shaped like ``a`` (chapter 03)."""
    return np.empty_like(a)


def pagelocked_zeros_like(a: Any, mem_flags: int = 0) -> np.ndarray:
    """Zeroed host memory shaped like ``a`` (chapter 03)."""
    return np.zeros_like(a)


def mem_get_info() -> tuple[int, int]:
    """(free, total) bytes: the host's memory (chapter 03)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total // 2, total


class _ArgWrapper:
    def __init__(self, array):
        self.array = array


class In(_ArgWrapper):
    """Copied to the device before the launch (never back) (chapter 03)."""


class Out(_ArgWrapper):
    """Copied back to the host after the launch (device memory starts uninitialised) (chapter 03)."""


class InOut(_ArgWrapper):
    """Copied in before and back after the launch (chapter 03)."""


class Stream:
    """A CUDA stream; the emulator runs everything synchronously, in order (chapter 03)."""

    def __init__(self, flags: int = 0):
        self.handle = 0

    def synchronize(self) -> None:
        """Nothing to wait for."""

    def is_done(self) -> bool:
        """Always true."""
        return True


class Event:
    """``record()``, ``synchronize()``, ``time_till(other)`` in ms.  On the emulator: CPU wall time (chapter 03)."""

    def __init__(self, flags: int = 0):
        self.t = None

    def record(self, stream=None) -> Event:
        """Record the current time."""
        self.t = time.perf_counter()
        return self

    def synchronize(self) -> Event:
        """Nothing to wait for."""
        return self

    def query(self) -> bool:
        """Always done."""
        return True

    def time_till(self, other: Event) -> float:
        """Milliseconds from this event to ``other``."""
        return (other.t - self.t) * 1e3

    def time_since(self, other: Event) -> float:
        """Milliseconds from ``other`` to this event."""
        return (self.t - other.t) * 1e3


class device_attribute:  # noqa: N801  (PyCUDA's name)
    """The attributes PyCUDA's examples query, with sm_70-like values (chapter 03)."""

    MAX_THREADS_PER_BLOCK = "MAX_THREADS_PER_BLOCK"
    MAX_BLOCK_DIM_X = "MAX_BLOCK_DIM_X"
    MAX_BLOCK_DIM_Y = "MAX_BLOCK_DIM_Y"
    MAX_BLOCK_DIM_Z = "MAX_BLOCK_DIM_Z"
    MAX_GRID_DIM_X = "MAX_GRID_DIM_X"
    MAX_GRID_DIM_Y = "MAX_GRID_DIM_Y"
    MAX_GRID_DIM_Z = "MAX_GRID_DIM_Z"
    MAX_SHARED_MEMORY_PER_BLOCK = "MAX_SHARED_MEMORY_PER_BLOCK"
    WARP_SIZE = "WARP_SIZE"
    MULTIPROCESSOR_COUNT = "MULTIPROCESSOR_COUNT"
    MAX_REGISTERS_PER_BLOCK = "MAX_REGISTERS_PER_BLOCK"
    CLOCK_RATE = "CLOCK_RATE"
    TOTAL_CONSTANT_MEMORY = "TOTAL_CONSTANT_MEMORY"
    MAX_THREADS_PER_MULTIPROCESSOR = "MAX_THREADS_PER_MULTIPROCESSOR"
    COMPUTE_CAPABILITY_MAJOR = "COMPUTE_CAPABILITY_MAJOR"
    COMPUTE_CAPABILITY_MINOR = "COMPUTE_CAPABILITY_MINOR"
    CONCURRENT_KERNELS = "CONCURRENT_KERNELS"
    ASYNC_ENGINE_COUNT = "ASYNC_ENGINE_COUNT"
    UNIFIED_ADDRESSING = "UNIFIED_ADDRESSING"


_ATTRS = {
    "MAX_THREADS_PER_BLOCK": 1024, "MAX_BLOCK_DIM_X": 1024, "MAX_BLOCK_DIM_Y": 1024, "MAX_BLOCK_DIM_Z": 64,
    "MAX_GRID_DIM_X": 2**31 - 1, "MAX_GRID_DIM_Y": 65535, "MAX_GRID_DIM_Z": 65535,
    "MAX_SHARED_MEMORY_PER_BLOCK": 48 * 1024, "WARP_SIZE": 32, "MULTIPROCESSOR_COUNT": 1,
    "MAX_REGISTERS_PER_BLOCK": 65536, "CLOCK_RATE": 1_000_000, "TOTAL_CONSTANT_MEMORY": 65536,
    "MAX_THREADS_PER_MULTIPROCESSOR": 2048, "COMPUTE_CAPABILITY_MAJOR": 7, "COMPUTE_CAPABILITY_MINOR": 0,
    "CONCURRENT_KERNELS": 1, "ASYNC_ENGINE_COUNT": 1, "UNIFIED_ADDRESSING": 1,
}  # fmt: skip


class Context:
    """The current context (one, implicit) (chapter 03)."""

    @staticmethod
    def synchronize() -> None:
        """Every launch has finished when it returns."""

    @staticmethod
    def get_device() -> Device:
        """Device 0."""
        return Device(0)

    def pop(self) -> None:
        """Nothing to pop."""

    def push(self) -> None:
        """Nothing to push."""

    def detach(self) -> None:
        """Nothing to detach."""

    def set_limit(self, limit: Any, value: int) -> None:
        """Record a limit (``limit.PRINTF_FIFO_SIZE``, ...); the emulator has no such limits."""
        _LIMITS[limit] = int(value)

    def get_limit(self, limit: Any) -> int:
        """A limit set with :meth:`set_limit` (or a GPU's usual default)."""
        return _LIMITS.get(limit, 1 << 20)


class limit:  # noqa: N801  (PyCUDA's name)
    """``pycuda.driver.limit`` (chapter 03): names for ``Context.set_limit``."""

    STACK_SIZE, PRINTF_FIFO_SIZE, MALLOC_HEAP_SIZE, DEV_RUNTIME_SYNC_DEPTH = range(4)
    DEV_RUNTIME_PENDING_LAUNCH_COUNT, MAX_L2_FETCH_GRANULARITY = 4, 5


_LIMITS: dict[Any, int] = {}


class Device:
    """The emulated device: reports itself as compute capability 7.0 (Volta semantics) (chapter 03)."""

    def __init__(self, number: int = 0):
        if int(number) != 0:
            raise LogicError(
                f"cuDeviceGet failed: invalid device ordinal {number} (the emulator has one device)"
            )

    @staticmethod
    def count() -> int:
        """One device."""
        return 1

    def name(self) -> str:
        """A name that says what it is."""
        return "CPU emulator (book.cuda.emulator)"

    def compute_capability(self) -> tuple[int, int]:
        """(7, 0): Volta semantics."""
        return (7, 0)

    def total_memory(self) -> int:
        """The host's memory."""
        return mem_get_info()[1]

    def get_attribute(self, attr) -> int:
        """One attribute (see :class:`device_attribute`)."""
        return _ATTRS[str(attr).rsplit(".", 1)[-1]]

    def get_attributes(self) -> dict:
        """All attributes."""
        return dict(_ATTRS)

    def make_context(self, flags: int = 0) -> Context:
        """The (one) context."""
        return Context()

    def retain_primary_context(self) -> Context:
        """The (one) context."""
        return Context()


def init(flags: int = 0) -> None:
    """Nothing to initialise (chapter 03)."""


class _Driver:
    """The names of ``pycuda.driver`` that the emulator provides (``book.cuda.load().driver``)."""

    In, Out, InOut, Event, Stream, Context, Device = In, Out, InOut, Event, Stream, Context, Device
    limit = limit
    DeviceAllocation = DeviceAllocation
    LogicError, LaunchError, SanitizerError = LogicError, LaunchError, SanitizerError
    MemoryError, RuntimeError, CompileError = MemoryError, RuntimeError, CompileError
    device_attribute = device_attribute
    Error = Error
    init = staticmethod(init)
    mem_alloc = staticmethod(mem_alloc)
    mem_get_info = staticmethod(mem_get_info)
    memcpy_htod = staticmethod(memcpy_htod)
    memcpy_dtoh = staticmethod(memcpy_dtoh)
    memcpy_dtod = staticmethod(memcpy_dtod)
    memcpy_htod_async = staticmethod(memcpy_htod_async)
    memcpy_dtoh_async = staticmethod(memcpy_dtoh_async)
    memcpy_dtod_async = staticmethod(memcpy_dtod_async)
    memset_d8 = staticmethod(memset_d8)
    memset_d16 = staticmethod(memset_d16)
    memset_d32 = staticmethod(memset_d32)
    memset_d8_async = staticmethod(memset_d8_async)
    memset_d32_async = staticmethod(memset_d32_async)
    to_device = staticmethod(to_device)
    from_device = staticmethod(from_device)
    from_device_like = staticmethod(from_device_like)
    pagelocked_empty = staticmethod(pagelocked_empty)
    pagelocked_zeros = staticmethod(pagelocked_zeros)
    pagelocked_empty_like = staticmethod(pagelocked_empty_like)
    pagelocked_zeros_like = staticmethod(pagelocked_zeros_like)


driver = _Driver()
