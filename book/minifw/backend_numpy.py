"""The NumPy backend: a device whose buffers are flat float32 NumPy arrays (chapter 05b).

This is the reference: each operation is one line of NumPy. A backend is a module with these functions
(``alloc``, ``fill``, ``from_numpy``, ``to_numpy``, ``compact``, ``setitem``, ``col2im``, ``ewise_*``, ``scalar_*``,
``exp``, ``log``, ``relu``, ``relu_backward``, ``matmul``, ``reduce_sum``, ``reduce_max``, ``softmax``);
``NDArray`` calls nothing else.
"""

from __future__ import annotations

import numpy as np

name = "numpy"
ITEM = 4  # bytes per float32


def alloc(size: int) -> np.ndarray:
    return np.empty(size, np.float32)


def fill(out, size, value):
    out[:] = value


def from_numpy(a):
    return a.copy()


def to_numpy(a, size):
    return a[:size].copy()


def _view(buf, shape, strides, offset):
    """The strided view as NumPy sees it (NumPy counts strides in bytes)."""
    return np.lib.stride_tricks.as_strided(
        buf[offset:], shape, [s * ITEM for s in strides], writeable=True
    )


def compact(a, out, shape, strides, offset):
    np.copyto(out.reshape(shape), _view(a, shape, strides, offset))


def setitem(src, out, shape, strides, offset):
    _view(out, shape, strides, offset)[...] = src.reshape(shape)


def ewise_add(a, b, out, n):
    np.add(a, b, out=out)


def ewise_mul(a, b, out, n):
    np.multiply(a, b, out=out)


def ewise_div(a, b, out, n):
    np.divide(a, b, out=out)


def ewise_eq(a, b, out, n):
    out[:] = a == b


def scalar_add(a, s, out, n):
    np.add(a, np.float32(s), out=out)


def scalar_mul(a, s, out, n):
    np.multiply(a, np.float32(s), out=out)


def scalar_pow(a, s, out, n):
    np.power(a, np.float32(s), out=out)


def scalar_eq(a, s, out, n):
    out[:] = a == np.float32(s)


def exp(a, out, n):
    np.exp(a, out=out)


def log(a, out, n):
    np.log(a, out=out)


def relu(a, out, n):
    np.maximum(a, 0, out=out)


def relu_backward(x, grad, out, n):
    np.multiply(grad, x > 0, out=out)


def matmul(a, b, out, m, n, k):
    np.matmul(a[: m * k].reshape(m, k), b[: k * n].reshape(k, n), out=out.reshape(m, n))


def reduce_sum(a, out, rows, cols):
    a.reshape(rows, cols).sum(axis=1, out=out)


def reduce_max(a, out, rows, cols):
    a.reshape(rows, cols).max(axis=1, out=out)


def col2im(cols, out, n, c, h, w, k, s, p, h_out, w_out):
    g = cols.reshape(n, h_out, w_out, c, k, k)
    dx = np.zeros((n, c, h + 2 * p, w + 2 * p), np.float32)
    for u in range(k):  # k*k strided adds, each into non-overlapping places
        for v in range(k):
            dx[:, :, u : u + s * h_out : s, v : v + s * w_out : s] += g[
                ..., u, v
            ].transpose(0, 3, 1, 2)
    out.reshape(n, c, h, w)[...] = dx[:, :, p : p + h, p : p + w]


def softmax(a, out, rows, cols):
    x = a.reshape(rows, cols)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out[:] = (e / e.sum(axis=1, keepdims=True)).reshape(-1)
