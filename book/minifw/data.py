"""A minimal DataLoader: mini-batches of NumPy arrays, shuffled with a seed, sent to a device (ch. 05b)."""

from __future__ import annotations

import numpy as np

from . import backend_numpy
from .autograd import Tensor
from .ndarray import NDArray


class DataLoader:
    """Iterate over (images, labels) in batches; ``shuffle`` draws a new order every epoch (ch. 05b)."""

    def __init__(
        self,
        images,
        labels,
        batch_size: int,
        shuffle=False,
        seed=0,
        device=backend_numpy,
    ):
        self.images, self.labels = np.asarray(images, np.float32), np.asarray(labels)
        self.batch_size, self.shuffle, self.device = batch_size, shuffle, device
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for i in range(0, n, self.batch_size):
            idx = order[i : i + self.batch_size]
            yield (
                Tensor(NDArray.from_numpy(self.images[idx], self.device)),
                self.labels[idx],
            )
