"""`make release`: one archive whose site and slides (with both PDF handouts) open in a browser with no
network."""

import zipfile

import pytest
from release import build, version


@pytest.fixture(scope="module")
def unpacked(built_site, tmp_path_factory):
    dest = tmp_path_factory.mktemp("release")
    archive = build(dest / "dist", site=built_site)
    assert archive.name == f"ai-programming-book-{version()}.zip"
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert f"ai-programming-book-{version()}/index.html" in names
        assert not [n for n in names if ".doctrees" in n]
        z.extractall(dest / "site")
    return dest / "site" / f"ai-programming-book-{version()}"


def _open_offline(browser, url):
    """Open ``url`` with every non-file request refused; return the page and the refused URLs."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    refused = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    failed = []
    page.on("requestfailed", lambda req: failed.append(req.url) if req.url.startswith("file:") else None)
    page.goto(url, wait_until="load")
    return page, refused, failed


def test_release_site_opens_offline(unpacked, browser):
    page, refused, failed = _open_offline(browser, (unpacked / "index.html").as_uri())
    page.wait_for_url("**/intro.html", timeout=15_000)  # index.html redirects to the book's first page
    page.wait_for_load_state("load")
    assert "AI中的编程" in page.title()
    chapters = sorted((unpacked / "chapters").glob("*.html"))
    assert chapters, "no chapter pages in the archive"
    page.goto(chapters[0].as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax !== undefined", timeout=15_000)  # vendored, not a CDN
    page.close()
    assert refused == [] and failed == [], f"needed the network: {refused}; missing files: {failed}"


def test_release_slides_open_offline(unpacked, browser):
    decks = sorted((unpacked / "slides").glob("*.slides.html"))
    assert decks, "no slides in the archive"
    page, refused, failed = _open_offline(browser, decks[0].as_uri())
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=20_000)
    assert page.evaluate("Reveal.getTotalSlides()") > 1
    page.close()
    assert refused == [] and failed == [], f"needed the network: {refused}; missing files: {failed}"
    pdfs = sorted((unpacked / "slides").glob("*.pdf"))
    assert len(pdfs) == 2 * len(decks) and all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)
    assert all((p.parent / p.name.replace(".slides.html", ".notes.pdf")).is_file() for p in decks)
