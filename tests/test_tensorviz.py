"""book.tensorviz: the storage/stride arithmetic it shows must be PyTorch's own."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from book import tensorviz as tv  # noqa: E402


def test_row_major_strides_match_contiguous_tensors():
    for shape in [(3, 4), (2, 3, 4), (5,), (), (4, 1, 3), (2, 0, 3)]:
        assert tv.row_major_strides(shape) == torch.empty(shape).stride()


def test_storage_indices_follow_offset_and_strides():
    x = torch.arange(12).view(3, 4)
    assert torch.equal(tv.storage_indices(x), x)  # arange: value == storage index
    for view in [x.t(), x[1:, ::2], x[:, 1], x[2], torch.arange(3).expand(4, 3), x.flip(0).t().contiguous()]:
        assert torch.equal(tv.storage_values(view)[tv.storage_indices(view)], view)
        assert tv.storage_indices(view).shape == view.shape


def test_storage_values_shares_memory():
    x = torch.zeros(2, 3)
    s = tv.storage_values(x.t())
    assert s.shape == (6,) and tv.same_storage(s, x)
    s[4] = 7.0
    assert x[1, 1].item() == 7.0


def test_same_storage_views_and_copies():
    x = torch.arange(6.0).view(2, 3)
    assert tv.same_storage(x, x.t()) and tv.same_storage(x, x[:, 1:])
    assert not tv.same_storage(x, x.clone()) and not tv.same_storage(x, x[[0, 1]])


def test_describe():
    assert tv.describe(torch.arange(12).view(3, 4).t()) == (
        "shape=(4, 3) stride=(1, 4) offset=0 contiguous=False storage=12 elements"
    )


@pytest.mark.parametrize("a,b", [((3, 1), (4,)), ((2, 1, 5), (3, 1)), ((), (2, 2)), ((4, 3), (3,))])
def test_explain_broadcast_agrees_with_torch(a, b):
    text = tv.explain_broadcast(a, b)
    assert text.splitlines()[-1].endswith(str(tuple(torch.broadcast_shapes(a, b))))


def test_explain_broadcast_reports_errors():
    text = tv.explain_broadcast((2, 3), (3, 2))
    assert "error" in text and text.endswith("not broadcastable")
    with pytest.raises(RuntimeError):
        torch.broadcast_shapes((2, 3), (3, 2))


def test_drawings():
    x = torch.arange(12.0).view(3, 4)
    ax = tv.draw_layout(x.t())
    assert len(ax.patches) == 12 + 12  # grid cells + storage cells
    fig = tv.draw_layouts({"x": x, "row": x[1], "expanded": torch.arange(3).expand(2, 3)})
    assert len(fig.axes) == 3 and fig.axes[2].get_title(loc="left") == "expanded"
    fig = tv.draw_broadcast(torch.arange(3).view(3, 1), torch.arange(4))
    assert len(fig.axes) == 3 and all(len(a.patches) == 12 for a in fig.axes)
    with pytest.raises(ValueError):
        tv.draw_layout(torch.zeros(2, 2, 2))
