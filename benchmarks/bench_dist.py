"""Full-mode timings of chapter 07 (``make results-dist``): all-reduce time and bus bandwidth per message
size, and the alpha-beta fit, written to ``results/dist.json`` with ``book.results``.

    python benchmarks/bench_dist.py            # BOOK_MODE=full on a GPU machine (make results-dist)
    BOOK_MODE=full BOOK_SMOKE=1 python benchmarks/bench_dist.py   # every path in seconds on a CPU

It runs the chapter's own worker script (``book/dist_workers/bench.py``) through ``book.dist.launch``:

* ``gloo_cpu``: 2 CPU processes with gloo over loopback, up to 64 MiB messages (what the chapter measures
  in quick mode, at full sizes);
* ``nccl``: one process per GPU with NCCL, up to 1 GiB messages, when the machine has at least 2 GPUs.
  With fewer, the file says so (``nccl_note``) and holds no NCCL numbers: one GPU has nothing to talk to.

Without a CUDA GPU it exits with status 2 (a smoke run excepted: it checks the code paths on the CPU at
tiny sizes, and its numbers mean nothing).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

from book import dist, results
from book.env import get_config

NAME = "dist"
COMMAND = "make results-dist"


def measure(device: str, nproc: int, max_log2: int, timeout: float) -> list[dict]:
    """Rows ``{bytes, seconds, busbw_GBps}`` of the chapter's all-reduce benchmark on ``nproc`` ranks."""
    res = dist.launch(dist.worker_path("bench"), nproc=nproc, args=[device, max_log2], timeout=timeout)
    rows = [json.loads(line) for line in res.outputs[0].splitlines() if line.startswith("{")]
    for r in rows:  # bus bandwidth: what each rank sends, 2(N-1)/N * S, per second
        r["busbw_GBps"] = 2 * (nproc - 1) / nproc * r["bytes"] / r["seconds"] / 1e9
    return rows


def fit_alpha_beta(rows: list[dict], nproc: int) -> dict:
    """Least squares of T = 2(N-1) alpha + 2(N-1)/N S beta, weighted by 1/T (as in chapter 07)."""
    S = np.array([r["bytes"] for r in rows], dtype=float)
    T = np.array([r["seconds"] for r in rows])
    A = np.stack([np.ones_like(S), S], axis=1) / T[:, None]
    a, b = np.linalg.lstsq(A, np.ones_like(T), rcond=None)[0]
    alpha, beta = a / (2 * (nproc - 1)), b / (2 * (nproc - 1) / nproc)
    return {"alpha_us": alpha * 1e6, "bandwidth_GBps": (1 / beta / 1e9) if beta > 0 else None}


def main() -> int:
    cfg = get_config()
    n_gpu = torch.cuda.device_count()
    if cfg.mode != "full" or (not cfg.smoke and n_gpu == 0):
        print(
            "bench_dist.py measures full-mode timings on a GPU machine: run `make results-dist` there "
            "(BOOK_MODE=full), or BOOK_MODE=full BOOK_SMOKE=1 for a tiny check on a CPU.",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    data: dict = {"ranks_gloo": 2, "gpus": n_gpu}
    gloo = measure("cpu", 2, cfg.pick(14, 24, smoke=8), timeout=cfg.pick(120, 500, smoke=120))
    data["gloo_cpu"] = gloo
    data["gloo_fit"] = fit_alpha_beta(gloo, 2)
    if n_gpu >= 2 and not cfg.smoke:
        nccl = measure("cuda", n_gpu, 28, timeout=500)
        data["nccl"] = nccl
        data["nccl_fit"] = fit_alpha_beta(nccl, n_gpu)
        data["nccl_note"] = f"NCCL on {n_gpu} GPUs ({torch.cuda.get_device_name(0)})"
    else:
        data["nccl_note"] = f"not measured: this machine has {n_gpu} GPU(s); NCCL all-reduce needs at least 2"
    path = results.write(NAME, data, COMMAND, time.perf_counter() - t0, cfg=cfg)
    print(f"wrote {path}")
    results.show(NAME, key="gloo_cpu", cfg=cfg)
    print(data["nccl_note"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
