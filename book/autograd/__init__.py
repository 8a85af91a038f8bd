"""The book's own automatic differentiation, small enough to read in a lecture (chapter 04).

* ``scalar.Value``: a scalar engine (micrograd-sized);
* ``tensor.Tensor``: the same idea on NumPy arrays, with broadcasting and a fused softmax cross-entropy;
* ``nn``: ``Linear``, ``MLP`` and ``SGD`` for the tensor engine;
* ``gradcheck``: central-difference gradients (``numerical_grad(s)``, ``rel_error``), chapters 02 and 04;
* ``viz``: ``draw_graph`` (the engines' graphs) and ``make_dot`` (PyTorch's, via torchviz), in one style.
"""

from .gradcheck import numerical_grad, numerical_grads, rel_error
from .nn import MLP, SGD, Linear
from .scalar import Value
from .tensor import Tensor, unbroadcast
from .viz import GraphvizMissing, dot_available, draw_graph, make_dot

__all__ = [
    "MLP",
    "SGD",
    "GraphvizMissing",
    "Linear",
    "Tensor",
    "Value",
    "dot_available",
    "draw_graph",
    "make_dot",
    "numerical_grad",
    "numerical_grads",
    "rel_error",
    "unbroadcast",
]
