"""A CPU emulator of CUDA with PyCUDA's interface (``SourceModule``, ``driver``), as a teaching sanitizer.

The CUDA C source is compiled with the system ``g++`` together with ``emu_runtime.h``. Chapter 03 uses it.

* **Nothing a kernel does kills Python.** Every launch runs in a forked child process; device memory
  (``mem_alloc``, the staging buffers of ``drv.In/Out/InOut``) is shared memory with guard pages, so
  out-of-bounds writes, wild pointers, ``assert``, integer division by zero, a stack overflow or a hang
  become a :class:`LaunchError` naming the kernel, the block, the thread and the buffer. Ctrl-C and a
  watchdog (``configure(watchdog_s=...)``) stop a stuck launch.
* **Sanitizer mode** (``configure(sanitize=True)`` or ``BOOK_CUDA_SANITIZE=1``): the kernel is compiled
  with GCC's ``-fsanitize=kernel-address`` hooks: bounds checks on every buffer, reads of uninitialised
  memory (``mem_alloc`` and fresh ``__shared__`` are poisoned), shared-memory races between barriers,
  random thread and block order, strict warp-mask checks.
* **Volta+ semantics**: barriers count the threads that have not exited, warp collectives synchronise
  the lanes of their mask, a thread that spins is pre-empted so that others can set its flag.
* **PyCUDA's argument packing**: arguments are packed by *their* types, exactly like PyCUDA (a
  ``np.float64`` for a ``float`` parameter gives garbage there too); a warning says what went wrong.

* **Coverage**: headers in ``include/`` (``cuda_fp16.h`` with ``__half``, ``cooperative_groups.h`` with
  block and warp tiles, ``pycuda-complex.hpp``, ``pycuda-helpers.hpp``); texture references (1-D fetches);
  template kernels by their mangled name (``no_extern_c=True``); dynamic parallelism (``k<<<g, b>>>(...)``
  in a kernel: the child grid is queued and runs after the grid that launched it).

Timings of the emulator measure the CPU and mean nothing for a GPU.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os
import re
import select
import signal
import struct
import subprocess
import tempfile
import threading
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HEADER = Path(__file__).with_name("emu_runtime.h")
INCLUDE = Path(__file__).with_name("include")  # pycuda-complex.hpp, pycuda-helpers.hpp
CXXFLAGS = ["-O2", "-shared", "-fPIC", "-std=c++17", "-w", "-fno-strict-aliasing", "-fstack-clash-protection"]
SANITIZE_FLAGS = [
    "-O0",  # keeps a load and its store separate, so random interleaving can show a lost update
    "-fsanitize=kernel-address",
    "--param",
    "asan-instrumentation-with-call-threshold=0",
    "--param",
    "asan-stack=0",
    "--param",
    "asan-globals=0",
]
PAGE = mmap.PAGESIZE
POISON = 0xFF  # uninitialised device memory: NaN as float, -1 as int


class LogicError(RuntimeError):
    """Raised where PyCUDA raises ``pycuda.driver.LogicError`` (an invalid launch configuration)."""


class LaunchError(RuntimeError):
    """A kernel failed while running: a fault, a deadlock, an assert, a watchdog timeout."""


class SanitizerError(LaunchError):
    """The sanitizer found a bug: out of bounds, uninitialised read, shared-memory race, bad mask."""


class CompileError(RuntimeError):
    """g++ rejected the kernel source (the message is the compiler's)."""


class PyCudaCompatWarning(UserWarning):
    """Code that PyCUDA accepts but that does something surprising on a GPU (chapter 03)."""


# ----------------------------------------------------------------------------- options
@dataclass
class Options:
    """Settings of the emulator (chapter 03): see :func:`configure`."""

    sanitize: bool = os.environ.get("BOOK_CUDA_SANITIZE", "") not in ("", "0")
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
        self._mm = mmap.mmap(-1, (data_pages + 2) * PAGE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._mm))
        _libc.mprotect(base, PAGE, 0)
        _libc.mprotect(base + (data_pages + 1) * PAGE, PAGE, 0)
        self.ptr = base + (data_pages + 1) * PAGE - span
        self.span = span
        self._shadow = mmap.mmap(-1, max(nbytes, 1))
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
        """Release the memory (a later access through a stale pointer faults)."""
        if getattr(self, "_mm", None) is not None:
            _LIVE.pop(self.ptr, None)
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


# ----------------------------------------------------------------------------- compiling
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_STRINGS = re.compile(r'"(?:\\.|[^"\\\n])*"')
_DYN_SHARED_RE = re.compile(
    r"extern\s+__shared__\s+((?:__align__\s*\(\s*\d+\s*\)\s*)?[A-Za-z_][\w\s:<>,]*?)\s+(\w+)\s*\[\s*\]\s*;"
)
# a static ``__shared__`` declaration inside a function: ``__shared__ float s[64][65];``
_STATIC_SHARED_RE = re.compile(
    r"(?<![\w])__shared__\s+((?:__align__\s*\(\s*\d+\s*\)\s*)?(?:(?:const|volatile|unsigned|signed|long|short)\s+)*"
    r"[A-Za-z_][\w:]*(?:\s*<[^;{}()]*?>)?)\s+(\w+)\s*((?:\[[^\]]*\]\s*)*);"
)
_DEVICE_VAR_RE = re.compile(r"(?<![\w])__device__(\s+[^;(){}]*?\b\w+\s*(?:\[[^\]]*\]\s*)*(?:=[^;]*)?;)")


