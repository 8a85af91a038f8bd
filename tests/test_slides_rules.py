"""The rules of tools/slides.py on small made-up notebooks (no browser): what is hidden, how code and
output are cut, what goes to the speaker notes."""

import nbformat
import slides
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output


def cell(c, kind="-", tags=()):
    c.metadata["slideshow"] = {"slide_type": kind}
    c.metadata["tags"] = list(tags)
    return c


def html_of(nb):
    return slides.render_deck(slides.build_deck(nb, "x.pdf"), "t")


def test_hidden_cells_and_inputs():
    nb = new_notebook(
        cells=[
            cell(new_markdown_cell("# Title"), "slide"),
            cell(new_code_cell("SETUP_CELL = 1"), "skip", ["remove-cell"]),
            cell(new_code_cell("SOLUTION_CODE = 2"), "skip", ["solution", "hide-input"]),
            cell(new_code_cell("assert CHECK_CELL"), "skip", ["remove-input"]),
            cell(
                new_code_cell(
                    "HIDDEN_INPUT = 3", outputs=[new_output("stream", name="stdout", text="SHOWN\n")]
                ),
                "-",
                ["hide-input"],
            ),
        ]
    )
    page = html_of(nb)
    for hidden in ("SETUP_CELL", "SOLUTION_CODE", "CHECK_CELL", "HIDDEN_INPUT"):
        assert hidden not in page
    assert "SHOWN" in page and 'href="x.pdf"' in page


def test_long_code_is_split_at_top_level_blank_lines():
    funcs = [
        f"def f{i}(x):\n" + "".join(f"    x = x + {j}\n" for j in range(6)) + "    return x\n"
        for i in range(4)
    ]
    code = "\n\n".join(funcs)
    parts = slides.split_code(code)
    assert len(parts) > 1
    assert all(slides._code_lines(p) <= slides.CODE_LINES for p in parts)
    assert all(p.startswith("def f") for p in parts)  # never in the middle of a function
    assert [ln for p in parts for ln in p.splitlines() if ln.strip()] == [
        ln for ln in code.splitlines() if ln.strip()
    ]
    # no blank line at all: cut by count, nothing lost
    flat = "\n".join(f"y{i} = {i}" for i in range(40))
    parts = slides.split_code(flat)
    assert "\n".join(parts) == flat and all(slides._code_lines(p) <= slides.CODE_LINES for p in parts)


def test_long_output_keeps_head_and_tail():
    text = "\n".join(f"epoch {i}: loss {1 / (i + 1):.4f}" for i in range(100))
    shown = slides.truncate(text, 12)
    lines = shown.splitlines()
    assert len(lines) <= 12
    assert lines[0] == "epoch 0: loss 1.0000" and lines[-1] == "epoch 99: loss 0.0100"
    omitted = 100 - (len(lines) - 1)
    assert f"⋯ {omitted} lines omitted (full output on the website) ⋯" in lines
    assert slides.truncate("a\nb", 12) == "a\nb"


def test_prose_moves_to_notes_and_slides_stay_in_budget():
    long_para = "第一句话说明要点，足够长才算一句完整的话。" + "这里是更多的解释。" * 40
    nb = new_notebook(
        cells=[
            cell(new_markdown_cell(f"## 标题\n\n{long_para}\n\n第二段只在讲稿里。"), "slide"),
            cell(new_code_cell("\n".join(f"z{i} = {i}" for i in range(60))), "-"),
            cell(
                new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="x\n" * 300)]),
                "fragment",
            ),
        ]
    )
    deck = slides.build_deck(nb, "x.pdf")
    assert len(deck) > 3  # code and output continued on sub-slides
    assert all(s.vertical for s in deck[1:])
    assert all(s.used <= slides.BUDGET for s in deck)
    first = "".join(deck[0].parts)
    assert "第一句话说明要点，足够长才算一句完整的话。" in first and "这里是更多的解释" not in first
    assert "第二段只在讲稿里" not in first
    assert "这里是更多的解释" in deck[0].notes[0] and "第二段只在讲稿里" in deck[0].notes[0]
    page = slides.render_deck(deck, "t")
    assert page.count('<aside class="notes">') == 1
    assert "lines omitted" in page and 'class="fragment"' in page


def test_lead_sentence():
    assert slides.lead_sentence(
        "1. **MSE 还是 BCE？** 在同一个网络上比较两种损失的收敛速度。更多。"
    ).endswith("收敛速度。")
    assert slides.lead_sentence("用 `a.b()` 和 $x.y$ 都不算句号，这里才是真正的第一句。后面").endswith(
        "第一句。"
    )


def test_real_notebooks_build():
    import nbtool

    for path in nbtool.chapter_notebooks():
        deck = slides.build_deck(nbformat.read(path, as_version=4), f"{path.stem}.pdf")
        assert deck and all(s.used <= slides.BUDGET + 1 for s in deck), path.name
