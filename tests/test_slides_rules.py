"""The rules of tools/slides.py on small made-up notebooks (no browser): what is hidden, how code and
output are condensed, what goes to the speaker notes, the deck's structure, links, glue."""

import nbformat
import slides
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def cell(c, kind="-", tags=(), **meta):
    c.metadata["slideshow"] = {"slide_type": kind}
    c.metadata["tags"] = list(tags)
    c.metadata.update(meta)
    return c


def chapter(*cells):
    """A notebook with a title, learning goals, the given cells, a summary and exercises."""
    return new_notebook(
        cells=[
            cell(new_markdown_cell("# 标题 (Title)\n\n这一章讲一件事，足够长才算一句完整的话。"), "slide"),
            cell(
                new_markdown_cell("## 学习目标 (learning goals)\n\n- 目标一：会做第一件事；\n- 目标二。"),
                "slide",
            ),
            *cells,
            cell(new_markdown_cell("## 小结 (summary)\n\n- 第一条小结。\n- 第二条小结。"), "slide"),
            cell(new_markdown_cell("## 练习 (exercises)\n\n1. **第一题**：做点什么。"), "slide"),
            cell(new_code_cell("SOLUTION_CODE = 1"), "skip", ["solution", "hide-input"]),
        ]
    )


def deck_of(nb, stem="01_tensors"):
    return slides.build_deck(nb, f"{stem}.pdf", stem)


def test_hidden_cells_and_inputs():
    nb = chapter(
        cell(new_markdown_cell("## 一节 (a section)"), "slide"),
        cell(new_code_cell("SETUP_CELL = 1"), "skip", ["remove-cell"]),
        cell(new_code_cell("assert CHECK_CELL"), "skip", ["remove-input"]),
        cell(
            new_code_cell("HIDDEN_INPUT = 3", outputs=[new_output("stream", name="stdout", text="SHOWN\n")]),
            "-",
            ["hide-input"],
        ),
    )
    page = slides.render_deck(deck_of(nb), "t")
    for hidden in ("SETUP_CELL", "SOLUTION_CODE", "CHECK_CELL", "HIDDEN_INPUT"):
        assert hidden not in page
    assert "SHOWN" in page and 'href="01_tensors.pdf"' in page and 'href="01_tensors.notes.pdf"' in page


def test_title_agenda_sections_closing_and_links():
    nb = chapter(
        cell(new_markdown_cell("## 第一节 (one)\n\n第一节的第一句话，足够长才算一句话。"), "slide"),
        cell(new_markdown_cell("## 第二节 (two)\n\n第二节的第一句话，足够长才算一句话。"), "slide"),
    )
    deck = deck_of(nb)
    assert [s.kind for s in deck] == ["title", "agenda", "body", "body", "closing"]
    title, agenda, closing = "".join(deck[0].parts), "".join(deck[1].parts), "".join(deck[-1].parts)
    assert "目标一" in title and "目标二" in title
    assert "第一节 (one)" in agenda and "第二节 (two)" in agenda and "学习目标" not in agenda
    assert "第一条小结" in closing and "第一题" in closing and "SOLUTION_CODE" not in closing
    links = slides.chapter_links("01_tensors")
    url, branch = slides.repository()
    assert links["colab"] == (
        "https://colab.research.google.com/github/"
        f"{url.removeprefix('https://github.com/')}/blob/{branch}/chapters/01_tensors.ipynb"
    )
    for s in (deck[0], deck[-1]):
        assert f'href="{links["web"]}"' in "".join(s.parts) and f'href="{links["colab"]}"' in "".join(s.parts)
    assert links["web"] == "../chapters/01_tensors.html"
    assert all(s.notes and "问 (ask the room)" in s.notes[0] for s in deck)


def test_unpublished_links_are_rewritten():
    published = {"01_tensors", "01b_tensor_memory"}
    md = '见 [内存](01b_tensor_memory.ipynb#strides) 和 <a href="01_tensors.ipynb">x</a>，[源码](../book/env.py)。'
    out = slides.fix_links(md, published)
    assert "](../chapters/01b_tensor_memory.html#strides)" in out
    assert 'href="../chapters/01_tensors.html"' in out
    url, branch = slides.repository()
    assert f"]({url}/blob/{branch}/book/env.py)" in out
    assert ".ipynb" not in out


def test_glue_is_filled_in_from_the_stored_outputs():
    glue_out = new_output(
        "display_data",
        data={"application/papermill.record/text/plain": "0.98765"},
        metadata={"scrapbook": {"name": "acc", "mime_prefix": "application/papermill.record/"}},
    )
    shown_out = new_output(
        "display_data",
        data={"text/plain": "'LeNet'"},
        metadata={"scrapbook": {"name": "model", "mime_prefix": ""}},
    )
    nb = chapter(
        cell(new_code_cell("glue('acc', acc, display=False)", outputs=[glue_out]), "skip", ["remove-cell"]),
        cell(new_code_cell("glue('model', 'LeNet')", outputs=[shown_out]), "skip", ["remove-cell"]),
        cell(
            new_markdown_cell(
                "## 结果 (result)\n\n准确率是 {glue:text}`acc:.2%`，小数是 {glue:text}`acc:.3f`，模型 {glue}`model`。"
            ),
            "slide",
        ),
    )
    deck = deck_of(nb)
    body = "".join(deck[2].parts)
    assert "准确率是 98.77%，小数是 0.988，模型 LeNet。" in body
    assert "{glue" not in slides.render_deck(deck, "t")
    assert "98.77%" in deck[2].notes[0]  # the notes say the same number


