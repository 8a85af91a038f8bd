"""minifw: the book's own small deep-learning framework (chapter 05b), in the order of a lecture.

``ndarray`` (strided views over a flat buffer) -> ``backend_numpy`` / ``backend_cuda`` (the devices)
-> ``autograd`` (Tensor, Function) -> ``functional`` / ``nn`` (layers) -> ``optim`` -> ``data``.
"""

from . import autograd, backend_numpy, data, functional, nn, optim
from .autograd import Function, Tensor, no_grad
from .ndarray import NDArray


def cpu():
    """The NumPy backend (chapter 05b)."""
    return backend_numpy


def cuda():
    """The CUDA backend: the book's kernels through ``book.cuda`` (PyCUDA or the emulator) (ch. 05b)."""
    from . import backend_cuda

    return backend_cuda


__all__ = [
    "Function",
    "NDArray",
    "Tensor",
    "autograd",
    "backend_numpy",
    "cpu",
    "cuda",
    "data",
    "functional",
    "nn",
    "no_grad",
    "optim",
]
