"""Open every slide deck in headless Chromium, offline: reveal.js must start and show the slide count
that the notebook's slideshow metadata implies. Any request that leaves the file system fails the test."""
import shutil

import nbformat
import pytest

import nbtool
from slides import expected_slide_count

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def browser():
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("no Chromium on this machine (make test installs Debian's chromium when it runs as root)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.mark.parametrize("path", nbtool.chapter_notebooks(), ids=lambda p: p.name)
def test_slides_open_offline(built_site, browser, path):
    deck = built_site / "slides" / f"{path.stem}.slides.html"
    assert deck.is_file(), "slides not built: run `make book`"
    page = browser.new_page()
    remote = []
    page.route("**/*", lambda route: (remote.append(route.request.url), route.abort())
               if not route.request.url.startswith(("file:", "data:", "blob:")) else route.continue_())
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(deck.as_uri())
    # reveal.js is loaded by require.js (no global), so read what it rendered: the "ready" class and
    # its own slide counter ("current/total", slideNumber "c/t").
    page.wait_for_selector(".reveal.ready .slide-number", state="attached", timeout=20_000)
    total = int(page.inner_text(".reveal .slide-number").split("/")[-1])
    page.wait_for_function("window.MathJax && MathJax.isReady", timeout=20_000)
    page.close()
    assert remote == []
    assert errors == []
    assert total == expected_slide_count(nbformat.read(path, as_version=4))
