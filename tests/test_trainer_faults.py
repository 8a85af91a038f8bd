"""Faults and bad input of book.trainer: changed configs, unreadable or damaged checkpoints, non-finite
losses, interrupted steps and leftovers; each fault is injected on purpose."""

import math
import os
import signal
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


# ----------------------------------------------------------------------------- a changed config
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


# ----------------------------------------------------------------------------- unusable checkpoints
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


# ----------------------------------------------------------------------------- nan losses, leftovers
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


# ----------------------------------------------------------------------------- damaged bytes, same size
def flip_bytes_of(path, tensor, n=256):
    """Flip ``n`` bytes of ``tensor``'s storage inside the saved file ``path`` (the size stays the same)."""
    raw = bytearray(path.read_bytes())
    at = raw.find(tensor.numpy().tobytes())
    assert at >= 0, "the tensor's bytes are not stored verbatim"
    for i in range(at, at + n):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_checkpoint_with_damaged_weight_bytes_is_refused(tmp_path):
    torch.manual_seed(0)
    t = Trainer(net(hidden=64), Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
    with pytest.raises(Interrupted):
        t.fit(stop_after=4)
    last = tmp_path / "last.pt"
    size = last.stat().st_size
    flip_bytes_of(last, t.model[2].weight.detach())  # 192 floats: 256 of their 768 bytes
    assert last.stat().st_size == size
    resumed = Trainer(net(hidden=64), Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
    with pytest.raises(CheckpointError, match="is damaged") as e:
        resumed.fit()
    assert str(last) in str(e.value) and "start fresh" in str(e.value).lower()
    assert resumed.global_step == 0  # nothing was loaded or trained
    resumed.fit(resume=False)  # the way out the message names
    assert load_checkpoint(last)["position"]["global_step"] == 9


def test_best_weights_with_damaged_bytes_are_refused(tmp_path):
    t = Trainer(net(hidden=64), Blobs(), Blobs(24, seed=1), cfg(epochs=1), ckpt_dir=tmp_path)
    t.fit()
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    flip_bytes_of(tmp_path / "best.pt", best["2.weight"])
    for trainer in (t, Trainer(net(hidden=64), Blobs(), None, cfg(epochs=1), ckpt_dir=tmp_path)):
        with pytest.raises(CheckpointError, match=r"best.pt are damaged.*Delete"):
            trainer.load_best()


# ----------------------------------------------------------------------------- interrupted steps
def count_steps(t):
    """Wrap ``t.optimizer.step``; return the list its calls are appended to."""
    calls, real = [], t.optimizer.step

    def step(*a, **k):
        calls.append(1)
        return real(*a, **k)

    t.optimizer.step = step
    return calls


def test_ctrl_c_right_after_the_update_does_not_apply_the_batch_twice():
    torch.manual_seed(0)
    ref = Trainer(net(), Blobs(), None, cfg())
    ref.fit()
    torch.manual_seed(0)
    t = Trainer(net(), Blobs(), None, cfg())  # no ckpt_dir: the run resumes from memory
    calls, real = [], t.optimizer.step

    def step_then_ctrl_c(*a, **k):
        out = real(*a, **k)
        calls.append(1)
        if len(calls) == 5:  # a real SIGINT, delivered right after the 5th update
            os.kill(os.getpid(), signal.SIGINT)
        return out

    t.optimizer.step = step_then_ctrl_c
    with pytest.raises(KeyboardInterrupt):
        t.fit()
    assert t.global_step == len(calls) == 5  # the update that ran is counted
    t.fit()
    assert len(calls) == t.global_step == 9  # 3 epochs of 3 batches: 9 updates, not 10
    for k, v in ref.model.state_dict().items():
        assert torch.equal(v, t.model.state_dict()[k]), k
    for k in ("train_loss", "train_acc", "lr"):  # (no val set: val_* are nan)
        assert t.history[k] == ref.history[k], k


def test_ctrl_c_inside_a_step_resumes_in_memory_with_the_same_random_numbers():
    """The interrupted batch already drew augmentation noise; the redone batch draws the same."""
    hits = []

    def noisy(x):
        x = x + 0.1 * torch.randn_like(x)  # a random augmentation (global generator)
        hits.append(1)
        if len(hits) == 5:
            raise KeyboardInterrupt  # Ctrl-C before this step's update
        return x

    torch.manual_seed(0)
    ref = Trainer(net(), Blobs(), None, cfg(), batch_transform=lambda x: x + 0.1 * torch.randn_like(x))
    ref.fit()
    torch.manual_seed(0)
    t = Trainer(net(), Blobs(), None, cfg(), batch_transform=noisy)
    with pytest.raises(KeyboardInterrupt):
        t.fit()
    assert t.global_step == 4
    t.fit()
    for k, v in ref.model.state_dict().items():
        assert torch.equal(v, t.model.state_dict()[k]), k


def test_checkpoint_of_another_format_or_optimizer_is_one_clear_error(tmp_path):
    """Every way a ckpt_dir can hold someone else's checkpoint ends in CheckpointError, model untouched."""
    interrupted_run(tmp_path)
    last = tmp_path / "last.pt"
    state = torch.load(last, weights_only=True)
    state.pop("checksum", None), state.pop("sums")  # an older format of the book's checkpoint
    state["format"] = "book.trainer/1"
    torch.save(state, last)
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path)
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"another format \('book.trainer/1'.*lacks sums.*fresh"):
        t.fit()
    # same weights, but an optimizer over two parameter groups (e.g. no weight decay on biases)
    interrupted_run(tmp_path / "b")
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(), ckpt_dir=tmp_path / "b")
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    ws = [p for n, p in t.model.named_parameters() if n.endswith("weight")]
    bs = [p for n, p in t.model.named_parameters() if n.endswith("bias")]
    t.optimizer = torch.optim.SGD([{"params": ws}, {"params": bs, "weight_decay": 0}], lr=0.05)
    with pytest.raises(CheckpointError, match="does not fit this run.*model was left unchanged"):
        t.fit()
    assert all(torch.equal(v, before[k]) for k, v in t.model.state_dict().items())


KILLED_WHILE_SAVING = r"""
import os, signal, sys, torch
from book import trainer
def half_then_killed(obj, f):
    open(f, "wb").write(b"half a checkpoint")
    os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of writing
torch.save = half_then_killed
trainer.save_atomic({"x": torch.zeros(1)}, sys.argv[1])
"""


def test_a_save_killed_halfway_leaves_only_a_temporary_that_the_next_run_removes(tmp_path):
    target = tmp_path / "last.pt"
    proc = subprocess.run([sys.executable, "-c", KILLED_WHILE_SAVING, str(target)], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    (left,) = tmp_path.iterdir()  # the half-written file is a temporary, never last.pt itself
    assert left.name.startswith(".last.pt.") and left.name.endswith(".tmp")
    t = Trainer(net(), Blobs(), Blobs(24, seed=1), cfg(epochs=1), ckpt_dir=tmp_path)
    with pytest.warns(UserWarning, match=rf"removed 1 temporary file.*{left.name}"):
        t.fit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
