"""Datasets: where they live, how they are fetched and checked, and what to do when that fails.

Every loader takes a data ``root`` (default: ``$BOOK_DATA_DIR``, else ``<repo>/data``). Files are
downloaded or extracted under a temporary name and renamed only when complete and verified, so an
interrupted run never leaves a half-written file that looks finished. Offline, a loader raises
:class:`DatasetUnavailable` naming the files it looked for, where, and how to get them.
"""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "BOOK_DATA_DIR"
CACHE_ENV = "BOOK_CACHE_DIR"


class DatasetUnavailable(RuntimeError):
    """A dataset is neither on disk nor downloadable; the message says what to do."""


# ----------------------------------------------------------------------------- locations
def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder datasets are read from: ``root``, else ``$BOOK_DATA_DIR``, else ``<repo>/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    return Path(env).expanduser() if env else REPO_ROOT / "data"


def cache_dir() -> Path:
    """A writable folder for extracted archives: ``$BOOK_CACHE_DIR``, else ``~/.cache/ai-programming-book``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "ai-programming-book"
    path.mkdir(parents=True, exist_ok=True)
    return path


# ----------------------------------------------------------------------------- integrity
def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def check_md5(path: str | os.PathLike, md5: str | None) -> bool:
    """True if ``path`` exists and (when ``md5`` is given) has that checksum."""
    path = Path(path)
    return path.is_file() and (md5 is None or md5sum(path) == md5)


def _help(what: str, files: list[str], where: Path, urls: list[str], errors: list[str]) -> str:
    lines = [f"{what} is not available.", f"  Looked for: {', '.join(files)}", f"  In: {where}"]
    if errors:
        lines.append("  Download attempts:")
        lines += [f"    - {e}" for e in errors]
    lines.append("  What to do:")
    if urls:
        lines.append(f"    1. Download it by hand (browser, or a mirror you can reach), e.g. {urls[0]}")
        lines.append(f"       and put the file(s) in {where}")
    lines.append(f"    2. Or point the book at a folder that has them: export {DATA_ENV}=/path/to/data")
    lines.append("    3. Or run on Colab, where downloads usually work.")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- download / extract
def download(urls: list[str], dest: str | os.PathLike, md5: str | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``dest`` from the first of ``urls`` that works and matches ``md5``.

    The bytes go to ``dest.part`` and are renamed to ``dest`` only after the checksum passed.
    An existing ``dest`` with the right checksum is reused.
    """
    dest = Path(dest)
    if check_md5(dest, md5):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        part = dest.with_name(dest.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out)
            if md5 is not None and md5sum(part) != md5:
                raise OSError(f"checksum mismatch (expected md5 {md5})")
            os.replace(part, dest)
            return dest
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(f"{url}: {exc}")
        finally:
            part.unlink(missing_ok=True)
    raise DatasetUnavailable(_help(dest.name, [dest.name], dest.parent, urls, errors))


