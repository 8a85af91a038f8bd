"""Build the reveal.js slides and PDF handout of every chapter from the notebooks themselves.

    python tools/slides.py [OUT_DIR]          # default _build/html/slides: NN_name.slides.html + .pdf
    python tools/slides.py --check [OUT_DIR]  # open every deck at 1280x720, list slides that overflow

A deck is a 1280x720 reveal.js presentation; every slide must fit that frame with no scrolling, with code
at 22 px (at least 20 px on screen). Nothing is copied by hand: a small set of rules, applied to each
cell's metadata and content, decides what is on a slide and what goes to the speaker notes (``S``):

1. Hidden: cells tagged ``remove-cell``, ``hide-cell``, ``solution`` or with slide type ``skip``
   (set-up, checks, solutions) and the ``cfg = book.setup()`` cell (imports + set-up call only).
   ``remove-input``/``hide-input``: the output only; ``remove-output``/``hide-output``: the code
   only. ``notes`` cells go to the speaker notes.
2. Structure: ``slide``/``subslide`` cells start a slide / sub-slide, ``fragment`` cells appear one
   by one, as in the notebook. Content that would not fit continues on a new sub-slide (its heading
   repeated with "（续）"); the layout is estimated from the text (rule 6).
3. Prose: a Markdown cell keeps its headings, lists, tables, display math and first paragraph; a
   paragraph or list item longer than ``LEAD_LINES`` lines is cut to its first sentence. Whatever is
   cut or left out goes, with the whole cell, to the slide's speaker notes (the website shows it all).
   Long lists and tables continue on sub-slides (a table repeats its header).
4. Code: at most ``CODE_LINES`` (wrapped) lines per part; longer code is split at blank lines
   between top-level statements (else at any blank line, else by count); parts that fit together
   stay one block. Lines wider than the slide wrap (no horizontal scrolling).
5. Output: text is cut to the room left: its first and last lines around a "⋯ N lines omitted
   (full output on the website) ⋯" marker. Printed source (``book.show_source``) is split like code
   over at most ``SOURCE_SLIDES`` parts, then points to the website. Images and graphs are scaled
   to the room left (at least ``IMG_MIN`` px high, else they move to their own sub-slide).
6. Sizes are estimated from the characters (CJK 1 em, Latin ~0.55 em) with the sizes of
   slides_template/deck.html; the measurement in Chromium (``--check``, tests/test_slides.py) judges.

The title slide links the PDF handout (``NN_name.pdf``, reveal's print view rendered by the system
Chromium through Playwright, no network). reveal.js (with its notes plugin) and MathJax are copied into
OUT_DIR/vendor (see tools/vendor.py), so the slides open from the file system with no network.
"""

from __future__ import annotations

import base64
import html
import math
import re
import shutil
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbtool import chapter_notebooks  # tools/ is on sys.path (the script's folder; pytest's pythonpath)
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from book.paths import ROOT

VENDOR = ROOT / "_build" / "vendor" / "slides"
TEMPLATE = ROOT / "tools" / "slides_template" / "deck.html"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# The frame and the type sizes (px on the 1280x720 frame; the CSS is in slides_template/deck.html).
WIDTH, HEIGHT = 1280, 720
TEXT_W = 1220  # usable width of a slide
BUDGET = 645  # usable height: the frame less padding and a safety margin for the estimate
PROSE_PX, PROSE_LH = 26, 1.4
CODE_PX, CODE_LH = 22, 1.3
OUT_PX, OUT_LH = 21, 1.25
HEAD_PX = {1: 42, 2: 36, 3: 30, 4: 28, 5: 26, 6: 26}
TABLE_PX = 22
CODE_LINES = 16  # rule 4
IMG_MIN = 300  # rule 5
SOURCE_SLIDES = 4  # rule 5: printed source (book.show_source) on at most this many parts
LEAD_LINES = 2  # rule 3

