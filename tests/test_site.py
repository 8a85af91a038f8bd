"""The built website (make book): Chinese search, no CDN, every chapter page and its slides; and, in the
system Chromium with every request outside the site blocked: the search box finds compound Chinese
terms, every page fits a 390 px phone, no page logs a console error or asks the network for anything.

The browser tests share one Chromium and one context: each page is loaded once, the search page once
(the other queries run on it). The whole file took 45-60 s on 2 cores that other jobs kept busy (load
average 12-16), nearly all of it page loads."""

import json
import re

import nbtool
import pytest
import yaml

SCRIPT_OR_CSS = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(https?:)?//[^"]+"')
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

# A term a student types -> the chapters that define it (the first result must be one of them, and each
# of them must be found). Terms of the book's vocabulary; none depends on a sentence of the prose.
DEFINED_IN = {
    "反向传播": {"02_first_networks", "04_autodiff"},
    "自动微分": {"04_autodiff"},
    "学习率": {"02_first_networks", "06_resnet"},
    "混淆矩阵": {"02_first_networks"},
    "张量": {"01_tensors"},
    "卷积": {"05_lenet"},
    "广播": {"01_tensors"},
    "梯度下降": {"02_first_networks"},
    "计算图": {"04_autodiff"},
    "共享内存": {"03_cuda"},
    "all-reduce": {"07_distributed"},
    "requires_grad": {"04_autodiff"},
}
TOP = 3  # a defining chapter that is not the first result must still be among the first TOP


def _search_terms(html):
    text = (html / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])["terms"]


def _site_pages(html):
    """Every page of the site (not the slides, not index.html: only a redirect to intro.html)."""
    skip = {"slides", "_static", "_sources", "_images", "mathjax", "vendor"}
    return sorted(
        p
        for p in html.rglob("*.html")
        if not skip & set(p.relative_to(html).parts)
        and not p.read_text(encoding="utf-8").lstrip().startswith('<meta http-equiv="Refresh"')
    )


def test_chinese_words_are_searchable(built_site):
    terms = _search_terms(built_site)
    assert "模式" in terms  # a word of the landing page, segmented by jieba
    if (built_site / "chapters" / "01_tensors.html").is_file():
        assert "张量" in terms
    if (built_site / "chapters" / "04_autodiff.html").is_file():
        assert "自动微分" in terms  # a compound term of _ext/zh_terms.txt, kept whole by jieba


@pytest.mark.parametrize("path", nbtool.chapter_notebooks(), ids=lambda p: p.name)
def test_chapter_page_and_slides_exist(built_site, path):
    page = built_site / "chapters" / f"{path.stem}.html"
    assert page.is_file(), f"{page} missing: is {path.name} in _toc.yml?"
    html = page.read_text(encoding="utf-8")
    assert nbtool.slides_href(path) in html
    assert "colab.research.google.com/github/" in html  # the launch button
    assert 'href="../run-locally.html"' in html  # ... and how to run it without Colab
    assert (built_site / "slides" / f"{path.stem}.slides.html").is_file()
    assert "环境设置 (set-up" not in html  # the set-up cell is hidden on the site


def test_launch_buttons_follow_the_config(root, built_site):
    """JupyterHub / Binder buttons appear exactly when _config.yml gives their URL."""
    launch = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["launch_buttons"]
    html = (built_site / "chapters" / "01_tensors.html").read_text(encoding="utf-8")
    hub, binder = launch.get("jupyterhub_url", ""), launch.get("binderhub_url", "")
    assert ("hub/user-redirect/git-pull?" in html) == bool(hub)
    assert ("/v2/gh/" in html) == bool(binder)
    page = (built_site / "run-locally.html").read_text(encoding="utf-8")
    assert "git clone" in page and "pip install -e ." in page


def test_pages_load_nothing_from_the_network(built_site):
    offenders = []
    for page in built_site.rglob("*.html"):
        if "vendor" in page.parts:
            continue
        html = page.read_text(encoding="utf-8")
        for m in SCRIPT_OR_CSS.finditer(html):
            offenders.append(f"{page.relative_to(built_site)}: {m.group(0)}")
        if "thebe" in html.lower() or "unpkg.com" in html:
            offenders.append(f"{page.relative_to(built_site)}: live-code (Thebe) script")
    assert offenders == []
    assert (built_site / "mathjax" / "tex-mml-chtml.js").is_file()


def test_pages_load_one_mathjax_script(built_site):
    """Only MathJax's entry point: Jupyter Book adds a <script> for every .js of a static path."""
    page = (built_site / "chapters" / "00_intro.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="[^"]*mathjax[^"]*"', page)
    assert len(scripts) == 1 and "tex-mml-chtml.js" in scripts[0], scripts


def test_every_page_has_favicon_and_logo(built_site):
    for page in _site_pages(built_site):
        html = page.read_text(encoding="utf-8")
        assert re.search(r'<link rel="icon" href="[^"]*_static/favicon\.png"', html), page
        assert re.search(r'<img src="[^"]*_static/logo\.svg" class="logo__image', html), page
    assert (built_site / "_static" / "favicon.png").read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------- the browser
class Visits:
    """One browser context for the whole module; records console errors and requests leaving the site."""

    def __init__(self, browser, site):
        self.site = site.resolve().as_uri()
        self.context = browser.new_context(viewport=PHONE)
        self.errors, self.outside = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"{self.url}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.url}: {e}"))
        self.url = None

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.site + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(f"{self.url}: {url}")
            route.abort()

    def open(self, url):
        self.url = url
        self.page.goto(url, wait_until="load")
        return self.page


