"""Sphinx extension for the book's website (registered in _config.yml, `sphinx: local_extensions`).

- **Chinese search that finds words.** Sphinx's zh index is segmented by jieba (反向传播 -> 反向 + 传播) but
  the query typed in the box is not, so compound terms found nothing. The search page now searches the
  text itself: at build time every page's sections (anchor, title, paragraphs, code) are written to
  ``searchdata.js`` beside ``searchindex.js``; ``_ext/static/book-search.js`` matches each query word
  as a substring (no segmentation needed), falls back to a greedy longest-match segmentation of the
  query over the index's own terms when a word occurs nowhere verbatim, ranks pages (title, headings,
  occurrences), and shows the matching paragraph as the snippet. Everything is local: no fetch(), which
  a ``file://`` copy of the site would refuse.
- jieba also learns the book's compound terms (``zh_terms.txt``), so Sphinx's own index holds them too.
- **No live code.** Jupyter Book always loads sphinx_thebe, which declares ``THEBE_JS_URL`` twice (a
  JavaScript error on every page) and points at unpkg.com; the book has no kernel to run code against,
  so its hooks and assets are removed here.
- **Run it yourself.** A "本地运行 (run locally)" entry in every notebook's launch menu, leading to the
  generated page ``run-locally.html`` (clone, install, open in Jupyter). JupyterHub / Binder buttons come
  from ``launch_buttons`` in _config.yml and are off while their URL is empty.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TERMS = HERE / "zh_terms.txt"
DATA_JS = "searchdata.js"
CACHE = "book_search"  # folder under the doctree dir: one JSON per page, kept across incremental builds
MAX_CODE = 2000  # characters kept per code block or output (enough for API names and messages)
RUN_LOCALLY = "run-locally"

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ no live code (Thebe)
def _remove_thebe(app):
    """Disconnect sphinx_thebe's event handlers and drop its CSS: nothing of it reaches a page."""
    for listeners in app.events.listeners.values():
        for listener in list(listeners):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)
    app.registry.css_files[:] = [c for c in app.registry.css_files if "thebe" not in c[0]]
    app.registry.js_files[:] = [j for j in app.registry.js_files if "thebe" not in str(j[0])]


# ------------------------------------------------------------------------------ search data
CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
CJK_BREAK = re.compile(f"(?<=[{CJK}])\\s+(?=[{CJK}])")


def _clean(text):
    """One line; no space between two Chinese characters (a line break of the source), so that a term
    split across source lines (反向\\n传播) is still found, and snippets read as they should."""
    return CJK_BREAK.sub("", re.sub(r"\s+", " ", text)).strip()


def _text(node):
    """The text a reader sees: raw HTML inside a paragraph (a link written as <a href>) without its tags."""
    if isinstance(node, nodes.raw):
        return re.sub(r"<[^>]+>", " ", node.astext()) if "html" in node.get("format", "") else ""
    if isinstance(node, nodes.Text):
        return node.astext()
    return "".join(_text(child) for child in node.children)


def _is_code(node):
    return isinstance(node, (nodes.literal_block, nodes.doctest_block))


def _section_parts(section):
    """Paragraph texts and code texts that belong to this section itself (not its sub-sections)."""
    prose, code = [], []

    def visit(node):
        if isinstance(node, (nodes.section, nodes.title, nodes.raw, nodes.comment, nodes.image)):
            return
        if isinstance(node, nodes.Element) and "no-search" in node.get("classes", []):
            return
        if _is_code(node):
            text = node.astext().strip()
            if text:
                code.append(text[:MAX_CODE])
            return
        if isinstance(node, nodes.row):  # a table row reads as one line: term | English | meaning
            text = " | ".join(t for t in (_clean(_text(entry)) for entry in node.children) if t)
            if text:
                prose.append(text)
            return
        if isinstance(node, (nodes.paragraph, nodes.term, nodes.rubric, nodes.caption)):
            text = _clean(_text(node))
            if text:
                prose.append(text)
            return
        if isinstance(node, nodes.Text):  # text directly inside a container (table cells, lists)
            text = _clean(node.astext())
            if text:
                prose.append(text)
            return
        for child in node.children:
            visit(child)

    for child in section.children:
        visit(child)
    return prose, code


def _collect(app, doctree, docname):
    if app.builder.format != "html":
        return
    sections = []
    for section in doctree.findall(nodes.section):
        if not section["ids"]:
            continue
        title = section[0].astext() if isinstance(section[0], nodes.title) else ""
        prose, code = _section_parts(section)
        sections.append({"a": section["ids"][0], "t": _clean(title), "p": prose, "c": code})
    top_level = next(iter(doctree.findall(nodes.section)), None)
    if top_level is not None:  # the page's anchor for its first section is the page itself
        sections[0]["a"] = ""
    cache = Path(app.doctreedir) / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    record = {"doc": docname, "sections": sections}
    (cache / (docname.replace("/", "__") + ".json")).write_text(
        json.dumps(record, ensure_ascii=False), encoding="utf-8"
    )


