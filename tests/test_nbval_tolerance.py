"""The tolerant nbval comparison: exact where the result is exact, tolerant where it is not.

The end-to-end tests run nbval on small notebooks whose stored outputs were edited, and check that a
number within the declared tolerance passes while a real regression (a number far off, a changed word,
a missing line) fails, and that a cell without a tolerance is still compared exactly.
"""

import json
import subprocess
import sys

import nbformat
import pytest
from nbval_tolerance import compare_text, tolerance_of

from book.paths import ROOT


@pytest.mark.parametrize(
    "stored,new",
    [
        ("train acc 0.999 | test acc 0.997", "train acc 1.000 | test acc 0.998"),
        ("loss 1.2e-3 after 100 steps", "loss 1.203e-3 after 100 steps"),
        ("[0.1, -0.2, 3]", "[0.1005, -0.2004, 3]"),
        ("same text 12", "same text 12"),
        ("x nan", "x nan"),
    ],
)
def test_within_tolerance_passes(stored, new):
    assert compare_text(stored, new, rtol=0.01, atol=0.002) is None


@pytest.mark.parametrize(
    "stored,new,why",
    [
        ("test acc 0.981", "test acc 0.100", "number 1"),  # a broken model
        ("test acc 0.981", "train acc 0.981", "text around"),  # a changed word
        ("a 1 b 2", "a 1 b", "text around"),  # a value missing
        ("shape (3, 4)", "shape (3, 4, 1)", "text around"),
        ("loss 0.5", "loss nan", "number 1"),  # a diverged run
        ("loss 0.5", "loss inf", "number 1"),
    ],
)
def test_regressions_fail(stored, new, why):
    problem = compare_text(stored, new, rtol=0.01, atol=0.002)
    assert problem is not None and why in problem


def test_tolerance_metadata_is_validated():
    assert tolerance_of({"metadata": {}}) is None
    assert tolerance_of({"metadata": {"tolerance": {"rtol": 0.02}}}) == (0.02, 0.0)
    for bad in ({"rtol": 0, "atol": 0}, {"rtol": 0.9}, {"tol": 1}, [0.1], {"atol": -1}):
        with pytest.raises(ValueError):
            tolerance_of({"metadata": {"tolerance": bad}})


def _notebook(tmp_path, stored: str, tolerance: dict | None, code: str = "print(f'acc {1/3:.4f} ok')"):
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    cell.execution_count = 1
    if tolerance is not None:
        cell.metadata["tolerance"] = tolerance
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    return path


def _nbval(path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--nbval",
        "-p",
        "nbval_tolerance",
        "-p",
        "no:cacheprovider",
        str(path),
    ]
    env = {"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize(
    "stored,tolerance,passes",
    [
        ("acc 0.3333 ok\n", None, True),  # exact output, exact comparison
        ("acc 0.3350 ok\n", None, False),  # without a tolerance, a changed digit fails
        ("acc 0.3350 ok\n", {"rtol": 0.01}, True),  # within 1 %
        ("acc 0.3500 ok\n", {"rtol": 0.01}, False),  # 5 % off: a regression
        ("acc 0.3333 OK\n", {"rtol": 0.5}, False),  # words are always exact
    ],
)
def test_nbval_end_to_end(tmp_path, stored, tolerance, passes):
    result = _nbval(_notebook(tmp_path, stored, tolerance))
    assert (result.returncode == 0) == passes, result.stdout[-2000:]


def test_every_chapter_tolerance_is_valid_and_applies_to_numbers():
    """Each declared tolerance is valid, at most 10 % relative, and its cell prints numbers to compare."""
    from nbval_tolerance import NUMBER

    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            tol = tolerance_of(cell)
            if tol is None:
                continue
            assert cell["cell_type"] == "code", f"{path.name} cell {i}: tolerance on a markdown cell"
            assert tol[0] <= 0.10, f"{path.name} cell {i}: rtol {tol[0]} is too loose to catch a regression"
            text = "".join(
                "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                for o in cell.get("outputs", [])
            )
            assert NUMBER.search(text), f"{path.name} cell {i}: a tolerance but no number in the output"
