"""A small, explicit training loop: one epoch of training, evaluation, and a fit() that records history."""
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
