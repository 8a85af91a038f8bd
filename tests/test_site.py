"""The built website (make book): Chinese search, no CDN, every chapter page and its slides."""

import json
import re

import nbtool
import pytest

SCRIPT_OR_CSS = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(https?:)?//[^"]+"')


def _search_terms(html):
    text = (html / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])["terms"]


def test_chinese_words_are_searchable(built_site):
    terms = _search_terms(built_site)
    assert "模式" in terms  # a word of the landing page, segmented by jieba
    if (built_site / "chapters" / "01_tensors.html").is_file():
        assert "张量" in terms


@pytest.mark.parametrize("path", nbtool.chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_page_and_slides_exist(built_site, path):
    page = built_site / "chapters" / f"{path.stem}.html"
    assert page.is_file(), f"{page} missing: is {path.name} in _toc.yml?"
    html = page.read_text(encoding="utf-8")
    assert nbtool.slides_href(path) in html
    assert "colab.research.google.com/github/" in html  # the launch button
    assert (built_site / "slides" / f"{path.stem}.slides.html").is_file()
    assert "环境设置 (set-up" not in html  # the set-up cell is hidden on the site


def test_pages_load_nothing_from_the_network(built_site):
    offenders = []
    for page in built_site.rglob("*.html"):
        if "vendor" in page.parts:
            continue
        for m in SCRIPT_OR_CSS.finditer(page.read_text(encoding="utf-8")):
            offenders.append(f"{page.relative_to(built_site)}: {m.group(0)}")
    assert offenders == []
    assert (built_site / "mathjax" / "tex-mml-chtml.js").is_file()


def test_pages_load_one_mathjax_script(built_site):
    """Only MathJax's entry point: Jupyter Book adds a <script> for every .js of a static path."""
    page = (built_site / "chapters" / "00_intro.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="[^"]*mathjax[^"]*"', page)
    assert len(scripts) == 1 and "tex-mml-chtml.js" in scripts[0], scripts


def test_search_page_finds_chinese_words_offline(built_site, browser):
    """Sphinx's own search page, in a real browser, with every network request blocked."""
    page = browser.new_page()
    page.route(
        "**/*",
        lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_(),
    )
    page.goto((built_site / "search.html").as_uri() + "?q=模式")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    titles = page.locator("#search-results ul.search li").all_inner_texts()
    page.close()
    assert any("AI中的编程" in t for t in titles)