HIDE_CELL = {"remove-cell", "hide-cell", "solution"}
HIDE_INPUT = {"remove-input", "hide-input"}
HIDE_OUTPUT = {"remove-output", "hide-output"}


# ----------------------------------------------------------------------------------------- estimates
def _width_em(text: str, latin: float) -> float:
    """Width of ``text`` in em: CJK and full-width characters 1 em, others ``latin`` em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else latin for ch in text)


def _plain(md: str) -> str:
    """Markdown reduced to roughly what is displayed (for width estimates)."""
    md = re.sub(r"\]\([^)]*\)", "]", md)
    md = re.sub(r"<[^>]+>", "", md)
    md = re.sub(r"\\(frac|mathbb|mathcal|mathrm|text|left|right|cdot|approx|partial)", "x", md)
    return re.sub(r"[*_`$\\{}]", "", md)


def _text_lines(text: str, px: float, width: float = TEXT_W, latin: float = 0.55) -> int:
    per_line = width / px
    return sum(max(1, math.ceil(_width_em(line, latin) / per_line)) for line in text.splitlines() or [""])


def _code_lines(code: str) -> int:
    return _text_lines(code, CODE_PX, TEXT_W - 24, latin=0.61)


def code_height(code: str) -> float:
    return _code_lines(code) * CODE_PX * CODE_LH + 22


def out_height(text: str) -> float:
    return _text_lines(text, OUT_PX, TEXT_W - 24, latin=0.61) * OUT_PX * OUT_LH + 22


def prose_height(md: str, indent: float = 0) -> float:
    return _text_lines(_plain(md), PROSE_PX, TEXT_W - indent) * PROSE_PX * PROSE_LH + 14


# --------------------------------------------------------------------------------------- rendering
_FORMATTER = HtmlFormatter(nowrap=False, cssclass="hl")


def render_code(code: str, language: str = "python") -> str:
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return f'<div class="code">{highlight(code, lexer, _FORMATTER)}</div>'


def render_md(md: str) -> str:
    md = re.sub(r"\{(?:doc|ref|numref)\}`([^`<]*?)\s*(?:<[^>]*>)?`", r"\1", md)  # MyST roles: their text
    return markdown2html_mistune(md)


def truncate(text: str, max_lines: int) -> str:
    """Rule 5: the first and the last lines of ``text``, at most ``max_lines`` (wrapped) in all."""
    lines = text.rstrip("\n").splitlines()
    if _text_lines("\n".join(lines), OUT_PX, TEXT_W - 24, 0.61) <= max_lines:
        return "\n".join(lines)
    head_n = max(1, (max_lines - 1) * 2 // 3)
    tail_n = max(0, max_lines - 1 - head_n)
    while head_n + tail_n > 1:
        head, tail = lines[:head_n], lines[len(lines) - tail_n :] if tail_n else []
        omitted = len(lines) - len(head) - len(tail)
        marker = f"⋯ {omitted} lines omitted (full output on the website) ⋯"
        if _text_lines("\n".join([*head, marker, *tail]), OUT_PX, TEXT_W - 24, 0.61) <= max_lines:
            return "\n".join([*head, marker, *tail])
        if tail_n > head_n // 2 and tail_n > 0:
            tail_n -= 1
        else:
            head_n -= 1
    return "\n".join([lines[0][:80], f"⋯ {len(lines) - 1} lines omitted (full output on the website) ⋯"])


def split_code(code: str, first: int = CODE_LINES) -> list[str]:
    """Rule 4: code in parts of at most CODE_LINES wrapped lines (the first part at most ``first``),
    cut at sensible blank lines."""
    code = code.strip("\n")
    if _code_lines(code) <= CODE_LINES:  # short code moves whole to the next slide rather than split
        return [code]
    lines = code.splitlines()

    def blocks(top_level_only: bool) -> list[list[str]]:
        out, cur = [], []
        for i, line in enumerate(lines):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            cur.append(line)
            if line.strip() == "" and nxt.strip() and (not top_level_only or not nxt[0].isspace()):
                out.append(cur)
                cur = []
        return [*out, cur] if cur else out

    for top in (True, False):
        parts = blocks(top)
        if all(_code_lines("\n".join(p)) <= CODE_LINES for p in parts):
            break
    chunks, cur = [], []
    for part in parts:
        while _code_lines("\n".join(part)) > CODE_LINES:  # no blank line to cut at: cut by count
            n = CODE_LINES
            while n > 1 and _code_lines("\n".join(part[:n])) > CODE_LINES:
                n -= 1
            if cur:
                chunks.append(cur)
                cur = []
            chunks.append(part[:n])
            part = part[n:]
        limit = CODE_LINES if chunks else min(first, CODE_LINES)
        if _code_lines("\n".join(cur + part)) > limit and (cur or not chunks):
            chunks.append(cur)
            cur = []
        cur = cur + part
    if cur:
        chunks.append(cur)
    return [t for t in ("\n".join(c).strip("\n") for c in chunks) if t.strip()]  # (an empty first)


_SENTENCE_END = re.compile(r"[。！？；:：]|[.!?;](?=\s)")


def lead_sentence(md: str) -> str:
    """The first sentence of a Markdown paragraph (outside inline code and math)."""
    marker = re.match(r"\s*([-*+]|\d+[.)])\s+", md)  # a list item's own "1." is no sentence end
    start = marker.end() if marker else 0
    in_code = in_math = False
    for i, ch in enumerate(md):
        if i < start:
            continue
        if ch == "`" and not in_math:
            in_code = not in_code
        elif ch == "$" and not in_code:
            in_math = not in_math
        elif not in_code and not in_math and _SENTENCE_END.match(md, i):
            if _width_em(_plain(md[start:i]), 0.55) < 12:  # too short to stand alone ("练习 1："): go on
                continue
            cut = md[: i + 1]
            if cut.count("**") % 2 and "**" in md[i:]:  # do not end inside bold
                cut = md[: md.index("**", i) + 2]
            return cut.rstrip()
    return md


# ------------------------------------------------------------------------------------------ slides
@dataclass
class Slide:
    vertical: bool  # a sub-slide below the previous one
    parts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: float = 0.0
    heading: str = ""


class Deck:
    """Packs rendered pieces into slides of the 1280x720 frame (rules 2 and 6)."""

    def __init__(self) -> None:
        self.slides: list[Slide] = []
        self.heading = ""

    def new(self, vertical: bool, cont: bool = False) -> Slide:
        s = Slide(vertical=vertical and bool(self.slides))
        self.slides.append(s)
        if cont and self.heading:
            s.parts.append(f'<h3 class="cont">{html.escape(self.heading)}（续）</h3>')
            s.used = HEAD_PX[3] * 1.2 + 16
        return s

    @property
    def cur(self) -> Slide:
        return self.slides[-1] if self.slides else self.new(False)

    def room(self) -> float:
        return BUDGET - self.cur.used

    def ensure(self, height: float) -> None:
        """Start a continuation sub-slide when ``height`` does not fit on the current one."""
        if self.cur.used > 0 and height > self.room():
            self.new(True, cont=True)

    def add(self, piece: str, height: float, fragment: bool = False) -> None:
        self.ensure(height)
        if fragment:
            piece = f'<div class="fragment">{piece}</div>'
        self.cur.parts.append(piece)
        self.cur.used += height

    def note(self, md: str) -> None:
        if md.strip():
            self.cur.notes.append(md.strip())


_MD = MarkdownIt("commonmark").enable("table")


def md_blocks(src: str) -> list[tuple[str, str, int]]:
    """Top-level blocks of a Markdown text: (kind, source, heading level or 0)."""
    lines = src.splitlines()
    out = []
    for tok in _MD.parse(src):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        text = "\n".join(lines[tok.map[0] : tok.map[1]])
        kind = tok.type.replace("_open", "")
        out.append((kind, text, int(tok.tag[1]) if kind == "heading" else 0))
    return out


def _list_items(src: str) -> list[str]:
    items, cur = [], []
    for line in src.splitlines():
        if re.match(r"\s{0,3}([-*+]|\d+[.)])\s", line) and cur:
            items.append("\n".join(cur))
            cur = []
        cur.append(line)
    return [*items, "\n".join(cur)] if cur else items


def add_markdown(deck: Deck, src: str, fragment: bool) -> None:
    """Rule 3 for one Markdown cell."""
    first_para = True
    omitted = False
    # the chapter's link to this very deck means nothing on the deck itself
    shown_src = re.sub(r'<a href="[^"]*\.slides\.html"[^>]*>.*?</a>[ ·|]*', "", src)
    for kind, text, level in md_blocks(shown_src):
        if not _plain(text).strip():
            continue
        if kind == "heading":
            title = text.lstrip("#").strip()
            if level <= 3:
                deck.heading = _plain(title)
            px = HEAD_PX.get(level, 26)
            deck.add(render_md(text), _text_lines(_plain(title), px) * px * 1.2 + 18, fragment)
        elif kind == "paragraph" and text.strip().startswith("$$"):
            deck.add(render_md(text), 40 + 36 * text.count("\\\\") + 30 * text.count("\\frac"), fragment)
        elif kind == "paragraph":
            if not first_para:
                omitted = True
                continue
            first_para = False
            shown = text
            if _text_lines(_plain(text), PROSE_PX) > LEAD_LINES:
                shown = lead_sentence(" ".join(text.split("\n")))
                omitted = omitted or shown != text
            deck.add(render_md(shown), prose_height(shown), fragment)
        elif kind in ("bullet_list", "ordered_list"):
            items = []
            for item in _list_items(text):
                if _text_lines(_plain(item), PROSE_PX, TEXT_W - 50) > LEAD_LINES:
                    cut = lead_sentence(" ".join(item.split("\n")))
                    omitted = omitted or cut != item
                    item = cut
                items.append(item)
            # long lists continue on the next sub-slide, item by item
            group: list[str] = []
            for item in items:
                h = prose_height(item, indent=50) - 6
                if group and sum(prose_height(i, 50) - 6 for i in group) + h + 10 > deck.room():
                    deck.add(
                        render_md("\n".join(group)),
                        sum(prose_height(i, 50) - 6 for i in group) + 10,
                        fragment,
                    )
                    group = []
                    deck.new(True, cont=True)
                group.append(item)
            if group:
                deck.add(
                    render_md("\n".join(group)), sum(prose_height(i, 50) - 6 for i in group) + 10, fragment
                )
        elif kind in ("fence", "code_block"):
            m = re.match(r"\s*(`{3,}|~{3,})\s*([\w+-]*)", text)
            lang = m.group(2) if m else ""
            body = re.sub(r"^\s*(`{3,}|~{3,}).*\n?", "", text)
            body = re.sub(r"\n?\s*(`{3,}|~{3,})\s*$", "", body)
            for part in split_code(body):
                deck.add(render_code(part, lang or "text"), code_height(part), fragment)
        elif kind == "table":
            add_table(deck, text, fragment)
        elif kind == "html_block":
            deck.add(text, prose_height(_plain(text)), fragment)
        else:  # blockquote, hr, ...: the notes
            omitted = True
    if omitted:
        deck.note(src)


def _row_height(row: str, ncols: int) -> float:
    cells = [_plain(c) for c in row.strip().strip("|").split("|")]
    col_w = (TEXT_W - 20 * ncols) / max(1, ncols) / TABLE_PX
    # columns take what they need: a wide cell wraps where the others leave it room
    lines = max(max(1, math.ceil(_width_em(c, 0.55) / (col_w * 1.6))) for c in cells)
    return lines * TABLE_PX * 1.3 + 8


def add_table(deck: Deck, text: str, fragment: bool) -> None:
    """Tables: row by row; a table taller than the room continues on a sub-slide, header repeated."""
    rows = text.strip().splitlines()
    head, body = rows[:2], rows[2:]
    ncols = head[0].strip().strip("|").count("|") + 1
    head_h = _row_height(head[0], ncols) + 12
    group: list[str] = []
    for row in body:
        h = _row_height(row, ncols)
        used = head_h + sum(_row_height(r, ncols) for r in group)
        if deck.cur.used > 0 and used + h > deck.room():
            if group:
                deck.add(render_md("\n".join(head + group)), used, fragment)
                group = []
            deck.new(True, cont=True)
        group.append(row)
    if group:
        deck.add(
            render_md("\n".join(head + group)), head_h + sum(_row_height(r, ncols) for r in group), fragment
        )


def _image(src: str, room: float) -> str:
    return f'<img class="plot" src="{src}" style="max-height:{int(room)}px" alt="figure">'


def add_output(deck: Deck, out, fragment: bool) -> None:
    """Rule 5 for one output of a code cell."""
    data = out.get("data", {})
    if out.output_type == "stream" or (data and set(data) <= {"text/plain"}):
        text = out.text if out.output_type == "stream" else data["text/plain"]
        if out.output_type == "stream" and out.name == "stderr" and not text.strip():
            return
        text = text.rstrip("\n")
        if not text.strip():
            return
        line_h = OUT_PX * OUT_LH
        if deck.cur.used > 0 and deck.room() < min(out_height(text), 6 * line_h + 22):
            deck.new(True, cont=True)
        shown = truncate(text, int((deck.room() - 22) // line_h))
        cls = "output stderr" if out.get("name") == "stderr" else "output"
        deck.add(f'<pre class="{cls}">{html.escape(shown)}</pre>', out_height(shown), fragment)
    elif out.output_type == "error":
        text = "\n".join(out.get("traceback", [])[-1:]) or f"{out.ename}: {out.evalue}"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        deck.add(f'<pre class="output stderr">{html.escape(text)}</pre>', out_height(text), fragment)
    elif "image/png" in data or "image/svg+xml" in data or "image/jpeg" in data:
        if "image/png" in data:
            uri = "data:image/png;base64," + data["image/png"].replace("\n", "")
        elif "image/jpeg" in data:
            uri = "data:image/jpeg;base64," + data["image/jpeg"].replace("\n", "")
        else:
            svg = data["image/svg+xml"]
            svg = svg if isinstance(svg, str) else "".join(svg)
            uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        if deck.cur.used > 0 and deck.room() < IMG_MIN:
            deck.new(True, cont=True)
        room = deck.room() - 12
        deck.add(_image(uri, room), room + 12, fragment)
    elif "text/markdown" in data:
        md = data["text/markdown"]
        fence = re.fullmatch(r"\s*(`{3,})\s*([\w+-]*)\n(.*?)\n?\1\s*", md, re.S)
        if fence:  # printed source (book.show_source): split like code, at most SOURCE_SLIDES parts
            lang = fence.group(2) or "text"
            comment = "//" if lang.lower() in ("c", "cpp", "c++", "cuda", "cu") else "#"
            line_h = CODE_PX * CODE_LH
            room = int((deck.room() - 22) // line_h)
            parts = split_code(fence.group(3), room if deck.cur.used > 0 and room >= 6 else CODE_LINES)
            shown, rest = parts[:SOURCE_SLIDES], parts[SOURCE_SLIDES:]
            if rest:  # the last part shown ends with a pointer to the rest (and still fits)
                n = sum(len(p.splitlines()) + 1 for p in rest)
                last = shown[-1].splitlines()
                while len(last) > 1 and _code_lines("\n".join(last)) + 1 > CODE_LINES:
                    last.pop()
                    n += 1
                shown[-1] = "\n".join([*last, f"{comment} ⋯ {n} more lines on the website ⋯"])
            for part in shown:
                deck.add(render_code(part, lang), code_height(part), fragment)
        else:
            rows = md.count("\n") + 1
            deck.add(f'<div class="output md">{render_md(md)}</div>', rows * PROSE_PX * 1.5 + 20, fragment)
    elif "text/html" in data:
        deck.add(f'<div class="output">{data["text/html"]}</div>', 200, fragment)


_SETUP_LINE = re.compile(r"(import \S+|from \S+ import .+|cfg = book\.setup\(.*\)|#.*)$")


def is_setup(cell) -> bool:
    """Rule 1: the chapter's ``cfg = book.setup()`` cell (imports and the set-up call only)."""
    lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
    return (
        cell.cell_type == "code"
        and any("book.setup(" in ln for ln in lines)
        and all(_SETUP_LINE.match(ln) for ln in lines)
    )


