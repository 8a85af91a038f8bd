"""Re-run notebooks top to bottom in quick mode and store their outputs (what nbval then checks).

    BOOK_MODE=quick python tools/execute.py chapters/01_tensors.ipynb [...]

Runs each notebook in its own folder, without timing metadata, and writes it only if it ran through.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

if __name__ == "__main__":
    os.environ.setdefault("BOOK_MODE", "quick")
    paths = [Path(p) for p in sys.argv[1:]]
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        client = NotebookClient(
            nb,
            timeout=1200,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()
        tmp = path.with_suffix(".ipynb.part")
        nbformat.write(nb, tmp)
        tmp.replace(path)
        print(f"executed {path} in {time.perf_counter() - t0:.1f} s")
