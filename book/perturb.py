"""Perturbed arithmetic: what another machine does to a training run, reproduced on this one.

Another CPU sums floats in another order (other SIMD width, thread count, BLAS blocking), so the last
bits of the first results differ and the difference grows through training. Changing the kernel set
(``ATEN_CPU_CAPABILITY``) and the thread count reproduces part of that; oneDNN's cache-size dependent
blocking it does not. A relative noise of about ``1e-6`` on every model's initial weights does: it is
far smaller than any real change to a model, and it grows through training the way a different
summation order does.

``BOOK_PERTURB=<seed>`` (read by :func:`book.env.get_config`) makes ``book.setup()`` call
:func:`perturb_initial_weights`: from then on every ``torch.nn.init`` function (which is how every
layer initialises its parameters) multiplies what it wrote by ``1 + scale * h(x)``, where ``h`` is a
pseudo-random function of the value ``x`` and the seed, in [-1, 1]. The noise depends on the values
only, so two models built from the same seed are still identical, a copy of a model stays equal to
it, and no random stream of the notebook changes. ``tools/calibrate.py`` uses it to measure how far
each printed number moves, and ``make test-numerics`` checks the stored outputs under it. Nothing is
printed: the outputs must compare with the stored ones.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

DEFAULT_SCALE = 1e-6
_INIT_FUNCTIONS = (
    "uniform_",
    "normal_",
    "trunc_normal_",
    "ones_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
)
_originals: dict = {}


def value_noise(x: torch.Tensor, seed: int) -> torch.Tensor:
    """A pseudo-random number in [-1, 1] for each value of ``x``, a function of the value and ``seed``."""
    v = x.detach().to(torch.float64)
    return torch.remainder(torch.sin(v * 12.9898 + 78.233 * (seed + 1)) * 43758.5453, 1.0) * 2 - 1


def perturb_initial_weights(seed: int, scale: float = DEFAULT_SCALE) -> None:
    """From now on, ``torch.nn.init`` functions leave their tensor scaled by ``1 + scale * noise``."""
    stop()
    init = torch.nn.init
    for name in _INIT_FUNCTIONS:
        original = getattr(init, name)

        @functools.wraps(original)
        def wrapped(tensor: torch.Tensor, *args, _original: Callable = original, **kwargs) -> torch.Tensor:
            out = _original(tensor, *args, **kwargs)
            if tensor.is_floating_point() and tensor.numel():
                with torch.no_grad():
                    tensor.mul_((1 + scale * value_noise(tensor, seed)).to(tensor.dtype))
            return out

        _originals[name] = original
        setattr(init, name, wrapped)


def stop() -> None:
    """Restore the original ``torch.nn.init`` functions."""
    for name, original in _originals.items():
        setattr(torch.nn.init, name, original)
    _originals.clear()


def active() -> bool:
    """Whether initial weights are being perturbed."""
    return bool(_originals)
