"""Faults and bad input of book.trainer (issue 13, findings 4, 6, 7): each fault is injected on purpose."""

import math
import subprocess
import sys
from dataclasses import asdict

import pytest
import torch
from torch import nn

from book import train
from book.trainer import (
    CheckpointError,
    Interrupted,
    NonFiniteLoss,
    TrainConfig,
    Trainer,
    clean_stale_temporaries,
    load_checkpoint,
)


class Blobs(torch.utils.data.Dataset):
    """Three Gaussian blobs in 2-D; ``poison_after`` items it returns NaN inputs (a corrupt sample)."""

    def __init__(self, n=48, seed=0, poison_after=None):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 3, (n,), generator=g)
        self.X = torch.randn(n, 2, generator=g) + 2 * self.y.view(-1, 1).float()
        self.poison_after, self.served = poison_after, 0

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        self.served += 1
        x = self.X[i]
        if self.poison_after is not None and self.served > self.poison_after:
            x = x * float("nan")
        return x, self.y[i]


def net(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def cfg(**kw):
    base = dict(epochs=3, batch_size=16, lr=0.05, verbose=False, progress=False)
    return TrainConfig(**{**base, **kw})


def interrupted_run(ckpt, **kw):
    torch.manual_seed(0)
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(**kw), ckpt_dir=ckpt)
    with pytest.raises(Interrupted):
        t.fit(stop_after=4)
    return t


# ----------------------------------------------------------------------------- finding 4: changed config
def test_checkpoint_stores_the_config(tmp_path):
    t = interrupted_run(tmp_path)
    assert load_checkpoint(tmp_path / "last.pt")["config"] == asdict(t.cfg)


@pytest.mark.parametrize(
    "change,field",
    [
        (dict(lr=0.1), "lr"),
        (dict(batch_size=8), "batch_size"),
        (dict(epochs=5), "epochs"),  # with OneCycle: the schedule's total steps change
        (dict(seed=1), "seed"),
    ],
)
def test_resume_refuses_an_incompatible_config(tmp_path, change, field):
    interrupted_run(tmp_path, schedule="onecycle")
    before = torch.load(tmp_path / "last.pt", weights_only=True)
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(schedule="onecycle", **change), ckpt_dir=tmp_path)
    with pytest.raises(CheckpointError, match=rf"{field}: .* in the checkpoint, .* now") as e:
        t.fit()
    msg = str(e.value)
    assert str(tmp_path / "last.pt") in msg and "resume=False" in msg and "another ckpt_dir" in msg
    after = torch.load(tmp_path / "last.pt", weights_only=True)
    assert after["position"] == before["position"]  # nothing was trained or overwritten
    # starting fresh works, and records the new config
    t.fit(resume=False)
    assert load_checkpoint(tmp_path / "last.pt")["config"][field] == change[field]


def test_resume_allows_harmless_changes(tmp_path):
    interrupted_run(tmp_path)  # schedule "none": more epochs simply train longer
    t = Trainer(
        net(), Blobs(), Blobs(24, seed=1), cfg(epochs=4, eval_batch_size=7, patience=3), ckpt_dir=tmp_path
    )
    hist = t.fit()
    assert t.global_step == 4 * 3 and len(hist["val_acc"]) == 4


# ----------------------------------------------------------------------------- finding 6: weak errors
def test_corrupted_and_truncated_checkpoints_name_the_path(tmp_path):
    interrupted_run(tmp_path)
    last = tmp_path / "last.pt"
    good = last.read_bytes()
    for bad in (good[: len(good) // 2], b"\x00garbage" * 10):
        last.write_bytes(bad)
        t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
        with pytest.raises(CheckpointError, match="cannot read the checkpoint") as e:
            t.fit()
        assert str(last) in str(e.value) and "start fresh" in str(e.value)


def test_best_pt_loaded_as_last_pt_is_a_clear_error(tmp_path):
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(epochs=1), ckpt_dir=tmp_path)
    t.fit()
    fresh = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(epochs=1))
    with pytest.raises(CheckpointError, match=r"best.pt holds only model weights .*load_best"):
        fresh.resume(tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="full Trainer checkpoint"):
        (tmp_path / "best.pt").write_bytes((tmp_path / "last.pt").read_bytes())
        t.load_best()


