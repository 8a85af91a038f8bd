"""A small NumPy-backed tensor autodiff engine (reverse mode), the scalar engine grown to arrays.

Each operation creates a ``Tensor`` that stores its parents and a function ``_backward(g)`` returning the
vector-Jacobian products ``g^T d out / d parent`` for every parent. ``backward()`` walks the graph in
reverse topological order, adds up the contributions of every path (a node used twice gets two), and
*unbroadcasts* each one: if ``b`` of shape (4,) was broadcast to (3, 4), its gradient is summed over the
broadcast axis. Gradients are plain NumPy arrays, so there are no second derivatives here.
"""

from __future__ import annotations

import numpy as np


class Tensor:
    """A float64 NumPy array that records its graph for reverse mode (chapter 04)."""

    __array_ufunc__ = None  # np.exp(t) raises TypeError (use t.exp()); ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, name: str = "", _parents=(), _op: str = ""):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self.name = name
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = None
        self.requires_grad = bool(requires_grad) or any(p.requires_grad for p in self._parents)

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    T = property(lambda self: self.transpose())

    def __repr__(self) -> str:
        grad = (
            f", grad_fn=<{self._op}>" if self._op else (", requires_grad=True" if self.requires_grad else "")
        )
        return f"Tensor({np.array2string(self.data, precision=4, separator=', ')}{grad})"

    def item(self) -> float:
        """The value of a one-element tensor as a Python float (chapter 04)."""
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """A copy of the data (chapter 04)."""
        return self.data.copy()

    # --- building the graph ------------------------------------------------------------------------
    def _make(self, data, parents, op, backward):
        out = Tensor(data, _parents=parents, _op=op)
        if out.requires_grad:
            out._backward = backward
        else:
            out._parents = ()  # nothing to differentiate: do not keep the inputs alive
        return out

    def _binary(self, other, op, forward, backward):
        other = _lift(other, op)
        try:
            data = forward(self.data, other.data)
        except ValueError:
            raise ValueError(
                f"{op}: shapes {self.shape} and {other.shape} do not broadcast. Trailing "
                "dimensions must be equal or 1; reshape one operand (e.g. x.reshape(-1, 1))."
            ) from None
        return self._make(data, (self, other), op, backward)

    def __add__(self, o):
        return self._binary(o, "add", np.add, lambda g: (g, g))

    def __sub__(self, o):
        return self._binary(o, "sub", np.subtract, lambda g: (g, -g))

    def __mul__(self, o):
        o = _lift(o, "mul")
        return self._binary(o, "mul", np.multiply, lambda g: (g * o.data, g * self.data))

    def __truediv__(self, o):
        o = _lift(o, "div")
        return self._binary(o, "div", np.divide, lambda g: (g / o.data, -g * self.data / o.data**2))

    def __radd__(self, o):
        return _lift(o, "add") + self

    def __rsub__(self, o):
        return _lift(o, "sub") - self

    def __rmul__(self, o):
        return _lift(o, "mul") * self

    def __rtruediv__(self, o):
        return _lift(o, "div") / self

    def __neg__(self):
        return self._make(-self.data, (self,), "neg", lambda g: (-g,))

    def __pow__(self, k):
        if not isinstance(k, (int, float)) or isinstance(k, bool):
            raise TypeError(
                f"Tensor ** {type(k).__name__}: the exponent must be a Python number; "
                "for a tensor exponent write (b * a.log()).exp()."
            )
        return self._make(self.data**k, (self,), "pow", lambda g: (g * k * self.data ** (k - 1),))

    def __matmul__(self, o):
        o = _lift(o, "matmul")
        if self.ndim != 2 or o.ndim != 2:
            raise ValueError(
                f"matmul: this engine multiplies 2-D by 2-D only, got {self.shape} @ {o.shape}; "
                "reshape first (e.g. x.reshape(1, -1))."
            )
        if self.shape[1] != o.shape[0]:
            raise ValueError(
                f"matmul: {self.shape} @ {o.shape}: inner dimensions {self.shape[1]} and "
                f"{o.shape[0]} differ (did you mean to transpose one operand, x @ w.T?)."
            )
        return self._make(self.data @ o.data, (self, o), "matmul", lambda g: (g @ o.data.T, self.data.T @ g))

    # --- reductions and shapes ---------------------------------------------------------------------
    def sum(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default), like ``ndarray.sum`` (chapter 04)."""
        shape = self.shape

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, shape),)

        return self._make(self.data.sum(axis=axis, keepdims=keepdims), (self,), "sum", backward)

    def mean(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default) (chapter 04)."""
        total = self.sum(axis=axis, keepdims=keepdims)
        return total / (self.data.size // max(total.data.size, 1))

    def reshape(self, *shape: int) -> Tensor:
        """The same data in another shape (chapter 04)."""
        old = self.shape
        return self._make(self.data.reshape(*shape), (self,), "reshape", lambda g: (g.reshape(old),))

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes (reverse them by default) (chapter 04)."""
        axes = axes or tuple(reversed(range(self.ndim)))
        inverse = tuple(np.argsort(axes))
        return self._make(self.data.transpose(axes), (self,), "transpose", lambda g: (g.transpose(inverse),))

    # --- elementwise functions ---------------------------------------------------------------------
    def relu(self) -> Tensor:
        """max(x, 0) elementwise (chapter 04)."""
        return self._make(np.maximum(self.data, 0), (self,), "relu", lambda g: (g * (self.data > 0),))

    def exp(self) -> Tensor:
        """e**x elementwise (chapter 04)."""
        y = np.exp(self.data)
        return self._make(y, (self,), "exp", lambda g: (g * y,))

    def log(self) -> Tensor:
        """Natural logarithm elementwise; every input must be positive (chapter 04)."""
        if np.any(self.data <= 0):
            raise ValueError("log: every input must be positive (clamp, or add a small epsilon first).")
        return self._make(np.log(self.data), (self,), "log", lambda g: (g / self.data,))

    def tanh(self) -> Tensor:
        """tanh(x) elementwise (chapter 04)."""
        y = np.tanh(self.data)
        return self._make(y, (self,), "tanh", lambda g: (g * (1 - y * y),))

    def cross_entropy(self, target) -> Tensor:
        """Mean softmax cross-entropy of logits (N, C) and class ids (N,), fused (chapter 04)."""
        y = np.asarray(getattr(target, "data", target))
        ints = np.issubdtype(y.dtype, np.integer)
        if self.ndim != 2 or y.shape != (self.shape[0],) or not ints:
            raise ValueError(
                "cross_entropy needs logits (N, C) and integer class ids (N,); "
                f"got {self.shape} and {y.shape} {y.dtype}."
            )
        if y.size and (y.min() < 0 or y.max() >= self.shape[1]):
            c = self.shape[1]
            raise ValueError(f"cross_entropy: class ids must lie in [0, {c}).")
        n, rows = self.shape[0], np.arange(self.shape[0])
        # subtract the row max: exp never overflows (log-sum-exp)
        z = self.data - self.data.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log softmax
        p = np.exp(logp)

        def backward(g):
            d = p.copy()
            d[rows, y] -= 1  # softmax - one_hot
            return (g * d / n,)

        loss = -logp[rows, y].mean()
        return self._make(loss, (self,), "cross_entropy", backward)

    # --- reverse mode -----------------------------------------------------------------
    def topo_order(self) -> list[Tensor]:
        """Nodes reachable from ``self``, each after its parents (chapter 04)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # iterative post-order (deep graphs, no recursion limit)
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in reversed(node._parents))
        return order

    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Accumulate d self / d leaf into every leaf's ``.grad``; ``grad`` gives a VJP (chapter 04)."""
        if create_graph:
            raise NotImplementedError(
                "this engine's gradients are NumPy arrays, so it cannot differentiate "
                "its own backward pass; use torch.autograd.grad(..., "
                "create_graph=True)."
            )
        if not self.requires_grad:
            msg = "backward(): this tensor depends on no tensor with requires_grad=True."
            raise ValueError(msg)
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    "backward() without an argument needs a single number, got shape "
                    f"{self.shape}; call .sum() first or pass grad= of the same shape "
                    "(a vector-Jacobian product)."
                )
            grad = np.ones_like(self.data)
        grad = np.asarray(getattr(grad, "data", grad), dtype=np.float64)
        if grad.shape != self.shape:
            msg = f"backward(grad): grad has shape {grad.shape}, the output {self.shape}."
            raise ValueError(msg)
        grads = {id(self): grad}
        for node in reversed(self.topo_order()):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if not node._parents:  # a leaf: accumulate, as PyTorch does
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if parent.requires_grad:
                    pg = unbroadcast(pg, parent.shape)
                    k = id(parent)
                    grads[k] = grads[k] + pg if k in grads else pg


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing broadcasting (chapter 04)."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _lift(x, op):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float, np.ndarray, np.number)) and not isinstance(x, bool):
        return Tensor(x)
    kind = f"{type(x).__module__}.{type(x).__qualname__}".removeprefix("builtins.")
    raise TypeError(
        f"unsupported operand for {op}: Tensor and {kind}. Mix Tensors only with "
        "numbers and NumPy arrays (a torch.Tensor: Tensor(t.detach().numpy()))."
    )
