"""The ReLU kernels of ``cuda_src/elementwise.cu`` as PyTorch operators (chapter 03).

* ``ReLUFunction``: a ``torch.autograd.Function`` (forward and backward each launch a kernel);
* ``book::cuda_relu``: a ``torch.library.custom_op`` with ``register_autograd`` and a fake (meta)
  implementation, so ``torch.compile`` and ``opcheck`` can trace it.

CUDA tensors run through PyCUDA (pointers from ``__cuda_array_interface__``); CPU tensors run through the
emulator (the same ``.cu`` source compiled with g++).
"""

from __future__ import annotations

import numpy as np
import torch

from . import _emulator, device_ptr, load

BLOCK = 256


def _function(name: str, device: torch.device):
    if device.type == "cuda":
        backend = load()
        if backend.name != "pycuda":
            raise RuntimeError("CUDA tensor given but PyCUDA is not available (pip install pycuda)")
        return backend.module("elementwise").get_function(name)
    if device.type == "cpu":
        return _EMULATOR.module("elementwise").get_function(name)
    raise RuntimeError(f"no implementation for device {device}")


_EMULATOR = _emulator()  # CPU tensors always run on the emulator, whatever load() chose


def _launch(name: str, *tensors: torch.Tensor) -> None:
    """Launch ``name`` on ``tensors`` (inputs first, the output last)."""
    n = tensors[0].numel()
    grid = (max(1, (n + BLOCK - 1) // BLOCK), 1)
    f = _function(name, tensors[0].device)
    if tensors[0].device.type == "cuda":
        f(*[device_ptr(t) for t in tensors], np.int32(n), block=(BLOCK, 1, 1), grid=grid)
        torch.cuda.synchronize()  # PyCUDA launched on its own stream
    else:  # host memory is not device memory: copy in and out, as drv.In/Out do on a GPU
        drv = _EMULATOR.driver
        args = [drv.In(t.numpy()) for t in tensors[:-1]] + [drv.Out(tensors[-1].numpy())]
        f(*args, np.int32(n), block=(BLOCK, 1, 1), grid=grid)


def _check(x: torch.Tensor) -> torch.Tensor:
    if x.dtype != torch.float32:
        raise TypeError(f"the kernel takes float32, got {x.dtype}")
    return x.detach().contiguous()


def relu_forward(x: torch.Tensor) -> torch.Tensor:
    """ReLU forward of a tensor with the relu_fwd kernel (chapter 03)."""
    x = _check(x)
    y = torch.empty_like(x)
    if x.numel():
        _launch("relu_fwd", x, y)
    return y


def relu_backward(x: torch.Tensor, grad_y: torch.Tensor) -> torch.Tensor:
    """ReLU backward of tensors with the relu_bwd kernel (chapter 03)."""
    x, grad_y = _check(x), _check(grad_y)
    grad_x = torch.empty_like(x)
    if x.numel():
        _launch("relu_bwd", x, grad_y, grad_x)
    return grad_x


class ReLUFunction(torch.autograd.Function):
    """ReLU as a torch.autograd.Function around the CUDA kernels (chapter 03)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return relu_forward(x)

    @staticmethod
    def backward(ctx, grad_y):
        (x,) = ctx.saved_tensors
        return relu_backward(x, grad_y)


@torch.library.custom_op("book::cuda_relu", mutates_args=())
def cuda_relu(x: torch.Tensor) -> torch.Tensor:
    return relu_forward(x)


@cuda_relu.register_fake
def _(x):
    return torch.empty_like(x)


@torch.library.custom_op("book::cuda_relu_backward", mutates_args=())
def cuda_relu_backward(x: torch.Tensor, grad_y: torch.Tensor) -> torch.Tensor:
    return relu_backward(x, grad_y)


@cuda_relu_backward.register_fake
def _(x, grad_y):
    return torch.empty_like(x)


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(inputs[0])


def _backward(ctx, grad_y):
    (x,) = ctx.saved_tensors
    return cuda_relu_backward(x, grad_y)


cuda_relu.register_autograd(_backward, setup_context=_setup_context)
