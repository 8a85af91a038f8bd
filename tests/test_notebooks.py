"""Every chapter follows the book's conventions (tools/nbtool.py) and is in the table of contents."""

import nbformat
import nbtool
import pytest
import yaml
from slides import expected_slide_count

NOTEBOOKS = nbtool.chapter_notebooks()


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_conventions(path):
    assert nbtool.check(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_slides_have_content(path):
    assert expected_slide_count(nbformat.read(path, as_version=4)) >= 4


def test_every_chapter_is_in_the_toc(root):
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = {ch["file"] for part in toc["parts"] for ch in part["chapters"]}
    assert {f for f in files if f.startswith("chapters/")} == {f"chapters/{p.stem}" for p in NOTEBOOKS}


def test_setup_cell_uses_the_one_repository_url(root):
    url = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    assert url in nbtool.setup_cell_source()
    for path in NOTEBOOKS:
        assert url in nbformat.read(path, as_version=4).cells[0].source
