"""Speed of the CUDA emulator (issue 14, finding 7): reduce 1e6 (interleaved) and scan 1e6.

Run: ``.venv/bin/python benchmarks/bench_emulator.py [--n 1000000] [--repeat 3]``. Prints the best time of
each, after one warm-up call (which compiles the kernels). Emulator timings measure the CPU, not a GPU.
Before the hand-written fiber switch (glibc swapcontext), issue 14 measured 3.3 s and 3.7 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import book.cuda as cuda
import book.cuda.kernels as K


def best_of(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``fn`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    """Print the emulator's time for reduce (interleaved) and scan of ``--n`` floats."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cuda.load("emulator")
    x = np.random.default_rng(0).random(args.n, dtype=np.float32)
    t_red = best_of(lambda: K.reduce_sum(x, version="interleaved"), args.repeat)
    t_scan = best_of(lambda: K.inclusive_scan(x), args.repeat)
    print(f"reduce {args.n:.0e} interleaved: {t_red:.3f} s")
    print(f"scan   {args.n:.0e}:             {t_scan:.3f} s")


if __name__ == "__main__":
    main()
