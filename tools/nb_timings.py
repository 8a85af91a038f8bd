"""Seconds of nbval per notebook (``make timings``): where the quick-mode test time goes.

    python tools/nb_timings.py [chapters/*.ipynb]          # runs nbval with --durations=0
    python tools/nb_timings.py --from-log pytest-output.txt  # only parse an earlier run's output

Runs ``pytest --nbval --durations=0`` over the notebooks (one process, as ``make test`` does), then sums
the per-cell durations of each notebook and prints a table, slowest first, with the slowest cell.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from book.paths import ROOT

# "12.34s call     chapters/05_lenet.ipynb::Cell 12"
DURATION = re.compile(
    r"^\s*(?P<s>\d+(?:\.\d+)?)s\s+(?P<phase>setup|call|teardown)\s+(?P<item>\S+?\.ipynb)::(?P<cell>.*)$"
)


def parse(lines: list[str]) -> dict[str, dict]:
    """``{notebook: {"seconds", "cells", "slowest": (seconds, cell)}}`` from pytest ``--durations`` lines."""
    out: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "cells": 0, "slowest": (0.0, "")})
    for line in lines:
        m = DURATION.match(line)
        if not m:
            continue
        nb, s = m["item"], float(m["s"])
        rec = out[nb]
        rec["seconds"] += s
        if m["phase"] == "call":
            rec["cells"] += 1
            if s > rec["slowest"][0]:
                rec["slowest"] = (s, m["cell"].strip())
    return dict(out)


def report(per_nb: dict[str, dict]) -> str:
    """The table printed by ``make timings``."""
    rows = sorted(per_nb.items(), key=lambda kv: -kv[1]["seconds"])
    width = max([len("notebook"), *(len(nb) for nb in per_nb)])
    lines = [f"{'notebook':<{width}}  {'seconds':>8}  {'cells':>5}  slowest cell"]
    for nb, r in rows:
        s, cell = r["slowest"]
        lines.append(f"{nb:<{width}}  {r['seconds']:8.1f}  {r['cells']:5d}  {cell} ({s:.1f} s)")
    lines.append(f"{'total':<{width}}  {sum(r['seconds'] for r in per_nb.values()):8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="*", default=None, help="default: chapters/*.ipynb")
    p.add_argument("--from-log", type=Path, help="parse this saved pytest output instead of running nbval")
    args = p.parse_args(argv)
    if args.from_log:
        lines = args.from_log.read_text(encoding="utf-8").splitlines()
        rc = 0
    else:
        nbs = args.notebooks or sorted(str(q.relative_to(ROOT)) for q in (ROOT / "chapters").glob("*.ipynb"))
        cmd = [sys.executable, "-m", "pytest", "-q", "--nbval", *nbs, "--durations=0", "--durations-min=0"]
        cmd += ["--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:cacheprovider"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        rc = proc.returncode
        if rc:
            print(f"note: nbval exited with status {rc} (failures are counted in the times too)")
    per_nb = parse(lines)
    if not per_nb:
        print("no per-cell durations found in the pytest output", file=sys.stderr)
        return 1
    print(report(per_nb))
    return 0


if __name__ == "__main__":
    sys.exit(main())
