"""The CUDA backend: buffers in device memory, every operation one of the book's kernels (chapter 05b).

The kernels come from ``cuda_src/``: ``vec_add``, ``relu_fwd``, ``relu_bwd`` (elementwise.cu),
``matmul_tiled`` (matmul.cu), ``softmax_rows`` (softmax.cu), ``col2im`` (conv.cu) and the rest from
``minifw.cu``. They are
launched through ``book.cuda``: PyCUDA on an NVIDIA GPU, the CPU emulator elsewhere (the same code).
Buffers are ``mem_alloc`` allocations that never leave the device between operations.
"""

from __future__ import annotations

import numpy as np

from book import cuda

name = "cuda"
BLOCK = 256


def _launch(
    file: str,
    kernel: str,
    *args,
    n: int,
    block: int = BLOCK,
    grid=None,
    shared: int = 0,
):
    if n == 0:
        return
    fn = cuda.module(file).get_function(kernel)
    grid = grid or ((n + block - 1) // block, 1)
    fn(*args, block=(block, 1, 1), grid=grid, shared=shared)


def _ints(values) -> object:
    """A small int32 array (shape or strides) copied in for one launch."""
    return cuda.load().driver.In(np.asarray(values, dtype=np.int32))


def alloc(size: int):
    return cuda.load().driver.mem_alloc(max(size, 1) * 4)


def fill(out, size, value):
    _launch("minifw", "fill", out, np.int32(size), np.float32(value), n=size)


def from_numpy(a):
    return cuda.load().driver.to_device(np.ascontiguousarray(a, np.float32))


def to_numpy(a, size):
    out = np.empty(size, np.float32)
    cuda.load().driver.memcpy_dtoh(out, a)
    return out


def compact(a, out, shape, strides, offset):
    n = int(np.prod(shape))
    args = (
        np.int32(n),
        np.int32(len(shape)),
        _ints(shape),
        _ints(strides),
        np.int32(offset),
    )
    _launch("minifw", "compact_strided", a, out, *args, n=n)


def setitem(src, out, shape, strides, offset):
    n = int(np.prod(shape))
    args = (
        np.int32(n),
        np.int32(len(shape)),
        _ints(shape),
        _ints(strides),
        np.int32(offset),
    )
    _launch("minifw", "setitem_strided", src, out, *args, n=n)


def col2im(cols, out, n, c, h, w, k, s, p, h_out, w_out):
    args = [np.int32(v) for v in (n, c, h, w, k, s, p, h_out, w_out)]
    _launch("conv", "col2im", cols, out, *args, n=n * c * h * w)


def ewise_add(a, b, out, n):
    _launch(
        "elementwise", "vec_add", a, b, out, np.int32(n), n=n
    )  # chapter 03's first kernel


def _binary(kernel):
    return lambda a, b, out, n: _launch("minifw", kernel, a, b, out, np.int32(n), n=n)


def _scalar(kernel):
    return lambda a, s, out, n: _launch(
        "minifw", kernel, a, np.float32(s), out, np.int32(n), n=n
    )


ewise_mul, ewise_div, ewise_eq = (
    _binary("ewise_mul"),
    _binary("ewise_div"),
    _binary("ewise_eq"),
)
scalar_add, scalar_mul = _scalar("scalar_add"), _scalar("scalar_mul")
scalar_pow, scalar_eq = _scalar("scalar_pow"), _scalar("scalar_eq")


def exp(a, out, n):
    _launch("minifw", "ewise_exp", a, out, np.int32(n), n=n)


def log(a, out, n):
    _launch("minifw", "ewise_log", a, out, np.int32(n), n=n)


def relu(a, out, n):
    _launch("elementwise", "relu_fwd", a, out, np.int32(n), n=n)


def relu_backward(x, grad, out, n):
    _launch("elementwise", "relu_bwd", x, grad, out, np.int32(n), n=n)


def matmul(a, b, out, m, n, k):
    grid = ((n + 15) // 16, (m + 15) // 16)
    fn = cuda.module("matmul").get_function("matmul_tiled")
    fn(a, b, out, np.int32(m), np.int32(n), np.int32(k), block=(16, 16, 1), grid=grid)


def _row_block(cols: int) -> int:
    """Threads per row: a power of two, at most 128, no more than the row needs."""
    return min(128, 1 << max(0, cols - 1).bit_length())


def _rows(file, kernel, a, out, rows, cols):
    block = _row_block(cols)
    args = (a, out, np.int32(rows), np.int32(cols))
    _launch(file, kernel, *args, n=rows, block=block, grid=(rows, 1), shared=4 * block)


def reduce_sum(a, out, rows, cols):
    _rows("minifw", "reduce_rows_sum", a, out, rows, cols)


def reduce_max(a, out, rows, cols):
    _rows("minifw", "reduce_rows_max", a, out, rows, cols)


def softmax(a, out, rows, cols):
    _rows("softmax", "softmax_rows", a, out, rows, cols)