def _blank(src: str) -> str:
    """``src`` with comments and string literals replaced by spaces (positions kept)."""
    spaces = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    return _STRINGS.sub(spaces, _COMMENTS.sub(spaces, src))


def _depth_at(clean: str, pos: int) -> int:
    return clean.count("{", 0, pos) - clean.count("}", 0, pos)


def _split_params(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out if p.strip() and p.strip() != "void"]


@dataclass
class KernelDecl:
    """A ``__global__`` function found in the source: its name, parameter names, C linkage, template (chapter 03)."""

    name: str
    params: list[str]
    c_linkage: bool
    template: bool


def find_kernels(source: str, wrapped: bool = False) -> dict[str, KernelDecl]:
    """Every ``__global__`` function of ``source`` (names and parameter names; types come from g++) (chapter 03)."""
    clean = _blank(source)
    c_blocks = [
        (m.end(), _matching_brace(clean, m.end() - 1)) for m in re.finditer(r'extern\s+"C"\s*\{', source)
    ]
    kernels: dict[str, KernelDecl] = {}
    for m in re.finditer(r"\b__global__\b", clean):
        rest = clean[m.end() :]
        rest_nolb = re.sub(r"__launch_bounds__\s*\([^)]*\)", lambda x: " " * len(x.group(0)), rest)
        name_m = re.search(r"(\w+)\s*\(", rest_nolb)
        if not name_m:
            continue
        name = name_m.group(1)
        open_pos = m.end() + name_m.end() - 1
        close = _matching_paren(clean, open_pos)
        params = []
        for p in _split_params(clean[open_pos + 1 : close]):
            p = p.split("=")[0].strip()
            ids = re.findall(r"[A-Za-z_]\w*", p)
            params.append(ids[-1] if len(ids) > 1 else f"#{len(params)}")
        head_start = max(
            clean.rfind(";", 0, m.start()), clean.rfind("}", 0, m.start()), clean.rfind("{", 0, m.start())
        )
        head = source[head_start + 1 : m.start()]
        c_linkage = wrapped or 'extern "C"' in head or any(a <= m.start() < b for a, b in c_blocks)
        template = "template" in clean[head_start + 1 : m.start()]
        if name not in kernels or len(params) > len(kernels[name].params):
            kernels[name] = KernelDecl(name, params, c_linkage, template)
    return kernels


def _matching_paren(clean: str, pos: int) -> int:
    depth = 0
    for i in range(pos, len(clean)):
        depth += clean[i] == "("
        depth -= clean[i] == ")"
        if depth == 0:
            return i
    raise CompileError("unbalanced parentheses in a kernel signature")


def _matching_brace(clean: str, pos: int) -> int:
    depth = 0
    for i in range(pos, len(clean)):
        depth += clean[i] == "{"
        depth -= clean[i] == "}"
        if depth == 0:
            return i
    return len(clean)


def _rewrite(source: str, first_line: int = 1) -> str:
    """The rewrites g++ needs: dynamic ``extern __shared__`` arrays, static ``__shared__`` ones, ``__device__`` variables."""
    clean = _blank(source)
    out, last = [], 0
    for m in _DYN_SHARED_RE.finditer(clean):
        typ, name = source[m.start(1) : m.end(1)], m.group(2)
        typ = re.sub(r"__align__\s*\(\s*\d+\s*\)", "", typ).strip()
        if (
            _depth_at(clean, m.start()) == 0
        ):  # file scope: a macro (a pointer initialised at load time would be null)
            repl = f"\n#define {name} (__emu_opaque(({typ}*)__emu_dyn_smem))\n"
        else:
            repl = f"auto const {name} = __emu_opaque(({typ}*)__emu_dyn_smem);"
        out += [source[last : m.start()], repl]
        last = m.end()
    out.append(source[last:])
    source = "".join(out)
    # Static __shared__ variables inside a function are reached through a macro, scoped to the function
    # with #define / #undef (#line keeps the compiler's line numbers): ``(*__emu_opaque(&s__emu_s))``.
    # GCC's address sanitizer neither instruments a constant-index access of a static variable (s[0] = 1)
    # nor a store to an address it has just checked for a load (s[t] += ...); the opaque call in
    # sanitizer builds makes it check every access, so the init and race shadows see them all.
    clean = _blank(source)
    edits: list[tuple[int, int, str]] = []
    for m in _STATIC_SHARED_RE.finditer(clean):
        if _depth_at(clean, m.start()) == 0:
            continue
        typ, name, dims = source[m.start(1) : m.end(1)], m.group(2), m.group(3).strip()
        store = f"{name}__emu_s"
        depth, end = 0, m.end()
        while end < len(clean) and not (clean[end] == "}" and depth == 0):
            depth += {"{": 1, "}": -1}.get(clean[end], 0)
            end += 1
        line = first_line + source.count("\n", 0, m.end())
        end_line = first_line + source.count("\n", 0, end)
        edits.append(
            (
                m.start(),
                m.end(),
                f"__shared__ {typ} {store}{dims};\n#define {name} (*__emu_opaque(&{store}))\n#line {line}\n",
            )
        )
        edits.append((end, end, f"\n#undef {name}\n#line {end_line}\n"))
    out, last = [], 0
    for a, b, text in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [source[last:a], text]
        last = b
    out.append(source[last:])
    source = "".join(out)
    clean = _blank(source)
    out, last = [], 0
    for m in re.finditer(r"\b([A-Za-z_]\w*)\s*<<<", clean):  # dynamic parallelism: k<<<g, b>>>(args)
        end = clean.find(">>>", m.end())
        if end < 0:
            continue
        out += [source[last : m.start()], f"__emu::dlaunch(&{m.group(1)}, {source[m.end() : end]})"]
        last = end + 3
    out.append(source[last:])
    source = "".join(out)
    clean = _blank(source)
    out, last = [], 0
    for m in _DEVICE_VAR_RE.finditer(clean):
        if _depth_at(clean, m.start()) != 0:
            continue
        out += [source[last : m.start()], "__emu_device_var"]
        last = m.start() + len("__device__")
    out.append(source[last:])
    return "".join(out)


