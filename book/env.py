"""Run mode (quick / full) and device choice, decided once for every notebook.

* ``quick``: small data and few steps on the CPU, so that the whole book runs in minutes and every
  printed number is reproducible (CI and ``make test`` use it).
* ``full``: the real workloads on the best accelerator found (CUDA, then Apple MPS).

``BOOK_MODE=quick|full`` forces a mode; unset (or ``auto``) picks ``full`` when CUDA is available.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch

MODES = ("quick", "full")
T = TypeVar("T")


@dataclass(frozen=True)
class RunConfig:
    """What every chapter needs to know: the mode, the device, and why (all chapters, via ``setup``)."""

    mode: str  # "quick" or "full"
    device: torch.device
    reason: str  # why this mode was chosen (printed, never hidden)
    smoke: bool = False  # full mode's code paths at tiny sizes (BOOK_SMOKE=1; tests, no GPU needed)
    perturb: int | None = None  # BOOK_PERTURB=<seed>: tiny noise on initial weights (book.perturb)

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    @property
    def full(self) -> bool:
        return self.mode == "full"

    def pick(self, quick: T, full: T, smoke: T | None = None) -> T:
        """``quick`` in quick mode, ``full`` in full mode; in a smoke run ``smoke`` (default: ``quick``).

        A smoke run (``BOOK_MODE=full BOOK_SMOKE=1``) takes every full-mode branch (device, AMP, loader
        workers, results writing) but with the small sizes, so CI can run it on a CPU in seconds.
        """
        if self.quick:
            return quick
        if self.smoke:
            return quick if smoke is None else smoke
        return full


def get_mode(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Return ``(mode, reason)`` from ``BOOK_MODE`` or, if unset, from the hardware. (all chapters, via setup())"""
    environ = os.environ if environ is None else environ
    raw = environ.get("BOOK_MODE", "").strip().lower()
    if raw in MODES:
        return raw, f"BOOK_MODE={raw}"
    if raw not in ("", "auto"):
        raise ValueError(
            f"BOOK_MODE={environ.get('BOOK_MODE')!r} is not a valid mode. "
            "Set BOOK_MODE=quick (small, CPU, minutes) or BOOK_MODE=full (real workloads, GPU), "
            "or unset it to choose automatically."
        )
    if torch.cuda.is_available():
        return "full", "auto: CUDA GPU found"
    return "quick", "auto: no CUDA GPU found"


def best_device() -> torch.device:
    """CUDA if present, else Apple's MPS, else the CPU. (00_intro, via setup())"""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_smoke(environ: Mapping[str, str] | None = None) -> bool:
    """``BOOK_SMOKE=1``: run full mode's code at tiny sizes (a test of full mode that needs no GPU). (all chapters, via setup())"""
    environ = os.environ if environ is None else environ
    raw = environ.get("BOOK_SMOKE", "").strip()
    if raw not in ("", "0", "1"):
        raise ValueError(f"BOOK_SMOKE={raw!r}: use 1 (tiny full-mode smoke run) or 0 / unset.")
    return raw == "1"


def get_perturb(environ: Mapping[str, str] | None = None) -> int | None:
    """``BOOK_PERTURB=<seed>``: perturb initial weights by ~1e-6 (:mod:`book.perturb`); unset: None."""
    environ = os.environ if environ is None else environ
    raw = environ.get("BOOK_PERTURB", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"BOOK_PERTURB={raw!r}: use a seed (a non-negative integer), or unset it.")
    return int(raw)


def get_config(environ: Mapping[str, str] | None = None) -> RunConfig:
    """The mode and device from the environment (``BOOK_MODE``, ``BOOK_SMOKE``) and the hardware. (all chapters, via setup())"""
    mode, reason = get_mode(environ)
    smoke = mode == "full" and get_smoke(environ)
    # Quick mode stays on the CPU so that its outputs are the same on every machine.
    device = torch.device("cpu") if mode == "quick" else best_device()
    if smoke:
        reason += ", BOOK_SMOKE=1: full-mode code at tiny sizes"
    return RunConfig(mode=mode, device=device, reason=reason, smoke=smoke, perturb=get_perturb(environ))


_ACTIVE: RunConfig | None = None  # what setup() chose in this process


def current() -> RunConfig:
    """The configuration that :func:`setup` chose in this process (before it, the one the environment
    gives). Modules that need the mode and were not handed a configuration ask here. (ch. 03, 05-07)"""
    return _ACTIVE if _ACTIVE is not None else get_config()


def describe_hardware() -> str:
    """One line about the accelerators this machine has (not only the one in use). (00_intro)"""
    parts = [f"torch {torch.__version__}", f"python {platform.python_version()}"]
    if torch.cuda.is_available():
        parts.append(f"CUDA: {torch.cuda.get_device_name(0)}")
    else:
        parts.append("CUDA: none")
    mps = getattr(torch.backends, "mps", None)
    parts.append("MPS: " + ("yes" if mps is not None and mps.is_available() else "no"))
    return ", ".join(parts)


def setup(seed: int = 0, verbose: bool = True) -> RunConfig:
    """Call at the top of every notebook: choose mode and device, seed everything, print both. (all chapters)"""
    from .utils import seed_everything

    global _ACTIVE
    cfg = _ACTIVE = get_config()
    seed_everything(seed)
    if cfg.perturb is not None:  # silent on purpose: outputs are compared with the stored ones
        from .perturb import perturb_initial_weights

        perturb_initial_weights(cfg.perturb)
    if verbose:
        print(f"模式 mode: {cfg.mode} ({cfg.reason}) | 设备 device: {cfg.device.type} | seed: {seed}")
        if cfg.full and cfg.device.type == "cpu" and not cfg.smoke:
            print(
                "警告 warning: full mode on the CPU runs the real workloads here and can take hours. "
                "Use BOOK_MODE=quick on a machine without a GPU (or a GPU runtime on Colab)."
            )
    return cfg
