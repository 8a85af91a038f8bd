"""Measured full-mode results: written by ``make results`` on a GPU, rendered by the chapters (03, 05-07).

* :func:`write` stores ``results/<name>.json`` atomically, with provenance: GPU name, driver, torch and
  CUDA versions, date, git commit, wall time and the command that produced it.
* :func:`load` reads it back (``None`` when it does not exist yet).
* :func:`show` prints its numbers as a table with a provenance line, or a clear "not measured yet" note;
  :func:`plot` draws one column against another.

A file written by a smoke run (``BOOK_MODE=full BOOK_SMOKE=1``: full-mode code at tiny sizes on a CPU)
is marked ``"smoke": true`` and, unless ``$BOOK_RESULTS_DIR`` says otherwise, goes to a scratch folder,
never into ``results/``. The mode comes from the run configuration: the ``cfg`` a caller passes, else
the one ``book.setup()`` chose (:func:`book.env.current`); this module never reads the environment's mode.
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import paths
from .env import RunConfig, current
from .files import write_text_atomic

FORMAT = 1
_UTC = datetime.timezone.utc  # noqa: UP017 (datetime.UTC needs Python 3.11; pyproject allows 3.10)
NOT_MEASURED = "尚未测量 not measured yet: run `make results` on a GPU"


class ResultsError(RuntimeError):
    """A results file exists but cannot be read; the message names it and says how to regenerate it."""


# ----------------------------------------------------------------------------- where
def _config(cfg: RunConfig | None) -> RunConfig | None:
    """The run configuration: the one passed, else the one ``book.setup()`` chose (:func:`book.env.current`)."""
    if cfg is not None:
        return cfg
    try:
        return current()
    except ValueError:  # a bad BOOK_MODE is reported by book.setup(), not here
        return None


def results_path(name: str, cfg: RunConfig | None = None) -> Path:
    """The file for ``name``: ``paths.results_file(name)``, or a scratch folder in a smoke run (ch. 03, 05-07).

    A smoke run (``cfg.smoke``; ``cfg`` defaults to what ``book.setup()`` chose) writes tiny, meaningless
    numbers; they must never land in ``results/``. ``$BOOK_RESULTS_DIR``, when set, is used as is (the
    smoke test points it at a temporary folder).
    """
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"results name {name!r}: use a plain file name such as 'mnist' or 'cuda_bench'")
    path = paths.results_file(name)
    cfg = _config(cfg)
    if cfg is not None and cfg.smoke and not paths.results_dir_from_env():
        path = paths.scratch_dir("smoke-results") / path.name
    return path


def _display_path(path: Path) -> str:
    """``results/<name>.json`` relative to the repository (no absolute paths in notebook output)."""
    try:
        return path.resolve().relative_to(paths.ROOT).as_posix()
    except ValueError:
        return f"${paths.RESULTS_ENV}/{path.name}" if paths.results_dir_from_env() else path.name


# ----------------------------------------------------------------------------- provenance
def _run(cmd: Sequence[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=paths.ROOT, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def provenance(command: str, wall_s: float, cfg: RunConfig | None = None) -> dict[str, Any]:
    """Where and how a result was measured: GPU, driver, torch/CUDA versions, date, commit, mode (ch. 03, 05-07)."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    driver = None
    if gpu is not None:
        line = _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"])
        driver = line.splitlines()[0].strip() if line else None
    commit = _run(["git", "rev-parse", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"]) is not None if commit else None
    cfg = _config(cfg)
    return {
        "gpu": gpu,
        "gpu_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "driver": driver,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "date": datetime.datetime.now(_UTC).replace(microsecond=0).isoformat(),
        "git_commit": commit,
        "git_dirty": dirty,
        "wall_s": round(float(wall_s), 3),
        "command": command,
        "mode": cfg.mode if cfg else None,
        "smoke": bool(cfg and cfg.smoke),
    }


def _plain(x: Any, where: str = "data") -> Any:
    """JSON-ready copy of ``x``: tensors/arrays to lists, numpy scalars to numbers, nan/inf to None."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in x.items()}
    if isinstance(x, (str, bool)) or x is None:
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if hasattr(x, "tolist"):  # torch.Tensor, numpy array or scalar
        return _plain(x.tolist(), where)
    if isinstance(x, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, Path):
        return x.as_posix()
    raise TypeError(f"{where} is a {type(x).__name__}; results hold numbers, strings, lists and dicts only")


# ----------------------------------------------------------------------------- write / load
def write(name: str, data: dict, command: str, wall_s: float, cfg: RunConfig | None = None) -> Path:
    """Write ``results/<name>.json`` atomically with provenance; return its path (benchmarks, ch. 03, 05-07).

    ``data`` holds numbers, strings, lists and dicts (tensors and numpy values are converted; nan/inf
    become null). ``command`` is what reproduces it (e.g. ``make results-mnist``); ``wall_s`` its time;
    ``cfg`` the run configuration (default: what ``book.setup()`` chose), recorded as mode and smoke.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a dict, got {type(data).__name__}")
    cfg = _config(cfg)
    record = {
        "name": name,
        "format": FORMAT,
        "data": _plain(data),
        "provenance": provenance(command, wall_s, cfg),
    }
    text = json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text_atomic(results_path(name, cfg), text)


def load(name: str, cfg: RunConfig | None = None) -> dict | None:
    """The record ``{"name", "data", "provenance"}`` of ``results/<name>.json``, or None when missing. (ch. 03, 05-07)"""
    path = results_path(name, cfg)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultsError(
            f"cannot read {_display_path(path)} ({e}); delete it and run `make results` on a GPU again"
        ) from e
    if not isinstance(record, dict) or not {"data", "provenance"} <= record.keys():
        raise ResultsError(
            f"{_display_path(path)} is not a results file of book.results (no 'data'/'provenance'); "
            "regenerate it with `make results`"
        )
    return record


# ----------------------------------------------------------------------------- render
def provenance_line(record: dict) -> str:
    """One line saying where the numbers of ``record`` come from (chapters 03, 05-07)."""
    p = record.get("provenance", {})
    device = p.get("gpu") or "CPU (no GPU)"
    if p.get("gpu_count", 0) > 1:
        device = f"{p['gpu_count']} x {device}"
    soft = ", ".join(
        s
        for s in (
            f"driver {p['driver']}" if p.get("driver") else "",
            f"CUDA {p['cuda']}" if p.get("cuda") else "",
            f"torch {p['torch']}" if p.get("torch") else "",
        )
        if s
    )
    commit = (p.get("git_commit") or "unknown")[:10] + ("+dirty" if p.get("git_dirty") else "")
    date = (p.get("date") or "unknown date")[:10]
    wall = f"{p['wall_s']:.0f} s" if isinstance(p.get("wall_s"), (int, float)) else "? s"
    smoke = "SMOKE RUN (tiny sizes, not a measurement) | " if p.get("smoke") else ""
    return f"{smoke}测量 measured on {device} ({soft}), {date}, commit {commit}, {wall}: `{p.get('command')}`"


def _fmt(v: Any, digits: int) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 10 ** (-digits)):
            return f"{v:.{digits}g}"
        return f"{v:,.{digits}f}" if abs(v) >= 10_000 else f"{v:.{digits}f}"
    if isinstance(v, (list, dict)):
        s = json.dumps(v, ensure_ascii=False)
        return s if len(s) <= 40 else s[:37] + "..."
    return str(v)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None, digits: int = 3) -> str:
    """A plain-text table of ``rows`` (dicts), aligned, numbers right-aligned (chapters 03, 05-07)."""
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    cells = [[_fmt(r.get(c), digits) for c in columns] for r in rows]
    numeric = [all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in columns]
    widths = [max(len(str(c)), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
        ).rstrip()

    out = [line([str(c) for c in columns]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _select(record: dict, key: str | None) -> Any:
    data = record["data"]
    if key is None:
        return data
    for part in key.split("."):
        if not isinstance(data, Mapping) or part not in data:
            raise KeyError(
                f"{record.get('name')}: no {key!r} in the results (keys: {sorted(record['data'])})"
            )
        data = data[part]
    return data


def show(
    name: str,
    key: str | None = None,
    columns: Sequence[str] | None = None,
    digits: int = 3,
    title: str | None = None,
    cfg: RunConfig | None = None,
) -> dict | None:
    """Print the numbers of ``results/<name>.json`` (or of its part ``key``, dotted) as a table with its
    provenance line; print the "not measured yet" note when the file is missing (chapters 03, 05-07).

    A list of dicts prints as a table (``columns`` picks and orders them); a dict of scalars prints as a
    two-column table. Returns the record (``None`` when missing) so a chapter can plot or compare.
    """
    record = load(name, cfg)
    if title:
        print(title)
    if record is None:
        print(f"{NOT_MEASURED} ({_display_path(results_path(name, cfg))} is missing).")
        return None
    part = _select(record, key)
    if isinstance(part, Mapping):
        if all(not isinstance(v, (Mapping, list)) for v in part.values()):
            print(table([{"quantity": k, "value": v} for k, v in part.items()], digits=digits))
        else:
            scalars = {k: v for k, v in part.items() if not isinstance(v, (Mapping, list))}
            if scalars:
                print(table([{"quantity": k, "value": v} for k, v in scalars.items()], digits=digits))
            for k, v in part.items():
                if isinstance(v, list) and v and all(isinstance(r, Mapping) for r in v):
                    print(f"\n{k}:")
                    print(table(v, columns, digits))
    elif isinstance(part, list) and all(isinstance(r, Mapping) for r in part):
        print(table(part, columns, digits))
    else:
        print(_fmt(part, digits))
    print(provenance_line(record))
    return record


def plot(
    name: str,
    x: str,
    y: str | Sequence[str],
    key: str | None = None,
    ax: Any = None,
    logx: bool = False,
    logy: bool = False,
) -> Any:
    """Plot columns ``y`` against ``x`` of the rows ``results/<name>.json[key]``; with no file, an axes
    that says "not measured yet" (chapters 03, 05-07). Returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    record = load(name)
    if record is None:
        ax.text(
            0.5, 0.5, f"not measured yet:\nrun `make results` on a GPU\n({name})", ha="center", va="center"
        )
        ax.set_axis_off()
        return ax
    rows = _select(record, key)
    if not (isinstance(rows, list) and all(isinstance(r, Mapping) for r in rows)):
        raise TypeError(f"{name}[{key!r}] is not a list of rows; pass key= the list to plot")
    for col in [y] if isinstance(y, str) else y:
        pts = [(r[x], r[col]) for r in rows if r.get(x) is not None and r.get(col) is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=col)
    ax.set_xlabel(x)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    gpu = record["provenance"].get("gpu") or "CPU"
    ax.set_title(f"{name} ({gpu})", fontsize=9)
    return ax
