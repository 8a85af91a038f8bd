"""Build the reveal.js slides and PDF handouts of every chapter from the notebooks themselves.

    python tools/slides.py [OUT_DIR] [NN_name ...]  # default _build/html/slides: NN_name.slides.html,
                                                    #   NN_name.pdf (slides) and NN_name.notes.pdf
    python tools/slides.py --check [OUT_DIR]        # open every deck at 1280x720, list slides that overflow
    python tools/slides.py --metrics [OUT_DIR]      # per deck: continuations, notes, colons, figures, links
    python tools/slides.py --no-pdf ...             # decks only

The decks are those of the notebooks listed under chapters/ in ``_toc.yml`` (any chapter added there gets
one). A deck is a 1280x720 reveal.js presentation a lecturer can teach from unchanged; every slide fits
that frame with no scrolling. Nothing is copied by hand: rules applied to each cell's metadata and
content decide what is on a slide and what goes to the speaker notes (``S``).

Structure of every deck
    1. Title: the chapter's title, its first sentence, the learning goals (the ``学习目标`` cell) and
       links to the web chapter (``../chapters/NN_name.html``), to the notebook on Colab (built from
       ``repository.url``/``branch`` in ``_config.yml``) and to both PDF handouts.
    2. Agenda: the chapter's sections (its ``##`` headings that start a slide).
    3. The sections, one slide per ``slide``/``subslide`` cell run, as in the notebook.
    4. Closing: the summary (``小结``) and the exercises (``练习``, without solutions), the same links.

Rules for the sections
    1. Hidden: cells tagged ``remove-cell``, ``hide-cell``, ``solution`` or with slide type ``skip``
       and the ``cfg = book.setup()`` cell. ``remove-input``/``hide-input``: the output only;
       ``remove-output``/``hide-output``: the code only. ``notes`` cells go to the speaker notes.
    2. Prose: a Markdown cell keeps its headings, lists, tables, display math and first paragraph; a
       paragraph or list item longer than ``LEAD_LINES`` lines is cut to its first sentence. The whole
       cell is in the slide's speaker notes. A slide never ends on a colon: prose that introduces the
       next thing moves with it, and a colon with nothing after it on the slide becomes a full stop.
    3. Code and its output stay together: when a slide's content is taller than the frame, code is
       shown as the lines that matter (comments, docstrings and blank lines inside blocks go first; then
       the head and the last statement, around a "⋯ N lines: full cell on the website ⋯" marker),
       output as its first and last lines, figures down to a quarter of the frame, and a remark on a
       result (the paragraph right after an output) is said from the notes instead of shown. What still
       does not fit goes on a sub-slide: cut before a Markdown cell (or a paragraph after a table or a
       list) when one is near, which starts a new idea under the section's heading; else between cells,
       never between a code cell and its output, and that sub-slide is a continuation (its heading
       repeated with "（续）").
    4. Figures are scaled to the room the slide has (up to ``UPSCALE`` times their size) and keep their
       alt text (the cell's ``mystnb.image.alt``). A figure at most ``PAIR_ASPECT`` times as wide as it is
       tall sits beside the code that draws it. A figure is large enough when it covers a quarter of the
       frame or, too tall and narrow for that (a graph), when it is ``FULL_H`` px high.
    5. Links: a link to a chapter notebook (``x.ipynb``) becomes its web page; any other relative link
       to a file the site does not publish points to the file in the repository.
    6. myst-nb glue (``{glue}`name```, ``{glue:text}`name:.2f```, ``{glue:md}`` and the ``glue``
       directives) is filled in from the stored output of the cell that glued ``name``, formatted as
       myst-nb does.
    7. Speaker notes on every slide: what to say (the prose of the cells on it, in full), what to point
       at (the comments of the code shown, the figure's alt text, what the output ends with, what was
       left off the slide) and a question for the room (a question from the prose, else one built from
       the slide: predict the output, read the figure, restate the point).
    8. Sizes are estimated from the characters (CJK 1 em, Latin ~0.55 em) with the sizes of
       slides_template/deck.html; the measurement in Chromium (``--check``, ``--metrics``,
       tests/test_slides.py) judges.

Lecture figures (``--metrics``; tests/test_slides.py fails a deck that misses one): at most 15 % of the
slides are continuations ("（续）"), every slide has speaker notes, none ends on a colon, at least 80 % of
the figures are large enough (rule 4), the first and the last slide link the web chapter and Colab, no
link points to a file the site does not publish, every slide fits the frame.

Optional cell metadata an author may set (``"slides": {...}`` in the cell's metadata):
    ``"lines": "1-4,12-15"``  the code lines (1-based, of the cell's source) the slide shows; the
                              others are replaced by a marker (the full cell stays on the website).
    ``"ask": "..."``          the question for the room in this slide's speaker notes.
    ``"point": "..."``        what to point at, for the speaker notes.
    ``"new_slide": true``     start a new sub-slide at this cell (as slide type ``subslide``).

Handouts (rendered by the system Chromium through Playwright, no network): ``NN_name.pdf`` is reveal's
print view, one slide per page; ``NN_name.notes.pdf`` puts each slide with its speaker notes under it,
one per page, the version students print. reveal.js (with its notes plugin) and MathJax 3 are copied
into OUT_DIR/vendor (see tools/vendor.py), so the slides open from the file system with no network.
"""

from __future__ import annotations

import base64
import functools
import html
import math
import re
import shutil
import struct
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune
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
SMALL_PX = 22  # title, agenda and closing slides' lists
CODE_PX, CODE_LH = 22, 1.3
OUT_PX, OUT_LH = 21, 1.25
HEAD_PX = {1: 42, 2: 36, 3: 30, 4: 28, 5: 26, 6: 26}
TABLE_PX = 22
CODE_LINES = 16  # code lines shown when there is room
CODE_MIN = 4  # ... and when there is not (the lines that matter)
CODE_FIG = 3  # ... and beside the figure it draws
OUT_LINES = 14  # output lines shown when there is room
OUT_MIN = 3
IMG_MIN = 300
UPSCALE = 2.5  # a figure is enlarged at most this much
QUARTER = WIDTH * HEIGHT / 4  # a figure should cover at least this area (px² on the frame) ...
FIG_MIN = 0.25  # ... and covers at least this share of it to stay on the slide of its code
LEAD_LINES = 2
PAIR_ASPECT = 1.25  # a figure at most this wide per unit of height goes beside its code
FULL_H = 432  # px (60 % of the frame): a figure too narrow to cover a quarter is large enough this tall
HANDOUT_H = 1400  # the notes handout's page: the 1280x720 slide and its notes under it

HIDE_CELL = {"remove-cell", "hide-cell", "solution"}
HIDE_INPUT = {"remove-input", "hide-input"}
HIDE_OUTPUT = {"remove-output", "hide-output"}
GOALS, SUMMARY, EXERCISES = "学习目标", "小结", "练习"


# ------------------------------------------------------------------------------------- the chapters
def deck_notebooks() -> list[Path]:
    """The chapter notebooks listed in ``_toc.yml`` (in its order); every one gets a deck."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                files.append(node["file"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    out = []
    for f in files:
        p = ROOT / (f if f.endswith(".ipynb") else f + ".ipynb")
        if p.parent.name == "chapters" and p.is_file() and p not in out:
            out.append(p)
    return out


def repository() -> tuple[str, str]:
    """(GitHub URL, branch) of the book, from ``_config.yml`` (the one place that names them)."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = cfg.get("repository", {})
    return repo.get("url", "").rstrip("/"), repo.get("branch", "main")


def chapter_links(stem: str) -> dict[str, str]:
    """The web chapter (relative to the slides folder), Colab and GitHub URLs of chapter ``stem``."""
    url, branch = repository()
    slug = re.sub(r"^https?://github\.com/", "", url)
    return {
        "web": f"../chapters/{stem}.html",
        "colab": f"https://colab.research.google.com/github/{slug}/blob/{branch}/chapters/{stem}.ipynb",
        "github": f"{url}/blob/{branch}/chapters/{stem}.ipynb",
        "pdf": f"{stem}.pdf",
        "notes_pdf": f"{stem}.notes.pdf",
    }


