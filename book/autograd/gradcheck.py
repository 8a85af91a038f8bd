"""Finite-difference gradient checks: the one numerical-gradient helper of the book.

Chapter 02 checks its hand-written backpropagation with it, chapter 04 explains why central
differences are only good for checking, and ``tests/test_autograd_engine.py`` checks the engines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def numerical_grad(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    eps: float = 1e-6,
) -> np.ndarray:
    """Central differences of ``f(x)`` for every element of ``x`` (chapters 02, 04).

    ``x`` is perturbed in place, one element at a time, and restored, so ``f`` may read ``x``
    through its argument or through a closure (a parameter of a model). Use float64 arrays.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = f"{type(x).__name__} {getattr(x, 'dtype', '')}".strip()
        msg = f"numerical_grad needs a float64 NumPy array, got {got}; "
        raise TypeError(msg + "convert with np.asarray(x, dtype=np.float64).")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = float(f(x))
        x[idx] = old - eps
        f_minus = float(f(x))
        x[idx] = old  # always restore the original value
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def numerical_grads(
    loss: Callable[[Mapping[str, np.ndarray]], float],
    params: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, np.ndarray]:
    """Central-difference gradients of ``loss(params)`` for each array in ``params`` (chapter 02)."""
    return {name: numerical_grad(lambda _: loss(params), p, eps) for name, p in params.items()}


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference relative to the scale of both arrays (chapters 02, 04)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ; compare like with like.")
    return float(np.abs(a - b).max() / max(np.abs(a).max() + np.abs(b).max(), 1e-12))