def extract(archive: str | os.PathLike, dest_dir: str | os.PathLike) -> Path:
    """Unpack a .zip / .tar(.gz) into ``dest_dir`` atomically: into a temporary sibling, then rename.

    If ``dest_dir`` already exists it is assumed complete (it only ever appears by that rename).
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if dest_dir.exists():
        return dest_dir
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}-", dir=dest_dir.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():  # refuse paths that escape the folder
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise ValueError(f"unsafe path {name!r} in {archive}")
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        # An archive with a single top folder named like dest_dir is unwrapped.
        inner = tmp / dest_dir.name
        src = inner if inner.is_dir() and len(list(tmp.iterdir())) == 1 else tmp
        os.replace(src, dest_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest_dir


# ----------------------------------------------------------------------------- MNIST
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def check_idx(path: str | os.PathLike) -> int:
    """Validate an IDX file (MNIST's format) by its header and size; return the number of items."""
    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(4)
        if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
            raise DatasetUnavailable(f"{path} is not an IDX file of unsigned bytes; delete it and download again.")
        ndim = header[3]
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
    expected = 4 + 4 * ndim + math.prod(dims)
    if path.stat().st_size != expected:
        raise DatasetUnavailable(
            f"{path} is truncated or corrupt ({path.stat().st_size} bytes, header says {expected}); "
            "delete it and download again.")
    return dims[0]


def load_mnist(train: bool = True, root=None, transform=None, download: bool = True):
    """MNIST as a ``torchvision.datasets.MNIST``; reads ``<root>/MNIST/raw`` and checks the files.

    Online, torchvision downloads the official archives from its mirrors and verifies their md5.
    Note that the training set may be a subset (the offline copy has 17,435 images): use ``len()``.
    """
    import torchvision

    root = data_root(root)
    raw = root / "MNIST" / "raw"
    have = all((raw / f).is_file() for f in MNIST_FILES)
    if not have and download:
        try:
            torchvision.datasets.MNIST(root, train=train, download=True)
            have = True
        except Exception as exc:  # noqa: BLE001
            urls = [m + "train-images-idx3-ubyte.gz" for m in torchvision.datasets.MNIST.mirrors]
            raise DatasetUnavailable(_help("MNIST", list(MNIST_FILES), raw, urls, [str(exc)])) from exc
    if not have:
        raise DatasetUnavailable(_help("MNIST", list(MNIST_FILES), raw, [], []))
    prefix = "train" if train else "t10k"
    n_img = check_idx(raw / f"{prefix}-images-idx3-ubyte")
    n_lab = check_idx(raw / f"{prefix}-labels-idx1-ubyte")
    if n_img != n_lab:
        raise DatasetUnavailable(f"{raw}: {n_img} images but {n_lab} labels; re-download MNIST.")
    return torchvision.datasets.MNIST(root, train=train, transform=transform, download=False)


# ----------------------------------------------------------------------------- CIFAR-10
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_JPEG = ("cifar10-jpeg.tar.gz", "668c2751683aa8f42cd2a548bfcc1d79")


def load_cifar10(train: bool = True, root=None, transform=None, download: bool = True):
    """CIFAR-10 from, in order: torchvision's ``cifar-10-batches-py`` under ``root``; an extracted
    ``cifar10-jpeg/`` (ImageFolder layout); the ``cifar10-jpeg.tar.gz`` archive (md5-checked and
    extracted to a cache folder); else torchvision's download (md5-checked by torchvision).
    Either way the classes are in the official order.
    """
    import torchvision

    root = data_root(root)
    split = "train" if train else "test"
    if (root / "cifar-10-batches-py").is_dir():
        return torchvision.datasets.CIFAR10(root, train=train, transform=transform, download=False)
    jpeg_dir = root / "cifar10-jpeg"
    archive = root / CIFAR10_JPEG[0]
    if not jpeg_dir.is_dir() and archive.is_file():
        if not check_md5(archive, CIFAR10_JPEG[1]):
            raise DatasetUnavailable(f"{archive} does not have md5 {CIFAR10_JPEG[1]}: it is damaged; replace it.")
        jpeg_dir = extract(archive, cache_dir() / "cifar10-jpeg")
    if jpeg_dir.is_dir():
        ds = torchvision.datasets.ImageFolder(jpeg_dir / split, transform=transform)
        if tuple(ds.classes) != CIFAR10_CLASSES:
            raise DatasetUnavailable(f"{jpeg_dir / split} has classes {ds.classes}, expected {CIFAR10_CLASSES}.")
        return ds
    files = ["cifar-10-batches-py/", "cifar10-jpeg/", CIFAR10_JPEG[0]]
    if download:
        try:
            return torchvision.datasets.CIFAR10(root, train=train, transform=transform, download=True)
        except Exception as exc:  # noqa: BLE001
            raise DatasetUnavailable(_help("CIFAR-10", files, root, [torchvision.datasets.CIFAR10.url],
                                           [str(exc)])) from exc
    raise DatasetUnavailable(_help("CIFAR-10", files, root, [torchvision.datasets.CIFAR10.url], []))


# ----------------------------------------------------------------------------- small synthetic data
def make_spiral(n_per_class: int = 1000, n_classes: int = 3, noise: float = 0.2, seed: int = 0):
    """The spiral data of the week-1 exercise (Atcold's NYU-DLSP20): ``X`` (N, 2) float, ``y`` (N,) long."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, n_per_class)
    xs, ys = [], []
    for c in range(n_classes):
        angle = torch.linspace(2 * math.pi / n_classes * c, 2 * math.pi / n_classes * (2 + c), n_per_class)
        angle = angle + torch.randn(n_per_class, generator=g) * noise
        xs.append(torch.stack([t * torch.sin(angle), t * torch.cos(angle)], dim=1))
        ys.append(torch.full((n_per_class,), c, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def subset(dataset, n: int | None, seed: int = 0):
    """The first ``n`` items of a random (seeded) permutation of ``dataset``; all of it if ``n`` is None."""
    if n is None or n >= len(dataset):
        return dataset
    idx = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    return torch.utils.data.Subset(dataset, idx.tolist())
