"""The book's own automatic differentiation, small enough to read in a lecture.

* ``scalar.Value``: a scalar engine (micrograd-sized);
* ``tensor.Tensor``: the same idea on NumPy arrays, with broadcasting and a fused softmax cross-entropy;
* ``nn``: ``Linear``, ``MLP`` and ``SGD`` for the tensor engine;
* ``viz``: ``draw_graph`` (the engines' graphs) and ``make_dot`` (PyTorch's, via torchviz), in one style.
"""
from .nn import MLP, SGD, Linear
from .scalar import Value
from .tensor import Tensor, unbroadcast
from .viz import GraphvizMissing, dot_available, draw_graph, make_dot

__all__ = ["GraphvizMissing", "Linear", "MLP", "SGD", "Tensor", "Value", "dot_available", "draw_graph",
           "make_dot", "unbroadcast"]