def test_code_and_output_stay_together_and_long_code_is_condensed():
    long_code = "\n".join(
        [f"# 注释 {i}" for i in range(5)] + [f"z{i} = {i}  # 第 {i} 行" for i in range(40)] + ["print(z39)"]
    )
    out = new_output("stream", name="stdout", text="\n".join(f"line {i}" for i in range(60)) + "\n")
    nb = chapter(
        cell(new_markdown_cell("## 代码 (code)\n\n下面这个单元打印很多行："), "slide"),
        cell(new_code_cell(long_code, outputs=[out]), "-"),
    )
    deck = deck_of(nb)
    body = [s for s in deck if s.kind in ("body", "cont")]
    assert len(body) == 1, "code and its output fit one slide once condensed"
    page = "".join(body[0].parts)
    assert "print" in page and "line 0" in page and "line 59" in page
    assert "lines: full cell on the website" in page and "lines omitted" in page
    assert all(s.used <= slides.BUDGET + 1 for s in deck)
    assert "完整的单元" in body[0].notes[0]  # the notes say what was left off


def test_author_chooses_the_lines_and_the_question():
    code = "\n".join(f"a{i} = {i}" for i in range(1, 31))
    nb = chapter(
        cell(new_markdown_cell("## 选行 (chosen lines)"), "slide"),
        cell(new_code_cell(code), "-", slides={"lines": "2-3,30", "ask": "为什么只看这三行？"}),
    )
    deck = deck_of(nb)
    page = "".join(deck[2].parts)
    assert "a2" in page and "a3" in page and "a30" in page and "a10" not in page
    assert "26 lines: full cell on the website" in page
    assert "为什么只看这三行？" in deck[2].notes[0]


def test_no_slide_ends_on_a_colon():
    nb = chapter(
        cell(new_markdown_cell("## 冒号 (colon)\n\n下面的单元在网页上运行，这里不显示："), "slide"),
        cell(new_code_cell("x = 1"), "skip", ["remove-cell"]),
    )
    deck = deck_of(nb)
    page = "".join(deck[2].parts)
    assert "这里不显示。" in page and "这里不显示：" not in page
    assert slides.close_colon("见下：**") == "见下。**"


def test_figures_fill_the_room():
    import base64
    import struct
    import zlib

    def png(w, h):
        raw = b"".join(b"\x00" + b"\xff" * (w * 3) for _ in range(h))
        chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
        ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
        data = (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )
        return base64.b64encode(data).decode()

    fig = new_output("display_data", data={"image/png": png(320, 240), "text/plain": "<Figure>"})
    nb = chapter(
        cell(new_markdown_cell("## 图 (figure)"), "slide"),
        cell(new_code_cell("plt.plot(x)", outputs=[fig]), "-", mystnb={"image": {"alt": "a small curve"}}),
    )
    deck = deck_of(nb)
    img = next(b for b in deck[2].blocks if b.kind == "img")
    assert img.nat == (320.0, 240.0)
    w, h = img.nat[0] * img.img_h / img.nat[1], img.img_h
    assert w * h >= slides.QUARTER, "a small figure is enlarged to at least a quarter of the frame"
    assert 'alt="a small curve"' in "".join(deck[2].parts)
    assert "图：a small curve" in deck[2].notes[0]


def test_long_output_keeps_head_and_tail():
    text = "\n".join(f"epoch {i}: loss {1 / (i + 1):.4f}" for i in range(100))
    shown = slides.truncate(text, 12)
    lines = shown.splitlines()
    assert len(lines) <= 12
    assert lines[0] == "epoch 0: loss 1.0000" and lines[-1] == "epoch 99: loss 0.0100"
    assert f"⋯ {100 - (len(lines) - 1)} lines omitted (full output on the website) ⋯" in lines
    assert slides.truncate("a\nb", 12) == "a\nb"


def test_lead_sentence():
    assert slides.lead_sentence(
        "1. **MSE 还是 BCE？** 在同一个网络上比较两种损失的收敛速度。更多。"
    ).endswith("收敛速度。")
    assert slides.lead_sentence("用 `a.b()` 和 $x.y$ 都不算句号，这里才是真正的第一句。后面").endswith(
        "第一句。"
    )


def test_real_notebooks_build():
    for path in slides.deck_notebooks():
        deck = slides.build_deck(
            nbformat.read(path, as_version=4), f"{path.stem}.pdf", path.stem, path.parent
        )
        assert deck[0].kind == "title" and deck[-1].kind == "closing", path.name
        assert all(s.used <= slides.BUDGET + 1 for s in deck), path.name
        assert all(s.notes for s in deck), path.name


def test_any_notebook_builds_a_deck():
    """A chapter without learning goals, summary or exercises (a new one, say) still gets a full deck."""
    nb = new_notebook(
        cells=[
            cell(
                new_markdown_cell("# 新的一章 (a new chapter)\n\n只有一句话的介绍，也要足够长才算一句。"),
                "slide",
            ),
            cell(new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")]), "-"),
        ]
    )
    deck = deck_of(nb, "09_new")
    assert deck[0].kind == "title" and deck[-1].kind == "closing"
    assert any("print" in "".join(s.parts) for s in deck)
    assert 'href="../chapters/09_new.html"' in "".join(deck[-1].parts)
    assert all(s.notes for s in deck)


def test_myst_comment_lines_are_not_shown():
    nb = chapter(
        cell(
            new_markdown_cell("## 结果 (result)\n\n初始值是 0.5。\n% not-measured: 0.5\n"),
            "slide",
        ),
    )
    deck = deck_of(nb)
    html = slides.render_deck(deck, "t")
    assert "初始值是 0.5" in html and "not-measured" not in html
