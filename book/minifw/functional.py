"""The layers' operations: relu, flatten, conv2d (im2col + matmul), max_pool2d, cross_entropy (ch. 05b).

Convolution is chapter 05's im2col: a strided *view* of the padded input with shape
(N, H_out, W_out, C, k, k), made compact, is the column matrix; one matmul with the weights follows.
The backward of im2col (col2im) adds every window entry back to the pixel it was copied from.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function, Tensor
from .ndarray import NDArray


class Im2col(Function):
    """(N, C, H, W) -> (N * H_out * W_out, C * k * k): one row per output position (chapter 05b)."""

    def __init__(self, k: int, stride: int = 1, padding: int = 0):
        self.k, self.s, self.p = k, stride, padding

    def _padded(self, x: NDArray) -> NDArray:
        if not self.p:
            return x
        n, c, h, w = x.shape
        out = NDArray.full((n, c, h + 2 * self.p, w + 2 * self.p), 0.0, x.device)
        out[:, :, self.p : self.p + h, self.p : self.p + w] = x
        return out

    def forward(self, x):
        xp = self._padded(x)
        (n, c, h, w), (sn, sc, sh, sw), k, s = xp.shape, xp.strides, self.k, self.s
        self.ho, self.wo = (h - k) // s + 1, (w - k) // s + 1
        windows = xp.as_strided(
            (n, self.ho, self.wo, c, k, k), (sn, sh * s, sw * s, sc, sh, sw)
        )
        return windows.compact().reshape(n * self.ho * self.wo, c * k * k)

    def backward(self, g, x):
        return (g.col2im(x.shape, self.k, self.s, self.p, self.ho, self.wo),)


class SoftmaxCrossEntropy(Function):
    """Mean of -log softmax(logits)[y]: log-sum-exp forward, (softmax - onehot) / N backward (ch. 05b)."""

    def __init__(self, onehot: NDArray):
        self.onehot = onehot

    def forward(self, logits):
        shape = logits.shape
        z = logits - logits.max(1, keepdims=True).broadcast_to(shape)
        logp = z - z.exp().sum(1, keepdims=True).log().broadcast_to(shape)
        return (logp * self.onehot).sum() * (-1.0 / shape[0])

    def backward(self, g, logits):
        grad = logits.softmax() - self.onehot
        return (grad * g.broadcast_to(grad.shape) * (1.0 / logits.shape[0]),)


def relu(x: Tensor) -> Tensor:
    """max(x, 0) (chapter 05b)."""
    return x.relu()


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    """Keep the first ``start_dim`` axes, merge the rest (like ``torch.flatten``) (chapter 05b)."""
    return x.reshape(*x.shape[:start_dim], -1)


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None, stride=1, padding=0
) -> Tensor:
    """2-d convolution (cross-correlation) as im2col + one matmul, NCHW like PyTorch (chapter 05b)."""
    n, c_out, k = x.shape[0], weight.shape[0], weight.shape[-1]
    f = Im2col(k, stride, padding)
    cols = f(x)  # (N * L, C * k * k)
    out = cols @ weight.reshape(c_out, -1).T  # (N * L, C_out)
    if bias is not None:
        out = out + bias
    return out.reshape(n, f.ho, f.wo, c_out).permute(0, 3, 1, 2)


def max_pool2d(x: Tensor, k: int) -> Tensor:
    """k x k max-pool with stride k: a reshape and a permute put each window last (chapter 05b)."""
    n, c, h, w = x.shape
    if h % k or w % k:
        raise ValueError(f"max_pool2d: {h}x{w} is not a multiple of {k}")
    windows = x.reshape(n, c, h // k, k, w // k, k).permute(0, 1, 2, 4, 3, 5)
    return windows.reshape(n, c, h // k, w // k, k * k).max(4)


def cross_entropy(logits: Tensor, labels) -> Tensor:
    """Mean cross-entropy of integer ``labels`` (like ``F.cross_entropy``) (chapter 05b)."""
    labels = np.asarray(labels, dtype=np.int64)
    onehot = np.eye(logits.shape[1], dtype=np.float32)[labels]
    return SoftmaxCrossEntropy(NDArray.from_numpy(onehot, logits.device))(logits)
