"""Device follows the model, checked without a GPU.

The probe model keeps its parameters on the ``meta`` device and refuses an input that is anywhere else,
so a function that moves inputs to a hard-coded ``"cpu"`` (the bug that crashed chapter 06 on CUDA)
fails here exactly as it would on a GPU.
"""

import pytest
import torch
from torch import nn

from book import train
from book.trainer import TrainConfig, Trainer


class Reached(Exception):
    """The probe's forward ran with its input on the model's device."""


class DeviceProbe(nn.Module):
    def __init__(self, device="meta"):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3, 4, device=device))

    def forward(self, x):
        if x.device != self.w.device:
            raise AssertionError(f"input on {x.device}, model on {self.w.device}")
        raise Reached(str(x.device))


def data(n=8):
    return torch.utils.data.TensorDataset(torch.randn(n, 4), torch.randint(0, 3, (n,)))


def loader():
    return torch.utils.data.DataLoader(data(), batch_size=4)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: train.evaluate(m, loader()),
        lambda m: train.evaluate(m, loader(), nn.CrossEntropyLoss(), amp=True, channels_last=True),
        lambda m: train.train_epoch(m, loader(), nn.CrossEntropyLoss(), torch.optim.SGD(m.parameters(), 0.1)),
        lambda m: train.fit(
            m, loader(), loader(), nn.CrossEntropyLoss(), torch.optim.SGD(m.parameters(), 0.1), 1
        ),
        lambda m: train.predict(m, data()),
        lambda m: Trainer(m, data(), data(), TrainConfig(verbose=False, progress=False)).fit(),
        lambda m: Trainer(m, data(), data(), TrainConfig(verbose=False, progress=False)).evaluate(),
    ],
    ids=["evaluate", "evaluate-amp", "train_epoch", "fit", "predict", "Trainer.fit", "Trainer.evaluate"],
)
def test_inputs_follow_the_model(call):
    with pytest.raises(Reached, match="meta"):
        call(DeviceProbe("meta"))


def test_the_probe_catches_a_hard_coded_device():
    """Guard against a vacuous test: the old default (``device="cpu"``) fails with the probe."""
    with pytest.raises(AssertionError, match="input on cpu, model on meta"):
        train.evaluate(DeviceProbe("meta"), loader(), device="cpu")


def test_explicit_device_wins_and_trainer_moves_the_model():
    assert train.model_device(DeviceProbe("meta")) == torch.device("meta")
    assert train.model_device(DeviceProbe("meta"), "cpu") == torch.device("cpu")
    assert train.model_device(nn.ReLU()) == torch.device("cpu")  # no parameters: the CPU
    bn = nn.BatchNorm1d(3, affine=False).to("meta")  # buffers only
    assert train.model_device(bn) == torch.device("meta")
    t = Trainer(nn.Linear(4, 3), data(), None, TrainConfig(verbose=False, progress=False), device="meta")
    assert t.device == torch.device("meta") and t.model.weight.device.type == "meta"
    # the forward and the loss ran on meta (where the model is); only reading a number back fails
    with pytest.raises(RuntimeError, match="item.*meta"):
        t.fit()


def test_cuda_only_switches_stay_off_on_other_devices():
    cfg = TrainConfig(amp=True, channels_last=True, num_workers=0, verbose=False, progress=False)
    t = Trainer(nn.Linear(4, 3), data(), data(), cfg)
    assert t.device.type == "cpu" and not t.on_cuda
    assert t._loader(data(), True).pin_memory is False
    assert t._autocast()._enabled is False  # bf16 autocast only on CUDA
    X, _ = t._to_device(torch.randn(2, 3, 4, 4), torch.zeros(2, dtype=torch.long))
    assert X.is_contiguous()  # no channels-last conversion on the CPU
    t.fit()  # and it trains


def test_trace_shapes_follows_the_model():
    from book import models

    with pytest.raises(Reached, match="meta"):
        models.trace_shapes(DeviceProbe("meta"), torch.zeros(1, 4))


# Chapter 06's ResNet-MNIST run, reduced to what crashed it: a ResNet shortcut (stride-2 1x1 conv), an
# odd batch (75 images) and two threads. With the model in NHWC, torch 2.14's oneDNN backward of that
# conv corrupts the heap and the process dies (SIGSEGV/SIGABRT); the Trainer keeps the CPU on NCHW.
ODD_BATCH_RESNET = """
import torch
from book import models
from book.trainer import TrainConfig, Trainer
torch.manual_seed(0)
ds = torch.utils.data.TensorDataset(torch.randn(75, 1, 28, 28), torch.randint(0, 10, (75,)))
model = models.resnet18(num_classes=10, stem="mnist", width=8)
cfg = TrainConfig(epochs=2, batch_size=128, channels_last=True, verbose=False, progress=False)
t = Trainer(model, ds, None, cfg)
t.fit()
w = t.model.layer2[0].downsample[0].weight
print("trained", w.is_contiguous())
"""


def test_channels_last_resnet_on_the_cpu_survives_an_odd_batch_with_threads():
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="2")
    proc = subprocess.run(
        [sys.executable, "-c", ODD_BATCH_RESNET], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"rc {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.split() == ["trained", "True"]  # NCHW weights: the CPU stayed off channels_last
