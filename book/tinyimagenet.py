"""Tiny ImageNet (200 classes, 64x64): the official archive, a Dataset for its layout, the notes'
validation-folder reorganisation in Python, and a small fake archive in the same layout for tests (ch. 06).

Official layout (``tiny-imagenet-200.zip``, 248,100,043 bytes, md5 ``90528d7ca1a48142e341f4ef8d21d0de``)::

    tiny-imagenet-200/
      wnids.txt                      200 WordNet ids, one a line
      words.txt                      "<wnid>\\t<names>" for all of WordNet (82,115 lines)
      train/<wnid>/images/*.JPEG     500 per class
      train/<wnid>/<wnid>_boxes.txt  bounding boxes (unused here)
      val/images/*.JPEG              10,000 images in ONE folder ...
      val/val_annotations.txt        ... labelled here: "<file>\\t<wnid>\\tx0\\ty0\\tx1\\ty1"
      test/images/*.JPEG             unlabelled

:class:`TinyImageNet` reads this layout directly (no reorganisation needed), and also the layout after
:func:`reorganize_val` (``val/<wnid>/<file>``), which is what ``torchvision.datasets.ImageFolder`` wants.
Both refuse an incomplete or inconsistent folder (:class:`~book.data.DatasetUnavailable` says what is
wrong): the counts must be the official ones (:data:`TINY_COUNTS`), or those a fake data set records in
``book-expected-counts.json``, or those passed as ``counts``; every annotation line must name a known
wnid and a plain file name.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from .data import (
    DatasetUnavailable,
    _help,
    _undo_new_folders,
    check_md5,
    data_root,
    download,
    extract,
    verify_manifest,
)
from .files import atomic_path
from .paths import cache_dir

TINY_URLS = ["http://cs231n.stanford.edu/tiny-imagenet-200.zip"]
TINY_ZIP = "tiny-imagenet-200.zip"
TINY_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
TINY_DIR = "tiny-imagenet-200"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TINY_COUNTS = {"classes": 200, "train_per_class": 500, "val": 10_000}
"""The official data set's size: 200 classes, 500 training images each, 10,000 validation images."""
COUNTS_FILE = "book-expected-counts.json"


def get_tiny_imagenet(
    root: str | os.PathLike | None = None,
    download_ok: bool = True,
    md5: str = TINY_MD5,
    urls: list[str] | None = None,
) -> Path:
    """The extracted ``tiny-imagenet-200`` folder, from (in order): ``<root>/tiny-imagenet-200/``;
    ``<root>/tiny-imagenet-200.zip`` (md5-checked, extracted once into the cache folder); a download
    into ``<root>`` (md5-checked). Offline, raises :class:`DatasetUnavailable` saying what to do (ch. 06).
    """
    root = data_root(root)
    folder = root / TINY_DIR
    if (folder / "wnids.txt").is_file():
        return folder
    target = cache_dir(f"tiny-imagenet-{md5[:8]}") / TINY_DIR
    if (target / "wnids.txt").is_file():  # extracted earlier from an archive with this md5
        return target
    archive = root / TINY_ZIP
    if archive.is_file():
        if not check_md5(archive, md5):
            raise DatasetUnavailable(
                f"{archive} does not have md5 {md5}: it is damaged or incomplete; "
                "delete it and download it again."
            )
    elif download_ok:
        with _undo_new_folders(root):  # a failed download leaves no empty folders behind
            archive = download(urls or TINY_URLS, archive, md5=md5)  # raises DatasetUnavailable offline
    else:
        raise DatasetUnavailable(_help("Tiny ImageNet", [TINY_DIR + "/", TINY_ZIP], root, TINY_URLS, []))
    return extract(archive, target)


def read_wnids(root: str | os.PathLike) -> list[str]:
    """The class ids in sorted order (= ImageFolder's order, so labels agree with it; chapter 06)."""
    return sorted(line.strip() for line in Path(root, "wnids.txt").read_text().splitlines() if line.strip())


