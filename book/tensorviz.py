"""How a tensor sits in memory: storage, shape, strides and offset, drawn and explained.

A tensor is a *view* of a flat storage: the element at index ``(i_0, ..., i_{d-1})`` lives at
``storage[offset + sum_k i_k * stride_k]``. The helpers below compute that map (``storage_indices``),
draw it (``draw_layout``: the logical grid above, the storage strip below, equal colours = equal memory)
and explain broadcasting step by step (``explain_broadcast``, ``draw_broadcast``).

Labels are in English on purpose (no CJK font is guaranteed). Nothing here prints addresses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "row_major_strides",
    "storage_indices",
    "storage_values",
    "same_storage",
    "describe",
    "explain_broadcast",
    "draw_layout",
    "draw_layouts",
    "draw_broadcast",
]


def row_major_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """The strides (in elements) of a contiguous, row-major ("C order") tensor of this shape. (ch. 01b)"""
    strides, acc = [], 1
    for n in reversed(tuple(shape)):
        strides.append(acc)
        acc *= max(int(n), 1)
    return tuple(reversed(strides))


def _storage_numel(t: torch.Tensor) -> int:
    return t.untyped_storage().nbytes() // t.element_size()


def storage_indices(t: torch.Tensor) -> torch.Tensor:
    """An int64 CPU tensor shaped like ``t``: for each element, its index in ``t``'s storage. (ch. 01b)

    Computed from the metadata only, ``offset + sum_k i_k * stride_k``, by laying the same shape,
    strides and offset over ``arange(len(storage))``.
    """
    return torch.arange(_storage_numel(t)).as_strided(tuple(t.shape), t.stride(), t.storage_offset())


def storage_values(t: torch.Tensor) -> torch.Tensor:
    """The whole storage behind ``t`` as a 1-D tensor of ``t``'s dtype (shares memory with ``t``). (ch. 01b)"""
    return t.new_empty(0).set_(t.untyped_storage(), 0, (_storage_numel(t),), (1,))


