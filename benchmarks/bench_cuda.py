"""GPU benchmark of the book's CUDA kernels (``cuda_src/``, through ``book.cuda``): writes results/cuda.json.

    .venv/bin/python benchmarks/bench_cuda.py            # on an NVIDIA GPU with PyCUDA (make results-cuda)
    .venv/bin/python benchmarks/bench_cuda.py --smoke    # every path at tiny sizes on the CPU emulator

Measures, with CUDA events: bandwidth (GB/s) of a device-to-device copy, of vector add and of each
reduction (and its % of the copy); GFLOP/s of each matmul and of cuBLAS FP32 (``torch.matmul`` with TF32
off, % of cuBLAS); softmax (vs ``torch.softmax``), histogram and scan bandwidth. Goals: vector add
>= 85 % and the best reduction >= 80 % of copy bandwidth; the best teaching SGEMM >= 50 % of cuBLAS.
Results go through ``book.results.write`` (provenance: GPU, driver, versions, date, commit, command).
``--smoke`` runs the same code on the emulator at tiny sizes; its numbers measure the CPU and mean
nothing, and ``book.results`` keeps them out of ``results/`` (see BOOK_RESULTS_DIR).
Without ``--smoke`` and without PyCUDA + a GPU it exits with status 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

import book.cuda as cuda
from book import results
from book.env import RunConfig

MATMUL_TILE = {"naive": 16, "tiled": 16, "regblock": 64}


def _blocks(n: int, b: int) -> int:
    return (n + b - 1) // b


class Timer:
    """Milliseconds per call of a launch function: CUDA events on a GPU, the wall clock on the emulator."""

    def __init__(self, backend: cuda.Backend, reps: int):
        self.drv, self.reps, self.gpu = backend.driver, reps, backend.name == "pycuda"

    def ms(self, fn) -> float:
        """Mean time of ``fn()`` over ``reps`` calls, after one warm-up call."""
        fn()
        if self.gpu:
            start, end = self.drv.Event(), self.drv.Event()
            start.record()
            for _ in range(self.reps):
                fn()
            end.record()
            end.synchronize()
            return start.time_till(end) / self.reps
        t = time.perf_counter()
        for _ in range(self.reps):
            fn()
        self.drv.Context.synchronize()
        return (time.perf_counter() - t) * 1e3 / self.reps


def bench(backend: cuda.Backend, smoke: bool) -> dict:
    """Run every measurement on ``backend``; tiny sizes when ``smoke``."""
    import torch

    drv = backend.driver
    timer = Timer(backend, 1 if smoke else 20)
    rng = np.random.default_rng(0)
    n = 4096 if smoke else 1 << 26
    x = rng.random(n, dtype=np.float32)
    d_a, d_b, d_c = drv.to_device(x), drv.to_device(x[::-1].copy()), drv.mem_alloc(x.nbytes)
    gb = x.nbytes / 1e9

    copy_ms = timer.ms(lambda: drv.memcpy_dtod(d_c, d_a, x.nbytes))
    copy_gbps = 2 * gb / (copy_ms / 1e3)
    out: dict = {"n": n, "copy_dtod_GBps": copy_gbps}

    f = backend.module("elementwise").get_function("vec_add")
    ms = timer.ms(lambda: f(d_a, d_b, d_c, np.int32(n), block=(256, 1, 1), grid=(_blocks(n, 256), 1)))
    out["vec_add"] = {"GBps": 3 * gb / (ms / 1e3), "pct_of_copy": 100 * 1.5 * copy_ms / ms}

    red = []
    for v in ("interleaved", "sequential", "first_add", "warp"):
        block = 256
        nb = {"first_add": _blocks(n, 2 * block), "warp": min(_blocks(n, block), 1024)}.get(
            v, _blocks(n, block)
        )
        d_part = drv.mem_alloc(4 * nb)
        shared = (block // 32 if v == "warp" else block) * 4
        g = backend.module("reduce").get_function(f"reduce_{v}")
        ms = timer.ms(
            lambda g=g, nb=nb, d_part=d_part, shared=shared, block=block: g(
                d_a, d_part, np.int32(n), block=(block, 1, 1), grid=(nb, 1), shared=shared
            )
        )
        red.append({"version": v, "GBps": gb / (ms / 1e3), "pct_of_copy": 100 * gb / (ms / 1e3) / copy_gbps})
    out["reduce"] = red

    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda" if backend.name == "pycuda" else "cpu"
    mm = []
    for size in (64,) if smoke else (1024, 2048, 4096):
        a = rng.standard_normal((size, size)).astype(np.float32)
        d_A, d_B, d_C = drv.to_device(a), drv.to_device(a.T.copy()), drv.mem_alloc(a.nbytes)
        flops = 2 * size**3
        ta = torch.from_numpy(a).to(dev)
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        t_ms = timer.ms(lambda ta=ta, sync=sync: (torch.matmul(ta, ta), sync()))
        row: dict = {"n": size, "cublas_fp32_GFLOPs": flops / (t_ms / 1e6)}
        for v, tile in MATMUL_TILE.items():
            h = backend.module("matmul").get_function(f"matmul_{v}")
            grid = (_blocks(size, tile), _blocks(size, tile))
            ms = timer.ms(
                lambda h=h, grid=grid, d_A=d_A, d_B=d_B, d_C=d_C, size=size: h(
                    d_A,
                    d_B,
                    d_C,
                    np.int32(size),
                    np.int32(size),
                    np.int32(size),
                    block=(16, 16, 1),
                    grid=grid,
                )
            )
            row[f"{v}_GFLOPs"] = flops / (ms / 1e6)
            row[f"{v}_pct_of_cublas"] = 100 * t_ms / ms
        mm.append(row)
    out["matmul"] = mm

    rows, cols = (8, 256) if smoke else (8192, 1024)
    xs = rng.standard_normal((rows, cols)).astype(np.float32)
    d_x, d_y = drv.to_device(xs), drv.mem_alloc(xs.nbytes)
    sm = backend.module("softmax").get_function("softmax_rows")
    ms = timer.ms(
        lambda: sm(d_x, d_y, np.int32(rows), np.int32(cols), block=(128, 1, 1), grid=(rows, 1), shared=512)
    )
    tx = torch.from_numpy(xs).to(dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    t_ms = timer.ms(lambda: (torch.softmax(tx, 1), sync()))
    sgb = 2 * xs.nbytes / 1e9
    out["softmax"] = {"rows": rows, "cols": cols, "GBps": sgb / (ms / 1e3), "torch_GBps": sgb / (t_ms / 1e3)}

    data = rng.integers(0, 256, n).astype(np.int32)
    d_data, d_hist = drv.to_device(data), drv.mem_alloc(256 * 4)
    hist = []
    for v in ("global", "shared"):
        hk = backend.module("histogram").get_function(f"histogram_{v}")
        extra = (np.int32(256),) if v == "shared" else ()
        kw = {"shared": 1024} if v == "shared" else {}
        grid = (min(_blocks(n, 256), 1024), 1)
        ms = timer.ms(
            lambda hk=hk, extra=extra, kw=kw, grid=grid: (
                drv.memset_d32(d_hist, 0, 256),
                hk(d_data, d_hist, np.int32(n), *extra, block=(256, 1, 1), grid=grid, **kw),
            )
        )
        hist.append({"version": v, "GBps": data.nbytes / 1e9 / (ms / 1e3)})
    out["histogram"] = hist

    from book.cuda.kernels import _scan_device

    ms = timer.ms(lambda: _scan_device(d_a, d_c, n, 256))
    out["scan"] = {"n": n, "GBps": 2 * gb / (ms / 1e3)}
    out["backend"] = backend.name
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark and write ``results/cuda.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes on the CPU emulator (numbers mean nothing)"
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.smoke:
        backend = cuda.load("emulator")
    else:
        try:
            backend = cuda.load("pycuda")
        except RuntimeError as exc:
            print(
                f"bench_cuda.py: {exc}. Nothing was measured; results/cuda.json is unchanged.",
                file=sys.stderr,
            )
            return 2
    data = bench(backend, args.smoke)
    data["smoke"] = args.smoke
    cmd = "python benchmarks/bench_cuda.py" + (" --smoke" if args.smoke else "")
    # A smoke run is full mode's code at tiny sizes (on the emulator): book.results records it as such and
    # keeps its file out of results/ (unless $BOOK_RESULTS_DIR names a folder).
    cfg = RunConfig(
        mode="full", device=torch.device("cpu" if args.smoke else "cuda"), reason=cmd, smoke=args.smoke
    )
    path = results.write("cuda", data, command=cmd, wall_s=time.perf_counter() - t0, cfg=cfg)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
