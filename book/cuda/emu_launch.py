"""Launching a kernel on the emulator: PyCUDA's argument packing, the forked child, the sanitizer's reports.

Every launch runs in a forked child process (``__emu_launch`` of ``emu_runtime.h``); the child writes a
report into shared memory, and the parent turns it into a Python exception that reads like
compute-sanitizer's: the kind of error, the kernel, block and thread, the address and its buffer, a fix.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import select
import signal
import struct
import threading
import time
import warnings
from typing import TYPE_CHECKING

import numpy as np

from .emu_driver import (
    _LIVE,
    OPTIONS,
    PAGE,
    InOut,
    LaunchError,
    LogicError,
    Out,
    PyCudaCompatWarning,
    SanitizerError,
    _ArgWrapper,
    _host_bytes,
    _Region,
    freed_buffer_at,
)

if TYPE_CHECKING:
    from .emu_compile import KernelDecl, SourceModule


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


_UNREAPED: list[int] = []  # children that reported their result and are still exiting


def _reap() -> None:
    """Collect the children of earlier launches that have finished exiting (they exit after reporting)."""
    for pid in list(_UNREAPED):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # collected by someone else
            done = pid
        if done:
            _UNREAPED.remove(pid)


def _wait_child(pid: int, done_fd: int, timeout: float) -> int | None:
    """The child's wait status, or None after ``timeout`` seconds (Ctrl-C kills the child and re-raises).

    A child that finished the grid writes one byte to ``done_fd`` and then exits: tearing down a copy of a
    process that has PyTorch loaded takes as long as the fork, so that child is collected later (``_reap``)
    and its status is "exited normally". A child that died instead closes the pipe without a byte: then
    its real wait status is returned.
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([done_fd], [], [], min(left, 1.0))
            if ready:
                if os.read(done_fd, 1):
                    _UNREAPED.append(pid)
                    return 0
                return os.waitpid(pid, 0)[1]
    except BaseException:  # KeyboardInterrupt: stop the launch, keep Python
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise


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
                if not arg.ptr:
                    raise LogicError(
                        f"parameter #{i} (`{self._param_name(i)}`) is a DeviceAllocation that was freed: a use "
                        "after free (allocate it again, or free it after the last launch that uses it)"
                    )
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
            _reap()
            done_r, done_w = os.pipe()
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:  # the child: run the grid, copy __device__ variables back, say done, exit
                try:
                    rc = launch(thunk, argbuf, gx, gy, gz, bx, by, bz, int(shared), ctypes.byref(cfg))
                    _REPORT.status = rc
                    if gsize:
                        ctypes.memmove(self.module._globals_shared_ptr, gptr, gsize)
                    os.write(done_w, b"1")
                finally:
                    os._exit(0)
            os.close(done_w)  # now the pipe reaches end-of-file when the child dies
            try:
                status = _wait_child(pid, done_r, OPTIONS.watchdog_s)
            finally:
                os.close(done_r)
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
        self._raise_for(rep, status, names, live, args)
        return elapsed

    def _raise_for(self, rep: _Report, status: int, names: dict, live, args=()) -> None:
        st = rep.status
        msg = rep.msg.decode(errors="replace")
        msg = re.sub(r"@R(\d+)", lambda m: names.get(int(m.group(1)), "a buffer"), msg)
        where = f"thread {tuple(rep.tid)} of block {tuple(rep.bid)}"
        if st == _ST_OK and os.WIFEXITED(status):
            return
        if st == _ST_CONFIG:
            raise LogicError(msg)
        if "@HOSTHINT" in msg:
            msg = msg.replace("@HOSTHINT", self._bad_address_hint(rep.addr, args))
        if st == _ST_SANITIZER:
            raise SanitizerError(f"{self.name}: {msg}")
        if st == _ST_ERROR:
            if "block (" not in msg:  # warp-collective errors name the lanes; say which block
                msg += f" [in block {tuple(rep.bid)}]"
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
                raise LaunchError(f"{self.name}: {self._describe_fault(rep, names, live, where, args)}")
            raise LaunchError(f"{self.name}: {_SIGNALS.get(sig, sig)} in {where}")
        if os.WIFSIGNALED(status):
            raise LaunchError(f"{self.name}: the launch process died of signal {os.WTERMSIG(status)}")
        raise LaunchError(f"{self.name}: the launch failed (status {st}, exit {status})")

    def _bad_address_hint(self, addr: int, args) -> str:
        """Why a kernel may hold a pointer that is not device memory: a host array, a freed buffer, or else."""
        for i, a in enumerate(args):
            if isinstance(a, np.ndarray) and i < len(self.param_info) and self.param_info[i][2] == 0:
                first = int.from_bytes(_host_bytes(a, "")[:8].tobytes().ljust(8, b"\0"), "little")
                return (
                    f"a host array was passed where device memory is needed: parameter `{self._param_name(i)}` "
                    f"got a NumPy array ({a.dtype.name}[{a.size}]), and PyCUDA copies an unwrapped array's bytes "
                    f"into the parameter buffer, so the kernel used its first 8 bytes (0x{first:x}) as a pointer "
                    "(an illegal address on a GPU too). Wrap it: drv.In(a), drv.Out(a), drv.InOut(a), or use "
                    "mem_alloc / gpuarray.to_gpu(a)"
                )
        freed = freed_buffer_at(addr)
        if freed is not None:
            return f"it points into {freed}, which was freed before the launch (a use after free)"
        if addr < 65536:
            return "a NULL pointer (or one a few bytes past NULL): a pointer that was never set"
        return "an uninitialised pointer, a host pointer, or one computed wrongly?"

    def _describe_fault(self, rep: _Report, names: dict, live, where: str, args=()) -> str:
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
            f"illegal address (memcheck: Invalid __global__ {'write' if rep.is_write else 'read'}): {where} "
            f"{rw} {kind}: {self._bad_address_hint(addr, args)}. On a GPU: an illegal memory access was "
            "encountered"
        )
