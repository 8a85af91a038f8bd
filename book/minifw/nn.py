"""Modules with the shape of ``torch.nn``: parameters, layers, a loss (chapter 05b).

A ``Module`` finds its parameters in its attributes (as PyTorch does); ``Linear`` and ``Conv2d`` start
from PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

from __future__ import annotations

import numpy as np

from . import backend_numpy
from . import functional as F
from .autograd import Tensor
from .ndarray import NDArray

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the initialisation of new layers (chapter 05b)."""
    global _rng
    _rng = np.random.default_rng(seed)


class Parameter(Tensor):
    """A Tensor that is a leaf and requires a gradient (chapter 05b)."""

    def __init__(self, array: np.ndarray, device=backend_numpy):
        super().__init__(NDArray.from_numpy(array, device), requires_grad=True)


def _uniform(fan_in: int, *shape) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return _rng.uniform(-bound, bound, shape).astype(np.float32)


class Module:
    """The base class: parameters, state_dict, train/eval, ``to(device)`` (chapter 05b)."""

    training = True

    def __call__(self, *args):
        return self.forward(*args)

    def named_parameters(self, prefix: str = ""):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value.named_parameters(f"{prefix}{name}.")
            elif isinstance(value, list | tuple):
                for i, m in enumerate(value):
                    if isinstance(m, Module):
                        yield from m.named_parameters(f"{prefix}{name}.{i}.")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.numpy() for name, p in self.named_parameters()}

    def load_state_dict(self, state) -> None:
        """Copy arrays (NumPy, or anything with ``.numpy()``, e.g. a PyTorch state_dict) in (ch. 05b)."""
        for name, p in self.named_parameters():
            value = np.asarray(
                state[name].detach().cpu()
                if hasattr(state[name], "detach")
                else state[name]
            )
            if value.shape != p.shape:
                raise ValueError(f"{name}: shape {value.shape}, expected {p.shape}")
            p.data = NDArray.from_numpy(value, p.device)

    def to(self, device) -> Module:
        """Move every parameter to ``device`` (a backend module) (chapter 05b)."""
        for p in self.parameters():
            p.data = NDArray.from_numpy(p.numpy(), device)
        return self

    def train(self, mode: bool = True) -> Module:
        self.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        self.weight = Parameter(_uniform(in_features, out_features, in_features))
        self.bias = Parameter(_uniform(in_features, out_features)) if bias else None

    def forward(self, x):
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out


class Conv2d(Module):
    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True
    ):
        fan_in = in_channels * kernel_size * kernel_size
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = Parameter(_uniform(fan_in, *shape))
        self.bias = Parameter(_uniform(fan_in, out_channels)) if bias else None
        self.stride, self.padding = stride, padding

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class MaxPool2d(Module):
    def __init__(self, kernel_size: int, stride: int | None = None):
        if stride not in (None, kernel_size):
            raise ValueError("this MaxPool2d supports stride == kernel_size only")
        self.k = kernel_size

    def forward(self, x):
        return F.max_pool2d(x, self.k)


class Flatten(Module):
    def forward(self, x):
        return F.flatten(x, 1)


class Sequential(Module):
    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class CrossEntropyLoss(Module):
    def forward(self, logits, labels):
        return F.cross_entropy(logits, labels)
