"""Tests of book/fast_cifar.py on tiny fake data (no CIFAR-10 needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from book import fast_cifar as fc


@pytest.fixture()
def fake_folder(tmp_path, monkeypatch):
    """A 2-class ImageFolder of 6 PNG images (32x32) and a private cache folder."""
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            arr = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / "imgs" / c / f"{i}.png")
    return tmp_path


def test_decode_once_then_cache(fake_folder, monkeypatch):
    ds = torchvision.datasets.ImageFolder(fake_folder / "imgs")
    x, y = fc.load_cifar10_uint8(dataset=ds)
    assert x.dtype == torch.uint8 and tuple(x.shape) == (6, 3, 32, 32)
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    first = np.asarray(Image.open(ds.samples[0][0]).convert("RGB"))
    assert torch.equal(x[0], torch.from_numpy(first).permute(2, 0, 1))
    files = list((fake_folder / "cache" / "cifar10-uint8").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary file left behind

    def boom(_):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(fc, "_decode_dataset", boom)
    x2, y2 = fc.load_cifar10_uint8(dataset=ds)
    assert torch.equal(x, x2) and torch.equal(y, y2)


def test_changed_source_is_decoded_again(fake_folder):
    ds = torchvision.datasets.ImageFolder(fake_folder / "imgs")
    x, _ = fc.load_cifar10_uint8(dataset=ds)
    path = ds.samples[0][0]
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(path)
    ds = torchvision.datasets.ImageFolder(fake_folder / "imgs")
    x2, _ = fc.load_cifar10_uint8(dataset=ds)
    assert x2[0].sum() == 0 and not torch.equal(x, x2)


def test_damaged_cache_is_replaced(fake_folder):
    ds = torchvision.datasets.ImageFolder(fake_folder / "imgs")
    x, _ = fc.load_cifar10_uint8(dataset=ds)
    (cache_file,) = (fake_folder / "cache" / "cifar10-uint8").iterdir()
    cache_file.write_bytes(b"not a torch file")
    x2, _ = fc.load_cifar10_uint8(dataset=ds)
    assert torch.equal(x, x2)


def test_mixed_sizes_give_a_clear_error(fake_folder):
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(fake_folder / "imgs" / "a" / "z.png")
    ds = torchvision.datasets.ImageFolder(fake_folder / "imgs")
    with pytest.raises(ValueError, match="different shapes"):
        fc.load_cifar10_uint8(dataset=ds, cache=False)


def test_batch_crop_is_a_shifted_window_of_the_padded_image():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).reshape(2, 3, 8, 8)
    g = torch.Generator().manual_seed(0)
    out = fc.batch_crop(x, 2, g)
    assert out.shape == x.shape and out.dtype == x.dtype
    g = torch.Generator().manual_seed(0)
    dy = torch.randint(0, 5, (2,), generator=g)
    dx = torch.randint(0, 5, (2,), generator=g)
    xp = torch.nn.functional.pad(x.float(), (2,) * 4, mode="reflect").to(torch.uint8)
    for i in range(2):
        ref = xp[i, :, dy[i] : dy[i] + 8, dx[i] : dx[i] + 8]
        assert torch.equal(out[i], ref)
    assert torch.equal(fc.batch_crop(x, 0), x)


def test_batch_flip_flips_about_half_and_nothing_else():
    x = torch.randint(0, 256, (400, 3, 4, 4), dtype=torch.uint8)
    out = fc.batch_flip(x, torch.Generator().manual_seed(1))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((flipped | same).all())
    assert 150 < int((flipped & ~same).sum()) < 250


def test_augment_is_reproducible_with_a_generator():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = fc.augment(x, generator=torch.Generator().manual_seed(3))
    b = fc.augment(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)


@pytest.mark.parametrize("width", [0.125, 0.25, 1.0])
def test_network_shapes(width):
    net = fc.FastCifarNet(width=width)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert net.widths == tuple(max(8, round(c * width)) for c in fc.BASE_WIDTHS)


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match="width"):
        fc.FastCifarNet(width=0)
    with pytest.raises(ValueError, match="3 numbers"):
        fc.FastCifarNet(widths=(8, 8))


def test_whitening_stem_decorrelates_patches():
    torch.manual_seed(0)
    base = torch.randn(64, 1, 16, 16)
    imgs = torch.cat([base, 0.5 * base + 0.1 * torch.randn_like(base), torch.randn_like(base)], 1)
    net = fc.FastCifarNet(width=0.125)
    net.init_whitening(imgs, eps=0.0)
    out = torch.nn.functional.conv2d(imgs, net.stem.weight[:12]).permute(0, 2, 3, 1).reshape(-1, 12)
    cov = torch.cov(out.T.double())
    assert torch.allclose(cov, torch.eye(12, dtype=torch.float64), atol=0.05)
    assert not net.stem.weight.requires_grad


def _fake_cifar(n, seed):
    """Images whose class is which colour channel is bright: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randint(0, 80, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    x[torch.arange(n), y] += 150
    return x, y


def test_train_learns_and_reports_history():
    x, y = _fake_cifar(256, 0)
    xv, yv = _fake_cifar(128, 1)
    torch.manual_seed(0)
    net = fc.FastCifarNet(width=0.125, num_classes=3)
    cfg = fc.FastConfig(epochs=2, batch_size=64, lr=0.2, eval_every=1)
    seen = []
    hist = fc.train(net, x, y, cfg, xv, yv, callback=seen.append)
    assert [d["epoch"] for d in seen] == [1, 2]
    assert len(hist["train_loss"]) == 2 and len(hist["val_acc"]) == 2
    assert hist["val_acc"][-1] > 0.9  # chance is 1/3
    assert hist["train_time_s"] > 0 and hist["config"]["batch_size"] == 64


def test_train_is_deterministic_on_the_cpu():
    x, y = _fake_cifar(128, 0)
    cfg = fc.FastConfig(epochs=1, batch_size=32)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        net = fc.FastCifarNet(width=0.125, num_classes=3)
        runs.append(fc.train(net, x, y, cfg)["train_loss"])
    assert runs[0] == runs[1]


def test_fractional_epochs_cut_the_last_epoch():
    x, y = _fake_cifar(128, 0)
    torch.manual_seed(0)
    hist = fc.train(
        fc.FastCifarNet(width=0.125, num_classes=3), x, y, fc.FastConfig(epochs=1.5, batch_size=32)
    )
    assert len(hist["train_loss"]) == 2


def test_train_refuses_float_images_and_mismatched_labels():
    net = fc.FastCifarNet(width=0.125)
    with pytest.raises(ValueError, match="uint8"):
        fc.train(net, torch.zeros(4, 3, 32, 32), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        fc.train(net, torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))


def test_evaluate_follows_the_model_device():
    class Where(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            assert x.device == self.w.device and x.dtype == torch.float32
            return torch.zeros(len(x), 10, device=x.device)

    x = torch.zeros(5, 3, 32, 32, dtype=torch.uint8)
    assert fc.evaluate(Where(), x, torch.zeros(5, dtype=torch.long)) == 1.0


def test_lr_schedule_warms_up_then_decays_to_zero():
    f = [fc.lr_factor(s, 100, 0.2) for s in range(100)]
    assert f[19] == 1.0 and f[0] == pytest.approx(0.05)
    assert all(a <= b for a, b in zip(f[:20], f[1:20]))
    assert all(a >= b for a, b in zip(f[20:], f[21:])) and f[-1] < 0.02


def test_split_and_subset():
    x = torch.arange(20).view(20, 1, 1, 1).to(torch.uint8)
    y = torch.arange(20)
    (xt, yt), (xv, yv) = fc.split_train_val(x, y, 5, seed=0)
    assert len(xv) == 5 and len(xt) == 15
    assert set(yt.tolist()).isdisjoint(yv.tolist()) and set(yt.tolist()) | set(yv.tolist()) == set(range(20))
    with pytest.raises(ValueError, match="n_val"):
        fc.split_train_val(x, y, 20)
    xs, ys = fc.subset(x, y, 7, seed=1)
    assert len(xs) == 7 and torch.equal(xs.flatten().long(), ys)
    assert fc.subset(x, y, None)[0] is x
