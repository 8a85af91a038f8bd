"""Plots shared by the chapters: training curves, image grids, decision boundaries, confusion matrices.

Labels are in English on purpose: a CJK font is not installed everywhere, and a missing glyph would
turn Chinese labels into boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_history(
    history: dict[str, list[float]], xlabel: str = "epoch", ax: Axes | None = None
) -> Sequence[Axes]:
    """One line per metric; metrics sharing a suffix (``train_loss``/``val_loss``) share an axis (ch. 02, 05)."""
    groups: dict[str, list[str]] = {}
    for key in history:
        groups.setdefault(key.split("_")[-1], []).append(key)
    if ax is None:
        _, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = [ax] * len(groups)
    for axis, (name, keys) in zip(axes, groups.items()):
        for key in keys:
            values = history[key]
            axis.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None, label=key)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    plt.tight_layout()
    return axes


def show_images(
    images: torch.Tensor | Sequence,
    titles: Sequence[str] | None = None,
    nrow: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    scale: float = 1.4,
    cmap: str | None = "gray",
) -> Figure:
    """A grid of (N, C, H, W) or (N, H, W) images; undoes ``Normalize(mean, std)`` (chapters 05, 06)."""
    imgs = (
        torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images).detach().cpu().float()
    )
    if imgs.dim() == 3:
        imgs = imgs.unsqueeze(1)
    if mean is not None and std is not None:
        imgs = imgs * torch.tensor(std).view(1, -1, 1, 1) + torch.tensor(mean).view(1, -1, 1, 1)
    imgs = imgs.clamp(0, 1)
    n = imgs.shape[0]
    ncol = min(nrow, n)
    nrows = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(
        nrows, ncol, figsize=(scale * ncol, scale * nrows + (0.3 * nrows if titles else 0)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = imgs[i]
        if img.shape[0] == 1:
            ax.imshow(img[0].numpy(), cmap=cmap)
        else:
            ax.imshow(img.permute(1, 2, 0).numpy())
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    plt.tight_layout()
    return fig


@torch.no_grad()
def plot_decision_boundary(
    predict: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    ax: Axes | None = None,
    steps: int = 300,
    margin: float = 0.1,
    title: str | None = None,
) -> Axes:
    """Colour the plane by a classifier and scatter the labelled points on it (chapters 02, 04).

    ``predict`` maps an (M, 2) float tensor to (M,) class ids; ``X`` is (N, 2), ``y`` its labels.
    """
    X = torch.as_tensor(X, dtype=torch.float32).cpu()
    y = torch.as_tensor(y).cpu()
    lo, hi = X.min(0).values - margin, X.max(0).values + margin
    xx, yy = torch.meshgrid(
        torch.linspace(lo[0], hi[0], steps), torch.linspace(lo[1], hi[1], steps), indexing="xy"
    )
    grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    zz = torch.as_tensor(predict(grid)).cpu().reshape(xx.shape)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.contourf(xx.numpy(), yy.numpy(), zz.numpy(), alpha=0.3, cmap=plt.cm.Spectral)
    ax.scatter(X[:, 0].numpy(), X[:, 1].numpy(), c=y.numpy(), s=8, cmap=plt.cm.Spectral)
    ax.set_aspect("equal")
    ax.set_xlim(lo[0].item(), hi[0].item())
    ax.set_ylim(lo[1].item(), hi[1].item())
    if title:
        ax.set_title(title)
    return ax


def plot_confusion_matrix(
    cm: torch.Tensor | np.ndarray,
    classes: Sequence[str],
    ax: Axes | None = None,
    normalize: bool = True,
    title: str | None = None,
) -> Axes:
    """Heat map of a confusion matrix (rows: true class, columns: predicted; chapters 02, 05, 06)."""
    cm = np.asarray(cm, dtype=float)
    if normalize:
        cm = cm / np.clip(cm.sum(axis=1, keepdims=True), 1, None)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * len(classes) + 2, 0.5 * len(classes) + 1.5))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > 0.5 * cm.max() else "black",
            )
    plt.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    plt.tight_layout()
    return ax
