"""Host-side wrappers of ``cuda_src/`` (chapter 03): NumPy in, NumPy out, through ``driver.In/Out/InOut``.

The same code runs on both backends (``book.cuda.load()``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import load, module


def _f32(x):
    return np.ascontiguousarray(x, dtype=np.float32)


def _blocks(n: int, block: int) -> int:
    return (n + block - 1) // block


def vec_add(a: Any, b: Any, block: int = 256) -> Any:
    """c = a + b with the vec_add kernel (chapter 03)."""
    drv = load().driver
    a, b = _f32(a), _f32(b)
    c = np.empty_like(a)
    module("elementwise").get_function("vec_add")(
        drv.In(a),
        drv.In(b),
        drv.Out(c),
        np.int32(a.size),
        block=(block, 1, 1),
        grid=(_blocks(a.size, block), 1),
    )
    return c


def relu_fwd(x: Any, block: int = 256) -> Any:
    """ReLU forward with the relu_fwd kernel (chapter 03)."""
    drv = load().driver
    x = _f32(x)
    y = np.empty_like(x)
    module("elementwise").get_function("relu_fwd")(
        drv.In(x), drv.Out(y), np.int32(x.size), block=(block, 1, 1), grid=(_blocks(x.size, block), 1)
    )
    return y


def relu_bwd(x: Any, grad_y: Any, block: int = 256) -> Any:
    """ReLU backward (grad_y where x > 0) with the relu_bwd kernel (chapter 03)."""
    drv = load().driver
    x, grad_y = _f32(x), _f32(grad_y)
    gx = np.empty_like(x)
    module("elementwise").get_function("relu_bwd")(
        drv.In(x),
        drv.In(grad_y),
        drv.Out(gx),
        np.int32(x.size),
        block=(block, 1, 1),
        grid=(_blocks(x.size, block), 1),
    )
    return gx


def transpose(x: Any, version: str = "tiled") -> Any:
    """The transpose of a 2-d array with transpose_naive or transpose_tiled (chapter 03)."""
    drv = load().driver
    x = _f32(x)
    rows, cols = x.shape
    out = np.empty((cols, rows), np.float32)
    module("transpose").get_function(f"transpose_{version}")(
        drv.In(x),
        drv.Out(out),
        np.int32(rows),
        np.int32(cols),
        block=(32, 8, 1),
        grid=(_blocks(cols, 32), _blocks(rows, 32)),
    )
    return out


REDUCE_VERSIONS = ("interleaved", "sequential", "first_add", "warp")


def reduce_sum(x: Any, version: str = "warp", block: int = 256, max_blocks: int = 64) -> Any:
    """Sum of ``x``: one launch gives a partial sum per block; the host adds the partials (in float64) (chapter 03)."""
    drv = load().driver
    x = _f32(x).reshape(-1)
    n = x.size
    if version == "first_add":
        nblocks = _blocks(n, 2 * block)
    elif version == "warp":
        nblocks = min(_blocks(n, block), max_blocks)
    else:
        nblocks = _blocks(n, block)
    partial = np.empty(nblocks, np.float32)
    shared = (block // 32 if version == "warp" else block) * 4
    module("reduce").get_function(f"reduce_{version}")(
        drv.In(x), drv.Out(partial), np.int32(n), block=(block, 1, 1), grid=(nblocks, 1), shared=shared
    )
    return float(partial.astype(np.float64).sum())


MATMUL_VERSIONS = ("naive", "tiled", "regblock")


def matmul(a: Any, b: Any, version: str = "tiled") -> Any:
    """a @ b with matmul_naive, matmul_tiled or matmul_regblock (chapter 03)."""
    drv = load().driver
    a, b = _f32(a), _f32(b)
    (m, k), (k2, n) = a.shape, b.shape
    if k != k2:
        raise ValueError(f"shapes {a.shape} and {b.shape} do not align")
    c = np.empty((m, n), np.float32)
    tile = 64 if version == "regblock" else 16
    module("matmul").get_function(f"matmul_{version}")(
        drv.In(a),
        drv.In(b),
        drv.Out(c),
        np.int32(m),
        np.int32(n),
        np.int32(k),
        block=(16, 16, 1),
        grid=(_blocks(n, tile), _blocks(m, tile)),
    )
    return c


def softmax(x: Any, block: int = 128) -> Any:
    """Row-wise numerically stable softmax with softmax_rows (chapter 03)."""
    drv = load().driver
    x = _f32(x)
    rows, cols = x.shape
    y = np.empty_like(x)
    module("softmax").get_function("softmax_rows")(
        drv.In(x),
        drv.Out(y),
        np.int32(rows),
        np.int32(cols),
        block=(block, 1, 1),
        grid=(rows, 1),
        shared=block * 4,
    )
    return y


def histogram(data: Any, nbins: int, version: str = "shared", block: int = 256, max_blocks: int = 32) -> Any:
    """Histogram of integers in [0, nbins) with histogram_global or histogram_shared (chapter 03)."""
    drv = load().driver
    data = np.ascontiguousarray(data, dtype=np.int32).reshape(-1)
    if data.size and (data.min() < 0 or data.max() >= nbins):
        raise ValueError(f"values must lie in [0, {nbins})")
    hist = np.zeros(nbins, np.uint32)
    grid = (max(1, min(_blocks(data.size, block), max_blocks)), 1)
    f = module("histogram").get_function(f"histogram_{version}")
    if version == "shared":
        f(
            drv.In(data),
            drv.InOut(hist),
            np.int32(data.size),
            np.int32(nbins),
            block=(block, 1, 1),
            grid=grid,
            shared=nbins * 4,
        )
    else:
        f(drv.In(data), drv.InOut(hist), np.int32(data.size), block=(block, 1, 1), grid=grid)
    return hist


def _scan_device(d_in, d_out, n: int, block: int):
    """Inclusive scan of ``n`` floats in device memory: block scans, scan of the block sums, add offsets."""
    drv = load().driver
    mod = module("scan")
    nblocks = _blocks(n, block)
    d_sums = drv.mem_alloc(4 * nblocks)
    mod.get_function("scan_block")(
        d_in, d_out, d_sums, np.int32(n), block=(block, 1, 1), grid=(nblocks, 1), shared=2 * block * 4
    )
    if nblocks > 1:
        d_scanned = drv.mem_alloc(4 * nblocks)
        _scan_device(d_sums, d_scanned, nblocks, block)
        mod.get_function("add_offsets")(d_out, d_scanned, np.int32(n), block=(block, 1, 1), grid=(nblocks, 1))


def inclusive_scan(x: Any, block: int = 256) -> Any:
    """Inclusive prefix sum of x with the scan kernels (chapter 03)."""
    drv = load().driver
    x = _f32(x).reshape(-1)
    d_in, d_out = drv.mem_alloc(x.nbytes), drv.mem_alloc(x.nbytes)
    drv.memcpy_htod(d_in, x)
    _scan_device(d_in, d_out, x.size, block)
    out = np.empty_like(x)
    drv.memcpy_dtoh(out, d_out)
    return out
