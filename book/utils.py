"""Seeding, determinism and a small timer."""

from __future__ import annotations

import os
import random
import time

import numpy as np
import torch


def seed_everything(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch (all devices); optionally ask for deterministic kernels. (all chapters, via setup())"""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...`` then ``t.elapsed``; or ``start``/``stop`` laps. (ch. 01, 05, 06)

    On CUDA, pass ``sync=True`` so that queued kernels are finished before the clock is read.
    Timings vary from run to run: notebooks must not print them in checked output.
    """

    def __init__(self, sync: bool = False):
        self.sync = sync
        self.laps: list[float] = []
        self._t0: float | None = None

    def _now(self) -> float:
        if self.sync and torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def start(self) -> Timer:
        self._t0 = self._now()
        return self

    def stop(self) -> float:
        if self._t0 is None:
            raise RuntimeError("Timer.stop() called before Timer.start()")
        self.laps.append(self._now() - self._t0)
        self._t0 = None
        return self.laps[-1]

    @property
    def elapsed(self) -> float:
        return sum(self.laps)

    def __enter__(self) -> Timer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
