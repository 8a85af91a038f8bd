"""Full mode without a GPU: every chapter runs top to bottom as a smoke run.

``BOOK_MODE=full BOOK_SMOKE=1`` makes ``book.setup()`` choose full mode with the best device there is (the
CPU here), so every full-mode branch runs — device placement, AMP and channels-last switches, data
loader workers, results writing — at the small sizes that ``cfg.pick(quick, full, smoke=...)`` gives.
It proves that full mode's code runs and is wired up; it does not prove the full-size numbers, nor
anything that only a CUDA device does (kernels, NCCL, memory limits): that needs `make results` on a GPU.
Results go to a temporary folder, so nothing in ``results/`` changes.
"""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from book.paths import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_in_full_mode_smoke(path, tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "full")
    monkeypatch.setenv("BOOK_SMOKE", "1")
    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path / "results"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()  # raises CellExecutionError, naming the cell, if any cell fails
    first = next(c for c in nb.cells[1:] if c.cell_type == "code")
    said = "".join(o.get("text", "") for o in first.outputs)
    assert "mode: full" in said and "BOOK_SMOKE=1" in said, said
    for written in (tmp_path / "results").glob("*.json"):  # results a smoke run wrote must be valid JSON
        json.loads(written.read_text(encoding="utf-8"))
