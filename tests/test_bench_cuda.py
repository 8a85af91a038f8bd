"""benchmarks/bench_cuda.py --smoke: every measurement of ``make results-cuda`` at tiny sizes on the emulator."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_cuda_smoke(tmp_path):
    env = dict(os.environ, BOOK_RESULTS_DIR=str(tmp_path), BOOK_CUDA_BACKEND="emulator")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cuda.py"), "--smoke"],
        env=env, capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rec = json.loads((tmp_path / "cuda.json").read_text())
    data = rec["data"]
    assert data["smoke"] is True and data["backend"] == "emulator"
    assert {r["version"] for r in data["reduce"]} == {"interleaved", "sequential", "first_add", "warp"}
    assert all(k in data["matmul"][0] for k in ("naive_GFLOPs", "tiled_GFLOPs", "regblock_GFLOPs"))
    assert {"softmax", "histogram", "scan", "vec_add", "copy_dtod_GBps"} <= set(data)
    assert rec["provenance"]["smoke"] is True and rec["provenance"]["mode"] == "full"


def test_bench_cuda_without_gpu_writes_nothing(tmp_path):
    env = dict(os.environ, BOOK_RESULTS_DIR=str(tmp_path))
    env.pop("BOOK_CUDA_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cuda.py")],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    try:
        import pycuda  # noqa: F401
    except ImportError:
        assert proc.returncode == 2 and "Nothing was measured" in proc.stderr
        assert not (tmp_path / "cuda.json").exists()
