"""Run mode (quick / full) and device choice, decided once for every notebook.

* ``quick``: small data and few steps on the CPU, so that the whole book runs in minutes and every
  printed number is reproducible (CI and ``make test`` use it).
* ``full``: the real workloads on the best accelerator found (CUDA, then Apple MPS).

``BOOK_MODE=quick|full`` forces a mode; unset (or ``auto``) picks ``full`` when CUDA is available.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

MODES = ("quick", "full")


@dataclass(frozen=True)
class RunConfig:
    mode: str      # "quick" or "full"
    device: torch.device
    reason: str    # why this mode was chosen (printed, never hidden)

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    def pick(self, quick, full):
        """Return ``quick`` in quick mode and ``full`` in full mode (e.g. epochs, subset sizes)."""
        return quick if self.quick else full


def get_mode(environ=None) -> tuple[str, str]:
    """Return ``(mode, reason)`` from ``BOOK_MODE`` or, if unset, from the hardware."""
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
    """CUDA if present, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_config(environ=None) -> RunConfig:
    mode, reason = get_mode(environ)
    # Quick mode stays on the CPU so that its outputs are the same on every machine.
    device = torch.device("cpu") if mode == "quick" else best_device()
    return RunConfig(mode=mode, device=device, reason=reason)


def describe_hardware() -> str:
    """One line about the accelerators this machine has (not only the one in use)."""
    parts = [f"torch {torch.__version__}", f"python {platform.python_version()}"]
    if torch.cuda.is_available():
        parts.append(f"CUDA: {torch.cuda.get_device_name(0)}")
    else:
        parts.append("CUDA: none")
    mps = getattr(torch.backends, "mps", None)
    parts.append("MPS: " + ("yes" if mps is not None and mps.is_available() else "no"))
    return ", ".join(parts)


def portable_cpu_numerics(environ=None) -> bool:
    """With ``BOOK_PORTABLE_CPU=1`` (set by the Makefile), make CPU float results the same on every x86 CPU.

    oneDNN (PyTorch's fast CPU convolutions) chooses its kernels and blocking from the CPU model and its
    caches, so a CNN's loss differs in the 3rd digit between two machines after a few hundred steps. Off,
    convolutions fall back to ATen's im2col + MKL GEMM, which, with ``MKL_CBWR`` and
    ``ATEN_CPU_CAPABILITY`` pinned (the Makefile does both), sums in one fixed order. It costs speed (a
    ResNet step about 2-3x slower), so readers' notebooks leave it alone. Returns whether it was applied.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("BOOK_PORTABLE_CPU", "").strip()
    if raw not in ("", "0", "1"):
        raise ValueError(f"BOOK_PORTABLE_CPU={raw!r}: use 1 (portable CPU numerics) or 0 / unset (fastest).")
    if raw != "1":
        return False
    torch.backends.mkldnn.enabled = False
    return True


def setup(seed: int = 0, verbose: bool = True) -> RunConfig:
    """Call at the top of every notebook: choose mode and device, seed everything, print both."""
    from .utils import seed_everything

    cfg = get_config()
    portable_cpu_numerics()
    seed_everything(seed)
    if verbose:
        print(f"模式 mode: {cfg.mode} ({cfg.reason}) | 设备 device: {cfg.device.type} | seed: {seed}")
    return cfg
