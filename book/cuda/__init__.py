"""CUDA kernels of the book, on a real GPU (PyCUDA) or on the CPU emulator, behind one interface.

``backend = book.cuda.load()`` gives a :class:`Backend`: ``backend.driver`` (``pycuda.driver`` or the
emulator's), ``backend.SourceModule`` and ``backend.name`` (``"pycuda"`` or ``"emulator"``). Real PyCUDA
(``pycuda.autoprimaryctx``, which shares the primary context with PyTorch) is used when ``pycuda``
imports and a CUDA device exists, else the emulator; ``BOOK_CUDA_BACKEND=emulator`` forces it and
``load(name)`` / ``reset()`` choose again (tests). ``module("reduce")`` compiles ``cuda_src/reduce.cu``
once per backend. On the emulator every launch runs with its sanitizer unless
``book.cuda.emulator.configure(sanitize=False)`` (or ``BOOK_CUDA_SANITIZE=0``) turns it off for speed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from book.paths import CUDA_SRC

SRC_DIR = CUDA_SRC  # the old name, kept for callers


@dataclass(frozen=True)
class Backend:
    """The CUDA backend of chapter 03: a driver module, a ``SourceModule`` class and a name."""

    name: str
    driver: Any
    SourceModule: Any
    _modules: dict = field(default_factory=dict, repr=False, compare=False)

    def module(self, name: str):
        """``SourceModule`` of ``cuda_src/<name>.cu``, compiled once per backend."""
        if name not in self._modules:
            self._modules[name] = self.SourceModule(source(name), no_extern_c=True)
        return self._modules[name]


_CURRENT: Backend | None = None


def _pycuda() -> Backend | None:
    try:
        import pycuda.driver as drv

        drv.init()
        if drv.Device.count() == 0:
            return None
        import pycuda.autoprimaryctx  # noqa: F401  (shares PyTorch's primary context)
        from pycuda.compiler import SourceModule
    except Exception:  # pycuda missing, or no driver / device
        return None
    return Backend("pycuda", drv, SourceModule)


def _emulator() -> Backend:
    from .emulator import SourceModule, driver

    return Backend("emulator", driver, SourceModule)


def load(name: str | None = None) -> Backend:
    """The backend (chapter 03): ``name`` = "pycuda" / "emulator" chooses; None keeps or auto-detects."""
    global _CURRENT
    if name is None and _CURRENT is not None:
        return _CURRENT
    wanted = (name or os.environ.get("BOOK_CUDA_BACKEND", "")).lower()
    if wanted not in ("", "pycuda", "emulator"):
        raise ValueError(f"unknown CUDA backend {wanted!r}: use 'pycuda' or 'emulator'")
    backend = None if wanted == "emulator" else _pycuda()
    if backend is None and wanted == "pycuda":
        raise RuntimeError("PyCUDA with a CUDA device is not available (pip install pycuda on a GPU machine)")
    _CURRENT = backend or _emulator()
    return _CURRENT


def reset() -> None:
    """Forget the chosen backend and its compiled modules (tests choose again with ``load``) (chapter 03)."""
    global _CURRENT
    _CURRENT = None


def backend() -> str:
    """The name of the current backend (chapter 03)."""
    return load().name


def source(name: str) -> str:
    """The text of ``cuda_src/<name>.cu`` (chapter 03)."""
    return (SRC_DIR / f"{name}.cu").read_text()


def module(name: str) -> Any:
    """``SourceModule`` of ``cuda_src/<name>.cu`` on the current backend (chapter 03)."""
    return load().module(name)


def kernel_files() -> list[str]:
    """The stems of ``cuda_src/*.cu`` (chapter 03)."""
    return sorted(p.stem for p in SRC_DIR.glob("*.cu"))


def device_ptr(obj: Any) -> Any:
    """A kernel argument for a pointer parameter from a CUDA tensor / array (chapter 03), as ``np.uintp``.

    CUDA tensors (and CuPy/Numba arrays) expose ``__cuda_array_interface__``: its ``data[0]`` is the
    device address, which PyCUDA accepts directly.  Host memory is not device memory: on the emulator,
    wrap host arrays in ``driver.In/Out/InOut`` as on a GPU.
    """
    import numpy as np

    cai = getattr(obj, "__cuda_array_interface__", None) if getattr(obj, "is_cuda", True) else None
    if cai is None:
        raise TypeError(
            f"no device pointer for a host {type(obj).__name__}: pass driver.In/Out/InOut(array) "
            "(host memory is not device memory, on a GPU or on the emulator)"
        )
    if cai.get("strides") is not None:
        raise ValueError("pass a contiguous array (its __cuda_array_interface__ has strides)")
    return np.uintp(cai["data"][0])
