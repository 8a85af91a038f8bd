"""A scalar autodiff engine in one screen (in the spirit of Karpathy's micrograd).

Every ``Value`` remembers the values it was computed from (``_parents``), the operation (``_op``) and a
closure ``_backward`` that applies the chain rule locally: it adds ``out.grad * d out / d parent`` to each
parent's ``grad``. ``backward()`` sorts the graph topologically and calls the closures from the output back.
"""

from __future__ import annotations

import math


class Value:
    """A number that remembers how it was computed, for reverse mode (chapter 04)."""

    def __init__(self, data: float, _parents=(), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        # a tuple, not a set: x * x has the parent x twice
        self._parents = tuple(_parents)
        self._op = _op
        self._backward = lambda: None
        self.label = label

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # --- binary operations ------------------------------------------------------------
    def __add__(self, other):
        other = _lift(other, "+")
        out = Value(self.data + other.data, (self, other), "add")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _lift(other, "*")
        out = Value(self.data * other.data, (self, other), "mul")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError(
                f"Value ** {type(k).__name__}: the exponent must be a plain number. "
                "For a Value exponent write (b * a.log()).exp()."
            )
        out = Value(self.data**k, (self,), "pow")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_lift(other, "-"))

    def __truediv__(self, other):
        return self * _lift(other, "/") ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _lift(other, "-") - self

    def __rtruediv__(self, other):
        return _lift(other, "/") / self

    # --- unary functions: local derivative from the input x or the output y ----------
    def _unary(self, y, op, dydx):
        out = Value(y, (self,), op)

        def _backward():
            self.grad += dydx * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        """max(x, 0) (chapter 04)."""
        return self._unary(max(self.data, 0.0), "relu", float(self.data > 0))

    def exp(self) -> Value:
        """e**x (chapter 04)."""
        e = math.exp(self.data)
        return self._unary(e, "exp", e)

    def tanh(self) -> Value:
        """tanh(x) (chapter 04)."""
        t = math.tanh(self.data)
        return self._unary(t, "tanh", 1 - t * t)

    def log(self) -> Value:
        """Natural logarithm of a positive value (chapter 04)."""
        if self.data <= 0:
            raise ValueError(f"log of {self.data:g}: the input must be positive.")
        return self._unary(math.log(self.data), "log", 1 / self.data)

    # --- reverse mode -----------------------------------------------------------------
    def topo_order(self) -> list[Value]:
        """Nodes reachable from ``self``, each after its parents (chapter 04)."""
        order, seen = [], set()

        def visit(v):
            if id(v) not in seen:
                seen.add(id(v))
                for p in v._parents:
                    visit(p)
                order.append(v)

        visit(self)
        return order

    def backward(self, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node with d self / d node (chapter 04)."""
        if create_graph:
            raise NotImplementedError(
                "this engine's gradients are plain floats, so it cannot differentiate "
                "its own backward pass; use torch.autograd.grad(..., "
                "create_graph=True)."
            )
        order = self.topo_order()
        for v in order:
            if v._parents:  # intermediate results restart from 0; leaves accumulate
                v.grad = 0.0
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def _lift(x, op):
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(
        f"unsupported operand for {op}: Value and {type(x).__name__}. "
        "Mix Values only with Python numbers (use float(x) or Value(x))."
    )
