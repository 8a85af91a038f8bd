"""Just enough of ``torch.nn`` / ``torch.optim`` on top of the tensor engine to train small MLPs.

Weights are stored as PyTorch stores them, ``weight`` (out, in) and ``bias`` (out,), and ``Linear``
computes ``x @ weight.T + bias``; so ``copy_from_torch`` can start both engines from the same numbers.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


class Linear:
    """``x @ weight.T + bias`` with PyTorch's layout and default initialisation (chapter 04)."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator | None = None):
        rng = np.random.default_rng(0) if rng is None else rng
        bound = 1 / np.sqrt(n_in)  # PyTorch's default: U(-1/sqrt(n_in), 1/sqrt(n_in))
        self.weight = Tensor(rng.uniform(-bound, bound, (n_out, n_in)), requires_grad=True, name="weight")
        self.bias = Tensor(rng.uniform(-bound, bound, n_out), requires_grad=True, name="bias")

    def __call__(self, x: Tensor) -> Tensor:
        return x @ self.weight.T + self.bias

    def parameters(self) -> list[Tensor]:
        """``[weight, bias]`` (chapter 04)."""
        return [self.weight, self.bias]


class MLP:
    """Linear layers of the given sizes with ``activation`` ("relu"/"tanh") between (chapter 04)."""

    def __init__(self, sizes: list[int], activation: str = "relu", rng: np.random.Generator | None = None):
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}.")
        rng = np.random.default_rng(0) if rng is None else rng
        self.layers = [Linear(a, b, rng) for a, b in zip(sizes[:-1], sizes[1:])]
        self.activation = activation
        for i, layer in enumerate(self.layers):
            layer.weight.name, layer.bias.name = f"{i}.weight", f"{i}.bias"

    def __call__(self, x) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        for layer in self.layers[:-1]:
            x = getattr(layer(x), self.activation)()
        return self.layers[-1](x)

    def parameters(self) -> list[Tensor]:
        """All weights and biases, layer by layer (chapter 04)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Tensor]:
        """``{"0.weight": ..., "0.bias": ...}`` as PyTorch names them (chapter 04)."""
        return {p.name: p for p in self.parameters()}

    def copy_from_torch(self, module) -> MLP:
        """Copy the parameters of a torch module with the same layout (chapter 04)."""
        theirs = list(module.parameters())
        if [tuple(p.shape) for p in theirs] != [p.shape for p in self.parameters()]:
            raise ValueError(
                "copy_from_torch: the parameter shapes differ: "
                f"{[tuple(p.shape) for p in theirs]} vs {[p.shape for p in self.parameters()]}."
            )
        for mine, p in zip(self.parameters(), theirs):
            mine.data = p.detach().cpu().double().numpy().copy()
        return self


class SGD:
    """``w <- w - lr * (grad + weight_decay * w)``: torch.optim.SGD without momentum (chapter 04)."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        self.params, self.lr, self.weight_decay = list(params), lr, weight_decay

    def zero_grad(self) -> None:
        """Forget the gradients (chapter 04)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient (chapter 04)."""
        for p in self.params:
            if p.grad is not None:
                p.data = p.data - self.lr * (p.grad + self.weight_decay * p.data)
