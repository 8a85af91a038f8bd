"""CUDA kernels of the book, on a real GPU (PyCUDA) or on the CPU emulator, behind one interface.

``driver, SourceModule, BACKEND = book.cuda.load()``: real PyCUDA (``pycuda.autoprimaryctx``, which shares
the primary context with PyTorch) when ``pycuda`` imports and a CUDA device exists, else the emulator
(``BOOK_CUDA_BACKEND=emulator`` forces it).  ``module("reduce")`` compiles ``cuda_src/reduce.cu``.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

SRC_DIR = Path(__file__).resolve().parents[2] / "cuda_src"


@lru_cache(maxsize=None)
def load():
    """``(driver, SourceModule, backend_name)``."""
    if os.environ.get("BOOK_CUDA_BACKEND", "").lower() != "emulator":
        try:
            import pycuda.driver as drv
            drv.init()
            if drv.Device.count() > 0:
                import pycuda.autoprimaryctx  # noqa: F401  (shares PyTorch's primary context)
                from pycuda.compiler import SourceModule
                return drv, SourceModule, "pycuda"
        except Exception:  # pycuda missing, or no driver / device
            pass
    from .emulator import SourceModule, driver
    return driver, SourceModule, "emulator"


def backend() -> str:
    return load()[2]


def source(name: str) -> str:
    """The text of ``cuda_src/<name>.cu``."""
    return (SRC_DIR / f"{name}.cu").read_text()


@lru_cache(maxsize=None)
def module(name: str):
    """``SourceModule`` of ``cuda_src/<name>.cu`` (compiled once per process; the emulator caches on disk)."""
    _, SourceModule, _ = load()
    return SourceModule(source(name), no_extern_c=True)


def kernel_files() -> list[str]:
    return sorted(p.stem for p in SRC_DIR.glob("*.cu"))


def device_ptr(obj):
    """A kernel argument for a pointer parameter, as ``np.uintp``.

    CUDA tensors (and CuPy/Numba arrays) expose ``__cuda_array_interface__``: its ``data[0]`` is the device
    address, which PyCUDA accepts directly.  For the emulator, CPU tensors and NumPy arrays give their
    host address (contiguous only).
    """
    import numpy as np
    cai = getattr(obj, "__cuda_array_interface__", None) if getattr(obj, "is_cuda", True) else None
    if cai is not None:
        if cai.get("strides") is not None:
            raise ValueError("pass a contiguous array (its __cuda_array_interface__ has strides)")
        return np.uintp(cai["data"][0])
    if hasattr(obj, "data_ptr"):
        if not obj.is_contiguous():
            raise ValueError("pass a contiguous tensor")
        return np.uintp(obj.data_ptr())
    if isinstance(obj, np.ndarray):
        if not obj.flags.c_contiguous:
            raise ValueError("pass a C-contiguous array")
        return np.uintp(obj.ctypes.data)
    raise TypeError(f"no device pointer for {type(obj).__name__}")
