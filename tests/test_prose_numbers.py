"""A measured number in the prose is glued from its cell, a quoted one names its source: the check that
`tools/nbtool.py check` runs over every markdown cell."""

import nbtool


def flagged(md: str) -> list[str]:
    return nbtool.unglued_numbers(nbtool._strip_not_prose(md))


def test_a_typed_measurement_is_flagged():
    assert flagged("LeNet 的测试准确率是 98.4%，损失 0.052。") == ["98.4%", "0.052"]


def test_glued_cited_coded_and_mathematical_numbers_pass():
    assert flagged("准确率 {glue:text}`acc:.2%`，高于 MLP。") == []
    assert flagged("讲义中的 98.4% 是 60,000 张图训练的结果。") == []
    assert flagged("见 [He et al.](https://arxiv.org/abs/1512.03385) 的 3.57% top-5 error。") == []
    assert flagged("调用 `optim.SGD(lr=0.1)`，$\\sigma(0) = 0.5$。") == []
    assert flagged("Python 3.11 与 torch 2.14；见 5.1 节。\n## 5.2 卷积") == []


def test_integers_pass_and_constants_listed_in_a_comment_pass():
    assert flagged("两层，每层 128 个单元，1998 年。") == []
    md = "初始化在 0.5 附近，误差 3.3%。\n% not-measured: 0.5"
    assert flagged(md) == ["3.3%"]


def test_the_comment_line_is_not_prose():
    assert nbtool.NOT_MEASURED.search("% not-measured: 0.5 100%")
    assert flagged("% not-measured: 0.5") == []


def test_a_glue_key_without_a_stored_output_is_reported(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("准确率 {glue:text}`acc:.2%`。")])
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert any("glue key 'acc' has no stored output" in e for e in nbtool.check(path))
