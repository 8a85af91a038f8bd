"""Tolerances from measurement: how far does each printed number move on another machine?

    python tools/calibrate.py chapters/02_first_networks.ipynb [...]            # measure, write records
    python tools/calibrate.py --write chapters/02_first_networks.ipynb [...]    # ... and set tolerances
    python tools/calibrate.py --apply chapters/02_first_networks.ipynb          # set them from the records
    python tools/calibrate.py --check                                           # records == metadata?

For each notebook, the stored outputs (written with the machine's own instruction set and 2 threads) are
compared with re-runs under the disturbances another machine causes (:data:`RUNS`): another PyTorch CPU
kernel set (``ATEN_CPU_CAPABILITY``), another thread count, and a relative noise of 1e-6 on every model's
initial weights (``BOOK_PERTURB``, see ``book/perturb.py``), which stands in for the summation orders
that neither of the first two changes (oneDNN's cache-size dependent blocking, another BLAS, arm64).

For every code cell whose numbers move (and every cell that already declares a ``tolerance``), the
largest deviation ``dev`` of each number from its stored value is recorded, and the tolerance is set so
that ``atol + rtol * |stored| >= MARGIN * dev`` for every number (a cell that declared a tolerance and
where nothing moved keeps one unit in its last printed digit: a rounding flip elsewhere). A cell whose text (not its numbers) changes, or that would need
``rtol > 0.1`` or ``atol > 0.05``, is reported as noise: its digits cannot catch a regression, so the
chapter must check a claim instead (a hidden assertion cell) and leave those digits unchecked.

The record of each notebook (runs, settings, date, commit, every deviation) is written to
``chapters/calibration/<notebook>.json``; ``tests/test_calibration.py`` checks that every tolerance in a
notebook is the one its record gives.
"""

from __future__ import annotations

import argparse
import configparser
import datetime
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbval_tolerance import METADATA_KEY, NUMBER

from book.paths import ROOT

