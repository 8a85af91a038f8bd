"""Speed of the CUDA emulator (barrier-heavy kernels): reduce 1e6 (interleaved) and scan 1e6.

Run: ``.venv/bin/python benchmarks/bench_emulator.py [--n 1000000] [--repeat 3]``. Prints the best time of
each, after one warm-up call (which compiles the kernels). Emulator timings measure the CPU, not a GPU.
Before the hand-written fiber switch (glibc swapcontext), these took 3.3 s and 3.7 s.
Also: PyCUDA's linear combination ``z = a*x + b*y`` over ``--n-elwise`` floats (grid from
``gpuarray.splay``: 32 blocks of 128 threads, each striding over the array). With PyCUDA's grid-stride loop
run thread after thread it took 1.2 s for 2**25 floats (each element a new cache line); fast builds now give
each thread a contiguous chunk: about 0.08 s (both on a shared, loaded 2-core machine).
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
    ap.add_argument("--n-elwise", type=int, default=1 << 25)
    args = ap.parse_args()
    cuda.load("emulator")
    x = np.random.default_rng(0).random(args.n, dtype=np.float32)
    t_red = best_of(lambda: K.reduce_sum(x, version="interleaved"), args.repeat)
    t_scan = best_of(lambda: K.inclusive_scan(x), args.repeat)
    print(f"reduce {args.n:.0e} interleaved: {t_red:.3f} s")
    print(f"scan   {args.n:.0e}:             {t_scan:.3f} s")
    from book.cuda import emulator
    from book.cuda.elementwise import get_linear_combination_kernel
    from book.cuda.gpuarray import to_gpu

    emulator.configure(sanitize=False)
    f32 = np.float32
    lc, _ = get_linear_combination_kernel(((False, f32, f32), (False, f32, f32)), f32)
    xs = [to_gpu(np.random.default_rng(k).random(args.n_elwise, dtype=f32)) for k in range(3)]
    x, y, z = xs

    def lin_comb() -> None:
        lc.prepared_call(x._grid, x._block, f32(5), x.gpudata, f32(7), y.gpudata, z.gpudata, x.mem_size)

    t_lc = best_of(lin_comb, args.repeat)
    print(f"linear combination of {args.n_elwise} floats: {t_lc:.3f} s")


if __name__ == "__main__":
    main()