def fix_links(md: str, published: set[str]) -> str:
    """Rule 5: ``x.ipynb`` links -> the published page; other relative file links -> the repository."""
    url, branch = repository()

    def target(link: str) -> str:
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", link, re.I):
            return link
        path, _, anchor = link.partition("#")
        anchor = f"#{anchor}" if anchor else ""
        name = Path(path).name
        if path.startswith("../slides/"):
            return path[len("../slides/") :] + anchor
        if name.endswith(".ipynb") and name[:-6] in published:
            return f"../chapters/{name[:-6]}.html{anchor}"
        if name.endswith((".html", ".pdf")) and not path.startswith(".."):
            return link  # a deck or handout beside this one
        rel = (Path("chapters") / path).as_posix()
        parts: list[str] = []
        for part in rel.split("/"):
            if part == "..":
                parts = parts[:-1]
            elif part not in ("", "."):
                parts.append(part)
        return f"{url}/blob/{branch}/{'/'.join(parts)}{anchor}"

    md = re.sub(r"(\]\()([^)\s]+)(\))", lambda m: m[1] + target(m[2]) + m[3], md)
    return re.sub(r'(href=")([^"]+)(")', lambda m: m[1] + target(m[2]) + m[3], md)


# ------------------------------------------------------------------------------------------- glue
def glue_outputs(nb) -> dict[str, dict]:
    """myst-nb glue: name -> the stored output (data) of the cell that glued it."""
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            book = out.get("metadata", {}).get("scrapbook", {})
            if book.get("name") and out.output_type in ("display_data", "execute_result"):
                prefix = book.get("mime_prefix", "")  # display=False: the mime types carry a prefix
                found[book["name"]] = {k.removeprefix(prefix): v for k, v in out.get("data", {}).items()}
    return found


def _format_plain(text: str, spec: str) -> str:
    try:
        from myst_nb.core.variables import format_plain_text  # exactly what myst-nb does
    except ImportError:  # pragma: no cover - myst-nb is a requirement of the book
        return text
    return format_plain_text(text, spec)


GLUE_ROLE = re.compile(r"\{glue(?::(text|md|any|))?\}`([^`]+)`")


def render_glue(md: str, glue: dict[str, dict], nb_dir: Path | None = None) -> str:
    """Rule 6: replace the glue roles in ``md`` with the glued values."""

    def value(m: re.Match) -> str:
        kind, key = m[1] or "any", m[2].strip()
        spec = ""
        if kind == "text":
            key, _, spec = key.rpartition(":") if ":" in key.split("::")[-1] else (key, "", "")
        data = glue.get(key)
        if "::" in key and nb_dir is not None:  # another notebook: path::key
            path, _, key = key.partition("::")
            other = nb_dir / path
            data = glue_outputs(nbformat.read(other, as_version=4)).get(key) if other.is_file() else None
        if data is None:
            print(f"slides: glue key {key!r} not found (execute the notebook)", file=sys.stderr)
            return f"⟨{key}⟩"
        if kind == "md" and "text/markdown" in data:
            return data["text/markdown"]
        text = data.get("text/plain", "")
        text = text if isinstance(text, str) else "".join(text)
        try:
            return _format_plain(text, spec or "s") if kind == "text" else _format_plain(text, "")
        except (ValueError, TypeError) as e:  # myst-nb warns and pastes nothing; a slide shows the text
            print(f"slides: glue {key!r}: cannot format {text!r} with {spec!r} ({e})", file=sys.stderr)
            return text

    return GLUE_ROLE.sub(value, md)


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


@functools.lru_cache(maxsize=65536)
def _text_lines(text: str, px: float, width: float = TEXT_W, latin: float = 0.55) -> int:
    per_line = width / px
    return sum(max(1, math.ceil(_width_em(line, latin) / per_line)) for line in text.splitlines() or [""])


def _code_lines(code: str, width: float = TEXT_W) -> int:
    return _text_lines(code, CODE_PX, width - 24, latin=0.61)


def code_height(code: str, width: float = TEXT_W) -> float:
    return _code_lines(code, width) * CODE_PX * CODE_LH + 22


def out_height(text: str) -> float:
    return _text_lines(text, OUT_PX, TEXT_W - 24, latin=0.61) * OUT_PX * OUT_LH + 22


def prose_height(md: str, indent: float = 0, px: float = PROSE_PX, width: float = TEXT_W) -> float:
    return _text_lines(_plain(md), px, width - indent) * px * PROSE_LH + 14


def head_height(text: str, level: int) -> float:
    px = HEAD_PX.get(level, 26)
    return _text_lines(_plain(text), px) * px * 1.2 + 18


CTX_PX = 24  # the section's heading repeated on a sub-slide (h3.ctx, h3.cont)


def ctx_height(label: str) -> float:
    return _text_lines(_plain(label), CTX_PX) * CTX_PX * 1.2 + 18


CONT_H = ctx_height("x")


# --------------------------------------------------------------------------------------- rendering
_FORMATTER = HtmlFormatter(nowrap=False, cssclass="hl")


def render_code(code: str, language: str = "python") -> str:
    try:
        lexer = get_lexer_by_name(language or "text")
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return f'<div class="code">{highlight(code, lexer, _FORMATTER)}</div>'


def render_md(md: str) -> str:
    md = re.sub(r"\{(?:doc|ref|numref|term)\}`([^`<]*?)\s*(?:<[^>]*>)?`", r"\1", md)  # MyST roles: text
    return markdown2html_mistune(md)


@functools.lru_cache(maxsize=4096)
def truncate(text: str, max_lines: int) -> str:
    """The first and the last lines of ``text``, at most ``max_lines`` (wrapped) in all."""
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


def _marker(comment: str, n: int, indent: str = "") -> str:
    return f"{indent}{comment} ⋯ {n} lines: full cell on the website ⋯"


def select_lines(code: str, spec: str, comment: str = "#") -> str:
    """The author's choice (cell metadata ``slides.lines``, e.g. ``"1-4,12-15"``), gaps marked."""
    lines = code.splitlines()
    keep: set[int] = set()
    for part in str(spec).split(","):
        a, _, b = part.strip().partition("-")
        if a.strip().isdigit():
            keep.update(range(int(a), int(b or a) + 1))
    out, gap = [], 0
    for i, line in enumerate(lines, 1):
        if i in keep:
            if gap:
                out.append(_marker(comment, gap, re.match(r"\s*", line)[0]))
                gap = 0
            out.append(line)
        else:
            gap += 1
    if gap:
        out.append(_marker(comment, gap))
    return "\n".join(out)


def _drop_noise(lines: list[str], comment: str) -> list[str]:
    """Comment-only lines, docstrings and blank lines inside blocks: the first things a slide drops."""
    out, in_doc = [], None
    for i, line in enumerate(lines):
        s = line.strip()
        if in_doc:
            if in_doc in s:
                in_doc = None
            continue
        prev = next((x for x in reversed(out) if x.strip()), "")
        if s[:3] in ('"""', "'''") and prev.rstrip().endswith(":"):
            if not (len(s) > 3 and s.endswith(s[:3])):
                in_doc = s[:3]
            continue
        if s.startswith(comment) or (s == "" and i + 1 < len(lines) and lines[i + 1][:1].isspace()):
            continue
        if s == "" and out and not out[-1].strip():
            continue
        out.append(line)
    return out


