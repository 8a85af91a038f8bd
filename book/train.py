"""Training loops.

* ``accuracy``, ``train_epoch``, ``evaluate``, ``fit``: a small, explicit loop that records history.
* :class:`Trainer` (with :class:`TrainConfig`): per-batch LR schedules (cosine, OneCycle), metric history,
  early stopping, best-model saving, bf16 autocast on CUDA, tqdm bars (off in quick mode), and atomic
  checkpoints from which an interrupted run resumes bit-identically on the CPU.
* ``predict``, ``confusion_matrix``, ``per_class_accuracy``: evaluation helpers.
"""
from __future__ import annotations

import torch
from torch import nn


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label."""
    return (logits.argmax(dim=1) == y).float().mean().item()


def train_epoch(model: nn.Module, loader, loss_fn, optimizer, device="cpu") -> tuple[float, float]:
    """One pass over ``loader``; returns (mean loss, accuracy) over the samples seen."""
    model.train()
    total_loss, correct, n = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return total_loss / n, correct / n


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn=None, device="cpu") -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on ``loader``; loss is nan when no ``loss_fn`` is given."""
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        if loss_fn is not None:
            total_loss += loss_fn(logits, y).item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return (total_loss / n if loss_fn is not None else float("nan")), correct / n


def fit(model, train_loader, val_loader, loss_fn, optimizer, epochs: int, device="cpu", verbose: bool = True):
    """Train for ``epochs`` and return the history dict (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``)."""
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    for epoch in range(1, epochs + 1):
        tl, ta = train_epoch(model, train_loader, loss_fn, optimizer, device)
        vl, va = evaluate(model, val_loader, loss_fn, device)
        for k, v in zip(("train_loss", "train_acc", "val_loss", "val_acc"), (tl, ta, vl, va)):
            history[k].append(v)
        if verbose:
            print(f"epoch {epoch:3d}  train loss {tl:.4f} acc {ta:.4f}  |  val loss {vl:.4f} acc {va:.4f}")
    return history


# ============================================================================ a resumable Trainer
# Everything below is added for the CNN chapters. Design rules:
# * the trainer builds its own training DataLoader from a dataset and an *epoch-seeded* sampler, so the
#   order of batch b in epoch e depends only on (seed, e, b): a resumed run skips exactly the batches it
#   has already seen, without loading them;
# * a checkpoint holds model, optimizer, scheduler, RNG states (torch, CUDA, numpy, python), the position
#   (epoch, batch), the running sums of the unfinished epoch, the history and early-stopping state; it is
#   written to a temporary file and renamed (os.replace), so a crash never leaves a half-written one;
# * everything in a checkpoint is a tensor, a number, a string or a list/dict of those, so it loads with
#   ``torch.load(..., weights_only=True)`` (no pickled code runs when loading).
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


class EpochSampler(torch.utils.data.Sampler):
    """A permutation of ``range(n)`` drawn from ``Generator().manual_seed(seed + epoch)`` (or the identity
    when ``shuffle=False``), starting at position ``start`` (to resume inside an epoch)."""

    def __init__(self, n: int, seed: int, epoch: int, shuffle: bool = True, start: int = 0):
        self.n, self.seed, self.epoch, self.shuffle, self.start = n, seed, epoch, shuffle, start

    def order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self):
        return iter(self.order()[self.start:])

    def __len__(self):
        return max(0, self.n - self.start)


