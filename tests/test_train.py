"""The resumable Trainer of book/trainer.py: exact resume, checkpoints, schedules, early stopping."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from book import train
from book import trainer as tr
from book.trainer import Interrupted, TrainConfig, Trainer


class FlipDataset(torch.utils.data.Dataset):
    """Small images whose augmentation (random flip + noise) draws from the global torch RNG,
    and a little numpy/python randomness too: resume must restore all of them."""

    def __init__(self, n=96, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 3, (n,), generator=g)
        self.X = torch.randn(n, 1, 8, 8, generator=g) + self.y.view(-1, 1, 1, 1).float()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        x = self.X[i]
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        x = x + 0.01 * float(np.random.rand()) + 0.01 * random.random()
        return x, self.y[i]


def small_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    )


def run(tmp_path, schedule, stop_after=None, name="run"):
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    cfg = TrainConfig(
        epochs=3,
        batch_size=20,
        lr=0.05,
        schedule=schedule,
        verbose=False,
        progress=False,
        seed=1,
        label_smoothing=0.1,
    )
    t = Trainer(small_net(), FlipDataset(), FlipDataset(40, seed=1), cfg, ckpt_dir=tmp_path / name)
    if stop_after is not None:
        with pytest.raises(Interrupted):
            t.fit(stop_after=stop_after)
        # scramble every RNG, as a fresh process would have them, then resume in a NEW trainer
        torch.manual_seed(123)
        np.random.seed(123)
        random.seed(123)
        t = Trainer(small_net(), FlipDataset(), FlipDataset(40, seed=1), cfg, ckpt_dir=tmp_path / name)
        t.fit()
    else:
        t.fit()
    return t


@pytest.mark.parametrize("schedule,k", [("onecycle", 7), ("cosine", 5), ("none", 10)])
def test_resume_is_bit_identical(tmp_path, schedule, k):
    # 96 samples / batch 20 = 5 steps per epoch; k=7 stops inside epoch 2, k=5 and 10 at an epoch's end
    ref = run(tmp_path, schedule, name="ref")
    res = run(tmp_path, schedule, stop_after=k, name="resumed")
    a, b = ref.model.state_dict(), res.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert ref.history == res.history
    assert ref.optimizer.param_groups[0]["lr"] == res.optimizer.param_groups[0]["lr"]


def test_interrupted_run_differs_without_resume(tmp_path):
    """Guard against a vacuous test: restarting from scratch after the stop does change the weights
    when the RNGs are not restored (different shuffling noise), so equality above is meaningful."""
    ref = run(tmp_path, "none", name="ref")
    torch.manual_seed(123)
    cfg = TrainConfig(
        epochs=3, batch_size=20, lr=0.05, verbose=False, progress=False, seed=2, label_smoothing=0.1
    )
    other = Trainer(small_net(), FlipDataset(), FlipDataset(40, seed=1), cfg)
    other.fit()
    assert not torch.equal(ref.model[0].weight, other.model[0].weight)


def test_checkpoint_is_weights_only_and_atomic(tmp_path):
    t = run(tmp_path, "onecycle", name="c")
    files = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert files == ["best.pt", "last.pt"]  # no temporary files left behind
    state = tr.load_checkpoint(tmp_path / "c" / "last.pt")  # weights_only=True inside
    assert state["position"]["epoch"] == 3 and state["position"]["global_step"] == 15
    assert set(state["rng"]) >= {"torch", "numpy", "python"}
    best = torch.load(tmp_path / "c" / "best.pt", weights_only=True)
    assert best.keys() == t.model.state_dict().keys()
    i_best = int(np.argmax(t.history["val_acc"]))
    assert t.best_acc == t.history["val_acc"][i_best]


def test_save_atomic_keeps_old_file_when_save_fails(tmp_path, monkeypatch):
    path = tmp_path / "x.pt"
    tr.save_atomic({"a": torch.ones(2)}, path)

    def boom(obj, f):
        open(f, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        tr.save_atomic({"a": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_schedules_step_per_batch():
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.1, schedule="cosine", verbose=False, progress=False)
    t = Trainer(small_net(), FlipDataset(64), None, cfg)
    t.fit()
    assert t.global_step == 8
    assert t.optimizer.param_groups[0]["lr"] < 1e-6  # cosine annealed to zero after the last batch
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.1, schedule="onecycle", verbose=False, progress=False)
    t = Trainer(small_net(), FlipDataset(64), None, cfg)
    lrs = []
    for _ in range(8):
        lrs.append(t.optimizer.param_groups[0]["lr"])
        t.optimizer.step()
        t.scheduler.step()
    assert max(lrs) > 5 * lrs[0] and lrs.index(max(lrs)) not in (0, 7)  # warm-up then anneal


def test_early_stopping_and_history(tmp_path):
    cfg = TrainConfig(
        epochs=50,
        batch_size=32,
        lr=0.0,
        momentum=0.0,
        weight_decay=0.0,
        patience=2,
        verbose=False,
        progress=False,
    )
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))  # no BatchNorm: nothing changes without lr
    val = FlipDataset(32, seed=3)
    val = torch.utils.data.TensorDataset(val.X, val.y)  # no random flips: the val accuracy cannot move
    t = Trainer(model, FlipDataset(64), val, cfg, ckpt_dir=tmp_path)
    hist = t.fit()
    # lr=0: the weights never change, so val acc never improves after epoch 1: stop after 1 + patience
    assert t.stopped_early and len(hist["val_acc"]) == 3
    assert all(len(v) == 3 for v in hist.values())
    assert list(hist) == ["train_loss", "train_acc", "val_loss", "val_acc", "lr"]  # as train.fit, plus lr


def test_per_class_metrics():
    preds = torch.tensor([0, 1, 1, 2, 2, 2])
    labels = torch.tensor([0, 1, 2, 2, 2, 0])
    cm = train.confusion_matrix(preds, labels, 3)
    assert cm.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    assert torch.allclose(train.per_class_accuracy(cm), torch.tensor([0.5, 1.0, 2 / 3], dtype=torch.double))


def test_epoch_sampler_skips_exactly():
    full = tr.EpochSampler(10, seed=3, epoch=2).order()
    assert sorted(full) == list(range(10))
    assert list(tr.EpochSampler(10, seed=3, epoch=2, start=4)) == full[4:]
    assert full != tr.EpochSampler(10, seed=3, epoch=3).order()
    assert list(tr.EpochSampler(5, 0, 0, shuffle=False)) == [0, 1, 2, 3, 4]


def test_batch_transforms_on_device_resume_exactly(tmp_path):
    """uint8 images + augmentation on whole batches (the fast-CIFAR recipe) through the Trainer."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (60,), generator=g)
    X = (torch.rand(60, 1, 8, 8, generator=g) * 80 + 50 * y.view(-1, 1, 1, 1)).to(torch.uint8)
    train_set = torch.utils.data.TensorDataset(X, y)
    seen = []

    def augment(x):  # draws from the global RNG: checkpoints must restore it
        seen.append(x.dtype)
        return x.float() / 255 + 0.05 * torch.randn(x.shape)

    def normalise(x):
        return x.float() / 255

    def make():
        cfg = TrainConfig(
            epochs=2, batch_size=16, lr=0.05, schedule="onecycle", verbose=False, progress=False
        )
        net = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
        return Trainer(
            net,
            train_set,
            train_set,
            cfg,
            ckpt_dir=tmp_path / f"r{len(seen)}",
            batch_transform=augment,
            eval_transform=normalise,
        )

    torch.manual_seed(5)
    ref = make()
    ref_dir = ref.ckpt_dir
    ref.fit()
    assert seen and set(seen) == {torch.uint8}  # the transform got the raw batches, on the device
    torch.manual_seed(5)
    t = make()
    with pytest.raises(Interrupted):
        t.fit(stop_after=5)
    torch.manual_seed(99)
    t2 = Trainer(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 3)),
        train_set,
        train_set,
        t.cfg,
        ckpt_dir=t.ckpt_dir,
        batch_transform=augment,
        eval_transform=normalise,
    )
    t2.fit()
    assert ref_dir != t.ckpt_dir
    assert ref.history == t2.history
    assert torch.equal(ref.model[1].weight, t2.model[1].weight)
    # evaluation normalised the uint8 batches on the device, as a manual pass does
    manual = train.evaluate(t2.model, [(normalise(X), y)])
    assert t2.evaluate() == pytest.approx(manual, rel=1e-6)
