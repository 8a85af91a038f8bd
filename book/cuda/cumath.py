"""``pycuda.cumath`` for the CPU emulator (chapter 03): elementwise math functions of a ``GPUArray``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .gpuarray import GPUArray, to_gpu


def _unary(f: Any) -> Any:
    def apply(array: GPUArray, stream: Any = None, out: GPUArray | None = None) -> GPUArray:
        a = array.get()
        r = np.asarray(f(a)).astype(a.dtype, copy=False)
        if out is not None:
            out.set(r)
            return out
        return to_gpu(r)

    apply.__doc__ = f"Elementwise ``{f.__name__}`` of a GPUArray (chapter 03)."
    apply.__name__ = f.__name__
    return apply


fabs = _unary(np.fabs)
ceil = _unary(np.ceil)
floor = _unary(np.floor)
exp = _unary(np.exp)
log = _unary(np.log)
log10 = _unary(np.log10)
sqrt = _unary(np.sqrt)
sin = _unary(np.sin)
cos = _unary(np.cos)
tan = _unary(np.tan)
asin = _unary(np.arcsin)
acos = _unary(np.arccos)
atan = _unary(np.arctan)
sinh = _unary(np.sinh)
cosh = _unary(np.cosh)
tanh = _unary(np.tanh)


def fmod(arg: GPUArray, mod: GPUArray, stream: Any = None) -> GPUArray:
    """Elementwise ``fmod`` (chapter 03)."""
    return to_gpu(np.fmod(arg.get(), mod.get()))