def _hoist_includes(source: str) -> tuple[str, str]:
    lines = source.splitlines()
    inc = [line for line in lines if line.lstrip().startswith("#include")]
    body = [line if not line.lstrip().startswith("#include") else "" for line in lines]
    return "\n".join(inc), "\n".join(body)


def _cache_root(cache_dir) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    from book.paths import cache_dir as book_cache

    return Path(book_cache("cuda_emu"))


def _compile(full: str, options: list[str], sanitize: bool, cache: Path) -> Path:
    flags = CXXFLAGS + (SANITIZE_FLAGS if sanitize else []) + list(options) + [f"-I{INCLUDE}"]
    headers = "".join(h.read_text() for h in [HEADER, *sorted(INCLUDE.glob("*.hpp"))])
    key = hashlib.sha256((full + headers + " ".join(flags)).encode()).hexdigest()[:20]
    cache.mkdir(parents=True, exist_ok=True)
    so = cache / f"emu_{key}{'_san' if sanitize else ''}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cpp = Path(tmp) / "kernel.cpp"
        cpp.write_text(full)
        out = Path(tmp) / "kernel.so"
        cmd = ["g++", *flags, "-include", str(HEADER), "-x", "c++", str(cpp), "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            msg = proc.stderr.replace(str(cpp), "kernel.cu")
            if "template with C linkage" in msg:
                msg += (
                    '\nhint: SourceModule wraps the source in extern "C" { ... } unless no_extern_c=True (as '
                    "PyCUDA; nvcc rejects templates there too). Pass no_extern_c=True and declare the kernels "
                    'that Python calls extern "C"; a template kernel is found by its mangled name.'
                )
            raise CompileError(msg)
        os.replace(out, so)  # atomic: a concurrent reader sees the old file or the whole new one
    return so


def _static_smem(so: Path, kernels: list[str]) -> dict[str, int]:
    """Bytes of static ``__shared__`` memory per kernel, from the symbols of the ``emu_shared`` section.

    A ``__shared__`` variable declared inside a kernel counts for that kernel; one at file scope (or in
    a ``__device__`` function) counts for every kernel, as a conservative estimate.
    """
    cached = so.with_suffix(".smem")
    if cached.exists():
        text = cached.read_text()
    else:
        text = subprocess.run(["objdump", "-t", "-C", str(so)], capture_output=True, text=True).stdout
        cached.write_text(text)
    per = dict.fromkeys(kernels, 0)
    common = 0
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or "emu_shared" not in line or "emu_shared_anchor" in line:
            continue
        m = re.search(r"emu_shared\s+([0-9a-fA-F]+)\s+(.*)$", line)
        if not m:
            continue
        size, sym = int(m.group(1), 16), m.group(2).strip()
        owner = re.match(r"(?:\w+::)*?(\w+)(?:\(.*\))?::\w+$", sym) if "::" in sym else None
        if owner and owner.group(1) in per:
            per[owner.group(1)] += size
        else:
            common += size
    return {k: v + common for k, v in per.items()}


# ----------------------------------------------------------------------------- launching
class _Report(ctypes.Structure):
    _fields_ = [
        ("status", ctypes.c_int), ("sig", ctypes.c_int), ("is_write", ctypes.c_int), ("in_fiber", ctypes.c_int),
        ("tid", ctypes.c_uint * 3), ("bid", ctypes.c_uint * 3), ("addr", ctypes.c_uint64), ("pc", ctypes.c_uint64),
        ("switches", ctypes.c_uint64), ("blocks_done", ctypes.c_uint64), ("msg", ctypes.c_char * 3072),
    ]  # fmt: skip


class _CRegion(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("size", ctypes.c_uint64), ("init", ctypes.c_void_p),
                ("id", ctypes.c_int), ("kind", ctypes.c_int)]  # fmt: skip


class _Config(ctypes.Structure):
    _fields_ = [
        ("report", ctypes.c_void_p), ("regions", ctypes.c_void_p), ("nregions", ctypes.c_int),
        ("sanitize", ctypes.c_int), ("seed", ctypes.c_uint64), ("stack_bytes", ctypes.c_size_t),
        ("preempt_ms", ctypes.c_int),
    ]  # fmt: skip


_ST_OK, _ST_CONFIG, _ST_ERROR, _ST_SIGNAL, _ST_SANITIZER = range(5)
_REPORT_MM = mmap.mmap(-1, PAGE * 2)
_REPORT = _Report.from_buffer(_REPORT_MM)
_LAUNCH_LOCK = threading.Lock()
_SIGNALS = {signal.SIGSEGV: "SIGSEGV", signal.SIGBUS: "SIGBUS", signal.SIGFPE: "SIGFPE",
            signal.SIGILL: "SIGILL", signal.SIGABRT: "SIGABRT", signal.SIGTRAP: "SIGTRAP"}  # fmt: skip
_KIND_NAMES = {
    0: "pointer",
    1: "floating-point",
    2: "signed integer",
    3: "unsigned integer",
    4: "bool",
    5: "struct",
}


def _wait_child(pid: int, timeout: float) -> int | None:
    """The child's wait status, or None after ``timeout`` seconds (Ctrl-C kills the child and re-raises)."""
    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if fd is not None:
                select.select([fd], [], [], min(left, 1.0))
            else:
                time.sleep(0.0005)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
    except BaseException:  # KeyboardInterrupt: stop the launch, keep Python
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        if fd is not None:
            os.close(fd)


class Function:
    """A kernel of a :class:`SourceModule`: call it like PyCUDA's ``Function`` (chapter 03)."""

    def __init__(self, module: SourceModule, decl: KernelDecl, thunk_id: int):
        self.module = module
        self.name = decl.name
        self.decl = decl
        self._id = thunk_id
        self._arg_format: str | None = None
        lib = module._lib(OPTIONS.sanitize)
        info = getattr(lib, f"__emu_info_{thunk_id}")
        info.restype = ctypes.POINTER(ctypes.c_int * 3)
        n = ctypes.c_int()
        ptr = ctypes.cast(info(ctypes.byref(n)), ctypes.POINTER(ctypes.c_int))
        self.param_info = [(ptr[3 * i], ptr[3 * i + 1], ptr[3 * i + 2]) for i in range(n.value)]
        self.num_regs = 32
        self.shared_size_bytes = module._static_smem.get(decl.name, 0)
        self.local_size_bytes = 0
        self.const_size_bytes = 0
        self.max_threads_per_block = 1024

    def get_attribute(self, attr) -> int:
        """A function attribute (registers and the like are nominal on the emulator)."""
        key = str(attr).rsplit(".", 1)[-1].lower()
        return {"shared_size_bytes": self.shared_size_bytes, "max_threads_per_block": 1024}.get(key, 0)

    def set_cache_config(self, config) -> None:
        """No caches to configure."""

    def _param_name(self, i: int) -> str:
        return self.decl.params[i] if i < len(self.decl.params) else f"#{i}"

    def _expected_size(self) -> int:
        off = 0
        for size, align, _ in self.param_info:
            off = (off + align - 1) // align * align + size
        return off

    # --- PyCUDA's argument packing (pycuda/driver.py: _build_arg_buf), then a check against the kernel
    def _pack(self, args) -> tuple[bytes, list, list[tuple[str, str]]]:
        fmt, data, handlers, kinds = "", [], [], []
        for i, arg in enumerate(args):
            if isinstance(arg, np.number):
                fmt += arg.dtype.char
                data.append(arg)
                kinds.append(("number", arg.dtype.name))
            elif isinstance(arg, _Region):
                fmt += "P"
                data.append(arg.ptr)
                kinds.append(("pointer", ""))
            elif isinstance(arg, _ArgWrapper):
                handlers.append((i, arg))
                fmt += "P"
                data.append(0)  # filled in by _stage
                kinds.append(("pointer", ""))
            elif isinstance(arg, np.ndarray):
                fmt += f"{arg.nbytes}s"
                data.append(_host_bytes(arg, f"parameter #{i}").tobytes())
                kinds.append(("ndarray", f"{arg.dtype.name}[{arg.size}]"))
            elif isinstance(arg, np.void):
                fmt += f"{arg.itemsize}s"
                data.append(bytes(memoryview(arg)))
                kinds.append(("struct", ""))
            elif hasattr(arg, "gpudata"):
                fmt += "P"
                data.append(int(arg.gpudata))
                kinds.append(("pointer", ""))
            elif getattr(arg, "__cuda_array_interface__", None):
                fmt += "P"
                data.append(arg.__cuda_array_interface__["data"][0])
                kinds.append(("pointer", ""))
            else:
                hint = ""
                if isinstance(arg, (bool, int, float)):
                    hint = (
                        f": PyCUDA does not know the C type of a Python {type(arg).__name__}; pass a NumPy "
                        f"scalar of the parameter's type, e.g. np.int32(...) or np.float32(...) "
                        f"(parameter `{self._param_name(i)}`)"
                    )
                elif hasattr(arg, "data_ptr"):
                    hint = (
                        ": a torch tensor is not device memory here; pass drv.In(t.numpy()) / drv.InOut(...)"
                    )
                raise TypeError(f"invalid type on parameter #{i} (0-based){hint}")
        return fmt, data, handlers, kinds

    def _check_args(self, fmt: str, data, kinds) -> None:
        if len(kinds) != len(self.param_info):
            warnings.warn(
                f"{self.name}: {len(kinds)} arguments for {len(self.param_info)} parameters; PyCUDA packs "
                "whatever it is given, so on a GPU the kernel reads garbage (or the launch fails)",
                PyCudaCompatWarning,
                stacklevel=4,
            )
        for i, ((kind, detail), (size, _, pkind)) in enumerate(zip(kinds, self.param_info, strict=False)):
            pname = self._param_name(i)
            if kind == "number":
                dt = np.dtype(detail)
                is_float = dt.kind == "f"
                bad = dt.itemsize != size or (pkind == 1) != is_float or pkind == 0 and dt.kind not in "iu"
                bad = dt.itemsize != size if pkind == 5 else bad
                if bad:
                    ptype = f"{size}-byte {_KIND_NAMES[pkind]}"
                    warnings.warn(
                        f"{self.name}: parameter `{pname}` is a {ptype}, but np.{detail} ({dt.itemsize} bytes) "
                        "was passed. PyCUDA packs the raw bytes of the NumPy scalar, so the kernel reads "
                        f"garbage for `{pname}` (and the parameters after it shift). Pass the matching NumPy "
                        "type, e.g. np.float32(x) for float, np.int32(n) for int.",
                        PyCudaCompatWarning,
                        stacklevel=4,
                    )
            elif kind == "ndarray":
                warnings.warn(
                    f"{self.name}: a NumPy array ({detail}) was passed for parameter `{pname}`. PyCUDA "
                    "copies the array's bytes *into the parameter buffer* (by value), not to device memory, so "
                    "a pointer parameter receives the first 8 bytes of data: an illegal address on a GPU. "
                    "Wrap it: drv.In(a), drv.Out(a), drv.InOut(a), or use mem_alloc / gpuarray.",
                    PyCudaCompatWarning,
                    stacklevel=4,
                )
            elif kind == "pointer" and pkind != 0:
                warnings.warn(
                    f"{self.name}: a pointer was passed for parameter `{pname}`, a {_KIND_NAMES[pkind]}.",
                    PyCudaCompatWarning,
                    stacklevel=4,
                )

    def __call__(self, *args, block=None, grid=(1, 1), shared=0, stream=None, time_kernel=False, texrefs=()):
        """Launch: ``f(*args, block=(x, y, z), grid=(x, y), shared=bytes)``, as PyCUDA."""
        if block is None:
            raise ValueError("must specify block size")
        fmt, data, handlers, kinds = self._pack(args)
        self._check_args(fmt, data, kinds)
        staged = self._stage(handlers, data)
        buf = struct.pack(fmt, *data) if fmt else b""
        elapsed = self._launch(buf, grid, block, shared, [(i, r) for i, r, _ in staged], args)
        for _, region, wrapper in staged:
            if isinstance(wrapper, (Out, InOut)):
                dest = _host_bytes(wrapper.array, f"{type(wrapper).__name__}", writable=True)
                ctypes.memmove(dest.ctypes.data, region.ptr, dest.size)
        return elapsed if time_kernel else None

    def _stage(self, handlers, data) -> list:
        staged = []
        for i, wrapper in handlers:
            host = _host_bytes(wrapper.array, f"{type(wrapper).__name__} (parameter #{i})")
            region = _Region(host.size, init=False)
            region.name = f"argument `{self._param_name(i)}` ({type(wrapper).__name__}, {host.size} bytes)"
            if not isinstance(wrapper, Out):
                ctypes.memmove(region.ptr, host.ctypes.data, host.size)
                region.mark_init()
            data[i] = region.ptr
            staged.append((i, region, wrapper))
        return staged

    # --- prepared calls
    def prepare(self, arg_types, block=None, shared=None, texrefs=()) -> Function:
        """``prepare("PPi")`` or ``prepare([np.intp, np.int32])``: fix the argument format."""
        if isinstance(arg_types, str):
            self._arg_format = arg_types
        else:
            fmt = ""
            for t in arg_types:
                fmt += "P" if t in ("P", np.intp, np.uintp) else np.dtype(t).char
            self._arg_format = fmt
        self._prep_block = block
        return self

    def _prepared_buf(self, args) -> bytes:
        if self._arg_format is None:
            raise LogicError("call prepare() before prepared_call()")
        vals = [
            int(a) if isinstance(a, _Region) else (int(a.gpudata) if hasattr(a, "gpudata") else a)
            for a in args
        ]
        return struct.pack(self._arg_format, *vals)

    def prepared_call(self, grid, block, *args, shared_size: int = 0) -> None:
        """Launch with the prepared format (Python ints and floats are fine here, as in PyCUDA)."""
        self._launch(self._prepared_buf(args), grid, block, shared_size, [], args)

    def prepared_timed_call(self, grid, block, *args, shared_size: int = 0):
        """Launch; returns a callable giving the seconds it took."""
        t = self._launch(self._prepared_buf(args), grid, block, shared_size, [], args)
        return lambda: t

    def prepared_async_call(self, grid, block, stream, *args, shared_size: int = 0) -> None:
        """As :meth:`prepared_call` (synchronous here)."""
        self._launch(self._prepared_buf(args), grid, block, shared_size, [], args)

    # --- the launch itself
    def _launch(self, buf: bytes, grid, block, shared, staged, args) -> float:
        block = tuple(int(b) for b in block) + (1,) * (3 - len(block))
        grid = tuple(int(g) for g in grid) + (1,) * (3 - len(grid))
        bx, by, bz = block
        gx, gy, gz = grid
        nthreads = bx * by * bz
        if not (1 <= nthreads <= 1024 and 1 <= bx <= 1024 and 1 <= by <= 1024 and 1 <= bz <= 64):
            raise LogicError(
                f"cuLaunchKernel failed: invalid argument (block {block} = {nthreads} threads; limits: "
                "1..1024 threads, x,y <= 1024, z <= 64)"
            )
        if not (1 <= gx <= 2**31 - 1 and 1 <= gy <= 65535 and 1 <= gz <= 65535):
            raise LogicError(
                f"cuLaunchKernel failed: invalid argument (grid {grid}: x in 1..2^31-1, y and z in 1..65535)"
            )
        if shared < 0 or shared + self.shared_size_bytes > 48 * 1024:
            raise LogicError(
                f"cuLaunchKernel failed: invalid argument ({self.shared_size_bytes} bytes of static + {shared} "
                "bytes of dynamic __shared__ memory > 48 KiB per block)"
            )
        expected = self._expected_size()
        buf = buf + bytes(
            max(0, expected - len(buf)) + 16
        )  # as on a GPU, missing bytes read as garbage (zeros)
        sanitize = OPTIONS.sanitize
        lib = self.module._lib(sanitize)
        thunk = ctypes.cast(getattr(lib, f"__emu_thunk_{self._id}"), ctypes.c_void_p)
        live = sorted(_LIVE.items())
        ids = {r.ptr: k for k, (_, r) in enumerate(live)}
        cregions = (_CRegion * max(len(live), 1))()
        for k, (start, r) in enumerate(live):
            if sanitize:
                r.sync_shadow()
            cregions[k] = _CRegion(start, r.nbytes, r.shadow_ptr, k, 0)
        names = {k: r.name for k, (_, r) in enumerate(live)}
        for _i, r in staged:
            names[ids[r.ptr]] = r.name
        for i, a in enumerate(args):  # name the buffers passed directly as pointers
            p = int(a) if isinstance(a, _Region) else (int(a.gpudata) if hasattr(a, "gpudata") else None)
            if p is not None and p in ids and names[ids[p]].startswith("a mem_alloc"):
                names[ids[p]] = f"argument `{self._param_name(i)}` ({live[ids[p]][1].nbytes} bytes)"
        argbuf = ctypes.create_string_buffer(buf, len(buf))
        cfg = _Config(
            ctypes.addressof(_REPORT), ctypes.addressof(cregions), len(live), int(sanitize),
            OPTIONS.seed, OPTIONS.stack_kib * 1024, OPTIONS.preempt_ms,
        )  # fmt: skip
        launch = getattr(lib, "__emu_launch")
        launch.restype = ctypes.c_int
        launch.argtypes = (
            [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_uint] * 6 + [ctypes.c_size_t, ctypes.c_void_p]
        )
        gptr, gsize = self.module._globals(lib)
        with _LAUNCH_LOCK:
            ctypes.memset(ctypes.addressof(_REPORT), 0, ctypes.sizeof(_REPORT))
            _REPORT.status = -1
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:  # the child: run the grid, copy __device__ variables back, exit without cleanup
                try:
                    rc = launch(thunk, argbuf, gx, gy, gz, bx, by, bz, int(shared), ctypes.byref(cfg))
                    _REPORT.status = rc
                    if gsize:
                        ctypes.memmove(self.module._globals_shared_ptr, gptr, gsize)
                finally:
                    os._exit(0)
            status = _wait_child(pid, OPTIONS.watchdog_s)
            elapsed = time.perf_counter() - t0
            if status is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                b, t = tuple(_REPORT.bid), tuple(_REPORT.tid)
                raise LaunchError(
                    f"{self.name}: the launch did not finish within {OPTIONS.watchdog_s:g} s (watchdog; change it "
                    f"with book.cuda.emulator.configure(watchdog_s=...)). It was running block {b} (thread {t} "
                    f"last), {_REPORT.blocks_done} of {gx * gy * gz} blocks done: an endless loop, or a spin-wait "
                    "on a flag that a thread of another block sets (blocks are not guaranteed to run at the same "
                    "time, on a GPU either)"
                )
            if gsize and _REPORT.status == _ST_OK:
                ctypes.memmove(gptr, self.module._globals_shared_ptr, gsize)
            rep = _Report.from_buffer_copy(_REPORT)  # the next launch (another thread) reuses _REPORT
        if not sanitize:  # a fast launch does not track writes: treat every buffer as written
            for _, r in live:
                r.mark_init()
        self._raise_for(rep, status, names, live)
        return elapsed

    def _raise_for(self, rep: _Report, status: int, names: dict, live) -> None:
        st = rep.status
        msg = rep.msg.decode(errors="replace")
        msg = re.sub(r"@R(\d+)", lambda m: names.get(int(m.group(1)), "a buffer"), msg)
        where = f"thread {tuple(rep.tid)} of block {tuple(rep.bid)}"
        if st == _ST_OK and os.WIFEXITED(status):
            return
        if st == _ST_CONFIG:
            raise LogicError(msg)
        if st == _ST_SANITIZER:
            raise SanitizerError(f"{self.name}: {msg}")
        if st == _ST_ERROR:
            raise LaunchError(f"{self.name}: {msg}")
        if st == _ST_SIGNAL:
            sig = rep.sig
            if msg:
                raise LaunchError(f"{self.name}: {msg}")
            if sig == signal.SIGFPE:
                raise LaunchError(
                    f"{self.name}: integer division by zero (or INT_MIN / -1) in {where}. A GPU does not trap "
                    "here: it silently gives an undefined value; check the divisor"
                )
            if sig in (signal.SIGSEGV, signal.SIGBUS):
                raise LaunchError(f"{self.name}: {self._describe_fault(rep, names, live, where)}")
            raise LaunchError(f"{self.name}: {_SIGNALS.get(sig, sig)} in {where}")
        if os.WIFSIGNALED(status):
            raise LaunchError(f"{self.name}: the launch process died of signal {os.WTERMSIG(status)}")
        raise LaunchError(f"{self.name}: the launch failed (status {st}, exit {status})")

    def _describe_fault(self, rep: _Report, names: dict, live, where: str) -> str:
        addr = rep.addr
        rw = "wrote" if rep.is_write else "read"
        for k, (start, r) in enumerate(live):
            end = start + r.nbytes
            if end <= addr < end + PAGE + 4:
                return (
                    f"out-of-bounds access: {where} {rw} past the end of {names[k]}, at byte offset "
                    f"{addr - start} (index {(addr - start) // 4} of a 4-byte type): a missing `if (i < n)` guard?"
                )
            if start - PAGE <= addr < start:
                return (
                    f"out-of-bounds access: {where} {rw} {start - addr} bytes before the start of {names[k]}"
                )
        kind = "a NULL pointer" if addr < 65536 else f"address 0x{addr:x}, which is not device memory"
        return (
            f"illegal address: {where} {rw} {kind} (an uninitialised or host pointer? a freed buffer?) "
            "-- on a GPU: cuCtxSynchronize failed: an illegal memory access was encountered"
        )


class SourceModule:
    """``SourceModule(source, no_extern_c=False)``: compile with g++ (once per source hash), then ``get_function`` (chapter 03).

    As PyCUDA, ``no_extern_c=False`` wraps the source in ``extern "C" { ... }`` (so kernel names are not
    mangled); with ``no_extern_c=True`` a kernel without ``extern "C"`` has a C++ (mangled) name.
    """

    def __init__(self, source: str, nvcc: str = "nvcc", options=None, keep: bool = False, no_extern_c: bool = False,
                 arch=None, code=None, cache_dir=None, include_dirs=(), **_):  # fmt: skip
        self.source = source
        if no_extern_c:
            includes, body = "", source
        else:
            includes, body = _hoist_includes(source)
        self.decls = find_kernels(body, wrapped=not no_extern_c)
        body = _rewrite(body, first_line=1 if no_extern_c else 2)
        if not no_extern_c:
            body = 'extern "C" {\n' + body + "\n}\n"
        usable = [d for d in self.decls.values() if not d.template]
        thunks = "\n".join(f"EMU_THUNK({d.name}, {k})" for k, d in enumerate(usable))
        self._ids = {d.name: k for k, d in enumerate(usable)}
        self._full = includes + '\n#line 1 "kernel.cu"\n' + body + "\n" + thunks + "\n"
        self._options = [o for o in (options or []) if o.startswith(("-D", "-U", "-I"))]
        self._options += [f"-I{d}" for d in include_dirs]
        self._cache = _cache_root(cache_dir)
        self._libs: dict[bool, ctypes.CDLL] = {}
        self._texrefs: dict[str, TextureReference] = {}
        self._so: dict[bool, Path] = {}
        self._lib(OPTIONS.sanitize)  # compile errors surface here, as with PyCUDA
        self._static_smem = _static_smem(self._so[OPTIONS.sanitize], list(self._ids))
        for k, nbytes in self._static_smem.items():
            if nbytes > 48 * 1024:
                raise CompileError(
                    f"ptxas error   : Entry function '{k}' uses too much shared data (0x{nbytes:x} bytes, "
                    "0xc000 max): static __shared__ memory is limited to 48 KiB per block"
                )
        self._functions: dict[str, Function] = {}
        self._globals_mm = None
        self._globals_shared_ptr = 0
        self._global_sizes: dict[str, int] = {}

    def _lib(self, sanitize: bool) -> ctypes.CDLL:
        if sanitize not in self._libs:
            try:
                self._so[sanitize] = _compile(self._full, self._options, sanitize, self._cache)
            except CompileError:
                if not sanitize:
                    raise
                # a plain pointer to __shared__ data: compile without the volatile shared accesses
                self._so[sanitize] = _compile(
                    self._full, [*self._options, "-DEMU_PLAIN_SHARED"], True, self._cache
                )
            self._libs[sanitize] = ctypes.CDLL(str(self._so[sanitize]))
            for tex in self._texrefs.values():
                tex._bind(self._libs[sanitize])
        return self._libs[sanitize]

    def _globals(self, lib) -> tuple[int, int]:
        n = ctypes.c_size_t()
        f = getattr(lib, "__emu_globals_range")
        f.restype = ctypes.c_void_p
        f.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
        ptr = f(ctypes.byref(n))
        if n.value <= 16:
            return 0, 0
        if self._globals_mm is None or len(self._globals_mm) < n.value:
            self._globals_mm = mmap.mmap(-1, n.value)
            self._globals_shared_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._globals_mm))
        return ptr, n.value

    def get_function(self, name: str) -> Function:
        """The kernel ``name`` (a C name, or the mangled name of a kernel with C++ linkage)."""
        if name in self._functions:
            return self._functions[name]
        decl = self.decls.get(name)
        if decl is None:
            m = re.match(r"_Z(\d+)(\w+)", name)
            if m and m.group(2)[: int(m.group(1))] in self.decls:
                decl = self.decls[m.group(2)[: int(m.group(1))]]
                if decl.c_linkage:
                    decl = None
        elif not decl.c_linkage:
            raise LogicError(
                f"cuModuleGetFunction failed: named symbol not found ({name}): the kernel has C++ linkage, so "
                f'its name is mangled (_Z{len(name)}{name}...). Declare it extern "C", or leave no_extern_c=False'
            )
        if decl is not None and decl.template and name.startswith("_Z") and name not in self._ids:
            self._instantiate(name, decl)
        if decl is not None and decl.template and name in self._ids:
            f = Function(self, decl, self._ids[name])
            self._functions[name] = f
            return f
        if decl is None or decl.name not in self._ids:
            hint = ' (a template kernel: instantiate it in an extern "C" wrapper)' if decl is not None else ""
            raise LogicError(f"cuModuleGetFunction failed: named symbol not found ({name}){hint}")
        f = Function(self, decl, self._ids[decl.name])
        self._functions[name] = f
        return f

    def _instantiate(self, mangled: str, decl: KernelDecl) -> None:
        """A thunk for a template kernel named by its mangled name (``_Z1kIfEvPT_`` = ``k<float>``).

        The module is compiled again with the thunk (cached); ``__device__`` variables start afresh.
        """
        proc = subprocess.run(["c++filt", mangled], capture_output=True, text=True)
        text = proc.stdout.strip()
        start = text.find(decl.name + "<")
        if proc.returncode != 0 or start < 0:
            return
        depth, end = 0, start + len(decl.name)
        for end in range(start + len(decl.name), len(text)):
            depth += {"<": 1, ">": -1}.get(text[end], 0)
            if depth == 0:
                break
        expr, k = text[start : end + 1], len(self._ids)
        attrs = '__attribute__((visibility("default"), no_sanitize_address))'
        self._full += (
            f'extern "C" {attrs} void __emu_thunk_{k}(const char* b) {{ __emu::call(&{expr}, b); }}\n'
            f'extern "C" {attrs} const __emu::ParamInfo* __emu_info_{k}(int* n) '
            f"{{ return __emu::info(&{expr}, n); }}\n"
        )
        self._ids[mangled] = k
        self._libs.clear()
        self._so.clear()
        self._lib(OPTIONS.sanitize)

    def get_global(self, name: str) -> tuple[DeviceAllocation, int]:
        """``(device pointer, size in bytes)`` of a ``__constant__`` or ``__device__`` variable."""
        lib = self._lib(False)
        if OPTIONS.sanitize:
            lib = self._lib(True)
        try:
            addr = ctypes.addressof(ctypes.c_char.in_dll(lib, name))
        except ValueError:
            raise LogicError(f"cuModuleGetGlobal failed: named symbol not found ({name})") from None
        size = self._global_size(name)
        return _GlobalPtr(addr, size), size

    def _global_size(self, name: str) -> int:
        so = self._so.get(OPTIONS.sanitize) or next(iter(self._so.values()), None)
        if so is not None:  # the symbol's size, from the compiled library (macros in the size resolved)
            proc = subprocess.run(["nm", "-S", "--defined-only", str(so)], capture_output=True, text=True)
            for line in proc.stdout.splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[3] == name:
                    return int(parts[1], 16)
        m = re.search(
            r"(?:__constant__|__device__)\s+((?:const\s+)?[\w:]+(?:\s+[\w:]+)*?)\s+" + re.escape(name)
            + r"\s*((?:\[[^\]]+\]\s*)*)[;=]", _blank(self.source),
        )  # fmt: skip
        if not m:
            return 4
        base = m.group(1).replace("const", "").strip()
        sizes = {"float": 4, "double": 8, "int": 4, "unsigned": 4, "unsigned int": 4, "char": 1, "short": 2,
                 "long long": 8, "unsigned char": 1, "float2": 8, "float4": 16, "int2": 8, "int4": 16}  # fmt: skip
        n = sizes.get(base, 4)
        for d in re.findall(r"\[([^\]]+)\]", m.group(2)):
            try:
                n *= int(eval(d, {"__builtins__": {}}))  # noqa: S307  (a constant expression from the source)
            except Exception:
                pass
        return n

    def get_texref(self, name: str) -> TextureReference:
        """The texture reference ``name`` (``texture<T, 1, cudaReadModeElementType> name;``): 1-D fetches only."""
        if name not in self._texrefs:
            tex = TextureReference(self, name)
            for lib in self._libs.values():
                tex._bind(lib)
            self._texrefs[name] = tex
        return self._texrefs[name]


