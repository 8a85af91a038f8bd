"""Perturbed arithmetic: what another machine does to a training run, reproduced on this one.

Another CPU sums floats in another order (other SIMD width, thread count, BLAS blocking), so the last
bits of the first results differ and the difference grows through training. Changing the kernel set
(``ATEN_CPU_CAPABILITY``) and the thread count reproduces part of that; oneDNN's cache-size dependent
blocking it does not. A relative noise of about ``1e-6`` on every model's initial weights does: it is
far smaller than any real change to a model, and it grows through training the way a different
summation order does.

``BOOK_PERTURB=<seed>`` (read by :func:`book.env.get_config`) makes ``book.setup()`` call
:func:`perturb_initial_weights`: the first time any ``nn.Module`` runs forward, its own parameters are
multiplied by ``1 + scale * N(0, 1)``. The noise comes from a generator of its own, so every other
random draw of the notebook is unchanged. ``tools/calibrate.py`` uses it to measure how far each printed
number moves, and ``make test-numerics`` checks the stored outputs under it. Nothing is printed: the
outputs must compare with the stored ones.
"""

from __future__ import annotations

import weakref

import torch

DEFAULT_SCALE = 1e-6
_state: dict = {"handle": None}


def perturb_initial_weights(seed: int, scale: float = DEFAULT_SCALE) -> None:
    """From now on, perturb each module's parameters once, just before its first forward (any chapter)."""
    stop()
    gen = torch.Generator().manual_seed(int(seed))
    seen: weakref.WeakSet = weakref.WeakSet()

    def hook(module: torch.nn.Module, args: tuple) -> None:
        if module in seen:
            return
        seen.add(module)
        with torch.no_grad():
            for p in module.parameters(recurse=False):
                if p.is_floating_point() and p.numel():
                    noise = torch.randn(p.shape, generator=gen, dtype=torch.float64)
                    p.mul_((1 + scale * noise).to(device=p.device, dtype=p.dtype))

    _state["handle"] = torch.nn.modules.module.register_module_forward_pre_hook(hook)


def stop() -> None:
    """Remove the hook (tests)."""
    if _state["handle"] is not None:
        _state["handle"].remove()
        _state["handle"] = None


def active() -> bool:
    """Whether weights are being perturbed."""
    return _state["handle"] is not None
