"""Optimisers: SGD (momentum, weight decay), Adam, and the OneCycle schedule of chapter 05 (ch. 05b).

Each update is a handful of NDArray operations per parameter, so it runs on the parameter's device.
"""

from __future__ import annotations

import math

from .ndarray import NDArray


class Optimizer:
    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """p -= lr * (g + wd * p), with momentum as in ``torch.optim.SGD`` (chapter 05b)."""

    def __init__(
        self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(params, lr)
        self.momentum, self.wd, self.buf = momentum, weight_decay, {}

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad + p.data * self.wd if self.wd else p.grad
            if self.momentum:
                g = self.buf[i] = (
                    self.buf[i] * self.momentum + g if i in self.buf else g
                )
            p.data = p.data + g * -self.lr  # two launches on CUDA, not three


class Adam(Optimizer):
    """Adam (Kingma & Ba), the same arithmetic as ``torch.optim.Adam`` (chapter 05b)."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, lr)
        self.betas, self.eps, self.t = betas, eps, 0
        self.m = [NDArray.full(p.shape, 0.0, p.device) for p in self.params]
        self.v = [NDArray.full(p.shape, 0.0, p.device) for p in self.params]

    def step(self) -> None:
        (b1, b2), self.t = self.betas, self.t + 1
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for i, p in enumerate(self.params):
            g = p.grad
            self.m[i] = self.m[i] * b1 + g * (1 - b1)
            self.v[i] = self.v[i] * b2 + g * g * (1 - b2)
            denom = (self.v[i] ** 0.5) * (1 / math.sqrt(c2)) + self.eps
            p.data = p.data + self.m[i] / denom * (-self.lr / c1)


class OneCycleLR:
    """``torch.optim.lr_scheduler.OneCycleLR`` (cosine, learning rate only) (chapter 05b)."""

    def __init__(
        self, opt: Optimizer, max_lr: float, total_steps: int, pct_start: float = 0.3
    ):
        self.opt, self.max_lr, self.total, self.n = opt, max_lr, total_steps, 0
        self.start, self.end = max_lr / 25, max_lr / 25 / 1e4
        self.peak = float(pct_start * total_steps) - 1
        opt.lr = self.start

    def step(self) -> None:
        self.n += 1
        if self.n <= self.peak:
            lo, hi, frac = self.start, self.max_lr, self.n / self.peak
        else:
            lo, hi = self.max_lr, self.end
            frac = (self.n - self.peak) / (self.total - 1 - self.peak)
        self.opt.lr = hi + (lo - hi) / 2 * (1 + math.cos(math.pi * min(frac, 1.0)))