def save_atomic(obj, path) -> Path:
    """``torch.save`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def rng_state() -> dict:
    """The states of every random generator a training step may use, as weights_only-loadable values."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gauss": float(np_state[4])},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint safely: ``weights_only=True`` refuses anything but tensors and plain data."""
    return torch.load(path, map_location=map_location, weights_only=True)


class Interrupted(RuntimeError):
    """Raised by :meth:`Trainer.fit` when ``stop_after`` steps are done (simulates a Colab disconnect)."""


@dataclass
class TrainConfig:
    epochs: int = 1
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "sgd"          # "sgd" (momentum, nesterov) or "adamw"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "none"          # "none", "cosine" or "onecycle"; stepped after every batch
    label_smoothing: float = 0.0
    amp: bool = True                # bf16 autocast, used only on CUDA
    channels_last: bool = False     # NHWC memory format, used only on CUDA
    patience: int | None = None     # early stopping: epochs without a better val accuracy
    seed: int = 0                   # seeds the per-epoch shuffling
    checkpoint_every: int = 0       # also checkpoint every N steps (0: only at epoch ends)
    progress: bool | None = None    # tqdm bars; None: only in an interactive full-mode session
    verbose: bool = True
    eval_batch_size: int = 256
    num_workers: int = 0            # >0 for real data on a GPU; 0 keeps CPU runs bit-reproducible


def _interactive() -> bool:
    if os.environ.get("BOOK_MODE", "").strip().lower() == "quick":
        return False
    if "ipykernel" in sys.modules:
        return True
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


class Trainer:
    """Train ``model`` on ``train_set`` (a Dataset), evaluate on ``val_set`` after every epoch.

    >>> t = Trainer(model, train_set, val_set, TrainConfig(epochs=3), ckpt_dir="runs/x")  # doctest: +SKIP
    >>> history = t.fit()            # resumes from runs/x/last.pt when it exists
    """

    def __init__(self, model: nn.Module, train_set, val_set=None, config: TrainConfig | None = None,
                 device="cpu", ckpt_dir=None):
        self.cfg = config or TrainConfig()
        self.device = torch.device(device)
        self.on_cuda = self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.cfg.channels_last and self.on_cuda:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_set, self.val_set = train_set, val_set
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=self.cfg.label_smoothing)
        self.steps_per_epoch = math.ceil(len(train_set) / self.cfg.batch_size)
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.optimizer = self._make_optimizer()
        self.scheduler = self._make_scheduler()
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir is not None else None
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.sums = {"loss": 0.0, "correct": 0, "n": 0}
        self.history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "lr": []}
        self.best_acc, self.bad_epochs, self.stopped_early = -1.0, 0, False

    # ------------------------------------------------------------------ pieces
    def _make_optimizer(self):
        c = self.cfg
        params = self.model.parameters()
        if c.optimizer == "sgd":
            return torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, nesterov=c.momentum > 0,
                                   weight_decay=c.weight_decay)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {c.optimizer!r}")

    def _make_scheduler(self):
        c = self.cfg
        if c.schedule == "none":
            return None
        if c.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=self.total_steps)
        if c.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=c.lr, total_steps=self.total_steps)
        raise ValueError(f"schedule must be 'none', 'cosine' or 'onecycle', got {c.schedule!r}")

    def _loader(self, dataset, shuffle, epoch=0, start=0, batch_size=None):
        sampler = EpochSampler(len(dataset), self.cfg.seed, epoch, shuffle, start)
        return torch.utils.data.DataLoader(dataset, batch_size=batch_size or self.cfg.batch_size,
                                           sampler=sampler, num_workers=self.cfg.num_workers,
                                           pin_memory=self.on_cuda, persistent_workers=False,
                                           # its own generator: creating an iterator then draws no number
                                           # from the global RNG (else a resumed run would draw one extra)
                                           generator=torch.Generator().manual_seed(self.cfg.seed + epoch))

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cfg.amp and self.on_cuda)

    def _to_device(self, X, y):
        X, y = X.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        if self.cfg.channels_last and self.on_cuda and X.dim() == 4:
            X = X.contiguous(memory_format=torch.channels_last)
        return X, y

    @torch.no_grad()
    def evaluate(self, dataset=None) -> tuple[float, float]:
        """(mean loss, accuracy) on ``dataset`` (default: the validation set)."""
        dataset = self.val_set if dataset is None else dataset
        self.model.eval()
        loss_sum, correct, n = 0.0, 0, 0
        for X, y in self._loader(dataset, False, batch_size=self.cfg.eval_batch_size):
            X, y = self._to_device(X, y)
            with self._autocast():
                logits = self.model(X)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            n += len(y)
        return loss_sum / n, correct / n

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(),
            "position": {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
                         "global_step": self.global_step},
            "sums": dict(self.sums),
            "history": {k: list(v) for k, v in self.history.items()},
            "early_stopping": {"best_acc": self.best_acc, "bad_epochs": self.bad_epochs,
                               "stopped_early": self.stopped_early},
            "config": asdict(self.cfg),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        pos = state["position"]
        self.epoch, self.step_in_epoch, self.global_step = pos["epoch"], pos["step_in_epoch"], pos["global_step"]
        self.sums = dict(state["sums"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        es = state["early_stopping"]
        self.best_acc, self.bad_epochs, self.stopped_early = es["best_acc"], es["bad_epochs"], es["stopped_early"]

    def save_checkpoint(self, name: str = "last.pt") -> Path | None:
        if self.ckpt_dir is None:
            return None
        return save_atomic(self.state_dict(), self.ckpt_dir / name)

    def resume(self, path=None) -> bool:
        """Load ``path`` (default ``<ckpt_dir>/last.pt``) if it exists; True when something was loaded."""
        path = Path(path) if path is not None else (self.ckpt_dir / "last.pt" if self.ckpt_dir else None)
        if path is None or not path.is_file():
            return False
        self.load_state_dict(load_checkpoint(path, map_location=self.device))
        return True

    def load_best(self) -> None:
        """Put the weights of the best epoch (by validation accuracy) back into the model."""
        self.model.load_state_dict(load_checkpoint(self.ckpt_dir / "best.pt", map_location=self.device))

    # ------------------------------------------------------------------ the loop
    def _progress(self):
        return _interactive() if self.cfg.progress is None else self.cfg.progress

    def fit(self, resume: bool = True, stop_after: int | None = None) -> dict:
        """Train until ``cfg.epochs`` (or early stopping); returns the history.

        ``resume``: continue from ``<ckpt_dir>/last.pt`` when it exists. ``stop_after``: raise
        :class:`Interrupted` after that many global steps (a checkpoint is written first).
        """
        if self._progress():
            from tqdm.auto import tqdm   # a widget in Jupyter, text in a terminal
        else:
            from tqdm import tqdm        # disabled below; avoids tqdm.auto's ipywidgets warning
        if resume and self.ckpt_dir is not None and self.resume() and self.cfg.verbose:
            print(f"resumed at epoch {self.epoch + 1}, step {self.step_in_epoch}/{self.steps_per_epoch}")
        while self.epoch < self.cfg.epochs and not self.stopped_early:
            self.model.train()
            loader = self._loader(self.train_set, True, self.epoch, self.step_in_epoch * self.cfg.batch_size)
            bar = tqdm(loader, total=self.steps_per_epoch, initial=self.step_in_epoch,
                       desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", disable=not self._progress(),
                       leave=False)
            for X, y in bar:
                X, y = self._to_device(X, y)
                with self._autocast():
                    logits = self.model(X)
                    loss = self.loss_fn(logits.float(), y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                if self.scheduler is not None:
                    self.scheduler.step()
                self.sums["loss"] += loss.item() * len(y)
                self.sums["correct"] += (logits.argmax(1) == y).sum().item()
                self.sums["n"] += len(y)
                self.step_in_epoch += 1
                self.global_step += 1
                bar.set_postfix(loss=f"{self.sums['loss'] / self.sums['n']:.3f}")
                if self.cfg.checkpoint_every and self.global_step % self.cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                if stop_after is not None and self.global_step >= stop_after:
                    self.save_checkpoint()
                    raise Interrupted(f"stopped after {self.global_step} steps (checkpoint saved)")
            bar.close()
            self._end_epoch()
        return self.history

    def _end_epoch(self) -> None:
        s = self.sums
        tl, ta = s["loss"] / max(s["n"], 1), s["correct"] / max(s["n"], 1)
        vl, va = self.evaluate() if self.val_set is not None else (float("nan"), float("nan"))
        for k, v in zip(("train_loss", "train_acc", "val_loss", "val_acc"), (tl, ta, vl, va)):
            self.history[k].append(v)
        self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
        self.epoch += 1
        self.step_in_epoch, self.sums = 0, {"loss": 0.0, "correct": 0, "n": 0}
        note = ""
        if self.val_set is not None:
            if va > self.best_acc:
                self.best_acc, self.bad_epochs = va, 0
                if self.ckpt_dir is not None:
                    save_atomic(self.model.state_dict(), self.ckpt_dir / "best.pt")
                note = "  *best"
            else:
                self.bad_epochs += 1
                if self.cfg.patience is not None and self.bad_epochs >= self.cfg.patience:
                    self.stopped_early = True
                    note = f"  early stop (no better val acc for {self.bad_epochs} epochs)"
        if self.cfg.verbose:
            print(f"epoch {self.epoch:3d}  train loss {tl:.3f} acc {ta:.3f}  |  val loss {vl:.3f} acc {va:.3f}{note}")
        self.save_checkpoint()


# ============================================================================ predictions and per-class metrics
@torch.no_grad()
def predict(model: nn.Module, dataset, batch_size: int = 256, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted labels, true labels) of ``model`` over ``dataset``, in dataset order."""
    model.eval()
    preds, labels = [], []
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0,
                                         generator=torch.Generator().manual_seed(0))  # leaves the global RNG alone
    for X, y in loader:
        preds.append(model(X.to(device)).argmax(1).cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(preds), torch.cat(labels)


def confusion_matrix(preds, labels, num_classes: int) -> torch.Tensor:
    """``cm[i, j]`` = how many samples of true class ``i`` were predicted as ``j``."""
    idx = torch.as_tensor(labels).long() * num_classes + torch.as_tensor(preds).long()
    return torch.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Diagonal over row sums (nan for a class with no samples)."""
    cm = torch.as_tensor(cm).double()
    return cm.diag() / cm.sum(1)
