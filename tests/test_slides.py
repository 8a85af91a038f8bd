"""The slide decks (issue 16), opened in headless Chromium at 1280x720 with no network: every slide and
sub-slide must fit reveal's frame (no content taller than it, no horizontal overflow, nothing to scroll),
code must be readable from the back (>= 20 px on the screen), plots large enough, the prose left off the
slides must be in the speaker notes, and every deck needs its PDF handout. Build first: `make slides`."""

import re

import nbformat
import nbtool
import pytest
import slides

DECKS = slides.ROOT / "_build" / "html" / "slides"
NOTEBOOKS = nbtool.chapter_notebooks()


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
    small = [s for s in m["slides"] if s["img_ratio"] is not None and s["img_ratio"] < 0.9]
    assert small == [], f"plots shrunk below 300 px (or their own size): {small}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slides_follow_the_rules_and_have_notes(measured, path):
    nb = nbformat.read(path, as_version=4)
    expected = slides.build_deck(nb, f"{path.stem}.pdf")
    m = measured(path)
    assert len(m["slides"]) == len(expected), "the deck is stale: rebuild it (`make slides`)"
    with_notes = sum(bool(s.notes) for s in expected)
    assert with_notes > 0, "no prose moved to the speaker notes: rule 3 did nothing?"
    assert m["notes"] == with_notes
    html = _deck(path).read_text(encoding="utf-8")
    assert "plugin/notes/notes.js" in html and "RevealNotes" in html  # `S` opens the speaker view
    assert f'href="{path.stem}.pdf"' in html  # the title slide links the handout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pdf_handout(measured, path):
    pdf = DECKS / f"{path.stem}.pdf"
    assert pdf.is_file(), f"{pdf} missing: `make slides` renders it (needs Chromium)"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000, f"{pdf} is empty or not a PDF"
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages == len(measured(path)["slides"]), f"{pages} pages for {len(measured(path)['slides'])} slides"


def test_speaker_view_opens_offline(browser):
    """`S` opens reveal's speaker view, offline, showing the notes of the current slide."""
    path = NOTEBOOKS[0]
    expected = slides.build_deck(nbformat.read(path, as_version=4), f"{path.stem}.pdf")
    k = next(i for i, s in enumerate(expected) if s.notes)
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
    words = re.findall(r"[\u4e00-\u9fff]{4,}", expected[k].notes[0])
    assert words and words[0] in text