def slide_type(cell) -> str:
    return cell.metadata.get("slideshow", {}).get("slide_type", "-") or "-"


def build_deck(nb, pdf_name: str) -> list[Slide]:
    """Apply rules 1-6 to a notebook: the slides, in order."""
    deck = Deck()
    first = True
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        kind = slide_type(cell)
        if tags & HIDE_CELL or kind == "skip" or is_setup(cell):
            continue
        if kind == "notes":
            deck.note(cell.source)
            continue
        if cell.cell_type == "code":
            has_out = not (tags & HIDE_OUTPUT) and any(
                o.output_type != "stream" or o.text.strip() for o in cell.get("outputs", [])
            )
            if tags & HIDE_INPUT and not has_out:
                continue
        if kind == "slide" or first:
            deck.new(False)
        elif kind == "subslide":
            deck.new(True)
        fragment = kind == "fragment"
        if cell.cell_type == "markdown":
            # The chapter's links to its deck and handout point into slides/: from a deck, that is "here".
            source = cell.source.replace('href="../slides/', 'href="')
            add_markdown(deck, source, fragment)
            if first and pdf_name not in source:
                link = f'<p class="handout"><a href="{pdf_name}">PDF 讲义 (handout)</a></p>'
                deck.add(link, PROSE_PX * PROSE_LH + 14)
        elif cell.cell_type == "code":
            if not tags & HIDE_INPUT and cell.source.strip():
                room = int((deck.room() - 22) // (CODE_PX * CODE_LH))
                first = room if deck.cur.used > 0 and room >= 6 else CODE_LINES
                pending = ""  # parts that land on the same slide are shown as one block
                for part in split_code(cell.source, first):
                    joined = f"{pending}\n\n{part}" if pending else part
                    if pending and code_height(joined) > deck.room():
                        deck.add(render_code(pending), code_height(pending), fragment)
                        pending = part
                    else:
                        pending = joined
                if pending:
                    deck.add(render_code(pending), code_height(pending), fragment)
            if not tags & HIDE_OUTPUT:
                for out in cell.get("outputs", []):
                    add_output(deck, out, fragment)
        first = False
    return deck.slides


def expected_slide_count(nb) -> int:
    """How many slides and sub-slides the deck of ``nb`` has (what reveal.js reports as its total)."""
    return len(build_deck(nb, "handout.pdf"))


def render_deck(slides: list[Slide], title: str) -> str:
    sections, i = [], 0
    while i < len(slides):
        group = [slides[i]]
        i += 1
        while i < len(slides) and slides[i].vertical:
            group.append(slides[i])
            i += 1
        inner = []
        for s in group:
            notes = render_md("\n\n".join(s.notes)) if s.notes else ""
            notes = f'<aside class="notes">{notes}</aside>' if notes else ""
            inner.append(f"<section>\n{''.join(s.parts)}\n{notes}</section>")
        sections.append(inner[0] if len(inner) == 1 else "<section>\n" + "\n".join(inner) + "\n</section>")
    page = TEMPLATE.read_text(encoding="utf-8")
    css = _FORMATTER.get_style_defs(".hl")
    return (
        page.replace("{{title}}", html.escape(title))
        .replace("{{pygments_css}}", css)
        .replace("{{width}}", str(WIDTH))
        .replace("{{height}}", str(HEIGHT))
        .replace("{{slides}}", "\n".join(sections))
    )


# ---------------------------------------------------------------------------------- browser: PDF, check
def chromium() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def launch(p):
    exe = chromium()
    if exe is None:
        raise RuntimeError("no Chromium found (tools/ensure_system_deps.sh installs Debian's chromium)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    return p.chromium.launch(executable_path=exe, headless=True, args=args)


def offline_page(browser, width: int = WIDTH, height: int = HEIGHT):
    """A page at ``width``x``height`` that refuses every request leaving the file system."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.remote = []

    def route(r):
        if r.request.url.startswith(("file:", "data:", "blob:")):
            return r.continue_()
        page.remote.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return page


WAIT_READY = """async () => {
  let R = window.Reveal;
  // decks whose reveal.js came through require.js (nbconvert's template) have no global
  if (!(R && R.getSlides)) R = await new Promise(res => require(['vendor/reveal.js/dist/reveal.js'], res));
  while (!R.isReady() || window.deckReady === false) await new Promise(r => setTimeout(r, 50));
  window.__R = R;
  if (window.MathJax && MathJax.Hub) await new Promise(r => MathJax.Hub.Queue(r));
  await document.fonts.ready;
  return true;
}"""

MEASURE = """() => {
  const R = window.__R, cfg = R.getConfig();
  R.configure({transition: 'none', backgroundTransition: 'none'});
  const res = [];
  for (const s of R.getSlides()) {
    const ix = R.getIndices(s);
    R.slide(ix.h, ix.v, Infinity);
    const top = s.getBoundingClientRect().top, scale = R.getScale();
    let bottom = 0, wide = [];
    for (const el of s.querySelectorAll('*')) {
      if (el.closest('aside.notes')) continue;
      const inMath = el.closest('.MathJax_CHTML, .MJXc-display, .MathJax_Preview');
      const r = el.getBoundingClientRect();
      if (r.height > 0) bottom = Math.max(bottom, (r.bottom - top) / scale);
      const st = getComputedStyle(el);
      if (!inMath && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && st.overflowX !== 'visible')
        wide.push(el.tagName);
      if (!inMath && el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 &&
          ['auto', 'scroll', 'hidden'].includes(st.overflowY)) wide.push(el.tagName + '(scroll-y)');
      const sr = s.getBoundingClientRect();
      if (r.width > 0 && (r.right > sr.right + 1 || r.left < sr.left - 1) && !el.closest('.MathJax_Preview'))
        wide.push(el.tagName + '(outside)');
    }
    // readability: the smallest code/output font and the smallest plot, in px on the screen
    let minFont = Infinity, minImg = Infinity;
    for (const pre of s.querySelectorAll('.code pre, pre.output'))
      minFont = Math.min(minFont, parseFloat(getComputedStyle(pre).fontSize) * scale);
    for (const img of s.querySelectorAll('img.plot'))
    {  // a plot is at least 300 px high (or its own height), unless it already spans the slide's width
      const r = img.getBoundingClientRect();
      minImg = Math.min(minImg, Math.max(r.height / scale / Math.min(img.naturalHeight, 300),
                                         r.width / scale / Math.min(img.naturalWidth, 1180)));
    }
    res.push({h: ix.h, v: ix.v, height: Math.round(bottom), frame: cfg.height, wide: [...new Set(wide)],
              min_font: minFont === Infinity ? null : minFont, img_ratio: minImg === Infinity ? null : minImg});
  }
  R.slide(0, 0);
  return res;
}"""


def measure_deck(browser, deck: Path) -> dict:
    """Open ``deck`` at 1280x720 offline and measure every slide: content height, horizontal overflow."""
    page = offline_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(deck.as_uri())
    page.evaluate(WAIT_READY)
    slides = page.evaluate(MEASURE)
    notes = page.evaluate("() => document.querySelectorAll('.slides aside.notes').length")
    page.close()
    for s in slides:
        s["overflow"] = s["height"] > s["frame"] or bool(s["wide"])
    return {"slides": slides, "errors": errors, "remote": page.remote, "notes": notes}


def render_pdfs(decks: list[Path]) -> None:
    """Rule: a PDF handout beside every deck, reveal's print view in the system Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        for deck in decks:
            page = offline_page(browser)
            page.goto(deck.as_uri() + "?print-pdf")
            page.evaluate(WAIT_READY)
            page.wait_for_timeout(200)
            pdf = deck.with_name(deck.name.replace(".slides.html", ".pdf"))
            tmp = pdf.with_suffix(".part")
            page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
            page.close()
            if page.remote:
                sys.exit(f"slides: {deck.name} asked the network for {page.remote[:3]}")
            tmp.replace(pdf)
        browser.close()


def build(out_dir: Path, pdf: bool = True) -> list[Path]:
    if not (VENDOR / "reveal.js").is_dir():
        sys.exit("slides: vendored JavaScript missing; run `python tools/vendor.py` (make book does).")
    if not (VENDOR / "reveal.js" / "plugin" / "notes" / "notes.js").is_file():
        sys.exit("slides: reveal.js's notes plugin is missing; run `python tools/vendor.py` again.")
    t0 = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / "vendor").exists():
        shutil.rmtree(out_dir / "vendor")
    shutil.copytree(VENDOR, out_dir / "vendor")
    written = []
    for nb_path in chapter_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        slides = build_deck(nb, f"{nb_path.stem}.pdf")
        title = next(
            (
                ln.lstrip("# ").strip()
                for c in nb.cells
                if c.cell_type == "markdown"
                for ln in c.source.splitlines()
                if ln.startswith("# ")
            ),
            nb_path.stem,
        )
        body = render_deck(slides, title)
        target = out_dir / f"{nb_path.stem}.slides.html"
        tmp = target.with_suffix(".part")
        tmp.write_text(body, encoding="utf-8")
        tmp.replace(target)
        written.append(target)
        n_notes = sum(bool(s.notes) for s in slides)
        print(f"slides: {target.name} ({len(slides)} slides, {n_notes} with speaker notes)")
    if pdf:
        if chromium() is None:
            print("slides: no Chromium, PDF handouts NOT built (tools/ensure_system_deps.sh installs it)")
        else:
            t1 = time.time()
            render_pdfs(written)
            print(f"slides: {len(written)} PDF handouts in {time.time() - t1:.1f} s")
    print(f"slides: done in {time.time() - t0:.1f} s -> {out_dir}")
    return written


def check(out_dir: Path) -> int:
    """Print, per deck, the slides that do not fit the 1280x720 frame; exit status 1 if any."""
    from playwright.sync_api import sync_playwright

    total = bad_total = 0
    with sync_playwright() as p:
        browser = launch(p)
        for deck in sorted(out_dir.glob("*.slides.html")):
            m = measure_deck(browser, deck)
            bad = [s for s in m["slides"] if s["overflow"]]
            tall = sum(s["height"] > s["frame"] for s in m["slides"])
            total += len(m["slides"])
            bad_total += len(bad)
            tallest = max((s["height"] for s in m["slides"]), default=0)
            frame = m["slides"][0]["frame"] if m["slides"] else "?"
            print(
                f"{deck.name}: {len(bad)}/{len(m['slides'])} overflow ({tall} taller than the frame, "
                f"{len(bad) - tall} only wider or scrolling), tallest {tallest} px (frame {frame}), "
                f"{m['notes']} with notes"
            )
            for s in bad:
                print(f"    slide {s['h'] + 1}.{(s['v'] or 0) + 1}: {s['height']} px {' '.join(s['wide'])}")
        browser.close()
    print(f"total: {bad_total}/{total} slides overflow")
    return 1 if bad_total else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    target = Path(
        next((a for a in args if not a.startswith("--")), ROOT / "_build" / "html" / "slides")
    ).resolve()
    if "--check" in args:
        sys.exit(check(target))
    build(target, pdf="--no-pdf" not in args)