def read_words(root: str | os.PathLike, wnids: Iterable[str] | None = None) -> dict[str, str]:
    """``wnid -> "first name"`` for the given ids (all of ``words.txt`` if None; chapter 06)."""
    wanted = set(wnids) if wnids is not None else None
    names = {}
    for line in Path(root, "words.txt").read_text(encoding="utf-8").splitlines():
        wnid, _, text = line.partition("\t")
        if wanted is None or wnid in wanted:
            names[wnid] = text.split(",")[0].strip()
    return names


def read_val_annotations(root: str | os.PathLike) -> list[tuple[str, str]]:
    """``[(file name, wnid), ...]`` from ``val/val_annotations.txt`` (tab or space separated; ch. 06)."""
    rows = []
    for line in Path(root, "val", "val_annotations.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            rows.append((parts[0], parts[1]))
    return rows


def validated_val_annotations(
    root: str | os.PathLike, counts: Mapping[str, int] | None = None
) -> list[tuple[str, str]]:
    """:func:`read_val_annotations`, after checking every line and the whole; raise naming the bad
    ones (ch. 06).

    Each line must have a plain file name (no folder, no ``..``), a wnid listed in ``wnids.txt``, and
    name each file once; so no move can leave ``val/``, land on its own source, or invent a class. And
    the file must be complete: as many lines as validation images (:func:`expected_counts`), every class
    of ``wnids.txt`` (train's classes) present, and no image in ``val/`` without its line; else the
    validation set would be silently smaller, with another class list than train's.
    """
    root = Path(root)
    known = set(read_wnids(root))
    lines = Path(root, "val", "val_annotations.txt").read_text().splitlines()
    rows, bad, seen = [], [], {}
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            bad.append(f"line {number}: {line!r} has no wnid")
            continue
        name, wnid = parts[0], parts[1]
        if name in (".", "..") or "/" in name or "\\" in name or Path(name).name != name:
            bad.append(f"line {number}: file name {name!r} is not a plain file name")
        elif wnid not in known:
            bad.append(f"line {number}: wnid {wnid!r} is not in wnids.txt")
        elif name in seen:
            bad.append(f"line {number}: {name} is listed again (first on line {seen[name]})")
        else:
            seen[name] = number
            rows.append((name, wnid))
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DatasetUnavailable(
            f"{root / 'val' / 'val_annotations.txt'} has {len(bad)} bad line(s): {shown}. "
            "Nothing was moved. Restore the file from the official archive (tiny-imagenet-200.zip)."
        )
    _check_val_complete(root, rows, known, expected_counts(root, counts)["val"])
    return rows


def _check_val_complete(root: Path, rows: list[tuple[str, str]], wnids: set[str], want: int) -> None:
    """Refuse annotations with lines missing: name the unlisted images and the classes without any."""
    listed = {name for name, _ in rows}
    val = root / "val"
    on_disk = set()
    for folder in [val / "images", *(val / w for w in sorted(wnids))]:
        if folder.is_dir():
            on_disk.update(p.name for p in folder.iterdir() if p.is_file())
    unlisted = sorted(on_disk - listed)
    absent = sorted(wnids - {wnid for _, wnid in rows})
    if len(rows) == want and not unlisted and not absent:
        return
    parts = [f"it lists {len(rows)} images, expected {want}"]
    if unlisted:
        shown = ", ".join(unlisted[:5]) + (f" and {len(unlisted) - 5} more" if len(unlisted) > 5 else "")
        parts.append(f"{len(unlisted)} image(s) in val/ have no line: {shown}")
    if absent:
        shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        parts.append(
            f"{len(absent)} class(es) of wnids.txt have no validation image, so val's class list "
            f"would differ from train's: {shown}"
        )
    raise DatasetUnavailable(
        f"{val / 'val_annotations.txt'} is incomplete ({'; '.join(parts)}). Nothing was moved. Restore "
        "the file from the official archive (tiny-imagenet-200.zip)."
    )


def reorganize_val(root: str | os.PathLike, counts: Mapping[str, int] | None = None) -> dict[str, int]:
    """Move ``val/images/<file>`` to ``val/<wnid>/<file>`` as the notes' ``tinyimagenet.sh`` does (ch. 06).

    Every line of ``val_annotations.txt``, and that no line is missing, is checked before anything
    moves (:func:`validated_val_annotations`; ``counts`` as for :class:`TinyImageNet`). Idempotent and safe to interrupt: every move is one
    ``os.replace`` (atomic on one file system), so a file is always either still in ``images/`` or
    already in its class folder, never lost or half-copied; running it again finishes what an
    interrupted run left. ``val/images`` is removed only once empty.
    Returns counts: ``moved``, ``already`` (in place from an earlier run), ``missing`` (in neither place).
    """
    root = Path(root)
    val = root / "val"
    src_dir = val / "images"
    rows = validated_val_annotations(root, counts)
    for name, wnid in rows:  # the checks above make this impossible; a move must never hit its source
        src, dst = src_dir / name, val / wnid / name
        if src.resolve() == dst.resolve() or dst.resolve().parent.parent != val.resolve():
            raise DatasetUnavailable(f"refusing to move {src} to {dst}: not a class folder under {val}")
    counts = {"moved": 0, "already": 0, "missing": 0}
    for name, wnid in rows:
        src, dst = src_dir / name, val / wnid / name
        if dst.is_file():
            counts["already"] += 1
            if src.is_file():  # both exist (copied by hand?): the class folder wins
                src.unlink()
            continue
        if not src.is_file():
            counts["missing"] += 1
            continue
        dst.parent.mkdir(exist_ok=True)
        os.replace(src, dst)
        counts["moved"] += 1
    if src_dir.is_dir() and not any(src_dir.iterdir()):
        src_dir.rmdir()
    return counts


def expected_counts(root: str | os.PathLike, counts: Mapping[str, int] | None = None) -> dict[str, int]:
    """How big the data set in ``root`` must be: ``counts``, else its ``book-expected-counts.json``
    (written by :func:`make_fake_tiny_imagenet`), else :data:`TINY_COUNTS` (chapter 06)."""
    if counts is not None:
        out = dict(counts)
    elif Path(root, COUNTS_FILE).is_file():
        out = json.loads(Path(root, COUNTS_FILE).read_text())
    else:
        out = dict(TINY_COUNTS)
    missing = set(TINY_COUNTS) - set(out)
    if missing:
        raise ValueError(f"counts {out} lack {sorted(missing)}; give all of {sorted(TINY_COUNTS)}")
    return out


class TinyImageNet(torch.utils.data.Dataset):
    """``split="train"`` or ``"val"`` of a ``tiny-imagenet-200`` folder (chapter 06); items are ``(image,
    label)`` with labels indexing :attr:`classes` (sorted wnids). Reads the official and reorganised layouts.

    The folder must be complete (:func:`expected_counts`: classes, training images per class,
    validation images) and its annotations valid; else :class:`DatasetUnavailable` names what is
    wrong. Chapter 06.
    """

    def __init__(self, root, split: str = "train", transform=None, counts: Mapping[str, int] | None = None):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.root, self.split, self.transform = Path(root), split, transform
        want = expected_counts(self.root, counts)
        self.classes = read_wnids(self.root)
        if len(self.classes) != want["classes"]:
            raise DatasetUnavailable(
                f"{self.root / 'wnids.txt'} lists {len(self.classes)} classes, expected {want['classes']}. "
                "Restore it from the official archive (tiny-imagenet-200.zip)."
            )
        self.class_to_idx = {w: i for i, w in enumerate(self.classes)}
        self.samples: list[tuple[Path, int]] = []
        if split == "train":
            verify_manifest(self.root, prefix="train/")  # when the book extracted it: sizes unchanged
            short = []
            for wnid in self.classes:
                folder = self.root / "train" / wnid
                images = folder / "images" if (folder / "images").is_dir() else folder
                files = sorted(images.glob("*.JPEG"))
                if len(files) != want["train_per_class"]:
                    short.append(f"{wnid}: {len(files)} of {want['train_per_class']}")
                self.samples += [(f, self.class_to_idx[wnid]) for f in files]
            if short:
                shown = "; ".join(short[:5]) + (f"; and {len(short) - 5} more" if len(short) > 5 else "")
                raise DatasetUnavailable(
                    f"{self.root / 'train'} is incomplete ({len(short)} class(es) with the wrong number of "
                    f"images: {shown}). Delete the folder and extract the archive again."
                )
        else:
            val = self.root / "val"
            rows = validated_val_annotations(self.root, want)  # complete, consistent with wnids.txt
            missing = []
            for name, wnid in sorted(rows):
                for f in (val / "images" / name, val / wnid / name):
                    if f.is_file():
                        self.samples.append((f, self.class_to_idx[wnid]))
                        break
                else:
                    missing.append(name)
            if missing:
                raise DatasetUnavailable(
                    f"{len(missing)} image(s) listed in val_annotations.txt are neither in val/images/ "
                    f"nor in val/<wnid>/ under {self.root}: {', '.join(missing[:5])}"
                    + (" ..." if len(missing) > 5 else "")
                    + ". Delete the folder and extract the archive again."
                )
        self.targets = [label for _, label in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        from PIL import Image

        path, label = self.samples[i]
        with Image.open(path) as img:
            img = img.convert("RGB")  # a few official images are greyscale
        return (self.transform(img) if self.transform else img), label


# ----------------------------------------------------------------------------- a small fake archive
def make_fake_tiny_imagenet(
    dest: str | os.PathLike,
    n_classes: int = 5,
    n_train: int = 20,
    n_val: int = 8,
    size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a SMALL dataset in the official layout under ``dest/tiny-imagenet-200``; return it (ch. 06).

    Each class is a colour with a class-specific stripe pattern plus noise, so a CNN can learn it. Includes
    ``words.txt`` with an extra unused wnid, ``*_boxes.txt`` and a ``test/images`` folder, like the real one,
    and ``book-expected-counts.json`` with its size, so that :class:`TinyImageNet` can check completeness.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = Path(dest) / TINY_DIR
    wnids = [f"n{1000000 + 7919 * k:08d}" for k in range(n_classes)]
    (root / "val" / "images").mkdir(parents=True, exist_ok=True)
    (root / "test" / "images").mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("\n".join(reversed(wnids)) + "\n")  # not sorted, like the real file
    words = [f"{w}\tthing {k}, object {k}" for k, w in enumerate(wnids)] + ["n99999999\tunused, other"]
    (root / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")

    def image(k):
        yy, xx = np.mgrid[0:size, 0:size]
        base = np.array([(37 * k) % 256, (91 * k + 60) % 256, (151 * k + 120) % 256], dtype=float)
        stripes = 60 * np.sin((xx * (k % 3 + 1) + yy * (k // 3 + 1)) * np.pi / 8)
        img = base + stripes[..., None] + rng.normal(0, 25, (size, size, 3))
        return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))

    for k, w in enumerate(wnids):
        (root / "train" / w / "images").mkdir(parents=True, exist_ok=True)
        boxes = []
        for i in range(n_train):
            name = f"{w}_{i}.JPEG"
            image(k).save(root / "train" / w / "images" / name, quality=90)
            boxes.append(f"{name}\t0\t0\t{size - 1}\t{size - 1}")
        (root / "train" / w / f"{w}_boxes.txt").write_text("\n".join(boxes) + "\n")
    lines, j = [], 0
    for _ in range(n_val):
        for k, w in enumerate(wnids):
            name = f"val_{j}.JPEG"
            image(k).save(root / "val" / "images" / name, quality=90)
            lines.append(f"{name}\t{w}\t0\t0\t{size - 1}\t{size - 1}")
            j += 1
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    image(0).save(root / "test" / "images" / "test_0.JPEG", quality=90)
    counts = {"classes": n_classes, "train_per_class": n_train, "val": n_classes * n_val}
    (root / COUNTS_FILE).write_text(json.dumps(counts) + "\n")  # its size, for the completeness checks
    return root


def make_fake_archive(zip_path: str | os.PathLike, **kwargs: int) -> Path:
    """:func:`make_fake_tiny_imagenet` zipped like the official archive (one top folder; chapter 06)."""
    import tempfile

    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_fake_tiny_imagenet(tmp, **kwargs)
        with atomic_path(zip_path) as part, zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as z:
            for f in sorted(folder.rglob("*")):
                z.write(f, f.relative_to(tmp).as_posix())
    return zip_path
