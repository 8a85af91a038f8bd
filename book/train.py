"""The plain training loop of chapters 02 and 05, and the evaluation helpers of chapters 05 and 06.

* ``accuracy``, ``train_epoch``, ``evaluate``, ``fit``: a small, explicit loop that records a history with
  the keys ``train_loss, train_acc, val_loss, val_acc`` (in that order, as :class:`book.trainer.Trainer`).
* ``predict``, ``confusion_matrix``, ``per_class_accuracy``: evaluation helpers.

Device rule (every function here): ``device=None`` means "the device of the model's parameters", so a
model moved to CUDA gets CUDA inputs without a word. The resumable ``Trainer`` lives in ``book.trainer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
"""The keys of every training history in the book, in this order (chapters 02, 05, 06)."""

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def autocast(device: str | torch.device, amp: bool) -> torch.autocast:
    """The book's mixed precision: bf16 autocast on CUDA when ``amp``, else off (chapters 05, 06).

    The one switch that :func:`evaluate`, :class:`book.trainer.Trainer` and :mod:`book.fast_cifar` use.
    """
    device = torch.device(device)
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    # off; a device type autocast does not know (e.g. "meta") gets the CUDA switch, off
    return torch.autocast(device.type if device.type in ("cpu", "cuda", "mps") else "cuda", enabled=False)


def model_device(model: nn.Module, device: str | torch.device | None = None) -> torch.device:
    """``device`` if given, else where ``model``'s parameters (or buffers) live; CPU for a stateless model. (ch. 02, 05, 06)"""
    if device is not None:
        return torch.device(device)
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label (chapters 02, 05)."""
    return (logits.argmax(dim=1) == y).float().mean().item()


def _empty(what: str) -> ValueError:
    return ValueError(
        f"the {what} loader yielded no samples: give it a non-empty dataset (and a batch_size >= 1; "
        "with drop_last=True the dataset must hold at least one full batch)."
    )


def train_epoch(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """One pass over ``loader``; returns (mean loss per sample, accuracy) over the samples seen (ch. 05)."""
    device = model_device(model, device)
    model.train()
    # Sums stay on the device (float64: the same arithmetic as Python floats), so a GPU step never waits
    # for a ``.item()``; they are read once at the end.
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    for X, y in loader:
        X, y = X.to(device), y.to(device)
        logits = model(X)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.detach().double() * len(y)
        correct += (logits.argmax(1) == y).sum()
        n += len(y)
    if n == 0:
        raise _empty("training")
    return total_loss.item() / n, correct.item() / n


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: LossFn | None = None,
    device: str | torch.device | None = None,
    amp: bool = False,
    channels_last: bool = False,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[float, float]:
    """(mean loss per sample, accuracy) of ``model`` in eval mode on ``loader`` (chapters 05, 06).

    ``loss_fn`` (mean-reduced) defaults to plain cross-entropy. ``amp``: bf16 autocast, used only on CUDA;
    ``channels_last``: NHWC inputs, only on CUDA; ``transform``: applied to each input batch once it is on
    the device (e.g. normalising uint8 images there). ``Trainer.evaluate`` calls this same function.
    """
    device = model_device(model, device)
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    on_cuda = device.type == "cuda"
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    for X, y in loader:
        X, y = X.to(device, non_blocking=on_cuda), y.to(device, non_blocking=on_cuda)
        if transform is not None:
            X = transform(X)
        if channels_last and on_cuda and X.dim() == 4:
            X = X.contiguous(memory_format=torch.channels_last)
        with autocast(device, amp):
            logits = model(X)
        total_loss += loss_fn(logits.float(), y).double() * len(y)
        correct += (logits.argmax(1) == y).sum()
        n += len(y)
    if n == 0:
        raise _empty("evaluation")
    return total_loss.item() / n, correct.item() / n


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: str | torch.device | None = None,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train for ``epochs``; return the history (``train_loss, train_acc, val_loss, val_acc``) (ch. 05).

    ``val_loader=None`` trains without validation (the val entries are then nan).
    """
    if epochs < 0:
        raise ValueError(f"epochs={epochs}: use 0 or more")
    device = model_device(model, device)
    history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
    for epoch in range(1, epochs + 1):
        tl, ta = train_epoch(model, train_loader, loss_fn, optimizer, device)
        if val_loader is not None:
            vl, va = evaluate(model, val_loader, loss_fn, device)
        else:
            vl, va = float("nan"), float("nan")
        for k, v in zip(HISTORY_KEYS, (tl, ta, vl, va)):
            history[k].append(v)
        if verbose:
            print(f"epoch {epoch:3d}  train loss {tl:.4f} acc {ta:.4f}  |  val loss {vl:.4f} acc {va:.4f}")
    return history


@torch.no_grad()
def predict(
    model: nn.Module,
    dataset: torch.utils.data.Dataset,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(predicted labels, true labels) of ``model`` over ``dataset``, in dataset order, on the CPU (ch. 05, 06)."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: use 1 or more")
    device = model_device(model, device)
    model.eval()
    preds, labels = [], []
    # its own generator: iterating draws no number from the global RNG (the notebook's later cells keep
    # the random numbers they had)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=0,
        generator=torch.Generator().manual_seed(0),
    )
    for X, y in loader:
        preds.append(model(X.to(device)).argmax(1).cpu())
        labels.append(torch.as_tensor(y))
    if not preds:
        raise ValueError("predict() got an empty dataset: give it at least one sample")
    return torch.cat(preds), torch.cat(labels)


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``cm[i, j]`` = how many samples of true class ``i`` were predicted as ``j`` (chapters 02, 05, 06)."""
    idx = torch.as_tensor(labels).long().cpu() * num_classes + torch.as_tensor(preds).long().cpu()
    return torch.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Diagonal over row sums (nan for a class with no samples) (chapters 05, 06)."""
    cm = torch.as_tensor(cm).double()
    return cm.diag() / cm.sum(1)
