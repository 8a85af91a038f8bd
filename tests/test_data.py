import hashlib
import os
import tarfile
import threading
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest
import torch

from book import data, paths

AMBIENT_CACHE = os.environ.get(paths.CACHE_ENV)  # the cache the notebooks use (before any fixture)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Extractions and lock files go to a cache of this test's own."""
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over a folder (loopback only), for the download code."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.data_root() == paths.ROOT / "data"
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.data_root() == tmp_path
    assert data.data_root(tmp_path / "x") == tmp_path / "x"


def test_download_tries_mirrors_and_checks_md5(http_dir, tmp_path):
    served, url = http_dir
    payload = b"mnist bytes" * 100
    (served / "good.bin").write_bytes(payload)
    (served / "bad.bin").write_bytes(b"corrupt")
    md5 = hashlib.md5(payload).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    # first mirror missing (404), second serves a corrupt file, third is right
    got = data.download([f"{url}/missing.bin", f"{url}/bad.bin", f"{url}/good.bin"], dest, md5=md5)
    assert got == dest and dest.read_bytes() == payload
    assert not list(dest.parent.glob("*.part"))


def test_download_failure_says_what_to_do_and_leaves_nothing(http_dir, tmp_path):
    served, url = http_dir
    (served / "bad.bin").write_bytes(b"corrupt")
    dest = tmp_path / "dl" / "file.bin"
    with pytest.raises(data.DatasetUnavailable) as err:
        data.download([f"{url}/bad.bin", f"{url}/none.bin"], dest, md5="0" * 32)
    msg = str(err.value)
    assert "checksum mismatch" in msg and "404" in msg
    assert str(dest.parent) in msg and data.DATA_ENV in msg
    assert list(dest.parent.iterdir()) == []  # no half-written file


def test_extract_is_atomic_and_rejects_escaping_paths(tmp_path):
    src = tmp_path / "src" / "pack"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("hello")
    archive = tmp_path / "pack.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(src, arcname="pack")
    out = data.extract(archive, tmp_path / "dest" / "pack")
    assert (out / "a.txt").read_text() == "hello"
    assert [p.name for p in out.parent.iterdir()] == ["pack"]  # no temporary folder left
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 0
        t.addfile(info)
    with pytest.raises(tarfile.TarError):
        data.extract(evil, tmp_path / "dest2")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "dest2").exists()


def _write_idx(path: Path, items: torch.Tensor):
    dims = list(items.shape)
    header = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(header + items.to(torch.uint8).numpy().tobytes())


def test_check_idx_detects_truncation(tmp_path):
    p = tmp_path / "x-idx1-ubyte"
    _write_idx(p, torch.arange(10))
    assert data.check_idx(p) == 10
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(data.DatasetUnavailable, match="truncated"):
        data.check_idx(p)


def test_mnist_offline_message_lists_files_and_folder(tmp_path):
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load_mnist(root=tmp_path, download=False)
    msg = str(err.value)
    assert all(f in msg for f in data.MNIST_FILES)
    assert str(tmp_path / "MNIST" / "raw") in msg and data.DATA_ENV in msg


def test_mnist_from_shared_data(shared_data):
    train = data.load_mnist(train=True, root=shared_data, download=False)
    test = data.load_mnist(train=False, root=shared_data, download=False)
    assert len(train) == 17_435 and len(test) == 10_000  # the offline subset, not 60,000
    img, label = test[0]
    assert img.size == (28, 28) and label == 7  # the first official test digit is a 7


def test_cifar10_from_jpeg_archive(shared_data, tmp_path, monkeypatch):
    if not (shared_data / data.CIFAR10_JPEG[0]).is_file():
        pytest.skip("no cifar10-jpeg.tar.gz in the offline data")
    # the notebooks' cache: the 60,000 files are extracted once per machine, not once per test run
    if AMBIENT_CACHE is None:
        monkeypatch.delenv(paths.CACHE_ENV)
    else:
        monkeypatch.setenv(paths.CACHE_ENV, AMBIENT_CACHE)
    test = data.load_cifar10(train=False, root=shared_data, download=False)
    assert len(test) == 10_000 and tuple(test.classes) == data.CIFAR10_CLASSES
    img, label = test[0]
    assert img.size == (32, 32) and 0 <= label < 10
    assert len(data.load_cifar10(train=True, root=shared_data, download=False)) == 50_000


