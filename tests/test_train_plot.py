import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from book import plot, train  # noqa: E402
from book.data import make_spiral  # noqa: E402


def test_fit_learns_spiral_and_records_history():
    torch.manual_seed(0)
    X, y = make_spiral(200, 3)
    ds = torch.utils.data.TensorDataset(X, y)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    hist = train.fit(model, loader, loader, nn.CrossEntropyLoss(), opt, epochs=30, verbose=False)
    assert list(hist) == ["train_loss", "train_acc", "val_loss", "val_acc"]  # the order used everywhere
    assert all(len(v) == 30 for v in hist.values())
    assert hist["val_loss"][-1] < hist["val_loss"][0]
    assert hist["val_acc"][-1] > 0.9


def test_accuracy():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert abs(train.accuracy(logits, torch.tensor([0, 1, 1])) - 2 / 3) < 1e-6


def test_plots_draw_something():
    axes = plot.plot_history({"train_loss": [3, 2, 1], "val_loss": [3, 2.5, 2], "val_acc": [0.1, 0.5, 0.7]})
    assert len(axes) == 2 and len(axes[0].lines) == 2
    fig = plot.show_images(torch.rand(5, 3, 8, 8), titles=list("abcde"), nrow=4)
    assert len(fig.axes) == 8 and fig.axes[0].get_title() == "a"
    X, y = make_spiral(20, 2)
    ax = plot.plot_decision_boundary(lambda g: (g[:, 0] > 0).long(), X, y, steps=20)
    assert len(ax.collections) >= 2
    ax = plot.plot_confusion_matrix([[5, 1], [2, 8]], ["a", "b"])
    assert len(ax.texts) == 4
    matplotlib.pyplot.close("all")
