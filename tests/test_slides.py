"""Open every slide deck in headless Chromium, offline: reveal.js must start and show the slide count
that the notebook's slideshow metadata implies. Any request that leaves the file system fails the test."""
import nbformat
import pytest

import nbtool
from slides import expected_slide_count

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
