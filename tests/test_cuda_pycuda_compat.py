"""PyCUDA's tutorial and example scripts run unchanged on the emulator (``book.cuda.pycuda_shim``).

The files are copies from PyCUDA (MIT licence, ``tests/pycuda_compat/LICENSE``); ``run_all.py`` runs the
tutorial's code blocks and every example that needs no third-party package, one JSON line each.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "pycuda_compat"

SUPPORTED = {
    "demo.py", "demo_cdpSimplePrint.py", "demo_elementwise.py", "demo_struct.py", "dump_properties.py",
    "from-wiki/arithmetic_example.py", "from-wiki/c++_function_templates.py", "from-wiki/convolution.py",
    "from-wiki/demo_complex.py", "from-wiki/distance_element_wise3d.py", "from-wiki/gpu_scalar_mult.py",
    "from-wiki/kernel_concurrency.py", "from-wiki/manhattan_distance_for_2D_array.py",
    "from-wiki/matrixmul_simple.py", "from-wiki/matrixmul_tiled.py", "from-wiki/multiple_threads.py",
    "from-wiki/select_to_list.py", "from-wiki/threads_and_blocks.py", "from-wiki/using_printf.py", "hello_gpu.py",
}  # fmt: skip
N_EXAMPLES = 22  # example scripts that need no third-party package (the denominator)
# known failures, and why:
#   fill_gpu_with_nans.py           not run: allocates all the memory reported free (the host's RAM here)
#   from-wiki/simple_speed_test.py  not run: a speed test, minutes of sinf on a CPU


def test_pycuda_tutorial_and_examples_run_unchanged():
    env = dict(os.environ, BOOK_CUDA_SANITIZE="0")
    proc = subprocess.run(
        [sys.executable, str(HERE / "run_all.py")],
        input="\n" * 10, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"name"')]
    tutorial = [r for r in rows if r["name"].startswith("tutorial")]
    examples = {r["name"]: r for r in rows if not r["name"].startswith("tutorial")}
    ok_t = sum(r["ok"] for r in tutorial)
    ok_e = sum(r["ok"] for r in examples.values())
    print(f"\nPyCUDA tutorial: {ok_t} of {len(tutorial)} code blocks run unchanged")
    print(f"PyCUDA examples without third-party packages: {ok_e} of {len(examples)} run unchanged")
    for name, r in sorted(examples.items()):
        if not r["ok"]:
            print(f"  fails: {name}: {r['error'][:120]}")
    assert len(tutorial) >= 10 and ok_t == len(tutorial), [r for r in tutorial if not r["ok"]]
    failing = {n for n in SUPPORTED if not examples.get(n, {}).get("ok")}
    assert not failing, {n: examples.get(n) for n in failing}
    assert len(examples) == N_EXAMPLES, sorted(examples)
    assert ok_e == len(SUPPORTED), sorted(n for n, r in examples.items() if r["ok"] and n not in SUPPORTED)
    assert ok_e / len(examples) >= 0.8, f"{ok_e} of {len(examples)}: below the issue's goal of 80 %"
