"""The resumable ``Trainer`` of chapter 06 (and of the CNN benchmarks), with its checkpoint helpers.

Design rules:

* the trainer builds its own training DataLoader from a dataset and an *epoch-seeded* sampler, so the
  order of batch b in epoch e depends only on (seed, e, b): a resumed run skips exactly the batches it
  has already seen, without loading them. One seeding scheme: :func:`epoch_generator`;
* a checkpoint holds model, optimizer, scheduler, RNG states (torch, CUDA, numpy, python), the position
  (epoch, batch), the running sums of the unfinished epoch, the history, early-stopping state and the
  config; it is written to a temporary file and renamed (``os.replace``), so a crash never leaves a
  half-written one; it carries a checksum of its contents (:func:`state_checksum`), so damaged bytes are
  refused on load; a resume with an incompatible config, or another model, is refused;
* one training step (its update and the counters that record it) is all or nothing: Ctrl-C in the middle
  either lets the step finish or undoes its traces (random numbers drawn), so ``fit()`` again continues
  in memory exactly as a resume from ``last.pt`` would;
* everything in a checkpoint is a tensor, a number, a string or a list/dict of those, so it loads with
  ``torch.load(..., weights_only=True)`` (no pickled code runs when loading);
* the device follows the model (or an explicit ``device``); AMP (bf16), channels-last and pinned memory
  are used only on CUDA.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .files import _pid_alive, atomic_path, remove_stale_temps
from .train import HISTORY_KEYS, autocast, evaluate, model_device

CHECKPOINT_FORMAT = "book.trainer/2"
"""Written into every ``last.pt``; a file without it (e.g. a ``best.pt``) is not a resumable checkpoint."""


_CHECKPOINT_KEYS = (
    "format", "model", "optimizer", "scheduler", "rng", "position", "sums", "history", "early_stopping",
    "config",
)  # fmt: skip


def epoch_seed(seed: int, epoch: int) -> int:
    """The one seed from which everything random about epoch ``epoch`` of a run is drawn (chapter 06)."""
    return seed * 100_003 + epoch


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator seeded with :func:`epoch_seed` (the shuffling, and DataLoader worker seeds). (06_resnet)"""
    return torch.Generator().manual_seed(epoch_seed(seed, epoch))


class EpochSampler(torch.utils.data.Sampler):
    """A permutation of ``range(n)`` drawn from :func:`epoch_generator` (or the identity when
    ``shuffle=False``), starting at position ``start`` (to resume inside an epoch) (chapter 06)."""

    def __init__(self, n: int, seed: int, epoch: int, shuffle: bool = True, start: int = 0):
        self.n, self.seed, self.epoch, self.shuffle, self.start = n, seed, epoch, shuffle, start

    def order(self) -> list[int]:
        """The whole epoch's order (from position 0)."""
        if not self.shuffle:
            return list(range(self.n))
        return torch.randperm(self.n, generator=epoch_generator(self.seed, self.epoch)).tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.start :])

    def __len__(self) -> int:
        return max(0, self.n - self.start)


# ============================================================================ checkpoint files
class CheckpointError(RuntimeError):
    """A checkpoint cannot be used (unreadable, wrong kind, other model or config); says what to do."""


class NonFiniteLoss(FloatingPointError):
    """The training loss became nan/inf; the last good checkpoint was kept (chapter 06)."""


class Interrupted(RuntimeError):
    """Raised by :meth:`Trainer.fit` when ``stop_after`` steps are done (simulates a Colab disconnect)."""