def test_cifar10_damaged_archive_is_refused(tmp_path):
    (tmp_path / data.CIFAR10_JPEG[0]).write_bytes(b"not an archive")
    with pytest.raises(data.DatasetUnavailable, match="damaged"):
        data.load_cifar10(root=tmp_path, download=False)


def test_spiral_is_seeded_and_balanced():
    X, y = data.make_spiral(100, 3, seed=1)
    X2, _ = data.make_spiral(100, 3, seed=1)
    assert X.shape == (300, 2) and torch.equal(X, X2)
    assert y.bincount().tolist() == [100, 100, 100]
    assert X.norm(dim=1).max() <= 1.0 + 1e-6


def test_subset_is_seeded():
    ds = list(range(100))
    a, b = data.subset(ds, 10, seed=0), data.subset(ds, 10, seed=0)
    assert list(a) == list(b) and len(a) == 10 and len(set(a)) == 10
    assert data.subset(ds, None) is ds


# ----------------------------------------------------------------------------- CIFAR-10 order
def _fake_cifar_sources(tmp_path, monkeypatch, per_class: int):
    """The same images twice: as torchvision's ``cifar-10-batches-py`` (one test batch, classes
    interleaved as in the official files) and as a PNG ``cifar10-jpeg/test/<class>/NNNN.png`` folder
    numbered in that batch's order within each class. Returns the two data roots."""
    import pickle

    import numpy as np
    import torchvision
    from PIL import Image

    n = 10 * per_class
    rng = np.random.default_rng(1)
    labels = rng.permutation(np.repeat(np.arange(10), per_class)).tolist()  # file order, mixed
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    batches = tmp_path / "batches" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    flat = images.transpose(0, 3, 1, 2).reshape(n, -1)  # the official layout: RRR..GGG..BBB per row
    with open(batches / "test_batch", "wb") as f:
        pickle.dump({"data": flat, "labels": labels}, f)
    with open(batches / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(data.CIFAR10_CLASSES)}, f)
    # the fake batch has no official md5: skip torchvision's checksum test (only for this test)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    seen = [0] * 10
    for img, c in zip(images, labels):
        folder = tmp_path / "jpeg" / "cifar10-jpeg" / "test" / data.CIFAR10_CLASSES[c]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{seen[c]:04d}.png")
        seen[c] += 1
    return tmp_path / "batches", tmp_path / "jpeg"


def test_cifar10_order_is_mixed_seeded_and_the_same_for_both_formats(tmp_path, monkeypatch):
    """Both loader paths return the same images in the same order, and a prefix mixes the classes."""
    import numpy as np

    batches_root, jpeg_root = _fake_cifar_sources(tmp_path, monkeypatch, per_class=30)
    a = data.load_cifar10(train=False, root=batches_root, download=False)
    b = data.load_cifar10(train=False, root=jpeg_root, download=False, per_class=30)
    assert a.targets == b.targets
    assert len(set(a.targets[:50])) == 10  # the first 50 of 300 already cover every class
    pixels_b = np.stack([np.asarray(b[i][0]) for i in range(len(b))])
    assert np.array_equal(a.data, pixels_b)  # image i is the same picture on both paths
    again = data.load_cifar10(train=False, root=jpeg_root, download=False, per_class=30)
    assert again.samples == b.samples  # fixed: two loads, one order
    assert b.targets == [label for _, label in b.samples] and b.imgs == b.samples


def test_cifar10_offline_test_set_prefix_covers_all_classes(shared_data, monkeypatch):
    """The offline JPEG copy lists the test set class by class; the loader must not."""
    if not (shared_data / data.CIFAR10_JPEG[0]).is_file():
        pytest.skip("no cifar10-jpeg.tar.gz in the offline data")
    if AMBIENT_CACHE is None:  # the notebooks' cache: extracted once per machine
        monkeypatch.delenv(paths.CACHE_ENV)
    else:
        monkeypatch.setenv(paths.CACHE_ENV, AMBIENT_CACHE)
    first = data.load_cifar10(train=False, root=shared_data, download=False)
    second = data.load_cifar10(train=False, root=shared_data, download=False)
    assert sorted(set(first.targets[:100])) == list(range(10))
    assert first.samples == second.samples
    counts = torch.bincount(torch.tensor(first.targets[:2000]), minlength=10)
    assert counts.min() > 100  # "the first 2,000 test images" hold every class, roughly 200 each