class TextureReference:
    """A texture reference of a module (chapter 03): ``set_address`` binds device memory for ``tex1Dfetch``.

    Texture references are deprecated (removed in CUDA 12); the emulator keeps them for old PyCUDA code such
    as ``get_linear_combination_kernel``: a fetch reads the bound memory (no filtering, no normalisation).
    """

    def __init__(self, module: SourceModule, name: str):
        self.module, self.name = module, name
        self.address, self.nbytes, self.flags, self.format = 0, 0, 0, (None, 1)

    def _bind(self, lib: ctypes.CDLL) -> None:
        try:
            cell = (ctypes.c_uint64 * 2).in_dll(lib, self.name)
        except ValueError:
            raise LogicError(f"cuModuleGetTexRef failed: named symbol not found ({self.name})") from None
        cell[0], cell[1] = self.address, self.nbytes

    def set_address(self, devptr: Any, nbytes: int, allow_offset: bool = False) -> int:
        """Bind ``nbytes`` of device memory at ``devptr``; returns the offset (always 0)."""
        self.address, self.nbytes = int(devptr), int(nbytes)
        for lib in self.module._libs.values():
            self._bind(lib)
        return 0

    def set_format(self, fmt: Any, num_channels: int) -> None:
        """Record the format (fetches return the texture's C type)."""
        self.format = (fmt, num_channels)

    def set_flags(self, flags: int) -> None:
        """Record the flags."""
        self.flags = int(flags)

    def get_flags(self) -> int:
        """The flags set last."""
        return self.flags


class _GlobalPtr(_Region):
    """A pointer to a module variable (``get_global``); copies to it go to the module's section."""

    def __init__(self, addr: int, size: int):  # not a shared mapping: the module's own memory
        self.ptr, self.nbytes = addr, size
        self._shadow = mmap.mmap(-1, max(size, 1))
        self.shadow_ptr = ctypes.addressof(ctypes.c_char.from_buffer(self._shadow))
        self.name = f"a __constant__/__device__ variable ({size} bytes)"
        _LIVE[addr] = self

    def __int__(self) -> int:
        return self.ptr


class _Driver:
    """The names of ``pycuda.driver`` that the emulator provides (``book.cuda.load().driver``)."""

    In, Out, InOut, Event, Stream, Context, Device = In, Out, InOut, Event, Stream, Context, Device
    limit = limit
    DeviceAllocation = DeviceAllocation
    LogicError, LaunchError, SanitizerError = LogicError, LaunchError, SanitizerError
    device_attribute = device_attribute
    Error = RuntimeError
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
