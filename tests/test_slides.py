"""The slide decks, opened in headless Chromium at 1280x720 with no network: every slide and sub-slide
fits reveal's frame (nothing taller, nothing wider, nothing to scroll), code is readable from the back
(>= 20 px on the screen), and the deck is one a lecturer can teach from: at most 15 % continuation
slides, speaker notes on every slide, no slide ending on a dangling colon, at least 80 % of the figures
covering a quarter of the frame, the web chapter and Colab linked on the first and the last slide, no
link to an unpublished file, a PDF handout and a notes handout beside each deck whose text every
installed font can draw. Build first: `make slides`. Cost: about 4 s per deck (one page load each)."""

import re

import nbformat
import pytest
import slides

DECKS = slides.ROOT / "_build" / "html" / "slides"
SITE = slides.ROOT / "_build" / "html"
NOTEBOOKS = slides.deck_notebooks()


def _deck(path):
    deck = DECKS / f"{path.stem}.slides.html"
    assert deck.is_file(), f"{deck} missing: build the slides (`make slides`, which `make book` runs)"
    return deck


@pytest.fixture(scope="module")
def measured(browser):
    cache = {}

    def get(path):
        if path not in cache:
            cache[path] = slides.measure_deck(browser, _deck(path))
        return cache[path]

    return get


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_slide_fits_the_frame(measured, path):
    m = measured(path)
    assert m["remote"] == [], f"the deck asked the network for {m['remote']}"
    assert m["errors"] == []
    assert m["slides"], "reveal.js found no slides"
    bad = [
        f"slide {s['h'] + 1}.{(s['v'] or 0) + 1}: {s['height']} px of {s['frame']} {' '.join(s['wide'])}"
        for s in m["slides"]
        if s["overflow"]
    ]
    assert bad == [], f"{len(bad)}/{len(m['slides'])} slides do not fit 1280x720:\n" + "\n".join(bad)
    assert all(s["frame"] == slides.HEIGHT for s in m["slides"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_readable_from_the_back(measured, path):
    m = measured(path)
    fonts = [s["min_font"] for s in m["slides"] if s["min_font"] is not None]
    assert fonts, "no code on any slide?"
    assert min(fonts) >= 20, f"code/output as small as {min(fonts):.1f} px on a 1280x720 screen"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lecturer_can_teach_from_it(measured, path):
    """The lecture figures, measured in Chromium (`python tools/slides.py --metrics` prints them)."""
    deck = _deck(path)
    m = slides.deck_metrics(measured(path), deck, SITE)
    n = m["slides"]
    assert m["continuations"] <= 0.15 * n, f"{m['continuations']}/{n} slides are continuations (> 15 %)"
    assert m["with_notes"] == n, f"speaker notes on {m['with_notes']}/{n} slides only"
    assert m["dangling"] == [], f"slides ending on a colon: {m['dangling']}"
    assert m["figures_small"] <= 0.2 * m["figures"], (
        f"{m['figures_small']}/{m['figures']} figures cover less than a quarter of the frame"
    )
    assert m["linked_first_last"], "the first and the last slide must link the web chapter and Colab"
    assert m["broken"] == [], f"links to files that are not published: {m['broken']}"
    html = deck.read_text(encoding="utf-8")
    assert "plugin/notes/notes.js" in html and "RevealNotes" in html  # `S` opens the speaker view
    kinds = re.findall(r'<section class="(title|agenda|closing)"', html)
    assert kinds[0] == "title" and kinds[-1] == "closing", "a title slide first, a closing slide last"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_deck_matches_its_notebook(measured, path):
    nb = nbformat.read(path, as_version=4)
    expected = slides.build_deck(nb, f"{path.stem}.pdf", path.stem, path.parent)
    assert len(measured(path)["slides"]) == len(expected), "the deck is stale: rebuild it (`make slides`)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pdf_handouts(measured, path):
    m = measured(path)
    for name in (f"{path.stem}.pdf", f"{path.stem}.notes.pdf"):
        pdf = DECKS / name
        assert pdf.is_file(), f"{pdf} missing: `make slides` renders it (needs Chromium)"
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 10_000, f"{pdf} is empty or not a PDF"
        pages = len(re.findall(rb"/Type\s*/Page\b", data))
        assert pages == len(m["slides"]), f"{name}: {pages} pages for {len(m['slides'])} slides"
    text = "".join(s["text"] for s in m["slides"])
    missing = slides.handout_fonts_missing(text)
    assert missing == [], f"no installed font draws {missing} (tools/ensure_system_deps.sh installs them)"


def test_speaker_view_opens_offline(browser):
    """`S` opens reveal's speaker view, offline, showing the notes of the current slide."""
    path = NOTEBOOKS[0]
    expected = slides.build_deck(
        nbformat.read(path, as_version=4), f"{path.stem}.pdf", path.stem, path.parent
    )
    k = 3
    ctx = browser.new_context(viewport={"width": slides.WIDTH, "height": slides.HEIGHT})
    remote = []
    local = ("file:", "data:", "blob:", "about:")
    ctx.route(
        "**/*",
        lambda r: (
            r.continue_() if r.request.url.startswith(local) else (remote.append(r.request.url), r.abort())
        ),
    )
    page = ctx.new_page()
    page.goto(_deck(path).as_uri())
    page.evaluate(slides.WAIT_READY)
    page.evaluate(f"() => {{ const i = __R.getIndices(__R.getSlides()[{k}]); __R.slide(i.h, i.v); }}")
    with ctx.expect_page() as popup:
        page.keyboard.press("s")
    speaker = popup.value
    speaker.wait_for_function(
        "() => (document.querySelector('.speaker-controls-notes') || {}).innerText?.length > 20",
        timeout=20_000,
    )
    text = speaker.inner_text(".speaker-controls-notes")
    ctx.close()
    assert remote == []
    assert "讲 (say)" in text and "问 (ask the room)" in text
    words = re.findall(r"[\u4e00-\u9fff]{4,}", expected[k].notes[0].split("**讲 (say)**", 1)[1])
    assert words and words[0] in text