def _write_search_data(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    cache = Path(app.doctreedir) / CACHE
    docs = []
    for docname in sorted(app.env.found_docs):
        path = cache / (docname.replace("/", "__") + ".json")
        if not path.is_file():
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        record["title"] = _clean(app.env.titles[docname].astext()) if docname in app.env.titles else ""
        docs.append(record)
    payload = json.dumps({"docs": docs}, ensure_ascii=False, separators=(",", ":"))
    Path(app.outdir, DATA_JS).write_text(f"BookSearch.setData({payload});\n", encoding="utf-8")


# ------------------------------------------------------------------------------ pages and buttons
def _search_page_assets(app, pagename, templatename, context, doctree):
    if pagename == "search":
        app.add_js_file("book-search.js")
        app.add_js_file(f"../{DATA_JS}")
        app.add_css_file("book-search.css")


def _run_locally_button(app, pagename, templatename, context, doctree):
    """Add "run locally" to the launch menu of every notebook page (the menu Colab is in)."""
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            group["buttons"].append(
                {
                    "type": "link",
                    "text": "本地运行 (run locally)",
                    "tooltip": "下载仓库并在自己的电脑上运行 (download and run it on your computer)",
                    "icon": "fa-solid fa-laptop-code",
                    "url": context["pathto"](RUN_LOCALLY),
                }
            )


def _run_locally_page(app):
    opts = app.config.html_theme_options
    repo = (opts.get("repository_url") or "").rstrip("/")
    branch = opts.get("repository_branch") or "main"
    name = repo.rsplit("/", 1)[-1] or "ai-programming-book"
    zip_url = f"{repo}/archive/refs/heads/{branch}.zip"
    body = f"""
<section id="run-locally">
<h1>在本地运行本书 (run the notebooks locally)</h1>
<p>打不开 Colab、没有网络，或者想用自己的电脑跑完整实验时，可以在本地运行每一章。
只下载一个 <code>.ipynb</code> 不够：笔记本会 <code>import book</code>（本书的 Python 包），
数据加载、图和练习的检查都在仓库里。所以要下载整个仓库。</p>
<ol>
<li><p><strong>下载仓库</strong>：<code>git clone {repo}</code>，或者下载 ZIP 压缩包
<a class="reference external" href="{zip_url}">{zip_url}</a> 并解压。</p></li>
<li><p><strong>安装</strong>（需要 Python 3.11）：在仓库根目录 <code>{name}/</code> 里运行</p>
<div class="highlight"><pre>python3.11 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/pip install -e .
.venv/bin/pip install jupyterlab</pre></div>
<p>Windows 上把 <code>.venv/bin/</code> 换成 <code>.venv\\Scripts\\</code>。有 <code>make</code> 时，
<code>make book</code> 会完成前三步并在本地构建这个网站。</p></li>
<li><p><strong>打开笔记本</strong>：<code>.venv/bin/jupyter lab chapters/</code>，
或者在 VS Code 里打开 <code>.ipynb</code> 并选择 <code>.venv</code> 的 Python 作为 Jupyter 内核。
每一页右上角的下载按钮 (<code>.ipynb</code>) 下载的就是 <code>chapters/</code> 里的同一个文件。</p></li>
<li><p><strong>数据</strong>：联网时第一次运行会自动下载 MNIST / CIFAR-10 到仓库的 <code>data/</code>；
离线时把课程的数据文件夹复制到 <code>data/</code>，或用环境变量 <code>BOOK_DATA_DIR</code> 指向它。</p></li>
<li><p><strong>模式</strong>：没有 GPU 时笔记本自动用 quick 模式（小数据、少轮数，几分钟跑完）；
有 CUDA GPU 时用 full 模式。第一个输出会写明当前模式和设备。</p></li>
</ol>
</section>
"""
    # a line break inside a Chinese sentence would show as a space
    body = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef])\n(?=[^\s<])", "", body)
    body = re.sub(r"\n(?=[\u3000-\u9fff\uff00-\uffef])", "", body)
    yield RUN_LOCALLY, {"title": "在本地运行 (run locally)", "body": body}, "page.html"


def _config_inited(app, config):
    options = dict(config.html_search_options or {})
    if TERMS.is_file() and not options.get("dict"):
        options["dict"] = str(TERMS)
    config.html_search_options = options


def _builder_inited(app):
    if app.builder.format == "html":
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    _remove_thebe(app)
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _builder_inited)
    app.connect("doctree-resolved", _collect)
    app.connect("build-finished", _write_search_data)
    app.connect("html-page-context", _search_page_assets)
    app.connect("html-page-context", _run_locally_button, priority=600)
    app.connect("html-collect-pages", _run_locally_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
