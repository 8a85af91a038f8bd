"""nbval, exact where the result is exact and tolerant where it is not.

A code cell whose printed numbers come out of float training or large float reductions declares how
far they may move on another machine (instruction set, thread count, BLAS, Apple silicon)::

    "metadata": {"tolerance": {"rtol": 0.02, "atol": 0.005}}

For such a cell, nbval's comparison becomes: the text with every number taken out must be *identical*
(words, labels, shapes, punctuation, how many numbers), and each number must satisfy
``|new - stored| <= atol + rtol * |stored|``. Every other cell is compared exactly, as nbval does.
The root ``conftest.py`` installs this into nbval; ``tests/test_nbval_tolerance.py`` shows that a real
regression still fails.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

# a decimal number: 12, -3.5, .25, 1e-3, 6.1E+02 (a leading sign only where it cannot be a hyphen in a word)
NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w])|(?<![\w])nan|(?<![\w])inf"
)
METADATA_KEY = "tolerance"


def tolerance_of(cell) -> tuple[float, float] | None:
    """``(rtol, atol)`` declared in a cell's metadata, or ``None``; bad declarations raise ``ValueError``."""
    tol = (cell.get("metadata") or {}).get(METADATA_KEY)
    if tol is None:
        return None
    if not isinstance(tol, dict) or set(tol) - {"rtol", "atol"} or not tol:
        raise ValueError(f"cell metadata 'tolerance' must be {{'rtol': x, 'atol': y}}, got {tol!r}")
    rtol, atol = float(tol.get("rtol", 0.0)), float(tol.get("atol", 0.0))
    if not (0 <= rtol <= 0.5 and 0 <= atol) or (rtol == 0 and atol == 0):
        raise ValueError(f"tolerance {tol!r}: need 0 <= rtol <= 0.5, atol >= 0, and not both zero")
    return rtol, atol


def _split(text: str) -> tuple[list[str], list[str]]:
    return NUMBER.split(text), NUMBER.findall(text)


def compare_text(stored: str, new: str, rtol: float, atol: float) -> str | None:
    """``None`` if ``new`` matches ``stored`` within the tolerance, else a message saying where it differs."""
    if stored == new:
        return None
    s_words, s_nums = _split(stored)
    n_words, n_nums = _split(new)
    if s_words != n_words or len(s_nums) != len(n_nums):
        for i, (a, b) in enumerate(zip(s_words, n_words)):
            if a != b:
                return f"the text around the numbers differs (piece {i}): stored {a!r}, new {b!r}"
        return f"the outputs have different numbers of values ({len(s_nums)} stored, {len(n_nums)} new)"
    for i, (a, b) in enumerate(zip(s_nums, n_nums)):
        x, y = float(a), float(b)
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return f"number {i + 1}: stored {a}, new {b}"
            continue
        if x == y:
            continue
        if math.isinf(x) or math.isinf(y) or abs(y - x) > atol + rtol * abs(x):
            return (
                f"number {i + 1}: stored {a}, new {b}; allowed |new - stored| <= {atol} + {rtol} * |stored|"
            )
    return None


def compare_outputs_with_tolerance(item, test, ref, skip_compare=None) -> bool:
    """Drop-in for ``nbval.plugin.IPyNbCell.compare_outputs`` that honours a cell's ``tolerance``."""
    from nbval.plugin import transform_streams_for_comparison

    try:
        tol = tolerance_of(item.cell)
    except ValueError as e:
        item.comparison_traceback = [str(e)]
        return False
    if tol is None:
        return _ORIGINAL(item, test, ref, skip_compare)
    skip = skip_compare or item.parent.skip_compare

    def flatten(outputs):
        out = defaultdict(list)
        for o in transform_streams_for_comparison(outputs):
            for key, value in o.items():
                if key in skip:
                    continue
                if key == "data":
                    for mime, v in value.items():
                        if mime not in skip:
                            out[mime].append(item.sanitize(v))
                else:
                    out[key].append(item.sanitize(value))
        return out

    t, r = flatten(test), flatten(ref)
    item.comparison_traceback = []
    if set(t) != set(r):
        item.comparison_traceback.append(f"output fields differ: stored {sorted(r)}, new {sorted(t)}")
        return False
    for key, ref_values in r.items():
        if len(ref_values) != len(t[key]):
            item.comparison_traceback.append(f"{key}: {len(ref_values)} stored outputs, {len(t[key])} new")
            return False
        for a, b in zip(ref_values, t[key]):
            problem = (
                compare_text(a, b, *tol)
                if isinstance(a, str) and isinstance(b, str)
                else (None if a == b else "outputs differ")
            )
            if problem:
                item.format_output_compare(key, a, b)
                item.comparison_traceback.append(f"tolerance {tol}: {problem}")
                return False
    return True


_ORIGINAL = None


def install() -> None:
    """Replace nbval's comparison by the tolerant one (idempotent)."""
    global _ORIGINAL
    from nbval.plugin import IPyNbCell

    if _ORIGINAL is None:
        _ORIGINAL = IPyNbCell.compare_outputs
        IPyNbCell.compare_outputs = compare_outputs_with_tolerance


def pytest_configure(config) -> None:
    """Loaded as a plugin (``-p nbval_tolerance``), install the tolerant comparison."""
    install()
