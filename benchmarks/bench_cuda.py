"""GPU benchmark of the kernels in cuda_src/ with real PyCUDA.  Writes results/cuda_bench.json.

    .venv/bin/pip install pycuda          # needs the CUDA toolkit (nvcc) and the NVIDIA driver
    .venv/bin/python benchmarks/bench_cuda.py [--quick]

Measures: device-to-device copy and vector-add bandwidth, every reduction version (GB/s), every matmul
version (GFLOP/s and % of cuBLAS FP32 via torch with TF32 off, n = 1024..4096), softmax vs torch.
Goals (issue 3): vector add >= 85 % and best reduction >= 80 % of copy bandwidth; best matmul >= 50 % of
cuBLAS.  Without a GPU or without PyCUDA it exits with status 2 and says why (the emulator's timings
measure the CPU and are never written here).
"""
from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    ap.add_argument("--out", default=str(ROOT / "results" / "cuda_bench.json"))
    args = ap.parse_args()
    try:
        import pycuda.driver as drv
        drv.init()
        if drv.Device.count() == 0:
            raise RuntimeError("no CUDA device")
    except Exception as exc:  # ImportError, or no driver / device
        print(f"bench_cuda.py needs an NVIDIA GPU and PyCUDA ({type(exc).__name__}: {exc}).\n"
              "Install with `.venv/bin/pip install pycuda` on a machine with the CUDA toolkit and driver. "
              "Nothing was measured; results/cuda_bench.json is unchanged.", file=sys.stderr)
        return 2
    import torch
    import pycuda.autoprimaryctx  # noqa: F401
    from book.cuda import device_ptr, module

    if not torch.cuda.is_available():
        print("torch sees no CUDA device; nothing was measured.", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    reps = 5 if args.quick else 20
    P = device_ptr

    def time_ms(fn) -> float:
        fn()  # warm-up
        start, end = drv.Event(), drv.Event()
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        return start.time_till(end) / reps

    def torch_ms(fn) -> float:
        fn()
        torch.cuda.synchronize()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(reps):
            fn()
        e.record()
        e.synchronize()
        return s.elapsed_time(e) / reps

    res: dict = {"bandwidth": {}, "reduce": {}, "matmul": {}, "softmax": {}}
    n = 1 << (24 if args.quick else 26)
    a = torch.randn(n, device="cuda")
    b = torch.randn(n, device="cuda")
    c = torch.empty_like(a)
    nbytes = 4 * n
    ms = time_ms(lambda: drv.memcpy_dtod(int(P(c)), int(P(a)), nbytes))
    copy_gbs = 2 * nbytes / ms / 1e6
    res["bandwidth"]["copy_dtod_GBps"] = copy_gbs
    f = module("elementwise").get_function("vec_add")
    ms = time_ms(lambda: f(P(a), P(b), P(c), np.int32(n), block=(256, 1, 1), grid=((n + 255) // 256, 1)))
    torch.testing.assert_close(c, a + b)
    res["bandwidth"]["vec_add_GBps"] = 3 * nbytes / ms / 1e6
    res["bandwidth"]["vec_add_pct_of_copy"] = 100 * res["bandwidth"]["vec_add_GBps"] / copy_gbs

    red = module("reduce")
    sm = drv.Context.get_device().get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT)
    for version in ("interleaved", "sequential", "first_add", "warp"):
        block = 256
        nblocks = {"first_add": (n + 511) // 512, "warp": 8 * sm}.get(version, (n + block - 1) // block)
        partial = torch.empty(nblocks, device="cuda")
        shared = (block // 32 if version == "warp" else block) * 4
        fn = red.get_function(f"reduce_{version}")
        ms = time_ms(lambda: fn(P(a), P(partial), np.int32(n), block=(block, 1, 1), grid=(nblocks, 1), shared=shared))
        torch.testing.assert_close(partial.double().sum(), a.double().sum(), rtol=1e-4, atol=1e-3 * n ** 0.5)
        gbs = nbytes / ms / 1e6
        res["reduce"][version] = {"GBps": gbs, "pct_of_copy": 100 * gbs / copy_gbs}

    mm = module("matmul")
    for size in ([1024, 2048] if args.quick else [1024, 2048, 4096]):
        A = torch.randn(size, size, device="cuda")
        B = torch.randn(size, size, device="cuda")
        C = torch.empty(size, size, device="cuda")
        flops = 2 * size ** 3
        cublas = flops / torch_ms(lambda: torch.mm(A, B, out=C)) / 1e6
        row = {"cublas_fp32_GFLOPs": cublas}
        for version, tile in (("naive", 16), ("tiled", 16), ("regblock", 64)):
            fn = mm.get_function(f"matmul_{version}")
            g = ((size + tile - 1) // tile, (size + tile - 1) // tile)
            ms = time_ms(lambda: fn(P(A), P(B), P(C), np.int32(size), np.int32(size), np.int32(size),
                                    block=(16, 16, 1), grid=g))
            torch.testing.assert_close(C, A @ B, rtol=1e-3, atol=1e-2)
            row[version] = {"GFLOPs": flops / ms / 1e6, "pct_of_cublas": 100 * flops / ms / 1e6 / cublas}
        res["matmul"][str(size)] = row

    rows, cols = (4096, 1024)
    X = torch.randn(rows, cols, device="cuda")
    Y = torch.empty_like(X)
    fn = module("softmax").get_function("softmax_rows")
    ms = time_ms(lambda: fn(P(X), P(Y), np.int32(rows), np.int32(cols), block=(256, 1, 1), grid=(rows, 1),
                            shared=256 * 4))
    torch.testing.assert_close(Y, torch.softmax(X, 1))
    res["softmax"] = {"shape": [rows, cols], "kernel_ms": ms, "torch_ms": torch_ms(lambda: torch.softmax(X, 1))}

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    res["meta"] = {
        "device": torch.cuda.get_device_name(0),
        "driver": "%d.%d" % (drv.get_driver_version() // 1000, drv.get_driver_version() % 1000 // 10),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit or "unknown",
        "quick": args.quick,
        "how": "PyCUDA kernels from cuda_src/, driver.Event timing, mean of %d launches after a warm-up" % reps,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
