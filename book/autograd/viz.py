"""Pictures of computation graphs, in torchviz's style, for both PyTorch and the book's engines.

* ``draw_graph(root)`` draws a graph of ``Value`` (scalar.py) or ``Tensor`` (tensor.py) nodes;
* ``make_dot(y, params)`` is ``torchviz.make_dot`` with the node names (``id()`` numbers, different on
  every run) renamed ``n0, n1, ...`` in drawing order, so the picture is the same every time.

Both return a ``graphviz.Digraph`` (Jupyter shows it as SVG). Drawing needs Graphviz's ``dot`` program;
without it they return a ``GraphvizMissing`` that says what to install and keeps the DOT text in ``.source``.
"""

from __future__ import annotations

import re
import shutil
import warnings
from typing import TYPE_CHECKING, Any

import graphviz

from .scalar import Value

if TYPE_CHECKING:
    import torch

# torchviz's look: filled boxes, small monospace text; leaves light blue, the output green, functions grey.
NODE_ATTR = dict(
    style="filled",
    shape="box",
    align="left",
    fontsize="10",
    ranksep="0.1",
    height="0.2",
    fontname="monospace",
)


class GraphvizMissing:
    """Stands in for a drawing when ``dot`` is not installed (chapter 04)."""

    def __init__(self, source: str):
        self.source = source

    def __repr__(self) -> str:
        return (
            "(graph not drawn: Graphviz's `dot` program is not installed. Install it, e.g. "
            "`apt-get install graphviz`, `brew install graphviz` or `conda install graphviz`, and re-run; "
            "the graph in DOT language is in .source)"
        )


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH (chapter 04)."""
    return shutil.which("dot") is not None


def _finish(dot):
    size = max(12, 0.15 * len(dot.body))  # torchviz's resize_graph
    dot.graph_attr.update(size=f"{size},{size}")
    return dot if dot_available() else GraphvizMissing(dot.source)


def _fn_name(op):
    return "".join(w.capitalize() for w in re.split(r"[_\d.]+", op) if w) + "Backward"


def draw_graph(root: Any, params: dict | None = None) -> Any:
    """Draw the graph that produced ``root`` in torchviz's style; ``params`` names leaves (chapter 04)."""
    names = {id(v): k for k, v in (params or {}).items()}
    scalar = isinstance(root, Value)
    dot = graphviz.Digraph(node_attr=NODE_ATTR, graph_attr=dict(size="12,12"))
    ids = {}

    def nid(v):
        return ids.setdefault(id(v), f"n{len(ids)}")

    def describe(v, name):
        if scalar:
            return f"{name}\n data={v.data:.4g} grad={v.grad:.4g}"
        return f"{name}\n ({', '.join(str(n) for n in v.shape)})"

    def shown(v):
        return scalar or v.requires_grad

    for v in root.topo_order():
        if v._parents:
            dot.node(nid(v), _fn_name(v._op) + (describe(v, "") if scalar else ""))
            for p in v._parents:
                if shown(p):
                    dot.edge(nid(p), nid(v))
        elif shown(v):
            name = names.get(id(v), getattr(v, "label", "") or getattr(v, "name", ""))
            dot.node(nid(v), describe(v, name), fillcolor="lightblue")
    if root._parents:
        dot.node("out", describe(root, "out"), fillcolor="darkolivegreen1")
        dot.edge(nid(root), "out")
    return _finish(dot)


def make_dot(var: torch.Tensor, params: dict | None = None, **kwargs: Any) -> Any:
    """``torchviz.make_dot`` with deterministic node names, so a notebook stores the same SVG (ch. 04)."""
    import torchviz

    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # torchviz 0.0.3 still uses distutils' LooseVersion
        dot = torchviz.make_dot(var, params=params, **kwargs)
    ids = {}
    rename = lambda m: ids.setdefault(m.group(0), f"n{len(ids)}")  # noqa: E731
    dot.body = [re.sub(r"(?<![\w.])\d{6,}(?![\w.])", rename, line) for line in dot.body]
    return _finish(dot)