RECORDS = ROOT / "chapters" / "calibration"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
MARGIN = 3.0
MAX_RTOL, MAX_ATOL = 0.1, 0.05
# Each run: the environment it adds. Seeds differ from the one `make test-numerics` uses (7), so that
# test checks tolerances on a disturbance they were not measured on.
RUNS: list[dict[str, str]] = [
    {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1", "BOOK_PERTURB": "1"},
    {"OMP_NUM_THREADS": "2", "BOOK_PERTURB": "2"},
    {"ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "2", "BOOK_PERTURB": "3"},
]


# ----------------------------------------------------------------------------- outputs as nbval sees them
def _sanitizers() -> list[tuple[re.Pattern, str]]:
    cp = configparser.ConfigParser()
    cp.read(SANITIZE, encoding="utf-8")
    return [(re.compile(cp[s]["regex"]), cp[s]["replace"]) for s in cp.sections()]


def cell_texts(cell, sanitizers) -> list[str]:
    """The text outputs of a code cell, streams merged, sanitised: the strings nbval compares."""
    texts: list[str] = []
    last_stream = None
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            if last_stream == o["name"]:
                texts[-1] += o["text"]
            else:
                texts.append(o["text"])
            last_stream = o["name"]
            continue
        last_stream = None
        if o["output_type"] in ("execute_result", "display_data") and "text/plain" in o.get("data", {}):
            texts.append(o["data"]["text/plain"])
        elif o["output_type"] == "error":
            texts.append(f"{o['ename']}: {o['evalue']}")
    out = []
    for t in texts:
        for rx, rep in sanitizers:
            t = rx.sub(rep, t)
        out.append(t)
    return out


def numbers(texts: list[str]) -> tuple[list[str], list[str]]:
    words, nums = [], []
    for t in texts:
        words.append(NUMBER.split(t))
        nums.extend(NUMBER.findall(t))
    return words, nums


def _first_difference(a: list, b: list) -> str:
    flat_a = [w for words in a for w in words]
    flat_b = [w for words in b for w in words]
    for x, y in zip(flat_a, flat_b):
        if x != y:
            return f"stored {x[:60]!r}, new {y[:60]!r}"
    return f"{len(flat_a)} pieces stored, {len(flat_b)} new"


def last_digit(s: str) -> float:
    """One unit in the last printed digit of ``s`` (0.0 for an integer or an exponent form)."""
    if "e" in s.lower() or "." not in s or s.endswith("."):  # 12, 1e-3, and torch's integral "4."
        return 0.0
    return 10.0 ** -len(s.split(".")[1])


def _round_up(x: float) -> float:
    if x <= 0:
        return 0.0
    e = math.floor(math.log10(x)) - 1
    return float(f"{math.ceil(x / 10**e) * 10**e:.3g}")


def tolerance_for(stored: list[str], devs: list[float], margin: float = MARGIN) -> dict[str, float]:
    """The smallest simple ``{rtol, atol}`` with ``atol + rtol*|x| >= margin*dev`` for every number."""
    need = []
    pairs = [(s, d) for s, d in zip(stored, devs) if not (math.isnan(float(s)) and d == 0)]
    stored, devs = [s for s, _ in pairs], [d for _, d in pairs]
    if not all(math.isfinite(d) and math.isfinite(float(s)) for s, d in zip(stored, devs)):
        return {"rtol": math.inf, "atol": math.inf}
    for s, d in zip(stored, devs):
        x = abs(float(s))
        need.append((x, margin * d))  # a moved number already moved by at least its last digit
    big = [n / x for x, n in need if x >= 1.0 and n > 0]
    rtol = _round_up(max(big)) if big else 0.0
    atol = _round_up(max((n - rtol * x for x, n in need), default=0.0))
    return {"rtol": rtol, "atol": atol}


# ----------------------------------------------------------------------------- running
def execute(
    stored: nbformat.NotebookNode, path: Path, env: dict[str, str], timeout: int = 1800
) -> nbformat.NotebookNode:
    """Run a copy of ``stored`` (read from ``path``) top to bottom with ``env`` added (errors kept)."""
    import copy

    from nbclient import NotebookClient

    nb = copy.deepcopy(stored)
    saved = dict(os.environ)
    os.environ.update({"BOOK_MODE": "quick", **env})
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def calibrate(path: Path, runs: list[dict[str, str]], margin: float) -> dict:
    """Run ``path`` under each of ``runs`` and return its calibration record."""
    san = _sanitizers()
    stored_nb = nbformat.read(path, as_version=4)
    t0 = time.time()
    reruns = []
    for env in runs:
        t = time.time()
        reruns.append(execute(stored_nb, path, env))
        print(f"  {path.name} {env}: {time.time() - t:.0f} s", flush=True)
    cells = {}
    for i, cell in enumerate(stored_nb.cells):
        if cell.cell_type != "code" or {"nbval-ignore-output", "nbval-skip"} & set(
            cell.metadata.get("tags", [])
        ):
            continue
        s_words, s_nums = numbers(cell_texts(cell, san))
        entry = {"index": i, "first_line": cell.source.splitlines()[0][:80] if cell.source else ""}
        devs = [0.0] * len(s_nums)
        problems = []
        for env, nb in zip(runs, reruns):
            other = nb.cells[i] if i < len(nb.cells) and nb.cells[i].get("id") == cell.get("id") else None
            if other is None:
                problems.append(f"{env}: cell missing")
                continue
            n_words, n_nums = numbers(cell_texts(other, san))
            if n_words != s_words or len(n_nums) != len(s_nums):
                problems.append(
                    f"{env}: the text around the numbers changed ({_first_difference(s_words, n_words)})"
                )
                continue
            for k, (a, b) in enumerate(zip(s_nums, n_nums)):
                fa, fb = float(a), float(b)
                if fa == fb or (math.isnan(fa) and math.isnan(fb)):
                    continue
                devs[k] = max(devs[k], abs(fa - fb) if math.isfinite(fa - fb) else math.inf)
        declared = cell.metadata.get(METADATA_KEY)
        if not problems and not any(devs) and declared is None:
            continue  # exact under every disturbance: nbval compares it exactly
        entry["declared_before"] = declared
        entry["stored"] = s_nums
        entry["max_abs_dev"] = devs
        if problems:
            entry["verdict"] = "noise: " + "; ".join(problems)
        elif not any(devs) and not max(map(last_digit, s_nums), default=0.0):
            entry["verdict"] = "exact"  # nothing moved, integers only: nbval compares it exactly
        elif not any(devs):
            # Nothing moved here; a float printed with decimals can still flip its last digit elsewhere.
            entry["tolerance"] = {"rtol": 0.0, "atol": _round_up(max(map(last_digit, s_nums)))}
            entry["verdict"] = "ok"
        else:
            tol = tolerance_for(s_nums, devs, margin)
            entry["tolerance"] = tol
            too_wide = tol["rtol"] > MAX_RTOL or tol["atol"] > MAX_ATOL
            if too_wide:
                entry["needs"] = {k: (v if math.isfinite(v) else "inf") for k, v in tol.items()}
                del entry["tolerance"]
            entry["verdict"] = "noise: tolerance too wide to catch a regression" if too_wide else "ok"
        cells[cell.get("id") or str(i)] = entry
    return {
        "notebook": path.relative_to(ROOT).as_posix(),
        "date": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "commit": _commit(),
        "python": sys.version.split()[0],
        "how": (
            f"stored outputs vs {len(runs)} re-runs (settings below, BOOK_MODE=quick); tolerance = the "
            f"smallest rtol/atol with atol + rtol*|stored| >= {margin:g} * largest deviation for every number "
            "of the cell; a cell where nothing moved keeps one unit in its last printed digit, or is compared "
            "exactly if it prints no decimals"
        ),
        "margin": margin,
        "perturbation_scale": 1e-6,
        "runs": runs,
        "seconds": round(time.time() - t0),
        "cells": cells,
    }


def record_path(nb_path: Path) -> Path:
    return RECORDS / f"{nb_path.stem}.json"


def write_tolerances(path: Path, record: dict) -> list[str]:
    """Set each calibrated cell's ``tolerance`` (cells judged noise are left as they are and reported)."""
    nb = nbformat.read(path, as_version=4)
    notes = []
    by_id = {c.get("id"): c for c in nb.cells}
    for cid, entry in record["cells"].items():
        cell = by_id.get(cid)
        if cell is None:
            notes.append(f"{path.name}: cell {cid} is gone; run the calibration again")
        elif entry["verdict"] == "ok":
            cell.metadata[METADATA_KEY] = entry["tolerance"]
        elif entry["verdict"] == "exact":
            cell.metadata.pop(METADATA_KEY, None)
        else:
            notes.append(f"{path.name} cell {entry['index']} ({entry['first_line']!r}): {entry['verdict']}")
    nbformat.write(nb, path)
    return notes


def check() -> list[str]:
    """Every declared tolerance equals its record's; every record's cell exists."""
    problems = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        rec_file = record_path(path)
        rec = json.loads(rec_file.read_text(encoding="utf-8")) if rec_file.is_file() else {"cells": {}}
        for i, cell in enumerate(nb.cells):
            tol = cell.metadata.get(METADATA_KEY)
            if tol is None:
                continue
            entry = rec["cells"].get(cell.get("id"))
            if entry is None or entry.get("tolerance") != tol:
                problems.append(
                    f"{path.name} cell {i}: tolerance {tol} has no calibration record "
                    f"(run python tools/calibrate.py --write {path.relative_to(ROOT)})"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="*", type=Path)
    p.add_argument("--write", action="store_true", help="set the tolerances in the notebooks")
    p.add_argument("--check", action="store_true", help="only check that tolerances match their records")
    p.add_argument("--apply", action="store_true", help="set tolerances from the existing records (no runs)")
    p.add_argument("--margin", type=float, default=MARGIN)
    args = p.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "every tolerance has its calibration record")
        return 1 if problems else 0
    RECORDS.mkdir(parents=True, exist_ok=True)
    notes = []
    if args.apply:
        for nb_path in args.notebooks:
            record = json.loads(record_path(nb_path).read_text(encoding="utf-8"))
            notes += write_tolerances(nb_path.resolve(), record)
        for n in notes:
            print("NOT CALIBRATED:", n)
        return 1 if notes else 0
    for nb_path in args.notebooks:
        nb_path = nb_path.resolve()
        print(f"calibrating {nb_path.relative_to(ROOT)}", flush=True)
        record = calibrate(nb_path, RUNS, args.margin)
        record_path(nb_path).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        for entry in record["cells"].values():
            tol = entry.get("tolerance")
            print(
                f"  cell {entry['index']:3d} {entry['verdict']:<45} before {entry['declared_before']} "
                f"after {tol}  ({entry['first_line']})"
            )
        if args.write:
            notes += write_tolerances(nb_path, record)
    for n in notes:
        print("NOT CALIBRATED:", n)
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
