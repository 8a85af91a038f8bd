import os
import shutil
from pathlib import Path

import pytest

from book import env as book_env
from book.paths import ROOT


@pytest.fixture(autouse=True)
def _fresh_run_configuration(monkeypatch):
    """Each test starts before ``book.setup()``: the configuration one test chose never leaks into the
    next (``book.env.current()`` then reads the environment that the test sets)."""
    monkeypatch.setattr(book_env, "_ACTIVE", None)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real offline data beside the project (../shared/data), when it exists."""
    path = Path(os.environ.get("BOOK_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not (path / "MNIST" / "raw").is_dir():
        if os.environ.get("BOOK_REQUIRE_DATA") == "1":  # CI: a missing data set is a failure, not a skip
            pytest.fail(f"BOOK_REQUIRE_DATA=1 but there is no offline data at {path} (set BOOK_DATA_DIR)")
        pytest.skip(f"no offline data at {path} (set BOOK_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def built_site() -> Path:
    html = ROOT / "_build" / "html"
    assert (html / "index.html").is_file(), "the site is not built: run `make book` (make test does) first"
    return html


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def browser():
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when it runs as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


# PyCUDA's own example scripts (tests/pycuda_compat/, run by test_cuda_pycuda_compat.py): not pytest tests.
collect_ignore = ["pycuda_compat"]
