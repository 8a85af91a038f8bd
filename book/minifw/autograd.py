"""Tensor and Function: reverse-mode autodiff over NDArray (chapter 05b; the design of chapter 04).

A ``Function`` has ``forward(*arrays) -> array`` and ``backward(grad, *arrays) -> grads``, both written
with NDArray operations, so they run on whatever device the arrays live on. Calling a Function on
Tensors records the inputs in the output Tensor; ``backward()`` walks the graph in reverse topological
order and adds up the gradient of every path, as in chapter 04.
"""

from __future__ import annotations

import numpy as np

from . import backend_numpy
from .ndarray import NDArray


class Function:
    """One differentiable operation: NDArray in, NDArray out, and its vector-Jacobian product (ch. 05b)."""

    def forward(self, *xs: NDArray) -> NDArray:
        raise NotImplementedError

    def backward(self, g: NDArray, *xs: NDArray) -> tuple[NDArray | None, ...]:
        raise NotImplementedError

    def __call__(self, *inputs: Tensor) -> Tensor:
        out = Tensor(self.forward(*(t.data for t in inputs)))
        self.needs = tuple(
            t.requires_grad for t in inputs
        )  # backward may skip the others
        if any(self.needs) and Tensor.grad_enabled:
            out.requires_grad, out.fn, out.inputs = True, self, inputs
        return out


class Tensor:
    """An NDArray with a gradient and the Function that made it (chapter 05b)."""

    grad_enabled = True  # switched off by no_grad()

    def __init__(self, data, device=None, requires_grad: bool = False):
        if not isinstance(data, NDArray):
            data = NDArray.from_numpy(
                np.asarray(data, np.float32), device or backend_numpy
            )
        self.data, self.requires_grad = data, requires_grad
        self.grad: NDArray | None = None
        self.fn: Function | None = None
        self.inputs: tuple[Tensor, ...] = ()

    shape = property(lambda self: self.data.shape)
    device = property(lambda self: self.data.device)

    def numpy(self) -> np.ndarray:
        return self.data.numpy()

    def item(self) -> float:
        return float(self.numpy().reshape(-1)[0])

    def __repr__(self) -> str:
        return f"Tensor({self.numpy()!r}, device={self.device.name})"

    def backward(self, grad: NDArray | None = None) -> None:
        """Gradients of this (scalar) tensor w.r.t. every leaf that requires one (chapter 05b)."""
        order, seen = [], set()

        def visit(t):  # depth-first: a node after all of its inputs
            if id(t) not in seen:
                seen.add(id(t))
                for i in t.inputs:
                    visit(i)
                order.append(t)

        visit(self)
        grads = {id(self): grad or NDArray.full(self.shape, 1.0, self.device)}
        for t in reversed(order):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if t.fn is None:  # a leaf: accumulate, as PyTorch does
                t.grad = g if t.grad is None else t.grad + g
                continue
            for i, gi in zip(
                t.inputs, t.fn.backward(g, *(x.data for x in t.inputs)), strict=True
            ):
                if i.requires_grad and gi is not None:
                    grads[id(i)] = gi if id(i) not in grads else grads[id(i)] + gi

    # --- operators: broadcast first, then one Function --------------------------------
    def _binary(self, other, fn: Function) -> Tensor:
        shape = np.broadcast_shapes(self.shape, other.shape)
        a = self if self.shape == shape else BroadcastTo(shape)(self)
        b = other if other.shape == shape else BroadcastTo(shape)(other)
        return fn(a, b)

    def __add__(self, other):
        if isinstance(other, Tensor):
            return self._binary(other, EWiseAdd())
        return AddScalar(other)(self)

    def __mul__(self, other):
        if isinstance(other, Tensor):
            return self._binary(other, EWiseMul())
        return MulScalar(other)(self)

    def __sub__(self, other):
        return self + (-other)

    def __neg__(self):
        return MulScalar(-1.0)(self)

    def __truediv__(self, other: float):
        return MulScalar(1.0 / other)(self)

    def __pow__(self, k: float):
        return PowScalar(k)(self)

    def __matmul__(self, other):
        return MatMul()(self, other)

    __radd__, __rmul__ = __add__, __mul__

    def sum(self, axis: int | None = None):
        return Sum(axis)(self)

    def max(self, axis: int):
        return Max(axis)(self)

    def reshape(self, *shape):
        shape = (
            shape[0]
            if len(shape) == 1 and isinstance(shape[0], tuple | list)
            else shape
        )
        return Reshape(shape)(self)

    def permute(self, *axes):
        return Permute(axes)(self)

    def exp(self):
        return Exp()(self)

    def log(self):
        return Log()(self)

    def relu(self):
        return ReLU()(self)

    T = property(lambda self: Permute((1, 0))(self))