def test_another_architecture_is_refused_without_half_loading(tmp_path):
    interrupted_run(tmp_path)
    other = net(hidden=16)
    before = {k: v.clone() for k, v in other.state_dict().items()}
    t = Trainer(other, Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"another architecture: .*shapes \(e\.g\. 0\.bias") as e:
        t.fit()
    assert "model was left unchanged" in str(e.value)
    for k, v in other.state_dict().items():
        assert torch.equal(v, before[k]), k
    deeper = nn.Sequential(net(), nn.Linear(3, 3))
    with pytest.raises(CheckpointError, match="missing"):
        Trainer(deeper, Blobs(), None, cfg(), ckpt_dir=tmp_path).fit()


def test_degenerate_inputs_are_value_errors():
    empty = torch.utils.data.TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="val_set is empty: pass val_set=None"):
        Trainer(net(), Blobs(), empty, cfg())
    with pytest.raises(ValueError, match="train_set is empty"):
        Trainer(net(), empty, Blobs(), cfg())
    with pytest.raises(ValueError, match=r"batch_size=0.*1 or more"):
        cfg(batch_size=0)
    with pytest.raises(ValueError, match=r"eval_batch_size=0"):
        cfg(eval_batch_size=0)
    with pytest.raises(ValueError, match="schedule"):
        cfg(schedule="linear")
    with pytest.raises(ValueError, match="patience=2 needs a validation set"):
        Trainer(net(), Blobs(), None, cfg(patience=2))
    # the plain loop: an empty loader used to divide by zero
    empty_loader = torch.utils.data.DataLoader(empty, batch_size=4)
    with pytest.raises(ValueError, match="evaluation loader yielded no samples"):
        train.evaluate(net(), empty_loader)
    with pytest.raises(ValueError, match="training loader yielded no samples"):
        train.train_epoch(
            net(), empty_loader, nn.CrossEntropyLoss(), torch.optim.SGD(net().parameters(), 0.1)
        )
    with pytest.raises(ValueError, match="empty dataset"):
        train.predict(net(), empty)


def test_load_best_without_ckpt_dir_says_what_to_do(tmp_path):
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(epochs=1))
    t.fit()
    with pytest.raises(ValueError, match="no ckpt_dir.*ckpt_dir="):
        t.load_best()
    t2 = Trainer(net(), Blobs(), None, cfg(epochs=1), ckpt_dir=tmp_path)
    t2.fit()
    with pytest.raises(FileNotFoundError, match="val_set"):
        t2.load_best()


# ----------------------------------------------------------------------------- finding 7: nan, leftovers
def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    # 48 samples per epoch: the first epoch is clean, the second sees NaN inputs
    t = Trainer(net(), Blobs(poison_after=48), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
    with pytest.raises(
        NonFiniteLoss, match=r"loss is nan at epoch 2, step 1.*last.pt keeps.*on_nonfinite"
    ) as e:
        t.fit()
    assert str(tmp_path / "last.pt") in str(e.value)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["position"]["epoch"] == 1 and state["position"]["global_step"] == 3
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert all(torch.isfinite(p).all() for p in t.model.parameters())  # stopped before the bad update


def test_nonfinite_loss_can_be_let_through(tmp_path):
    t = Trainer(
        net(), Blobs(poison_after=48), Blobs(24, seed=1), cfg(on_nonfinite="continue"), ckpt_dir=tmp_path
    )
    hist = t.fit()
    assert len(hist["train_loss"]) == 3 and math.isnan(hist["train_loss"][1])
    # the weights went nan; last.pt still holds the last finite state (end of epoch 1)
    assert load_checkpoint(tmp_path / "last.pt")["position"]["epoch"] == 1


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporaries_from_killed_runs_are_removed_and_reported(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = tmp_path / f".last.pt.tmp{dead_pid()}"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / ".last.pt.tmp1"  # pid 1 is alive: another run may be writing it right now
    live.write_bytes(b"being written")
    other = tmp_path / "notes.tmp123"  # not ours: left alone
    other.write_text("x")
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(epochs=1), ckpt_dir=tmp_path)
    with pytest.warns(UserWarning, match=rf"removed 1 temporary file.*{stale.name}"):
        t.fit()
    assert not stale.exists() and live.exists() and other.exists()
    assert clean_stale_temporaries(tmp_path) == []
    assert clean_stale_temporaries(tmp_path / "missing") == []