@pytest.fixture(scope="module")
def visits(browser, built_site):
    v = Visits(browser, built_site)
    yield v
    v.context.close()


@pytest.fixture(scope="module")
def phone_widths(visits, built_site):
    """Every page at 390 px: (page, document width, the widest elements that stick out)."""
    widths = []
    for path in _site_pages(built_site):
        page = visits.open(path.as_uri())
        page.evaluate("() => window.MathJax?.startup?.promise")  # wait until the maths is typeset
        width, wide = page.evaluate(
            """() => {
                const W = document.documentElement.clientWidth, out = [];
                if (document.documentElement.scrollWidth <= W) return [W, out];
                for (const el of document.querySelectorAll("body *")) {
                    const r = el.getBoundingClientRect();
                    if (r.right <= W + 1 || r.width === 0) continue;
                    let clipped = false;  // inside something that scrolls or clips: fine
                    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
                        if (getComputedStyle(a).overflowX !== "visible") { clipped = true; break; }
                    if (!clipped) out.push(`${el.tagName}.${el.className} ${el.textContent.slice(0, 50)}`);
                }
                return [document.documentElement.scrollWidth, out.slice(0, 3)];
            }"""
        )
        widths.append((path.relative_to(built_site).as_posix(), width, wide))
    return widths


@pytest.fixture(scope="module")
def searches(visits, built_site):
    """The search page as a student uses it: the box submits ?q=<term>; the page then runs the search
    (Search.performSearch, searchtools.js). The first term comes by URL, the others on the same page."""
    terms = list(DEFINED_IN)
    page = visits.open((built_site / "search.html").as_uri() + "?q=" + terms[0])
    found = {}
    for term in terms:
        if term != terms[0]:
            page.evaluate(
                "q => { document.getElementById('search-results').innerHTML = ''; Search.performSearch(q); }",
                term,
            )
        page.wait_for_function(
            "() => (document.querySelector('#search-results p.search-summary') || {}).innerText",
            timeout=20_000,
        )
        found[term] = page.eval_on_selector_all(
            "#search-results ul.search li",
            """items => items.map(li => ({
                href: li.querySelector("a").getAttribute("href"),
                title: li.querySelector("a").textContent,
                snippet: li.querySelector("p.context").textContent,
                marks: [...li.querySelectorAll("p.context mark")].map(m => m.textContent),
            }))""",
        )
    return found


def _chapter(href):
    return href.split("#")[0].rsplit("/", 1)[-1].removesuffix(".html")


@pytest.mark.parametrize("term", DEFINED_IN)
def test_search_finds_compound_terms(searches, built_site, term):
    expected = {c for c in DEFINED_IN[term] if (built_site / "chapters" / f"{c}.html").is_file()}
    results = searches[term]
    assert results, f"{term!r} found nothing"
    # ranks among the chapters (an appendix page such as the glossary may define the term too)
    pages = [_chapter(r["href"]) for r in results if r["href"].startswith("chapters/")]
    assert pages and pages[0] in expected, (
        f"{term!r}: first chapter {pages[:1]}, expected one of {sorted(expected)}: {pages}"
    )
    assert expected <= set(pages[:TOP]), f"{term!r}: {sorted(expected)} not all in the first {TOP}: {pages}"
    for r in results:  # the link leads to the section; its snippet is the paragraph that holds the term
        page, _, anchor = r["href"].partition("#")
        assert not anchor or f'id="{anchor}"' in (built_site / page).read_text(encoding="utf-8"), r["href"]
        assert any(m.lower() == term.lower() for m in r["marks"]), f"{term!r}: snippet {r['snippet']!r}"
        assert "本章幻灯片" not in r["snippet"], r["snippet"]


def test_search_segments_a_phrase_that_is_not_in_the_book(visits, built_site):
    """A run of characters that occurs nowhere verbatim is split into the index's own words."""
    page = visits.open((built_site / "search.html").as_uri() + "?q=张量的广播规则和反向传播的原理")
    page.wait_for_function(
        "() => (document.querySelector('#search-results p.search-summary') || {}).innerText"
    )
    terms = page.evaluate("q => BookSearch.terms(q)", "张量的广播规则和反向传播的原理")
    assert {"张量", "广播", "反向传播"} <= set(terms), terms  # 的/和 dropped, 反向传播 kept whole
    titles = page.locator("#search-results ul.search li a").all_inner_texts()
    assert titles, "a segmented query found nothing"


def test_search_page_finds_chinese_words_offline(visits, built_site):
    page = visits.open((built_site / "search.html").as_uri() + "?q=模式")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    titles = page.locator("#search-results ul.search li").all_inner_texts()
    assert any("AI中的编程" in t for t in titles)


def test_no_page_scrolls_sideways_on_a_phone(phone_widths):
    assert len(phone_widths) >= 3
    wide = [f"{p}: {w} px wide {els}" for p, w, els in phone_widths if w > PHONE["width"]]
    assert wide == [], "\n".join(wide)


def test_one_search_box_on_the_desktop(visits, built_site):
    page = visits.open((built_site / "chapters" / "01_tensors.html").as_uri())
    page.set_viewport_size(DESKTOP)
    try:
        visible = page.locator(".search-button-field, form.bd-search input").evaluate_all(
            "els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0).length"
        )
    finally:
        page.set_viewport_size(PHONE)
    assert visible == 1


def test_no_console_errors_and_nothing_requested_outside_the_site(visits, phone_widths, searches):
    """Runs after the page and search visits above (it depends on them): what they recorded."""
    assert visits.errors == [], "\n".join(visits.errors)
    assert visits.outside == [], "\n".join(visits.outside)