def same_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True if ``a`` and ``b`` are views of one and the same storage (compares addresses, prints none). (ch. 01b)"""
    return a.device == b.device and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def describe(t: torch.Tensor) -> str:
    """One line: shape, stride, storage offset, contiguity and storage size. (ch. 01b)"""
    return (
        f"shape={tuple(t.shape)} stride={t.stride()} offset={t.storage_offset()} "
        f"contiguous={t.is_contiguous()} storage={_storage_numel(t)} elements"
    )


def explain_broadcast(*shapes) -> str:
    """The broadcasting rules applied to ``shapes``, one step per line (ends with the result or the error). (01_tensors)"""
    shapes = [tuple(int(n) for n in s) for s in shapes]
    nd = max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + s for s in shapes]
    lines = [
        "shapes          : " + "  ".join(str(s) for s in shapes),
        "1. align right  : " + "  ".join(str(p) for p in padded) + "   (missing leading dims = 1)",
    ]
    result, ok = [], True
    for d in range(nd):
        sizes = [p[d] for p in padded]
        big = {n for n in sizes if n != 1}
        if len(big) > 1:
            lines.append(
                f"2. dim {d - nd:<3d}     : {' vs '.join(map(str, sizes))} -> error (sizes differ and none is 1)"
            )
            ok = False
            result.append(None)
            continue
        out = big.pop() if big else 1
        note = "equal" if len(set(sizes)) == 1 else "stretch the 1s"
        lines.append(f"2. dim {d - nd:<3d}     : {' vs '.join(map(str, sizes))} -> {out}   ({note})")
        result.append(out)
    lines.append("3. result       : " + (str(tuple(result)) if ok else "not broadcastable"))
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _as_grid(t: torch.Tensor) -> torch.Tensor:
    if t.dim() == 0:
        return t.reshape(1, 1)
    if t.dim() == 1:
        return t.unsqueeze(0)
    if t.dim() == 2:
        return t
    raise ValueError(f"draw_layout draws 0-, 1- and 2-D tensors; got {t.dim()}-D (index or reshape it first)")


def draw_layout(
    t: torch.Tensor, ax: Axes | None = None, title: str | None = None, max_storage: int = 48
) -> Axes:
    """Draw ``t`` (0-2 D) as a grid above its storage strip. Cells of the same colour are the same memory. (ch. 01b)

    Each grid cell shows the value and ``@k``, its storage index; storage cells that ``t`` does not use
    are grey. Returns the Axes.
    """
    t = t.detach()
    grid_t = _as_grid(t)
    idx = _as_grid(storage_indices(t))
    store = storage_values(t).cpu()
    n = store.numel()
    shown = min(n, max_storage)
    rows, cols = grid_t.shape
    cmap = plt.get_cmap("viridis")

    def colour(k):
        return cmap(0.15 + 0.8 * k / max(n - 1, 1))

    if ax is None:
        _, ax = plt.subplots(figsize=(max(shown, cols, 6) * 0.5 + 0.5, (rows + 3.2) * 0.5))
    used = set(idx.flatten().tolist())
    # storage strip at y = 0
    for k in range(shown):
        face = colour(k) if k in used else (0.88, 0.88, 0.88)
        ax.add_patch(Rectangle((k, 0), 1, 1, facecolor=face, edgecolor="black", lw=0.8))
        ax.text(
            k + 0.5,
            0.5,
            _fmt(store[k].item()),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if k in used else "black",
        )
        ax.text(k + 0.5, -0.35, str(k), ha="center", va="center", fontsize=6, color="dimgray")
    if shown < n:
        ax.text(shown + 0.6, 0.5, f"... ({n} in all)", va="center", fontsize=7)
    ax.text(-0.2, 0.5, "storage", ha="right", va="center", fontsize=8)
    # logical grid above, row 0 on top
    y0 = 1.8
    for i in range(rows):
        for j in range(cols):
            k = int(idx[i, j])
            y = y0 + (rows - 1 - i)
            ax.add_patch(Rectangle((j, y), 1, 1, facecolor=colour(k), edgecolor="black", lw=0.8))
            ax.text(
                j + 0.5,
                y + 0.6,
                _fmt(grid_t[i, j].item()),
                ha="center",
                va="center",
                fontsize=7,
                color="white",
            )
            ax.text(j + 0.5, y + 0.22, f"@{k}", ha="center", va="center", fontsize=5.5, color="white")
    ax.text(-0.2, y0 + rows / 2, "tensor", ha="right", va="center", fontsize=8)
    ax.set_title(title if title is not None else "", fontsize=9, loc="left")
    ax.text(
        0,
        y0 + rows + 0.25,
        f"shape={tuple(t.shape)}  stride={t.stride()}  offset={t.storage_offset()}  "
        f"contiguous={t.is_contiguous()}",
        fontsize=7.5,
        va="bottom",
    )
    ax.set_xlim(-2.2, max(shown + (3 if shown < n else 0), cols) + 0.2)
    ax.set_ylim(-0.8, y0 + rows + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_layouts(tensors: dict, max_storage: int = 48) -> Figure:
    """``draw_layout`` for several tensors, stacked vertically; ``tensors`` maps titles to tensors. (ch. 01b)"""
    heights = [_as_grid(t).shape[0] + 3.2 for t in tensors.values()]
    width = max(max(min(_storage_numel(t), max_storage), _as_grid(t).shape[1], 6) for t in tensors.values())
    fig, axes = plt.subplots(
        len(tensors),
        1,
        figsize=(width * 0.5 + 0.5, sum(heights) * 0.5),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (name, t) in zip(axes[:, 0], tensors.items()):
        draw_layout(t, ax=ax, title=name, max_storage=max_storage)
        ax.set_xlim(-2.2, width + 0.2)
    fig.tight_layout()
    return fig


def draw_broadcast(a: torch.Tensor, b: torch.Tensor, op: str = "+") -> Figure:
    """Draw ``a op b`` for 0-2 D tensors: both stretched to the result shape (the stretched copies are
    pale with dashed edges: they are never stored) and the result. Returns the figure. (01_tensors)"""
    out_shape = torch.broadcast_shapes(a.shape, b.shape)
    if len(out_shape) > 2:
        raise ValueError("draw_broadcast draws results of at most 2 dimensions")
    result = {"+": torch.add, "*": torch.mul, "-": torch.sub}[op](a, b)
    panels = []
    for t in (a, b):
        padded = (1,) * (len(out_shape) - t.dim()) + tuple(t.shape)
        panels.append((_as_grid(t.expand(out_shape)), padded))
    panels.append((_as_grid(result), tuple(out_shape)))
    rows, cols = _as_grid(result).shape
    fig, axes = plt.subplots(1, 3, figsize=(3 * (cols * 0.55 + 0.9), rows * 0.55 + 1.0))
    names = [f"a {tuple(a.shape)}", f"b {tuple(b.shape)}", f"a {op} b {tuple(out_shape)}"]
    for ax, (g, padded), name in zip(axes, panels, names):
        real_shape = _as_grid(torch.empty(padded)).shape
        for i in range(rows):
            for j in range(cols):
                real = i < real_shape[0] and j < real_shape[1]
                ax.add_patch(
                    Rectangle(
                        (j, rows - 1 - i),
                        1,
                        1,
                        facecolor="#4c72b0" if real else "#dde5f0",
                        edgecolor="black" if real else "gray",
                        lw=0.8,
                        linestyle="-" if real else "--",
                    )
                )
                ax.text(
                    j + 0.5,
                    rows - 1 - i + 0.5,
                    _fmt(g[i, j].item()),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if real else "black",
                )
        ax.set_xlim(-0.1, cols + 0.1)
        ax.set_ylim(-0.1, rows + 0.1)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return fig