_LEGACY_TMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp(?P<pid>\d+)$")  # temporaries of book <= 0.2


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` via a temporary file in the same folder and ``os.replace`` (chapter 06).

    The temporary is :func:`book.files.atomic_path`'s (``.<name>.<pid>.<random>.tmp``): removed when the
    save fails, and by the next :meth:`Trainer.fit` when the process was killed while saving.
    """
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries that killed saves left in ``folder``; return them (chapter 06).

    Only the book's own temporaries (:func:`book.files.stale_temps`, and the ``.<name>.tmp<pid>`` files
    of earlier versions) whose process is gone; one that a live process is writing is left alone.
    """
    folder = Path(folder)
    removed = remove_stale_temps(folder)
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = _LEGACY_TMP_RE.match(p.name)
            # this process never writes these names: one with its pid is a dead namesake's
            pid = int(m["pid"]) if m else 0
            if m and p.is_file() and (pid == os.getpid() or not _pid_alive(pid)):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


# ============================================================================ checksums
def state_checksum(obj: Any) -> str:
    """A SHA-256 over everything in a (nested) state: every tensor's dtype, shape and bytes, every key,
    number and string, in order (chapter 06). Stored in each checkpoint; :func:`load_checkpoint` compares.
    """
    h = hashlib.sha256()

    def walk(o: Any) -> None:
        if isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{t.dtype}{tuple(o.shape)};".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(o, dict):
            h.update(f"D{len(o)};".encode())
            for k, v in o.items():
                h.update(f"{k!r}:".encode())
                walk(v)
        elif isinstance(o, (list, tuple)):
            h.update(f"L{len(o)};".encode())
            for v in o:
                walk(v)
        else:
            h.update(f"{o!r};".encode())

    walk(obj)
    return h.hexdigest()


def rng_state() -> dict:
    """The states of every random generator a training step may use, as weights_only-loadable values. (06_resnet)"""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gauss": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the generators saved by :func:`rng_state` (chapter 06)."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["key"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gauss"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _rng_snapshot() -> tuple:
    """The generators' states as they are (no conversion; cheaper than :func:`rng_state`), to undo the
    random draws of an interrupted step with :func:`_rng_restore`."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    return torch.get_rng_state(), np.random.get_state(), random.getstate(), cuda


def _rng_restore(snapshot: tuple) -> None:
    torch_state, np_state, py_state, cuda = snapshot
    torch.set_rng_state(torch_state)
    np.random.set_state(np_state)
    random.setstate(py_state)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load a checkpoint safely (``weights_only=True``); an unreadable file raises :class:`CheckpointError`
    naming it (chapter 06)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, random bytes, pickled code refused by weights_only, ...
        raise CheckpointError(
            f"cannot read the checkpoint {path} ({type(e).__name__}: {str(e).splitlines()[0][:200]}). "
            f"It is corrupted or truncated, or not a checkpoint: delete it (or use another ckpt_dir) "
            f"to start fresh."
        ) from e
    if isinstance(state, dict) and "checksum" in state:
        stored = state.pop("checksum")
        if stored != state_checksum(state):
            raise CheckpointError(
                f"the checkpoint {path} is damaged: its contents no longer match the checksum stored "
                "when it was saved (a disk or copy error changed its bytes). Training from it would "
                f"continue from garbage. Start fresh: delete {path} (or use another ckpt_dir, or call "
                "fit(resume=False))."
            )
    return state


def check_state_dict_matches(model: nn.Module, state: dict, path: str | os.PathLike) -> None:
    """Raise :class:`CheckpointError` (model untouched) unless ``state`` has exactly ``model``'s tensors. (06_resnet)"""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    if own == theirs and len(theirs) == len(state):
        return
    missing = sorted(own.keys() - theirs.keys())
    extra = sorted(theirs.keys() - own.keys())
    shapes = sorted(k for k in own.keys() & theirs.keys() if own[k] != theirs[k])
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if extra:
        parts.append(f"{len(extra)} unexpected (e.g. {extra[0]})")
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} with other shapes (e.g. {k}: file {theirs[k]}, model {own[k]})")
    raise CheckpointError(
        f"the weights in {path} belong to another architecture: {'; '.join(parts)}. "
        "Build the same model as the run that wrote it, or use another ckpt_dir to start fresh. "
        "The model was left unchanged."
    )


# ============================================================================ config
@dataclass
class TrainConfig:
    """Everything that defines a training run of :class:`Trainer` (chapter 06)."""

    epochs: int = 1
    batch_size: int = 64
    lr: float = 0.01
    optimizer: str = "sgd"  # "sgd" (momentum, nesterov) or "adamw"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "none"  # "none", "cosine" or "onecycle"; stepped after every batch
    label_smoothing: float = 0.0
    amp: bool = True  # bf16 autocast, used only on CUDA
    # NHWC memory format, used only on CUDA: on the CPU it is no faster for ResNets, and torch 2.14's
    # oneDNN backward of a stride-2 1x1 conv (the ResNet shortcut) in NHWC corrupts the heap when the
    # batch size is odd and more than one thread runs (tests/test_device.py keeps the CPU off it)
    channels_last: bool = False
    patience: int | None = None  # early stopping: epochs without a better val accuracy (needs a val set)
    seed: int = 0  # seeds the per-epoch shuffling (epoch_seed)
    checkpoint_every: int = 0  # also checkpoint every N steps (0: only at epoch ends)
    progress: bool | None = None  # tqdm bars; None: only on a GPU (or MPS) in an interactive session
    verbose: bool = True
    eval_batch_size: int = 256
    num_workers: int = 0  # >0 for real data on a GPU; 0 keeps CPU runs bit-reproducible
    on_nonfinite: str = "stop"  # a nan/inf loss: "stop" (raise NonFiniteLoss, keep last.pt) or "continue"

    def __post_init__(self) -> None:
        def bad(field: str, what: str) -> ValueError:
            return ValueError(f"TrainConfig({field}={getattr(self, field)!r}): {what}")

        if self.epochs < 0:
            raise bad("epochs", "use 0 or more epochs")
        if self.batch_size < 1:
            raise bad("batch_size", "use a batch size of 1 or more (e.g. 64)")
        if self.eval_batch_size < 1:
            raise bad("eval_batch_size", "use a batch size of 1 or more (e.g. 256)")
        if self.optimizer not in ("sgd", "adamw"):
            raise bad("optimizer", "use 'sgd' or 'adamw'")
        if self.schedule not in ("none", "cosine", "onecycle"):
            raise bad("schedule", "use 'none', 'cosine' or 'onecycle'")
        if self.patience is not None and self.patience < 1:
            raise bad("patience", "use None (no early stopping) or 1 or more epochs")
        if self.num_workers < 0:
            raise bad("num_workers", "use 0 (load in the main process) or more")
        if self.checkpoint_every < 0:
            raise bad("checkpoint_every", "use 0 (only at epoch ends) or a number of steps")
        if self.on_nonfinite not in ("stop", "continue"):
            raise bad("on_nonfinite", "use 'stop' or 'continue'")


# Fields that may change between an interrupted run and its resumption: they change how the run is
# watched or how fast it goes, not the sequence of updates (patience may be changed on purpose).
RESUMABLE_FIELDS = frozenset(
    {"progress", "verbose", "checkpoint_every", "eval_batch_size", "num_workers", "patience", "on_nonfinite"}
)


def config_differences(saved: dict, current: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """``{field: (saved, current)}`` for the fields whose change makes a resume wrong (chapter 06).

    ``epochs`` counts only when a schedule depends on the total number of steps (cosine, OneCycle).
    """
    now = asdict(current)
    diffs = {}
    for f in fields(TrainConfig):
        name = f.name
        if name in RESUMABLE_FIELDS or name not in saved:
            continue
        if name == "epochs" and current.schedule == "none" and saved.get("schedule") == "none":
            continue
        if saved[name] != now[name]:
            diffs[name] = (saved[name], now[name])
    return diffs


def _interactive(device: torch.device) -> bool:
    """Progress bars by default only when training on an accelerator in a Jupyter session or terminal.

    Decided from the Trainer's own device, not from ``BOOK_MODE``: quick mode (and a smoke run) trains
    on the CPU, where the stored outputs must stay free of progress bars; full mode on a GPU shows them.
    """
    if device.type == "cpu":
        return False
    if "ipykernel" in sys.modules:
        return True
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


class _DeferInterrupt:
    """Hold back Ctrl-C (SIGINT) inside a block that must run to its end, and raise it after.

    An optimizer update and the counters that record it are one step: Ctrl-C between them would leave
    the update applied but not counted, and the next ``fit()`` would apply that batch again. Only the
    main thread receives signals; elsewhere this does nothing.
    """

    def __enter__(self) -> _DeferInterrupt:
        self.pending, self.previous = False, None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._hold)
        return self

    def _hold(self, signum, frame) -> None:
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.pending and exc[0] is None:
            raise KeyboardInterrupt


def _size(dataset: Any, name: str) -> int:
    try:
        return len(dataset)
    except TypeError as e:
        raise TypeError(
            f"{name} must be a map-style Dataset with a length, got {type(dataset).__name__}"
        ) from e


class _NoBar:
    """Stands in for ``tqdm`` when progress bars are off."""

    disable = True

    def __init__(self, iterable, **_):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def set_postfix(self, **_) -> None:
        pass

    def close(self) -> None:
        pass


# ============================================================================ the Trainer
class Trainer:
    """Train ``model`` on ``train_set`` (a Dataset), evaluate on ``val_set`` after every epoch (chapter 06).

    ``device=None``: the device of the model's parameters (move the model first, or pass ``device``).
    ``batch_transform`` / ``eval_transform``: applied to each training / evaluation input batch once it is
    on the device (batch augmentation and normalisation on the GPU, as in ``book.fast_cifar``); random
    numbers they draw come from the global generators, which checkpoints save and restore.

    >>> t = Trainer(model, train_set, val_set, TrainConfig(epochs=3), ckpt_dir="runs/x")  # doctest: +SKIP
    >>> history = t.fit()            # resumes from runs/x/last.pt when it exists
    """

    def __init__(
        self,
        model: nn.Module,
        train_set: torch.utils.data.Dataset,
        val_set: torch.utils.data.Dataset | None = None,
        config: TrainConfig | None = None,
        device: str | torch.device | None = None,
        ckpt_dir: str | os.PathLike | None = None,
        batch_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        eval_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        self.cfg = config or TrainConfig()
        n_train = _size(train_set, "train_set")
        if n_train == 0:
            raise ValueError("train_set is empty: give the Trainer at least one training sample")
        if val_set is not None and _size(val_set, "val_set") == 0:
            raise ValueError(
                "val_set is empty: pass val_set=None to train without validation, or hold out some samples"
            )
        if self.cfg.patience is not None and val_set is None:
            raise ValueError(
                f"patience={self.cfg.patience} needs a validation set to watch: pass val_set, "
                "or set TrainConfig(patience=None)"
            )
        self.device = model_device(model, device)
        self.on_cuda = self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.cfg.channels_last and self.on_cuda:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.train_set, self.val_set = train_set, val_set
        self.batch_transform, self.eval_transform = batch_transform, eval_transform
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=self.cfg.label_smoothing)
        self.steps_per_epoch = math.ceil(n_train / self.cfg.batch_size)
        self.total_steps = self.steps_per_epoch * self.cfg.epochs
        self.optimizer = self._make_optimizer()
        self.scheduler = self._make_scheduler()
        self.ckpt_dir = Path(ckpt_dir) if ckpt_dir is not None else None
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.sums = {"loss": 0.0, "correct": 0, "n": 0}
        self.history: dict[str, list[float]] = {k: [] for k in (*HISTORY_KEYS, "lr")}
        self.best_acc, self.bad_epochs, self.stopped_early = -1.0, 0, False
        self.best_checksum = ""  # state_checksum of the weights in best.pt (checked by load_best)

    # ------------------------------------------------------------------ pieces
    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.cfg
        params = self.model.parameters()
        if c.optimizer == "sgd":
            return torch.optim.SGD(
                params, lr=c.lr, momentum=c.momentum, nesterov=c.momentum > 0, weight_decay=c.weight_decay
            )
        return torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)

    def _make_scheduler(self) -> torch.optim.lr_scheduler.LRScheduler | None:
        c = self.cfg
        if c.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(self.total_steps, 1))
        if c.schedule == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(
                self.optimizer, max_lr=c.lr, total_steps=max(self.total_steps, 1)
            )
        return None

    def _loader(self, dataset, shuffle: bool, epoch: int = 0, start: int = 0, batch_size: int | None = None):
        sampler = EpochSampler(len(dataset), self.cfg.seed, epoch, shuffle, start)
        workers = self.cfg.num_workers
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=batch_size or self.cfg.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=self.on_cuda,  # page-locked host memory only helps copies to a GPU
            persistent_workers=False,
            # its own generator: creating an iterator then draws no number from the global RNG (else a
            # resumed run would draw one extra); it also seeds the workers, from the same epoch seed
            generator=epoch_generator(self.cfg.seed, epoch),
        )

    def _autocast(self) -> torch.autocast:
        return autocast(self.device, self.cfg.amp)  # the book's one mixed-precision switch

    def _to_device(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X, y = X.to(self.device, non_blocking=self.on_cuda), y.to(self.device, non_blocking=self.on_cuda)
        if self.batch_transform is not None:
            X = self.batch_transform(X)
        if self.cfg.channels_last and self.on_cuda and X.dim() == 4:
            X = X.contiguous(memory_format=torch.channels_last)
        return X, y

    def evaluate(self, dataset: torch.utils.data.Dataset | None = None) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) on ``dataset`` (default: the validation set), via
        :func:`book.train.evaluate` (chapter 06)."""
        dataset = self.val_set if dataset is None else dataset
        if dataset is None:
            raise ValueError("Trainer.evaluate() has no dataset: pass one, or build the Trainer with val_set")
        if len(dataset) == 0:
            raise ValueError("Trainer.evaluate() got an empty dataset: give it at least one sample")
        loader = self._loader(dataset, False, batch_size=self.cfg.eval_batch_size)
        return evaluate(
            self.model,
            loader,
            None,
            self.device,
            amp=self.cfg.amp,
            channels_last=self.cfg.channels_last,
            transform=self.eval_transform,
        )

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue this run bit for bit (weights_only-loadable)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(),
            "position": {
                "epoch": self.epoch,
                "step_in_epoch": self.step_in_epoch,
                "global_step": self.global_step,
            },
            "sums": dict(self.sums),
            "history": {k: list(v) for k, v in self.history.items()},
            "early_stopping": {
                "best_acc": self.best_acc,
                "bad_epochs": self.bad_epochs,
                "stopped_early": self.stopped_early,
                "best_checksum": self.best_checksum,
            },
            "config": asdict(self.cfg),
        }

    def check_resumable(self, state: dict, path: str | os.PathLike = "<state>") -> None:
        """Raise :class:`CheckpointError` if ``state`` cannot continue this run: another kind of file,
        another architecture, or a config whose change would make the resumed run wrong."""
        needed = ("model", "optimizer", "position", "rng", "config")
        if isinstance(state, dict) and all(k in state for k in needed):
            missing = [k for k in _CHECKPOINT_KEYS if k not in state]
            if missing or state.get("format") != CHECKPOINT_FORMAT:
                raise CheckpointError(
                    f"{path} is a checkpoint of another format ({state.get('format')!r}, this book "
                    f"writes {CHECKPOINT_FORMAT!r}{'; it lacks ' + ', '.join(missing) if missing else ''}): "
                    "it cannot be resumed. Start fresh: use another ckpt_dir, delete the file, or call "
                    "fit(resume=False)."
                )
        if not isinstance(state, dict) or any(k not in state for k in needed):
            looks_like_weights = isinstance(state, dict) and all(
                isinstance(v, torch.Tensor) for v in state.values()
            )
            what = (
                "holds only model weights (a best.pt?)"
                if looks_like_weights
                else "is not a Trainer checkpoint"
            )
            raise CheckpointError(
                f"{path} {what}: resume needs the last.pt that Trainer.fit writes (weights, optimizer, "
                "position, RNG states, config). To load best weights use Trainer.load_best() or "
                "model.load_state_dict(torch.load(path, weights_only=True))."
            )
        check_state_dict_matches(self.model, state["model"], path)
        diffs = config_differences(state["config"], self.cfg)
        if diffs:
            listed = ", ".join(
                f"{k}: {old!r} in the checkpoint, {new!r} now" for k, (old, new) in diffs.items()
            )
            raise CheckpointError(
                f"{path} was written by a run with another config ({listed}); resuming would mix the two "
                "runs. Restore the old values to continue it, or start fresh: use another ckpt_dir, "
                "delete the file, or call fit(resume=False)."
            )

    def load_state_dict(self, state: dict, path: str | os.PathLike = "<state>") -> None:
        """Continue from ``state`` (checked first with :meth:`check_resumable`)."""
        self.check_resumable(state, path)
        before = (
            {k: v.clone() for k, v in self.model.state_dict().items()},
            self.optimizer.state_dict(),
            self.scheduler.state_dict() if self.scheduler is not None else None,
        )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state["scheduler"] is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            set_rng_state(state["rng"])
        except Exception as e:  # e.g. an optimizer over other parameter groups: put everything back
            self.model.load_state_dict(before[0])
            self.optimizer.load_state_dict(before[1])
            if before[2] is not None:
                self.scheduler.load_state_dict(before[2])
            raise CheckpointError(
                f"{path} does not fit this run ({type(e).__name__}: {str(e).splitlines()[0][:200]}): "
                "it was written for another model or optimizer. Build the same ones as the run that "
                "wrote it, or start fresh (another ckpt_dir, or fit(resume=False)). The model was left "
                "unchanged."
            ) from e
        pos = state["position"]
        self.epoch, self.step_in_epoch, self.global_step = (
            pos["epoch"],
            pos["step_in_epoch"],
            pos["global_step"],
        )
        self.sums = dict(state["sums"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        es = state["early_stopping"]
        self.best_acc, self.bad_epochs = es["best_acc"], es["bad_epochs"]
        self.stopped_early = es["stopped_early"]
        self.best_checksum = es.get("best_checksum", "")

    def save_checkpoint(self, name: str = "last.pt") -> Path | None:
        """Write :meth:`state_dict` atomically to ``<ckpt_dir>/<name>`` (nothing without a ``ckpt_dir``)."""
        if self.ckpt_dir is None:
            return None
        state = self.state_dict()
        state["checksum"] = state_checksum(state)  # verified by load_checkpoint
        return save_atomic(state, self.ckpt_dir / name)

    def resume(self, path: str | os.PathLike | None = None) -> bool:
        """Load ``path`` (default ``<ckpt_dir>/last.pt``) if it exists; True when something was loaded."""
        if path is None:
            if self.ckpt_dir is None:
                return False
            path = self.ckpt_dir / "last.pt"
        path = Path(path)
        if not path.is_file():
            return False
        # the CPU first: a checkpoint written on a GPU resumes on a CPU-only machine (and vice versa)
        self.load_state_dict(load_checkpoint(path, map_location="cpu"), path)
        return True

    def load_best(self) -> None:
        """Put the weights of the best epoch (by validation accuracy) back into the model (chapter 06)."""
        if self.ckpt_dir is None:
            raise ValueError(
                "load_best() reads <ckpt_dir>/best.pt, and this Trainer has no ckpt_dir: build it with "
                "Trainer(..., ckpt_dir='runs/name') (and a val_set) to keep the best weights"
            )
        path = self.ckpt_dir / "best.pt"
        if not path.is_file():
            raise FileNotFoundError(
                f"no best weights at {path}: they are written after an epoch with a validation set; "
                "run fit() with a val_set first"
            )
        state = load_checkpoint(path, map_location="cpu")
        if "format" in state and "model" in state:
            raise CheckpointError(f"{path} is a full Trainer checkpoint (a last.pt?), not best weights")
        check_state_dict_matches(self.model, state, path)
        # best.pt stays a plain state_dict (loadable with torch.load); its checksum lives in last.pt
        last = self.ckpt_dir / "last.pt"
        expected = self.best_checksum
        if not expected and last.is_file():
            expected = load_checkpoint(last)["early_stopping"].get("best_checksum", "")
        if expected and state_checksum(state) != expected:
            raise CheckpointError(
                f"the best weights {path} are damaged: they do not match the checksum recorded in "
                f"{last} when they were saved. Delete {path} and train again to get best weights "
                "(fit(resume=False), or another ckpt_dir, starts fresh)."
            )
        self.model.load_state_dict(state)

    def clean_stale(self) -> list[Path]:
        """Delete temporaries left in ``ckpt_dir`` by killed runs, and say so (called by :meth:`fit`)."""
        if self.ckpt_dir is None:
            return []
        removed = clean_stale_temporaries(self.ckpt_dir)
        if removed:
            warnings.warn(
                f"removed {len(removed)} temporary file(s) left by a killed run in {self.ckpt_dir}: "
                + ", ".join(p.name for p in removed),
                stacklevel=3,
            )
        return removed

    # ------------------------------------------------------------------ the loop
    def _progress(self) -> bool:
        return _interactive(self.device) if self.cfg.progress is None else self.cfg.progress

    def fit(self, resume: bool = True, stop_after: int | None = None) -> dict[str, list[float]]:
        """Train until ``cfg.epochs`` (or early stopping); returns the history (chapter 06).

        ``resume``: continue from ``<ckpt_dir>/last.pt`` when it exists (refused, saying why, if it was
        written with an incompatible config). ``stop_after``: raise :class:`Interrupted` after that many
        global steps (a checkpoint is written first). A nan/inf loss raises :class:`NonFiniteLoss` without
        writing a checkpoint, unless ``cfg.on_nonfinite == "continue"``.
        """
        progress = self._progress()
        if progress:
            from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal
        else:
            tqdm = _NoBar  # no bar: no tqdm needed (nor tqdm.auto's ipywidgets warning)
        self.clean_stale()
        if resume and self.resume() and self.cfg.verbose:
            print(f"resumed at epoch {self.epoch + 1}, step {self.step_in_epoch}/{self.steps_per_epoch}")
        while self.epoch < self.cfg.epochs and not self.stopped_early:
            self.model.train()
            start = self.step_in_epoch * self.cfg.batch_size
            loader = self._loader(self.train_set, True, self.epoch, start)
            bar = tqdm(
                loader,
                total=self.steps_per_epoch,
                initial=self.step_in_epoch,
                desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
                disable=not progress,
                leave=False,
            )
            for X, y in bar:
                # an interrupted step (Ctrl-C before its update) must leave no trace: the next fit()
                # redoes it with the same random numbers, exactly as a resume from last.pt would
                rng_before = _rng_snapshot()
                try:
                    X, y = self._to_device(X, y)
                    with self._autocast():
                        logits = self.model(X)
                        loss = self.loss_fn(logits.float(), y)
                    loss_value = loss.item()
                except BaseException:
                    _rng_restore(rng_before)
                    raise
                if not math.isfinite(loss_value) and self.cfg.on_nonfinite == "stop":
                    bar.close()
                    kept = self.ckpt_dir / "last.pt" if self.ckpt_dir is not None else None
                    where = (
                        f"{kept} keeps the last good state" if kept and kept.is_file() else "nothing saved"
                    )
                    raise NonFiniteLoss(
                        f"loss is {loss_value} at epoch {self.epoch + 1}, step {self.step_in_epoch + 1}; "
                        f"training stopped before this step's update ({where}). Lower the lr, check the "
                        "inputs, or set TrainConfig(on_nonfinite='continue') to train on anyway."
                    )
                try:
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                except BaseException:
                    _rng_restore(rng_before)
                    raise
                correct = (logits.argmax(1) == y).sum().item()
                with _DeferInterrupt():  # the update and its bookkeeping: all or nothing
                    self.optimizer.step()
                    if self.scheduler is not None:
                        self.scheduler.step()
                    self.sums["loss"] += loss_value * len(y)
                    self.sums["correct"] += correct
                    self.sums["n"] += len(y)
                    self.step_in_epoch += 1
                    self.global_step += 1
                if not bar.disable:
                    bar.set_postfix(loss=f"{self.sums['loss'] / self.sums['n']:.3f}")
                if self.cfg.checkpoint_every and self.global_step % self.cfg.checkpoint_every == 0:
                    self._save_if_finite()
                if stop_after is not None and self.global_step >= stop_after:
                    self.save_checkpoint()
                    raise Interrupted(f"stopped after {self.global_step} steps (checkpoint saved)")
            bar.close()
            self._end_epoch()
        return self.history

    def _save_if_finite(self) -> None:
        """Checkpoint, unless a non-finite loss was let through (``on_nonfinite='continue'``) and the
        weights are no longer finite: then keep the last good ``last.pt``."""
        if all(torch.isfinite(p).all() for p in self.model.parameters()):
            self.save_checkpoint()
        elif self.cfg.verbose:
            print("weights are not finite: last.pt not overwritten")

    def _end_epoch(self) -> None:
        s = self.sums
        tl, ta = s["loss"] / max(s["n"], 1), s["correct"] / max(s["n"], 1)
        vl, va = self.evaluate() if self.val_set is not None else (float("nan"), float("nan"))
        with _DeferInterrupt():  # the epoch is recorded once, or not at all
            improved = self._record_epoch(tl, ta, vl, va)
        if improved and self.ckpt_dir is not None:
            save_atomic(self.model.state_dict(), self.ckpt_dir / "best.pt")
        self._save_if_finite()

    def _record_epoch(self, tl: float, ta: float, vl: float, va: float) -> bool:
        """Append the epoch to the history, advance the position, update early stopping; print the
        line. True when the validation accuracy is the best so far."""
        for k, v in zip(HISTORY_KEYS, (tl, ta, vl, va)):
            self.history[k].append(v)
        self.history["lr"].append(self.optimizer.param_groups[0]["lr"])
        self.epoch += 1
        self.step_in_epoch, self.sums = 0, {"loss": 0.0, "correct": 0, "n": 0}
        note, improved = "", False
        if self.val_set is not None:
            if va > self.best_acc:
                self.best_acc, self.bad_epochs, improved = va, 0, True
                self.best_checksum = state_checksum(self.model.state_dict())
                note = "  *best"
            else:
                self.bad_epochs += 1
                if self.cfg.patience is not None and self.bad_epochs >= self.cfg.patience:
                    self.stopped_early = True
                    note = f"  early stop (no better val acc for {self.bad_epochs} epochs)"
        if self.cfg.verbose:
            val = f"  |  val loss {vl:.3f} acc {va:.3f}" if self.val_set is not None else ""
            print(f"epoch {self.epoch:3d}  train loss {tl:.3f} acc {ta:.3f}{val}{note}")
        return improved