class no_grad:  # noqa: N801  (the name PyTorch uses)
    """``with no_grad():`` records no graph (evaluation) (chapter 05b)."""

    def __enter__(self):
        Tensor.grad_enabled = False

    def __exit__(self, *exc):
        Tensor.grad_enabled = True


# --- the Functions --------------------------------------------------------------------
class EWiseAdd(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g, a, b):
        return g, g


class EWiseMul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, g, a, b):
        return g * b, g * a


class AddScalar(Function):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a + self.s

    def backward(self, g, a):
        return (g,)


class MulScalar(Function):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a * self.s

    def backward(self, g, a):
        return (g * self.s,)


class PowScalar(Function):
    def __init__(self, k):
        self.k = k

    def forward(self, a):
        return a**self.k

    def backward(self, g, a):
        return (g * (a ** (self.k - 1)) * self.k,)


class Exp(Function):
    def forward(self, a):
        return a.exp()

    def backward(self, g, a):
        return (g * a.exp(),)


class Log(Function):
    def forward(self, a):
        return a.log()

    def backward(self, g, a):
        return (g / a,)


class ReLU(Function):
    def forward(self, a):
        return a.relu()

    def backward(self, g, a):
        return (a.relu_backward(g),)


class MatMul(Function):
    def forward(self, a, b):
        return a @ b

    def backward(self, g, a, b):  # permute is a view; matmul compacts what it needs
        ga = g @ b.permute(1, 0) if self.needs[0] else None
        gb = a.permute(1, 0) @ g if self.needs[1] else None
        return ga, gb


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        return a.reshape(self.shape)

    def backward(self, g, a):
        return (g.reshape(a.shape),)


class Permute(Function):
    def __init__(self, axes):
        self.axes = tuple(
            axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        )

    def forward(self, a):
        return a.permute(self.axes)

    def backward(self, g, a):
        return (g.permute(tuple(np.argsort(self.axes))),)


class BroadcastTo(Function):
    """Broadcasting is a view (stride 0); its backward sums over the broadcast axes (chapter 04)."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        return a.broadcast_to(self.shape)

    def backward(self, g, a):
        lead = len(self.shape) - a.ndim
        for axis in range(len(self.shape)):
            if axis < lead or a.shape[axis - lead] == 1:
                g = g.sum(axis, keepdims=True)
        return (g.reshape(a.shape),)


class Sum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        return a.sum(self.axis)

    def backward(self, g, a):
        keep = [1] * a.ndim if self.axis is None else [*a.shape]
        if self.axis is not None:
            keep[self.axis] = 1
        return (g.reshape(tuple(keep)).broadcast_to(a.shape),)


class Max(Function):
    """Max over one axis; the gradient goes to every place that equals the max (ties share it)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        self.m = a.max(self.axis, keepdims=True)
        return self.m.reshape(
            tuple(n for i, n in enumerate(a.shape) if i != self.axis % a.ndim)
        )

    def backward(self, g, a):
        mask = a == self.m.broadcast_to(a.shape)
        return (mask * g.reshape(self.m.shape).broadcast_to(a.shape),)
