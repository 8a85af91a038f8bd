"""A CPU emulator with PyCUDA's interface: ``SourceModule``, ``driver.In/Out/InOut``, ``mem_alloc``, ``Event``.

The CUDA C source is compiled with the system ``g++`` (``-O2 -shared -fPIC``) together with
``emu_runtime.h``; each block's threads run as cooperative fibers, so ``__syncthreads()`` is a real
barrier.  The only source rewrite: ``extern __shared__ T name[];`` becomes a pointer to the launch's
dynamic shared memory.  Timings of the emulator measure the CPU and mean nothing for a GPU.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

HEADER = Path(__file__).with_name("emu_runtime.h")
CXXFLAGS = ["-O2", "-shared", "-fPIC", "-std=c++17", "-w"]

_CTYPES = {
    "float": (ctypes.c_float, np.float32), "double": (ctypes.c_double, np.float64),
    "int": (ctypes.c_int32, np.int32), "unsigned": (ctypes.c_uint32, np.uint32),
    "unsigned int": (ctypes.c_uint32, np.uint32), "long long": (ctypes.c_int64, np.int64),
    "unsigned long long": (ctypes.c_uint64, np.uint64), "size_t": (ctypes.c_uint64, np.uint64),
    "char": (ctypes.c_int8, np.int8), "unsigned char": (ctypes.c_uint8, np.uint8),
}
_KERNEL_RE = re.compile(r'extern\s+"C"\s+__global__\s+(?:__launch_bounds__\([^)]*\)\s+)?void\s+(\w+)\s*\(([^)]*)\)')
_DYN_SHARED_RE = re.compile(r"extern\s+__shared__\s+(?:__align__\(\d+\)\s+)?([A-Za-z_][\w ]*?)\s+(\w+)\s*\[\s*\]\s*;")


class LogicError(RuntimeError):
    """Raised where PyCUDA raises ``pycuda.driver.LogicError`` (e.g. an invalid launch configuration)."""


class LaunchError(RuntimeError):
    """A kernel failed while running (e.g. a ``__syncthreads()`` not reached by every thread)."""


def parse_kernels(source: str) -> dict[str, list[tuple[str, bool]]]:
    """``{name: [(base_type, is_pointer), ...]}`` from every ``extern "C" __global__ void name(...)``."""
    kernels = {}
    for name, params in _KERNEL_RE.findall(source):
        args = []
        for p in filter(None, (q.strip() for q in params.split(","))):
            is_ptr = "*" in p
            words = [w for w in re.sub(r"[*&]", " ", p).split()
                     if w not in ("const", "__restrict__", "volatile", "signed")]
            base = " ".join(words[:-1])  # drop the parameter name
            if not is_ptr and base not in _CTYPES:
                raise TypeError(f"kernel {name}: unsupported scalar parameter type {base!r} in {p!r}")
            args.append((base, is_ptr))
        kernels[name] = args
    return kernels


def _compile(source: str, cache: Path) -> Path:
    src = _DYN_SHARED_RE.sub(lambda m: f"{m.group(1)}* {m.group(2)} = ({m.group(1)}*)__emu_dyn_smem;", source)
    thunks = []
    for name, args in parse_kernels(source).items():
        casts = ", ".join(f"*({base + '*' if ptr else base}*)a[{i}]" for i, (base, ptr) in enumerate(args))
        thunks.append(f'extern "C" void __emu_thunk_{name}(void** a) {{ {name}({casts}); }}')
    full = src + "\n" + "\n".join(thunks) + "\n"
    key = hashlib.sha256((full + HEADER.read_text() + " ".join(CXXFLAGS)).encode()).hexdigest()[:20]
    cache.mkdir(parents=True, exist_ok=True)
    so = cache / f"emu_{key}.so"
    if so.exists():
        return so
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cpp = Path(tmp) / "kernel.cpp"
        cpp.write_text(full)
        out = Path(tmp) / "kernel.so"
        proc = subprocess.run(["g++", *CXXFLAGS, "-include", str(HEADER), "-x", "c++", str(cpp), "-o", str(out)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(proc.stderr)
        os.replace(out, so)  # atomic: a concurrent reader sees the old file or the whole new one
    return so


class CompileError(RuntimeError):
    pass


# ----------------------------------------------------------------------------- "driver"
class DeviceAllocation:
    """Emulated device memory (host bytes); ``int(alloc)`` is its address, as in PyCUDA."""

    def __init__(self, nbytes: int):
        self._buf = np.zeros(max(int(nbytes), 1), dtype=np.uint8)
        self.nbytes = int(nbytes)

    def __int__(self):
        return self._buf.ctypes.data

    def free(self):
        pass


class _ArgWrapper:
    def __init__(self, array):
        self.array = array


class In(_ArgWrapper):
    """Copied to the device before the launch (never back)."""


class Out(_ArgWrapper):
    """Copied back to the host after the launch (device memory starts uninitialised)."""


class InOut(_ArgWrapper):
    """Copied in before and back after the launch."""


class Event:
    """``record()``, ``synchronize()``, ``time_till(other)`` in ms.  On the emulator: CPU wall time."""

    def __init__(self, flags=0):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()
        return self

    def synchronize(self):
        return self

    def time_till(self, other: "Event") -> float:
        return (other.t - self.t) * 1e3

    def time_since(self, other: "Event") -> float:
        return (self.t - other.t) * 1e3


class Context:
    @staticmethod
    def synchronize():
        pass


def mem_alloc(nbytes: int) -> DeviceAllocation:
    return DeviceAllocation(nbytes)


def memcpy_htod(dest: DeviceAllocation, src: np.ndarray) -> None:
    src = np.ascontiguousarray(src)
    ctypes.memmove(int(dest), src.ctypes.data, src.nbytes)


def memcpy_dtoh(dest: np.ndarray, src: DeviceAllocation) -> None:
    if not dest.flags.c_contiguous:
        raise ValueError("memcpy_dtoh needs a C-contiguous destination")
    ctypes.memmove(dest.ctypes.data, int(src), dest.nbytes)


def memset_d8(dest: DeviceAllocation, value: int, count: int) -> None:
    ctypes.memset(int(dest), value, count)


def _pointer_of(obj):
    """Address of an argument for a pointer parameter: emulated allocations, NumPy arrays, CPU tensors."""
    if isinstance(obj, DeviceAllocation):
        return int(obj)
    if isinstance(obj, (np.integer, int)) and not isinstance(obj, bool):  # a raw address, e.g. np.uintp(ptr)
        return int(obj)
    if isinstance(obj, np.ndarray):
        if not obj.flags.c_contiguous:
            raise ValueError("arrays passed to kernels must be C-contiguous")
        return obj.ctypes.data
    if hasattr(obj, "data_ptr") and hasattr(obj, "is_contiguous"):  # a CPU torch.Tensor
        if obj.device.type != "cpu" or not obj.is_contiguous():
            raise ValueError("the emulator accepts contiguous CPU tensors only")
        return obj.data_ptr()
    if hasattr(obj, "get_pointer"):  # pycuda.driver.PointerHolderBase style
        return int(obj.get_pointer())
    raise TypeError(f"invalid type for a pointer parameter: {type(obj).__name__}")


class Function:
    def __init__(self, lib, name: str, params):
        self.name = name
        self._params = params
        self._thunk = getattr(lib, f"__emu_thunk_{name}")
        self._launch = getattr(lib, "__emu_launch")
        self._launch.restype = ctypes.c_int
        self._launch.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_uint] * 6 + [ctypes.c_size_t]
        self._error = getattr(lib, "__emu_error")
        self._error.restype = ctypes.c_char_p

    def __call__(self, *args, block=None, grid=(1, 1), shared=0, stream=None, time_kernel=False):
        if block is None:
            raise ValueError("must specify block size")
        if len(args) != len(self._params):
            raise TypeError(f"{self.name} takes {len(self._params)} arguments, {len(args)} given")
        block = tuple(block) + (1,) * (3 - len(block))
        grid = tuple(grid) + (1,) * (3 - len(grid))
        keep, copy_back, slots = [], [], []
        for i, (arg, (base, is_ptr)) in enumerate(zip(args, self._params)):
            if is_ptr:
                if isinstance(arg, _ArgWrapper):
                    host = arg.array
                    if isinstance(arg, Out):
                        dev = np.empty_like(host, order="C")
                        dev.view(np.uint8).reshape(-1)[:] = 0xFF  # "uninitialised" (NaN for floats)
                    else:
                        dev = np.array(host, order="C", copy=True)
                    if not isinstance(arg, In):
                        copy_back.append((host, dev))
                    ptr = dev.ctypes.data
                    keep.append(dev)
                else:
                    ptr = _pointer_of(arg)
                slot = ctypes.c_void_p(ptr)
            else:
                ctype, np_type = _CTYPES[base]
                if not isinstance(arg, (np.generic, np.ndarray)) or np.ndim(arg) != 0:
                    raise TypeError(f"invalid type on parameter #{i} (0-based): pass NumPy scalars "
                                    f"such as np.{np.dtype(np_type).name}(...), as with PyCUDA")
                slot = ctype(np_type(arg))
            slots.append(slot)
        argv = (ctypes.c_void_p * max(len(slots), 1))(*[ctypes.cast(ctypes.pointer(s), ctypes.c_void_p) for s in slots])
        t0 = time.perf_counter()
        rc = self._launch(ctypes.cast(self._thunk, ctypes.c_void_p), argv, *[int(g) for g in grid],
                          *[int(b) for b in block], int(shared))
        elapsed = time.perf_counter() - t0
        if rc == 1:
            raise LogicError(self._error().decode())
        if rc != 0:
            raise LaunchError(f"{self.name}: " + self._error().decode())
        for host, dev in copy_back:
            host[...] = dev
        return elapsed if time_kernel else None


class SourceModule:
    """``SourceModule(source, no_extern_c=True)``: compile once per source hash, then ``get_function``."""

    def __init__(self, source: str, no_extern_c: bool = False, options=None, cache_dir=None, **_):
        if not no_extern_c:
            raise ValueError("the emulator expects kernels declared extern \"C\"; pass no_extern_c=True")
        if cache_dir is None:
            from book.data import cache_dir as book_cache
            cache_dir = book_cache() / "cuda_emu"
        self._params = parse_kernels(source)
        self._lib = ctypes.CDLL(str(_compile(source, Path(cache_dir))))
        self._functions: dict[str, Function] = {}

    def get_function(self, name: str) -> Function:
        if name not in self._params:
            raise LogicError(f"cuModuleGetFunction failed: named symbol not found ({name})")
        if name not in self._functions:
            self._functions[name] = Function(self._lib, name, self._params[name])
        return self._functions[name]


class _Driver:
    """The names of ``pycuda.driver`` the book uses."""
    In, Out, InOut, Event, Context = In, Out, InOut, Event, Context
    DeviceAllocation = DeviceAllocation
    LogicError, LaunchError = LogicError, LaunchError
    mem_alloc = staticmethod(mem_alloc)
    memcpy_htod = staticmethod(memcpy_htod)
    memcpy_dtoh = staticmethod(memcpy_dtoh)
    memset_d8 = staticmethod(memset_d8)


driver = _Driver()