@functools.lru_cache(maxsize=4096)
def condense(code: str, limit: int, comment: str = "#", width: float = TEXT_W) -> str:
    """Rule 3: ``code`` in at most ``limit`` wrapped lines, as the lines that matter."""
    code = code.strip("\n")
    if _code_lines(code, width) <= limit:
        return code
    lines = _drop_noise(code.splitlines(), comment)
    dropped = len(code.splitlines()) - len(lines)
    if _code_lines("\n".join(lines), width) <= limit:
        return "\n".join(lines)
    # the head, and the last top-level statement (what produces the output) if it is short
    starts = [i for i, ln in enumerate(lines) if ln.strip() and not ln[0].isspace()]
    tail_start = starts[-1] if starts else len(lines) - 1
    while tail_start > 0 and _code_lines("\n".join(lines[tail_start:]), width) > max(2, limit // 3):
        tail_start = next((s for s in starts if s > tail_start), len(lines) - 1)
        if tail_start >= len(lines) - 1:
            tail_start = len(lines) - 1
            break
    tail = lines[tail_start:]
    while len(tail) > 1 and _code_lines("\n".join(tail), width) > max(1, limit // 3):
        tail = tail[1:]
    head_n = limit - 1 - _code_lines("\n".join(tail), width)
    head = lines[: max(1, len(lines) - len(tail))]
    while len(head) > 1 and _code_lines("\n".join(head), width) > head_n:
        head = head[:-1]
    n = len(lines) - len(head) - len(tail) + dropped
    first_cut = lines[len(head)] if len(head) < len(lines) else ""
    return "\n".join([*head, _marker(comment, n, re.match(r"\s*", first_cut)[0]), *tail])


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
            # a colon that introduced what was cut off introduces nothing now: a full stop
            return close_colon(cut) if ends_on_colon(cut) else cut.rstrip()
    return md


_COLON_END = re.compile(r"[:：](\s*(?:\*\*|\*|__|_|</\w+>)*)\s*$")


def ends_on_colon(md: str) -> bool:
    return bool(_COLON_END.search(_strip_math(md.rstrip())))


def _strip_math(md: str) -> str:
    return re.sub(r"\$[^$]*\$", "x", md)


def close_colon(md: str) -> str:
    """A colon with nothing after it on the slide becomes a full stop."""
    return _COLON_END.sub(lambda m: "。" + m[1], md.rstrip())


# ------------------------------------------------------------------------------------------ blocks
@dataclass
class Block:
    """One thing on a slide: a heading, prose, math, a table, code, an output or a figure."""

    kind: str  # head, prose, list, math, table, html, code, out, md_out, img
    src: str = ""
    cell: int = -1
    fragment: bool = False
    level: int = 0
    lang: str = "python"
    cls: str = "output"
    limit: int = 0  # code / output: wrapped lines shown (0: all)
    uri: str = ""
    nat: tuple[float, float] = (0.0, 0.0)
    alt: str = ""
    img_h: float = 0.0
    fixed_h: float = 0.0
    author_lines: str = ""
    md_start: bool = False  # the first block of a Markdown cell (where a new idea starts)
    spoken: bool = False  # left off the slide, said from the notes (a remark on a result, rule 3)
    draws: bool = False  # code whose output is a figure: its lines that matter are the last ones
    sub: list = field(default_factory=list)  # a pair: [code, figure] side by side

    @property
    def comment(self) -> str:
        return "//" if self.lang.lower() in ("c", "cpp", "c++", "cuda", "cu") else "#"

    def shown(self) -> str:
        if self.kind == "code":
            if self.author_lines:
                return select_lines(self.src, self.author_lines, self.comment)
            return condense(self.src, self.limit or CODE_LINES, self.comment)
        if self.kind == "out":
            return truncate(self.src, self.limit or OUT_LINES)
        return self.src

    def pair_code(self) -> tuple[str, float]:
        """A pair's code, condensed to the figure's height in the column the figure leaves."""
        code = self.sub[0]
        w, h = self.nat
        col = TEXT_W - self.img_h * w / h - 24
        lines = max(CODE_FIG, int((self.img_h + 12 - 22) // (CODE_PX * CODE_LH)))
        if code.author_lines:
            return select_lines(code.src, code.author_lines, code.comment), col
        shown = condense(code.src, lines, code.comment, col)
        while lines > CODE_FIG and code_height(shown, col) > self.img_h + 12:  # long lines wrap: fewer
            lines -= 1
            shown = condense(code.src, lines, code.comment, col)
        return shown, col

    def height(self) -> float:
        if self.spoken:
            return 0.0
        if self.kind == "pair":
            shown, col = self.pair_code()
            return max(self.img_h + 12, code_height(shown, col))
        if self.kind == "code":
            return code_height(self.shown())
        if self.kind == "out":
            return out_height(self.shown())
        if self.kind == "img":
            return self.img_h + 12
        return self.fixed_h

    def min_height(self) -> float:
        if self.spoken:
            return 0.0
        if self.kind in ("code", "out"):
            keep = self.limit
            self.limit = (CODE_FIG if self.draws else CODE_MIN) if self.kind == "code" else OUT_MIN
            h = self.height()
            self.limit = keep
            return h
        if self.kind in ("img", "pair"):
            keep = self.img_h
            self.img_h = img_min_h(self)
            h = self.height()
            self.img_h = keep
            return h
        return self.fixed_h

    @property
    def sticky(self) -> bool:
        """Kept with what follows it (a heading; prose that introduces the next thing)."""
        return not self.spoken and (
            self.kind == "head" or (self.kind in ("prose", "list") and ends_on_colon(self.src))
        )

    def render(self, last: bool) -> str:
        if self.spoken:
            return ""
        if self.kind == "pair":
            shown, col = self.pair_code()
            fig = self.sub[1]
            fig.img_h = self.img_h
            piece = (
                f'<div class="pair"><div class="pcode" style="width:{col:.0f}px">'
                f"{render_code(shown, self.sub[0].lang)}</div>{fig.render(False)}</div>"
            )
        elif self.kind == "code":
            piece = render_code(self.shown(), self.lang)
        elif self.kind == "out":
            piece = f'<pre class="{self.cls}">{html.escape(self.shown())}</pre>'
        elif self.kind == "img":
            w, h = self.nat
            s = self.img_h / h if h else 1
            alt = html.escape(self.alt or "figure", quote=True)
            piece = (
                f'<img class="plot" src="{self.uri}" alt="{alt}" '
                f'style="width:{w * s:.0f}px;height:{h * s:.0f}px">'
            )
        elif self.kind == "md_out":
            piece = f'<div class="output md">{render_md(self.src)}</div>'
        elif self.kind == "html":
            piece = self.src
        elif self.kind == "head" and self.cls in ("cont", "ctx"):
            piece = f'<h3 class="{self.cls}">{html.escape(self.src)}</h3>'
        else:
            piece = render_md(close_colon(self.src) if last and self.kind in ("prose", "list") else self.src)
            if self.kind == "list" and self.cls == "small":
                piece = f'<div class="small">{piece}</div>'
        return f'<div class="fragment">{piece}</div>' if self.fragment else piece


def image_size(data: dict) -> tuple[float, float]:
    """Natural size (px) of a PNG, JPEG or SVG output."""
    try:
        if "image/png" in data:
            raw = base64.b64decode(data["image/png"].replace("\n", "")[:44])
            return float(struct.unpack(">I", raw[16:20])[0]), float(struct.unpack(">I", raw[20:24])[0])
        if "image/svg+xml" in data:
            svg = data["image/svg+xml"]
            svg = svg if isinstance(svg, str) else "".join(svg)
            tag = re.search(r"<svg[^>]*>", svg, re.S)[0]
            unit = {"pt": 4 / 3, "px": 1.0, "": 1.0, "in": 96.0, "cm": 37.8, "mm": 3.78}
            w = re.search(r'\bwidth="([\d.]+)(pt|px|in|cm|mm|)"', tag)
            h = re.search(r'\bheight="([\d.]+)(pt|px|in|cm|mm|)"', tag)
            if w and h:
                return float(w[1]) * unit[w[2]], float(h[1]) * unit[h[2]]
            vb = re.search(r'viewBox="[\d.\-]+[ ,]+[\d.\-]+[ ,]+([\d.]+)[ ,]+([\d.]+)"', tag)
            if vb:
                return float(vb[1]), float(vb[2])
        if "image/jpeg" in data:
            raw = base64.b64decode(data["image/jpeg"].replace("\n", ""))
            i = 2
            while i < len(raw):
                marker, size = raw[i + 1], struct.unpack(">H", raw[i + 2 : i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2):
                    h, w = struct.unpack(">HH", raw[i + 5 : i + 9])
                    return float(w), float(h)
                i += 2 + size
    except Exception:  # noqa: BLE001 - an unreadable header: assume a typical plot
        pass
    return 640.0, 480.0


def img_max_h(b: Block) -> float:
    w, h = b.nat
    return min(h * UPSCALE, h * TEXT_W / w, BUDGET - CONT_H - 12)


def img_min_h(b: Block) -> float:
    """The height at which the figure covers a quarter of the frame (or as much as it can)."""
    w, h = b.nat
    top = img_max_h(b)
    need = math.sqrt(FIG_MIN * WIDTH * HEIGHT / (w * h)) * h * 1.03  # (a margin for rounding)
    if need > top:  # a tall, narrow figure (a graph) cannot cover a quarter: most of a slide's height
        return min(top, FULL_H + 8)
    return min(max(need, min(IMG_MIN, h)), top)


# ------------------------------------------------------------------------------------------ slides
@dataclass
class Slide:
    vertical: bool  # a sub-slide below the previous one
    parts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    used: float = 0.0
    heading: str = ""
    kind: str = "body"  # title, agenda, body, cont, closing
    blocks: list[Block] = field(default_factory=list)


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


def _row_height(row: str, ncols: int) -> float:
    cells = [_plain(c) for c in row.strip().strip("|").split("|")]
    col_w = (TEXT_W - 20 * ncols) / max(1, ncols) / TABLE_PX
    lines = max(max(1, math.ceil(_width_em(c, 0.55) / (col_w * 1.6))) for c in cells)
    return lines * TABLE_PX * 1.3 + 2


def short_items(src: str, px: float = PROSE_PX, width: float = TEXT_W - 50) -> list[str]:
    """The items of a Markdown list, each cut to its first sentence when longer than LEAD_LINES."""
    items = []
    for item in _list_items(src):
        one = " ".join(item.split("\n"))
        if _text_lines(_plain(one), px, width) > LEAD_LINES:
            one = lead_sentence(one)
        items.append(one)
    return items


def list_height(items: list[str], px: float = PROSE_PX, width: float = TEXT_W) -> float:
    return sum(_text_lines(_plain(i), px, width - 50) * px * PROSE_LH + 3 for i in items) + 14


def markdown_blocks(src: str, ci: int, fragment: bool, ctx: Context) -> list[Block]:
    """Rule 2 for one Markdown cell."""
    out: list[Block] = []
    first_para = True
    for kind, text, level in md_blocks(src):
        if not _plain(text).strip():
            continue
        b = Block(kind="prose", cell=ci, fragment=fragment)
        if kind == "heading":
            title = text.lstrip("#").strip()
            if level <= 3:
                ctx.heading = _plain(title).strip()
            b.kind, b.src, b.level, b.fixed_h = "head", text, level, head_height(title, level)
        elif kind == "paragraph" and text.strip().startswith("$$"):
            b.kind, b.src = "math", text
            b.fixed_h = 40 + 36 * text.count("\\\\") + 30 * text.count("\\frac")
        elif kind == "paragraph":
            if not first_para:
                continue
            first_para = False
            shown = text
            if _text_lines(_plain(text), PROSE_PX) > LEAD_LINES:
                shown = lead_sentence(" ".join(text.split("\n")))
            b.src, b.fixed_h = shown, prose_height(shown)
        elif kind in ("bullet_list", "ordered_list"):
            items = short_items(text)
            px = PROSE_PX if list_height(items) <= BUDGET - 2 * CONT_H else SMALL_PX  # a long list: smaller
            group: list[str] = []  # a list taller than a slide: in groups of items
            start = len(out)
            for item in items:
                if group and list_height([*group, item], px) > BUDGET - CONT_H - 20:
                    out.append(Block("list", "\n".join(group), ci, fragment, fixed_h=list_height(group, px)))
                    group = []
                group.append(item)
            if group:
                out.append(Block("list", "\n".join(group), ci, fragment, fixed_h=list_height(group, px)))
            for b in out[start:] if px == SMALL_PX else []:
                b.cls = "small"
            continue
        elif kind in ("fence", "code_block"):
            m = re.match(r"\s*(`{3,}|~{3,})\s*(\{[\w:-]+\}|[\w+-]*)\s*(.*)", text)
            lang = m.group(2) if m else ""
            body = re.sub(r"^\s*(`{3,}|~{3,}).*\n?", "", text)
            body = re.sub(r"\n?\s*(`{3,}|~{3,})\s*$", "", body)
            if lang.startswith("{glue"):  # a glue directive: the glued output itself
                data = ctx.glue.get(m.group(3).strip())
                if data is not None:
                    out.extend(
                        output_blocks(
                            nbformat.from_dict({"output_type": "display_data", "data": data, "metadata": {}}),
                            ci,
                            fragment,
                            {},
                        )
                    )
                continue
            if lang.startswith("{"):  # other MyST directives (admonitions, ...): the notes
                continue
            b.kind, b.src, b.lang = "code", body, lang or "text"
        elif kind == "table":
            rows = text.strip().splitlines()
            head, body = rows[:2], rows[2:]
            ncols = head[0].strip().strip("|").count("|") + 1
            head_h = _row_height(head[0], ncols) + 12
            group = []
            for row in body:
                used = head_h + sum(_row_height(r, ncols) for r in group)
                if group and used + _row_height(row, ncols) > BUDGET - CONT_H - 20:
                    out.append(Block("table", "\n".join(head + group), ci, fragment, fixed_h=used))
                    group = []
                group.append(row)
            used = head_h + sum(_row_height(r, ncols) for r in group)
            out.append(Block("table", "\n".join(head + group), ci, fragment, fixed_h=used))
            continue
        elif kind == "html_block":
            b.kind, b.src, b.fixed_h = "html", text, prose_height(_plain(text))
        else:  # blockquote, hr, ...: the notes
            continue
        if b.kind == "prose" and out and out[-1].kind in ("table", "list"):
            b.md_start = True  # a paragraph after a table or a list: a new thought
        out.append(b)
    return out


def output_blocks(out, ci: int, fragment: bool, meta: dict) -> list[Block]:
    """Rule 3/4 for one output of a code cell."""
    data = out.get("data", {})
    if out.output_type == "stream" or (data and set(data) <= {"text/plain"}):
        text = out.text if out.output_type == "stream" else data["text/plain"]
        text = text.rstrip("\n")
        if not text.strip():
            return []
        cls = "output stderr" if out.get("name") == "stderr" else "output"
        return [Block("out", text, ci, fragment, cls=cls)]
    if out.output_type == "error":
        text = "\n".join(out.get("traceback", [])[-1:]) or f"{out.ename}: {out.evalue}"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        return [Block("out", text, ci, fragment, cls="output stderr")]
    if "image/png" in data or "image/svg+xml" in data or "image/jpeg" in data:
        if "image/png" in data:
            uri = "data:image/png;base64," + data["image/png"].replace("\n", "")
        elif "image/jpeg" in data:
            uri = "data:image/jpeg;base64," + data["image/jpeg"].replace("\n", "")
        else:
            svg = data["image/svg+xml"]
            svg = svg if isinstance(svg, str) else "".join(svg)
            uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        mystnb = meta.get("mystnb", {})
        alt = (mystnb.get("image", {}) or {}).get("alt") or (mystnb.get("figure", {}) or {}).get("caption")
        b = Block("img", "", ci, fragment, uri=uri, nat=image_size(data), alt=alt or "figure")
        b.img_h = img_min_h(b)
        return [b]
    if "text/markdown" in data:
        md = data["text/markdown"]
        md = md if isinstance(md, str) else "".join(md)
        fence = re.fullmatch(r"\s*(`{3,})\s*([\w+-]*)\n(.*?)\n?\1\s*", md, re.S)
        if fence:  # printed source (book.show_source): code, condensed like code
            return [Block("code", fence.group(3), ci, fragment, lang=fence.group(2) or "text")]
        rows = md.count("\n") + 1
        return [Block("md_out", md, ci, fragment, fixed_h=rows * PROSE_PX * 1.5 + 20)]
    if "text/html" in data:
        return [Block("html", f'<div class="output">{data["text/html"]}</div>', ci, fragment, fixed_h=200)]
    return []


# --------------------------------------------------------------------------------------- layout
def _total(blocks: list[Block]) -> float:
    return sum(b.height() for b in blocks)


def fit(blocks: list[Block], budget: float) -> None:
    """Rule 3: shrink code, outputs and figures (in that order) until ``blocks`` fit ``budget``;
    then let the figures grow into the room left."""
    for b in blocks:
        if b.kind in ("code", "out"):
            b.limit = CODE_LINES if b.kind == "code" else OUT_LINES
        if b.kind in ("img", "pair"):
            b.img_h = img_min_h(b)
    steps = (("code", CODE_LINES, CODE_MIN), ("out", OUT_LINES, OUT_MIN), ("draws", CODE_MIN, CODE_FIG))
    for kind, top, low in steps:
        for limit in range(top, low - 1, -1):
            if _total(blocks) <= budget:
                break
            for b in blocks:
                if b.kind == kind or (kind == "draws" and b.kind == "code" and b.draws):
                    b.limit = min(b.limit or limit, limit)
    imgs = [b for b in blocks if b.kind in ("img", "pair")]
    for _ in range(3):
        spare = budget - _total(blocks)
        if spare <= 1 or not imgs:
            break
        for b in imgs:
            b.img_h = min(img_max_h(b), b.img_h + spare / len(imgs))


def split(blocks: list[Block], budget: float) -> list[tuple[bool, list[Block]]]:
    """Rule 3: the blocks of one notebook slide on as few slides as their smallest sizes allow, as
    (continued, blocks). A cut goes before a Markdown cell (a new idea: a sub-slide that is no
    continuation) when one is near; else between cells, never between code and its output, never
    after a heading or a colon ("（续）")."""
    chunks: list[tuple[bool, list[Block]]] = [(False, [])]
    used = 0.0
    for b in blocks:
        cap = budget - (CONT_H if len(chunks) > 1 else 0)
        h = b.min_height()
        cur = chunks[-1][1]
        if cur and used + h > cap:
            cut = None
            for j in range(len(cur), 0, -1):  # the latest idea boundary whose tail fits a new slide
                start = cur[j] if j < len(cur) else b
                if start.md_start and not cur[j - 1].sticky and any(x.kind != "head" for x in cur[:j]):
                    if sum(x.min_height() for x in cur[j:]) + h <= budget - CONT_H:
                        cut = j
                        break
            if cut is not None:
                carry, continued = cur[cut:], False
                del cur[cut:]
            else:
                carry, continued = [], True
                while cur and (
                    cur[-1].sticky
                    or (
                        b.kind in ("out", "img")
                        and cur[-1].cell == b.cell
                        and cur[-1].kind in ("code", "out")
                    )
                    or (not carry and cur[-1].cell == b.cell and b.kind in ("prose", "list", "table", "math"))
                ):
                    carry.insert(0, cur.pop())
                    if len(carry) > 3:
                        break
                if not cur or sum(x.min_height() for x in carry) + h > budget - CONT_H:
                    cur.extend(carry)  # nothing left to leave behind: cut right here
                    carry = []
            chunks.append((continued, carry))
            used = sum(x.min_height() for x in carry)
        chunks[-1][1].append(b)
        used += h
    return [(c, ch) for c, ch in chunks if ch]


@dataclass
class Context:
    heading: str = ""
    glue: dict = field(default_factory=dict)
    published: set = field(default_factory=set)
    nb_dir: Path | None = None


def _prose_of(cells, idxs) -> list[str]:
    return [cells[i].source for i in idxs if cells[i].cell_type == "markdown"]


def _question(texts: list[str]) -> str:
    for t in texts:
        for q in re.findall(r"[^。！？\n]*?(?:？|\?)", _strip_math(t)):
            q = _plain(q).strip(" -*：:")
            if 6 <= _width_em(q, 0.55) <= 60 and "http" not in q:
                return q
    return ""


def slide_notes(slide: list[Block], unit: list[int], cells, deck_heading: str, says: list[str]) -> str:
    """Rule 7: what to say, what to point at, and a question for the room."""
    slide = [x for b in slide for x in (b.sub if b.kind == "pair" else [b])]
    on = list(dict.fromkeys(b.cell for b in slide if b.cell >= 0))
    md_cells = [i for i in on if cells[i].cell_type == "markdown"]
    say = [cells[i].slide_src for i in md_cells]
    if not say:  # code only (a continuation): the prose of the same notebook slide
        near = [i for i in unit if cells[i].cell_type == "markdown"]
        after = [i for i in near if on and i > max(on)]
        before = [i for i in near if on and i < min(on)]
        pick = ([before[-1]] if before else []) + ([after[0]] if after else [])
        say = [cells[i].slide_src for i in pick] or [f"接着讲「{deck_heading}」。"]
    say = says + say
    point: list[str] = []
    ask = ""
    for i in on:
        meta = cells[i].metadata.get("slides", {})
        if meta.get("point"):
            point.append(meta["point"])
        ask = ask or meta.get("ask", "")
    for b in slide:
        if b.kind == "code" and b.cell >= 0 and cells[b.cell].cell_type == "code":
            shown = b.shown()
            for line in shown.splitlines():
                m = re.match(r"\s*(\S.*?)\s+#\s*(.+)$", line)
                if m and len(point) < 4 and "⋯" not in line:
                    point.append(f"`{m[1].strip()}`：{m[2].strip()}")
            total = len(b.src.strip("\n").splitlines())
            if "⋯" in shown:
                point.append(f"幻灯片上只有这段代码的关键行；完整的单元（{total} 行）在网页上。")
        elif b.kind == "out":
            last = b.src.strip().splitlines()[-1].strip()
            point.append(f"输出的最后一行：`{last[:80]}`")
            if "omitted" in b.shown():
                point.append("输出只显示了开头和结尾，完整输出在网页上。")
        elif b.kind == "img":
            point.append(f"图：{b.alt}")
    ask = ask or _question(say)
    if not ask:
        code = [b for b in slide if b.kind == "code" and cells[b.cell].cell_type == "code"]
        outs = [b for b in slide if b.kind in ("out", "img")]
        if code and outs:
            last = [ln for ln in code[-1].src.strip().splitlines() if ln.strip()][-1].strip()
            ask = f"先别看结果：请大家预测 `{last[:70]}` 会得到什么，为什么？"
        elif any(b.kind == "img" for b in slide):
            ask = "这张图里你先注意到什么？它支持上面的说法吗？"
        elif code:
            ask = "这段代码的哪一行最关键？把它删掉会怎样？"
        else:
            lead = next((b.src for b in slide if b.kind in ("prose", "list")), deck_heading)
            ask = f"请一位同学用自己的话复述：{_plain(lead_sentence(' '.join(lead.split())))[:80]}"
    parts = ["**讲 (say)**\n\n" + "\n\n".join(s for s in say if s.strip())]
    if point:
        parts.append("**指 (point at)**\n\n" + "\n".join(f"- {p}" for p in point))
    parts.append(f"**问 (ask the room)**：{ask}")
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------ decks
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


def _hidden(cell) -> bool:
    tags = set(cell.metadata.get("tags", []))
    return bool(tags & HIDE_CELL) or slide_type(cell) == "skip" or is_setup(cell)


def _h2(cell) -> str:
    m = re.search(r"^##\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
    return m[1].strip() if m else ""


def _first_paragraph(md: str) -> str:
    return next((t for k, t, _ in md_blocks(md) if k == "paragraph" and not t.startswith("$$")), "")


def _links_html(stem: str) -> str:
    ln = chapter_links(stem)
    return (
        '<p class="links">'
        f'<a href="{ln["web"]}">网页版 (web chapter)</a> · '
        f'<a href="{ln["colab"]}">在 Colab 中打开 (open in Colab)</a> · '
        f'<a href="{ln["pdf"]}">PDF 讲义 (handout)</a> · '
        f'<a href="{ln["notes_pdf"]}">带讲稿的讲义 (handout with notes)</a></p>'
    )


LINKS_H = 2 * SMALL_PX * PROSE_LH + 14


def _fit_items(items: list[str], room: float, px: float, width: float) -> tuple[list[str], list[str]]:
    shown: list[str] = []
    for item in items:
        if list_height([*shown, item], px, width) > room:
            break
        shown.append(item)
    return shown, items[len(shown) :]


def _cells_between(cells, start: int) -> list[int]:
    """The cells of the ``##`` section that starts at ``start`` (up to the next ``##`` heading)."""
    out = [start]
    for i in range(start + 1, len(cells)):
        if _h2(cells[i]) or re.match(r"^#\s", cells[i].source):
            break
        out.append(i)
    return out


def build_deck(nb, pdf_name: str, stem: str | None = None, nb_dir: Path | None = None) -> list[Slide]:
    """The slides of a notebook, in order: title, agenda, the sections, closing."""
    stem = stem or pdf_name.removesuffix(".pdf")
    cells = nb.cells
    published = {p.stem for p in deck_notebooks()}
    ctx = Context(glue=glue_outputs(nb), published=published, nb_dir=nb_dir)
    for c in cells:  # what a slide shows of each Markdown cell (glue and links resolved)
        if c.cell_type == "markdown":
            src = re.sub(r"(?m)^%.*(?:\n|$)", "", c.source)  # MyST comments (e.g. % not-measured:)
            src = render_glue(src, ctx.glue, nb_dir)
            src = re.sub(r'<a href="[^"]*\.(?:slides\.html|pdf)"[^>]*>.*?</a>[ ·|]*', "", src)
            c.slide_src = fix_links(src, published)
        else:
            c.slide_src = c.source
    title_i = next(
        (i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.match(r"^#\s", c.source)), None
    )
    goals_i = next((i for i, c in enumerate(cells) if GOALS in _h2(c)), None)
    summary = next((i for i, c in enumerate(cells) if SUMMARY in _h2(c) and not _hidden(c)), None)
    exercises = next((i for i, c in enumerate(cells) if EXERCISES in _h2(c) and not _hidden(c)), None)
    consumed = set()
    for i in (summary, exercises, goals_i):
        if i is not None:
            consumed.update(_cells_between(cells, i))
    intro_end = goals_i if goals_i is not None else (title_i + 1 if title_i is not None else 0)
    intro = [i for i in range(intro_end) if not _hidden(cells[i])]
    consumed.update(i for i in intro if cells[i].cell_type == "markdown")

    slides: list[Slide] = []
    # 1. title
    title = re.match(r"^#\s+(.+)$", cells[title_i].source, re.M)[1].strip() if title_i is not None else stem
    tblocks = [Block("html", f"<h1>{html.escape(_plain(title))}</h1>", fixed_h=head_height(title, 1))]
    sub = (
        next((t for k, t, _ in md_blocks(cells[title_i].slide_src) if k == "paragraph"), "")
        if title_i is not None
        else ""
    )
    if sub:
        sub = close_colon(lead_sentence(" ".join(sub.split())))
        tblocks.append(Block("prose", sub, fixed_h=prose_height(sub)))
    left: list[str] = []
    if goals_i is not None:
        items = [
            it
            for k, t, _ in md_blocks(cells[goals_i].slide_src)
            if k.endswith("list")
            for it in short_items(t, SMALL_PX)
        ]
        room = BUDGET - sum(b.fixed_h for b in tblocks) - LINKS_H - head_height("x", 3)
        shown, left = _fit_items(items, room, SMALL_PX, TEXT_W)
        tblocks.append(Block("html", "<h3>学习目标 (learning goals)</h3>", fixed_h=head_height("x", 3)))
        tblocks.append(
            Block(
                "html",
                f'<div class="small">{render_md(chr(10).join(shown))}</div>',
                fixed_h=list_height(shown, SMALL_PX),
            )
        )
    tblocks.append(Block("html", _links_html(stem), fixed_h=LINKS_H))
    intro_md = [cells[i].slide_src for i in intro if cells[i].cell_type == "markdown"]
    goals_md = [cells[i].slide_src for i in ([goals_i] if goals_i is not None else [])]
    q = _question(intro_md) or "开场先问：看完这一页的学习目标，哪一条你现在就能做到？哪一条最想学会？"
    t_notes = "**讲 (say)**\n\n" + "\n\n".join(intro_md + goals_md)
    if left:
        t_notes += f"\n\n（幻灯片上列出了前 {len(shown)} 条目标，其余 {len(left)} 条见上。）"
    t_notes += f"\n\n**问 (ask the room)**：{q}"
    slides.append(Slide(False, kind="title", blocks=tblocks, notes=[t_notes]))

    # 2. agenda
    sections = [
        i
        for i, c in enumerate(cells)
        if _h2(c) and not _hidden(c) and i not in consumed and slide_type(c) in ("slide", "-")
    ]
    names = [re.sub(r"^\d+(\.\d+)*\.?\s+", "", _plain(_h2(cells[i]))).strip() for i in sections]
    if names:
        body = "<ol>" + "".join(f"<li>{html.escape(name)}</li>" for name in names) + "</ol>"
        room = BUDGET - head_height("x", 2)
        for ncol, px in ((1, PROSE_PX), (2, PROSE_PX), (2, SMALL_PX), (3, SMALL_PX)):
            width = TEXT_W / ncol
            rows = math.ceil(len(names) / ncol)
            h = rows * (max(_text_lines(n, px, width - 100) for n in names) * px * PROSE_LH + 4) + 40
            if h <= room or ncol == 3:
                break
        cls = f"agenda cols{ncol}" + (" small" if px == SMALL_PX else "")
        ablocks = [
            Block("html", "<h2>本章内容 (agenda)</h2>", fixed_h=head_height("x", 2)),
            Block("html", f'<div class="{cls}">{body}</div>', fixed_h=h),
        ]
        say = f"本章分 {len(names)} 部分：\n\n" + "\n".join(
            f"{n}. **{name}**" + (f" —— {lead}" if lead else "")
            for n, (i, name) in enumerate(zip(sections, names), 1)
            for lead in [lead_sentence(" ".join(_first_paragraph(cells[i].slide_src).split()))]
        )
        a_notes = f"**讲 (say)**\n\n{say}\n\n**指 (point at)**\n\n- 讲到每一部分时回到这一页，指出现在在哪里。\n\n**问 (ask the room)**：这些题目里，哪一个你已经听说过？它解决什么问题？"
        slides.append(Slide(False, kind="agenda", blocks=ablocks, notes=[a_notes]))

    # 3. the sections
    units: list[tuple[bool, list[int]]] = []  # (vertical, cell indexes)
    for i, c in enumerate(cells):
        if _hidden(c) or i in consumed:
            continue
        kind = slide_type(c)
        if c.cell_type == "code":
            tags = set(c.metadata.get("tags", []))
            has_out = not (tags & HIDE_OUTPUT) and any(
                o.output_type != "stream" or o.text.strip() for o in c.get("outputs", [])
            )
            if (tags & HIDE_INPUT or not c.source.strip()) and not has_out:
                continue
        if kind in ("slide", "subslide") or c.metadata.get("slides", {}).get("new_slide") or not units:
            units.append((kind != "slide" and bool(units), []))
        units[-1][1].append(i)
    for vertical, unit in units:
        blocks: list[Block] = []
        pending_notes: list[str] = []
        for i in unit:
            c = cells[i]
            fragment = slide_type(c) == "fragment"
            if slide_type(c) == "notes":
                pending_notes.append(c.slide_src)
                continue
            if c.cell_type == "markdown":
                mb = markdown_blocks(c.slide_src, i, fragment, ctx)
                if mb:
                    mb[0].md_start = True
                blocks.extend(mb)
                continue
            tags = set(c.metadata.get("tags", []))
            if not tags & HIDE_INPUT and c.source.strip():
                lines = c.metadata.get("slides", {}).get("lines", "")
                blocks.append(Block("code", c.source, i, fragment, author_lines=str(lines) if lines else ""))
            if not tags & HIDE_OUTPUT:
                for out in c.get("outputs", []):
                    blocks.extend(output_blocks(out, i, fragment, c.metadata))
            if any(b.kind == "img" and b.cell == i for b in blocks):
                for b in blocks:
                    if b.kind == "code" and b.cell == i:
                        b.draws = True
        k = 0
        while k + 1 < len(blocks):  # a figure no wider than tall-ish sits beside the code drawing it
            code, fig = blocks[k], blocks[k + 1]
            if code.kind == "code" and fig.kind == "img" and code.cell == fig.cell and not code.spoken:
                if fig.nat[0] <= PAIR_ASPECT * fig.nat[1]:
                    pair = Block("pair", "", code.cell, code.fragment, nat=fig.nat, sub=[code, fig])
                    pair.img_h = img_min_h(pair)
                    blocks[k : k + 2] = [pair]
            k += 1
        if not blocks:
            if pending_notes and slides:
                slides[-1].notes.append("\n\n".join(pending_notes))
            continue
        heading = ctx.heading
        if blocks[0].kind != "head" and heading:
            blocks.insert(0, Block("head", heading, cls="ctx", fixed_h=ctx_height(heading)))
        fit(blocks, BUDGET)
        # a remark on a result (the prose right after an output or figure) is said, not shown, when
        # the slide is full: the last one first
        for k in range(len(blocks) - 1, 0, -1):
            if sum(b.min_height() for b in blocks) <= BUDGET:
                break
            b = blocks[k]
            if b.kind == "prose" and blocks[k - 1].kind in ("out", "img") and not b.sticky:
                b.spoken = True
        if any(b.spoken for b in blocks):
            fit(blocks, BUDGET)
        chunks = [(False, blocks)] if _total(blocks) <= BUDGET else split(blocks, BUDGET)
        last = chunks[-1][1]
        if len(chunks) > 1 and all(b.kind == "prose" and b.cell >= 0 for b in last):
            chunks.pop()  # a closing remark that does not fit: said from the notes (rule 2), not shown
        for k, (continued, chunk) in enumerate(chunks):
            if k:
                label = f"{heading}（续）" if continued else heading
                if continued or chunk[0].kind != "head":
                    cls = "cont" if continued else "ctx"
                    chunk.insert(0, Block("head", label, cls=cls, fixed_h=ctx_height(label)))
            fit(chunk, BUDGET)
            notes = slide_notes(chunk, unit, cells, heading, pending_notes if k == 0 else [])
            kind = "cont" if continued else "body"
            slides.append(Slide(vertical or k > 0, kind=kind, blocks=chunk, notes=[notes], heading=heading))

    # 4. closing
    cblocks = [Block("html", "<h2>小结与练习 (summary and exercises)</h2>", fixed_h=head_height("x", 2))]
    room = BUDGET - cblocks[0].fixed_h - LINKS_H - head_height("x", 4)
    col_w = TEXT_W / 2 - 20
    cols, c_notes, left_over = [], [], 0
    for i, label in ((summary, "小结 (summary)"), (exercises, "练习 (exercises)")):
        if i is None:
            continue
        sec = [
            j for j in _cells_between(cells, i) if not _hidden(cells[j]) and cells[j].cell_type == "markdown"
        ]
        items = []
        for j in sec:
            for k, t, _ in md_blocks(cells[j].slide_src):
                if k.endswith("list"):
                    for item in _list_items(t):
                        one = " ".join(item.split())
                        bold = re.match(r"^((?:[-*+]|\d+[.)])\s+)\*\*(.+?)\*\*", one)
                        items.append(
                            f"{bold[1]}**{bold[2].rstrip('：:')}**"
                            if bold and i == exercises
                            else lead_sentence(one)
                        )
                elif k == "paragraph" and i == exercises and re.match(r"^\*\*", t):
                    items.append("- " + lead_sentence(" ".join(t.split())))
        shown, rest = _fit_items(items, room, SMALL_PX, col_w)
        left_over += len(rest)
        cols.append(f'<div><h4>{label}</h4><div class="small">{render_md(chr(10).join(shown))}</div></div>')
        c_notes.extend(cells[j].slide_src for j in sec)
    if cols:
        cblocks.append(
            Block("html", f'<div class="cols">{"".join(cols)}</div>', fixed_h=room + head_height("x", 4))
        )
    cblocks.append(Block("html", _links_html(stem), fixed_h=LINKS_H))
    cn = "**讲 (say)**\n\n" + "\n\n".join(c_notes or ["回顾本章。"])
    if left_over:
        cn += f"\n\n（幻灯片上放不下的 {left_over} 条见上。）"
    cn += "\n\n**指 (point at)**\n\n- 练习的参考答案在网页版里（折叠着）；Colab 链接可以直接运行本章。"
    cn += "\n\n**问 (ask the room)**：小结里哪一条你还不能用自己的话解释？先做哪个练习？"
    slides.append(Slide(False, kind="closing", blocks=cblocks, notes=[cn]))

    for s in slides:
        shown = [b for b in s.blocks if not b.spoken]
        s.parts = [b.render(last=k == len(shown) - 1) for k, b in enumerate(shown)]
        s.used = _total(s.blocks)
    return slides


def expected_slide_count(nb) -> int:
    """How many slides and sub-slides the deck of ``nb`` has (what reveal.js reports as its total)."""
    return len(build_deck(nb, "handout.pdf"))


def render_deck(slides: list[Slide], title: str, handout: bool = False) -> str:
    """The deck's page; ``handout``: each slide framed, its notes printed under it (the notes PDF)."""
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
            cls = f' class="{s.kind}"' if s.kind != "body" else ""
            if handout:
                inner.append(
                    f'<section{cls}><div class="frame">{"".join(s.parts)}</div>'
                    f'<div class="hnotes">{notes}</div></section>'
                )
            else:
                notes = f'<aside class="notes">{notes}</aside>' if notes else ""
                inner.append(f"<section{cls}>\n{''.join(s.parts)}\n{notes}</section>")
        sections.append(inner[0] if len(inner) == 1 else "<section>\n" + "\n".join(inner) + "\n</section>")
    page = TEMPLATE.read_text(encoding="utf-8")
    css = _FORMATTER.get_style_defs(".hl")
    return (
        page.replace("{{title}}", html.escape(title))
        .replace("{{pygments_css}}", css)
        .replace("{{width}}", str(WIDTH))
        .replace("{{height}}", str(HANDOUT_H if handout else HEIGHT))
        .replace("{{html_class}}", "handout" if handout else "deck")
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
  const R = window.Reveal;
  while (!R.isReady() || window.deckReady === false) await new Promise(r => setTimeout(r, 50));
  window.__R = R;
  if (window.MathJax && MathJax.Hub) await new Promise(r => MathJax.Hub.Queue(r));  // a MathJax 2 deck
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
      const inMath = el.closest('mjx-container, .MathJax_CHTML, .MJXc-display, .MathJax_Preview');
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


METRICS = """() => {
  // what a lecturer sees: per leaf slide, continuation, notes, how it ends, figures, links
  const R = window.__R, scale = R.getScale(), res = [];
  const blockSel = 'pre, img, table, p, li, h1, h2, h3, h4, h5, h6, mjx-container, .output';
  for (const s of R.getSlides()) {
    const ix = R.getIndices(s);
    R.slide(ix.h, ix.v, Infinity);
    const notes = s.querySelector('aside.notes');
    const heads = [...s.querySelectorAll('h1, h2, h3, h4')].filter(h => !h.closest('aside.notes'));
    const cont = heads.some(h => h.textContent.includes('（续）'));
    const blocks = [...s.querySelectorAll(blockSel)].filter(e => !e.closest('aside.notes') &&
      !e.parentElement.closest('pre, mjx-container, table, li, p') && e.getBoundingClientRect().height > 0);
    const last = blocks[blocks.length - 1];
    let lastText = '';
    if (last && /^(P|LI|H[1-6])$/.test(last.tagName)) {
      const c = last.cloneNode(true);
      c.querySelectorAll('mjx-container').forEach(m => m.replaceWith('x'));
      lastText = c.textContent.trim();
    }
    const figs = [...s.querySelectorAll('img.plot')].map(img => {
      const r = img.getBoundingClientRect(), nw = img.naturalWidth || 1, nh = img.naturalHeight || 1;
      const w = Math.min(r.width, r.height * nw / nh) / scale, h = w * nh / nw;
      return [w * h / (1280 * 720), h];
    });
    const links = [...s.querySelectorAll('a[href]')].filter(a => !a.closest('aside.notes'))
      .map(a => a.getAttribute('href'));
    const noteLinks = notes ? [...notes.querySelectorAll('a[href]')].map(a => a.getAttribute('href')) : [];
    const clone = s.cloneNode(true);
    clone.querySelectorAll('mjx-container, .MathJax_CHTML, script').forEach(m => m.remove());
    res.push({cont, notes: notes ? notes.textContent.trim().length : 0, last: lastText.slice(-40),
              dangling: /[:：]$/.test(lastText), figs, links, note_links: noteLinks,
              text: clone.textContent});
  }
  R.slide(0, 0);
  return res;
}"""


def measure_deck(browser, deck: Path) -> dict:
    """Open ``deck`` at 1280x720 offline and measure every slide: the fit (content height, horizontal
    overflow) and what a lecturer needs (continuations, notes, dangling colons, figures, links)."""
    page = offline_page(browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(deck.as_uri())
    page.evaluate(WAIT_READY)
    slides = page.evaluate(MEASURE)
    lecture = page.evaluate(METRICS)
    notes = page.evaluate("() => document.querySelectorAll('.slides aside.notes').length")
    page.close()
    for s, m in zip(slides, lecture, strict=True):
        s["overflow"] = s["height"] > s["frame"] or bool(s["wide"])
        s.update(m)
    return {"slides": slides, "errors": errors, "remote": page.remote, "notes": notes}


def broken_links(deck: Path, links: list[str], site: Path) -> list[str]:
    """Relative links of ``deck`` (as if it lay in ``site``/slides) to files that do not exist there,
    and links to notebooks (``.ipynb``), which the site does not publish."""
    bad = []
    here = site / "slides"
    for link in links:
        path = link.split("#")[0].split("?")[0]
        if re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I):
            if path.endswith(".ipynb") and "colab.research.google.com" not in link and "/blob/" not in link:
                bad.append(link)
            continue
        if not path:
            continue
        target = (here / path).resolve()
        if path.endswith(".ipynb") or not (target.exists() or (deck.parent / path).exists()):
            bad.append(link)
    return bad


def deck_metrics(m: dict, deck: Path, site: Path) -> dict:
    """The figures a lecturer's deck is judged by (see the module docstring)."""
    s = m["slides"]
    stem = deck.name.removesuffix(".slides.html")
    want = chapter_links(stem)
    # a figure is large enough when it covers a quarter of the frame, or, if it is too tall and narrow
    # for that (a graph), when it is at least FULL_H (60 % of the frame) high
    figs = [area >= 0.25 or h >= FULL_H for x in s for area, h in x["figs"]]
    ends = (s[0], s[-1]) if s else ()
    return {
        "slides": len(s),
        "continuations": sum(x["cont"] for x in s),
        "with_notes": sum(x["notes"] > 0 for x in s),
        "dangling": [f"{i + 1}: …{x['last']}" for i, x in enumerate(s) if x["dangling"]],
        "figures": len(figs),
        "figures_small": sum(not ok for ok in figs),
        "linked_first_last": all(want["web"] in x["links"] and want["colab"] in x["links"] for x in ends)
        and bool(ends),
        "broken": broken_links(deck, [ln for x in s for ln in x["links"] + x["note_links"]], site),
        "overflow": sum(x["overflow"] for x in s),
    }


def handout_fonts_missing(text: str) -> list[str]:
    """Characters of ``text`` that no installed font has (they would print as boxes)."""
    have = _installed_glyphs()
    return sorted({ch for ch in text if ord(ch) > 127 and not ch.isspace() and ord(ch) not in have})


@functools.cache
def _installed_glyphs() -> frozenset[int]:
    import subprocess

    from fontTools.ttLib import TTCollection, TTFont

    have: set[int] = set()
    files = subprocess.run(["fc-list", "--format", "%{file}\\n"], capture_output=True, text=True).stdout
    for f in sorted(set(files.split())):
        try:
            fonts = TTCollection(f).fonts if f.endswith(".ttc") else [TTFont(f, lazy=True)]
            for font in fonts:
                have.update(font.getBestCmap() or {})
        except Exception:  # noqa: BLE001 - a font fontTools cannot read: skip it
            continue
    return frozenset(have)


def render_pdfs(
    decks: list[Path], handouts: dict[Path, Path] | None = None, counts: dict[Path, int] | None = None
) -> None:
    """A PDF beside every deck (reveal's print view) and, from ``handouts`` (deck -> its notes page),
    ``NN_name.notes.pdf``: each slide with its speaker notes under it."""
    from playwright.sync_api import sync_playwright

    handouts, counts = handouts or {}, counts or {}
    with sync_playwright() as p:
        browser = launch(p)
        for deck in decks:
            for page_file, pdf in (
                (deck, deck.with_name(deck.name.replace(".slides.html", ".pdf"))),
                (handouts.get(deck), deck.with_name(deck.name.replace(".slides.html", ".notes.pdf"))),
            ):
                if page_file is None:
                    continue
                for attempt in range(3):  # the print view may be laid out after reveal says ready
                    page = offline_page(browser)
                    page.goto(page_file.as_uri() + "?print-pdf")
                    page.evaluate(WAIT_READY)
                    total = counts.get(deck, 0)
                    page.wait_for_timeout(500 * (attempt + 1))
                    tmp = pdf.with_suffix(".part")
                    page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
                    page.close()
                    if page.remote:
                        sys.exit(f"slides: {page_file.name} asked the network for {page.remote[:3]}")
                    pages = len(re.findall(rb"/Type\s*/Page\b", tmp.read_bytes()))
                    if pages == total or not total:
                        break
                    print(f"slides: {pdf.name}: {pages} pages for {total} slides, printing again")
                tmp.replace(pdf)
        browser.close()


def build(out_dir: Path, pdf: bool = True, only: list[str] | None = None) -> list[Path]:
    if not (VENDOR / "reveal.js").is_dir() or not (VENDOR / "mathjax" / "tex-chtml-full.js").is_file():
        sys.exit("slides: vendored JavaScript missing or old; run `python tools/vendor.py` (make book does).")
    if not (VENDOR / "reveal.js" / "plugin" / "notes" / "notes.js").is_file():
        sys.exit("slides: reveal.js's notes plugin is missing; run `python tools/vendor.py` again.")
    t0 = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / "vendor").exists():
        shutil.rmtree(out_dir / "vendor")
    shutil.copytree(VENDOR, out_dir / "vendor")
    written, handouts, counts = [], {}, {}
    for nb_path in deck_notebooks():
        if only and nb_path.stem not in only:
            continue
        nb = nbformat.read(nb_path, as_version=4)
        slides = build_deck(nb, f"{nb_path.stem}.pdf", nb_path.stem, nb_path.parent)
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
        target = out_dir / f"{nb_path.stem}.slides.html"
        for path, body in ((target, render_deck(slides, title)),):
            tmp = path.with_suffix(".part")
            tmp.write_text(body, encoding="utf-8")
            tmp.replace(path)
        written.append(target)
        counts[target] = len(slides)
        if pdf:
            hpage = out_dir / f".{nb_path.stem}.handout.html"  # only to print the notes PDF
            hpage.write_text(render_deck(slides, title, handout=True), encoding="utf-8")
            handouts[target] = hpage
        n_notes = sum(bool(s.notes) for s in slides)
        n_cont = sum(s.kind == "cont" for s in slides)
        print(f"slides: {target.name} ({len(slides)} slides, {n_cont} continued, {n_notes} with notes)")
    if pdf:
        if chromium() is None:
            print("slides: no Chromium, PDF handouts NOT built (tools/ensure_system_deps.sh installs it)")
        else:
            t1 = time.time()
            try:
                render_pdfs(written, handouts, counts)
            finally:
                for h in handouts.values():
                    h.unlink(missing_ok=True)
            print(f"slides: {2 * len(written)} PDF handouts in {time.time() - t1:.1f} s")
    print(f"slides: done in {time.time() - t0:.1f} s -> {out_dir}")
    return written


def metrics(out_dir: Path, site: Path | None = None) -> int:
    """Print, per deck, the figures of the module docstring; exit status 1 if a deck misses one."""
    from playwright.sync_api import sync_playwright

    site = site or out_dir.parent
    rows, fail = [], 0
    with sync_playwright() as p:
        browser = launch(p)
        for deck in sorted(out_dir.glob("*.slides.html")):
            m = deck_metrics(measure_deck(browser, deck), deck, site)
            rows.append((deck.name.removesuffix(".slides.html"), m))
        browser.close()
    print("deck                      slides  cont   notes  colon  figs<1/4  chapter+colab  broken  overflow")
    tot = dict.fromkeys(("slides", "continuations", "with_notes", "figures", "figures_small", "overflow"), 0)
    for name, m in rows:
        for k in tot:
            tot[k] += m[k]
        ok = (
            m["continuations"] <= 0.15 * m["slides"]
            and m["with_notes"] == m["slides"]
            and not m["dangling"]
            and m["figures_small"] <= 0.2 * m["figures"]
            and m["linked_first_last"]
            and not m["broken"]
            and not m["overflow"]
        )
        fail += not ok
        print(
            f"{name:<25} {m['slides']:>6} {m['continuations']:>4} ({m['continuations'] / max(1, m['slides']):4.0%})"
            f" {m['with_notes']:>4}  {len(m['dangling']):>4}   {m['figures_small']:>2}/{m['figures']:<3}"
            f"    {'yes' if m['linked_first_last'] else 'no':>5}      {len(m['broken']):>4}  {m['overflow']:>5}"
            f"  {'' if ok else 'FAIL'}"
        )
        for d in m["dangling"][:3]:
            print(f"    ends on a colon: slide {d}")
        for b in m["broken"][:3]:
            print(f"    broken link: {b}")
    n = max(1, tot["slides"])
    print(
        f"total: {tot['slides']} slides, {tot['continuations']} continued ({tot['continuations'] / n:.0%}), "
        f"notes on {tot['with_notes']} ({tot['with_notes'] / n:.0%}), "
        f"{tot['figures_small']}/{tot['figures']} figures under a quarter of the frame, "
        f"{tot['overflow']} overflow"
    )
    return 1 if fail else 0


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
    flags = [a for a in args if a.startswith("--")]
    names = [a for a in args if not a.startswith("--")]
    target = Path(names[0] if names else ROOT / "_build" / "html" / "slides").resolve()
    if "--check" in flags:
        sys.exit(check(target))
    if "--metrics" in flags:
        sys.exit(metrics(target, ROOT / "_build" / "html"))
    build(target, pdf="--no-pdf" not in flags, only=names[1:] or None)
