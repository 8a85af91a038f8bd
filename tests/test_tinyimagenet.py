"""Tiny ImageNet: the fake archive in the official layout, extraction, the Dataset, reorganisation."""

import os

import pytest
import torch

from book import data
from book import tinyimagenet as tin


@pytest.fixture()
def archive(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "data"
    zip_path = tin.make_fake_archive(root / tin.TINY_ZIP, n_classes=4, n_train=6, n_val=3, size=16)
    return root, data.md5sum(zip_path)


def test_archive_has_official_layout_and_extracts(archive):
    root, md5 = archive
    folder = tin.get_tiny_imagenet(root, download_ok=False, md5=md5)
    assert folder.name == "tiny-imagenet-200"
    assert (folder / "wnids.txt").is_file() and (folder / "val" / "val_annotations.txt").is_file()
    wnids = tin.read_wnids(folder)
    assert wnids == sorted(wnids) and len(wnids) == 4
    assert len(list((folder / "train" / wnids[0] / "images").glob("*.JPEG"))) == 6
    assert (folder / "train" / wnids[0] / f"{wnids[0]}_boxes.txt").is_file()
    assert len(list((folder / "val" / "images").glob("*.JPEG"))) == 12
    # a second call reuses the extraction
    assert tin.get_tiny_imagenet(root, download_ok=False, md5=md5) == folder
    names = tin.read_words(folder, wnids)
    assert set(names) == set(wnids) and names[wnids[0]].startswith("thing")


def test_wrong_md5_and_offline_are_clear(archive, tmp_path):
    root, _ = archive
    with pytest.raises(data.DatasetUnavailable, match="md5"):
        tin.get_tiny_imagenet(root, download_ok=False)  # the official md5 does not match
    empty = tmp_path / "empty"
    with pytest.raises(data.DatasetUnavailable, match="Tiny ImageNet"):
        tin.get_tiny_imagenet(empty, download_ok=False)
    with pytest.raises(data.DatasetUnavailable, match="What to do"):
        tin.get_tiny_imagenet(empty, urls=["http://127.0.0.1:9/tiny-imagenet-200.zip"])
    assert not (empty / (tin.TINY_ZIP + ".part")).exists()


def test_dataset_reads_both_layouts_with_same_labels(archive):
    root, md5 = archive
    folder = tin.get_tiny_imagenet(root, download_ok=False, md5=md5)
    train = tin.TinyImageNet(folder, "train")
    val = tin.TinyImageNet(folder, "val")
    assert len(train) == 24 and len(val) == 12
    img, label = val[0]
    assert img.size == (16, 16) and img.mode == "RGB" and 0 <= label < 4
    before = [(p.name, y) for p, y in val.samples]
    counts = tin.reorganize_val(folder)
    assert counts == {"moved": 12, "already": 0, "missing": 0}
    assert not (folder / "val" / "images").exists()
    after = tin.TinyImageNet(folder, "val")
    assert [(p.name, y) for p, y in after.samples] == before
    # ImageFolder on the reorganised folder agrees on every label
    import torchvision

    imf = torchvision.datasets.ImageFolder(folder / "val")
    assert imf.classes == val.classes
    assert sorted((os.path.basename(p), y) for p, y in imf.samples) == sorted(before)
    # with a transform, items are tensors
    import torchvision.transforms as T

    x, _ = tin.TinyImageNet(folder, "train", transform=T.ToTensor())[0]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32


def test_reorganize_is_idempotent_and_survives_interruption(archive, monkeypatch):
    root, md5 = archive
    folder = tin.get_tiny_imagenet(root, download_ok=False, md5=md5)
    real_replace, calls = os.replace, {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated Ctrl-C")
        real_replace(src, dst)

    monkeypatch.setattr(tin.os, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        tin.reorganize_val(folder)
    monkeypatch.setattr(tin.os, "replace", real_replace)
    total = len(list(folder.glob("val/**/*.JPEG")))
    assert total == 12  # nothing lost by the interruption
    counts = tin.reorganize_val(folder)
    assert counts == {"moved": 8, "already": 4, "missing": 0}
    assert tin.reorganize_val(folder) == {"moved": 0, "already": 12, "missing": 0}
    assert len(tin.TinyImageNet(folder, "val")) == 12


def test_resnet50_fallback_when_offline(monkeypatch):
    import torchvision

    from book import models

    def offline(*a, **k):
        raise OSError("no network")

    monkeypatch.setattr(
        torchvision.models,
        "resnet50",
        lambda weights=None, _orig=torchvision.models.resnet50: offline() if weights else _orig(),
    )
    model, message = models.resnet50_for_finetune(7, pretrained=True)
    assert "random initialisation" in message and "OSError" in message
    assert model.fc.out_features == 7
    model, message = models.resnet50_for_finetune(3, pretrained=False)
    assert message.startswith("random") and model.fc.out_features == 3


def test_val_annotations_with_missing_lines_are_refused_naming_them(tmp_path):
    folder = tin.make_fake_tiny_imagenet(tmp_path, n_classes=3, n_train=2, n_val=3, size=8)
    notes = folder / "val" / "val_annotations.txt"
    lines = notes.read_text().splitlines()
    wnids = tin.read_wnids(folder)
    dropped = [line for line in lines if line.split("\t")[1] == wnids[0]]  # one class's 3 lines
    notes.write_text("\n".join(line for line in lines if line not in dropped) + "\n")
    before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    for load in (tin.reorganize_val, lambda f: tin.TinyImageNet(f, "val")):
        with pytest.raises(data.DatasetUnavailable, match="is incomplete") as e:
            load(folder)
        msg = str(e.value)
        assert "lists 6 images, expected 9" in msg
        assert all(line.split("\t")[0] in msg for line in dropped)  # the unlisted images, by name
        assert f"differ from train's: {wnids[0]}" in msg  # the class that would vanish
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == before  # nothing moved
    # one line missing of one class: still refused, naming the one image
    notes.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(
        data.DatasetUnavailable, match=rf"1 image\(s\) in val/ have no line: {lines[0].split()[0]}"
    ):
        tin.reorganize_val(folder)
