"""Datasets: where they live, how they are fetched and checked, and what to do when that fails.

Every loader takes a data ``root`` (default: ``$BOOK_DATA_DIR``, else ``<repo>/data``; locations come from
:mod:`book.paths`). Files are downloaded or extracted under a unique temporary name and renamed only when
complete and verified, so an interrupted run never leaves a half-written file that looks finished; a file
lock makes two processes that fetch or extract the same thing take turns, and temporaries left by a killed
run are removed by the next one. Loaders check that a data set is complete (files per class and split
against the known counts, the IDX headers of MNIST, a size manifest for what the book extracted) and
raise :class:`DatasetUnavailable` naming what is missing and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import shutil
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from . import paths
from .files import atomic_path, remove_stale_temps, temp_path_for, write_text_atomic
from .paths import CACHE_ENV, DATA_ENV, PathConfigError, cache_dir  # noqa: F401 - re-exported

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 1800.0  # an extraction of a large archive on a slow disk takes minutes
MANIFEST = ".book-manifest.tsv"  # written into every folder the book extracts: "<relative path>\t<size>"


class DatasetUnavailable(RuntimeError):
    """A dataset is missing, incomplete or damaged, and cannot be fetched; the message says what to do.

    Used by every loader (chapters 00, 02, 05, 06).
    """


# ----------------------------------------------------------------------------- locations
def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder datasets are read from: ``root``, else ``$BOOK_DATA_DIR``, else ``<repo>/data`` (ch. 05, 06).

    The same as :func:`book.paths.data_dir`: a value that is a file raises
    :class:`~book.paths.PathConfigError` naming the variable.
    """
    return paths.data_dir(root)


@contextlib.contextmanager
def file_lock(target: str | os.PathLike, what: str = "") -> Iterator[None]:
    """Hold an inter-process lock for ``target`` (a file or folder being created) meanwhile (ch. 05, 06).

    The lock file lives in the cache (``book.paths.cache_dir("locks")``), so read-only data folders work
    and nothing extra appears beside the data. Used by downloads and extractions (chapters 05, 06).
    """
    from filelock import FileLock, Timeout

    key = hashlib.sha1(str(Path(target).resolve()).encode()).hexdigest()[:16]
    lock_path = paths.cache_dir("locks") / f"{Path(target).name}-{key}.lock"
    lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout as exc:
        raise DatasetUnavailable(
            f"another process has been {what or 'preparing'} {target} for over {LOCK_TIMEOUT_S:g} s "
            f"(it holds {lock_path}). Wait for it to finish; if no such process runs, delete that file."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _remove_stale(target: Path, legacy: str, what: str) -> list[Path]:
    """Remove the temporaries of ``target`` that killed runs left behind, and say so in the log.

    The book's temporaries (:func:`book.files.stale_temps`: ``.<name>.<pid>.<random>.tmp``) are removed
    when their process is gone, so this is safe without a lock. ``legacy`` is the glob of the names
    earlier versions used (no pid in them): call it with the file lock held.
    """
    found = remove_stale_temps(target.parent, target.name)
    if legacy:
        old = sorted(target.parent.glob(legacy))
        for p in old:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        found += old
    if found:
        log.warning(
            "removed %d temporary %s left by an interrupted run: %s",
            len(found),
            what,
            ", ".join(p.name for p in found),
        )
    return found


# ----------------------------------------------------------------------------- integrity
def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The md5 of a file, read in chunks (chapters 05, 06)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def cached_md5(path: str | os.PathLike) -> str:
    """The md5 of ``path``, computed once per version of the file (chapters 02, 05, 06).

    The result is kept in ``book.paths.cache_dir("checksums")`` under the key (resolved path, size,
    modification time in ns), so later loads of an unchanged file cost one ``stat``. A rewritten file
    has another mtime (or size) and is hashed again.
    """
    path = Path(path)
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    entry = None
    with contextlib.suppress(OSError, PathConfigError):
        entry = cache_dir("checksums") / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.md5"
        if entry.is_file():
            stored_key, _, digest = entry.read_text(encoding="utf-8").rpartition("\n")
            if stored_key == key and len(digest) == 32:
                return digest
    digest = md5sum(path)
    if entry is not None:
        with contextlib.suppress(OSError):  # a read-only cache: the check just runs again next time
            write_text_atomic(entry, f"{key}\n{digest}")
    return digest


def check_md5(path: str | os.PathLike, md5: str | None) -> bool:
    """True if ``path`` exists and (when ``md5`` is given) has that checksum (chapters 05, 06)."""
    path = Path(path)
    return path.is_file() and (md5 is None or md5sum(path) == md5)


def write_manifest(folder: str | os.PathLike) -> Path:
    """Record every file under ``folder`` with its size in ``folder/.book-manifest.tsv`` (ch. 05, 06)."""
    folder = Path(folder)
    rows = []
    for dirpath, _, files in os.walk(folder):
        for name in files:
            f = Path(dirpath, name)
            rel = f.relative_to(folder).as_posix()
            if rel != MANIFEST:
                rows.append(f"{rel}\t{f.stat().st_size}")
    out = folder / MANIFEST
    out.write_text("\n".join(sorted(rows)) + "\n", encoding="utf-8")
    return out


def verify_manifest(folder: str | os.PathLike, prefix: str = "") -> int:
    """Check that the files in ``folder``'s manifest (under ``prefix``) have their sizes (ch. 05, 06).

    Returns how many were checked (0 when there is no manifest); raises :class:`DatasetUnavailable`
    naming the missing or changed files (chapters 05, 06).
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return 0
    want: dict[str, dict[str, int]] = {}  # folder -> {file name: size}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        rel, _, size = line.rpartition("\t")
        if rel.startswith(prefix):
            parent, _, name = rel.rpartition("/")
            want.setdefault(parent, {})[name] = int(size)
    bad, n = [], 0
    for parent, files in sorted(want.items()):
        n += len(files)
        try:
            have = {e.name: e.stat().st_size for e in os.scandir(folder / parent) if e.name in files}
        except OSError:
            have = {}
        for name, size in files.items():
            if name not in have:
                bad.append(f"{parent}/{name} (missing)")
            elif have[name] != size:
                bad.append(f"{parent}/{name} ({have[name]} bytes, expected {size})")
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DatasetUnavailable(
            f"{folder} was extracted by the book, but {len(bad)} of its files changed since: {shown}. "
            f"Delete {folder} and load again: it is extracted anew from the archive."
        )
    return n


@contextlib.contextmanager
def _undo_new_folders(folder: Path) -> Iterator[None]:
    """If the block fails, remove the empty folders it created on the way to ``folder`` (a failed
    download must not leave an empty ``…/MNIST/raw`` behind); folders that existed before, and any
    folder with something in it, stay."""
    folder = Path(os.path.abspath(folder))
    new = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        yield
    except BaseException:
        for p in new:
            try:
                p.rmdir()  # only empty folders go
            except OSError:
                break
        raise


def _where(folder: Path) -> str:
    """``folder`` as the user should read it: absolute, and if ``$BOOK_DATA_DIR`` is relative, how it
    resolved (it is relative to the working folder of the process, not of the notebook's file)."""
    lines = [str(Path(os.path.abspath(folder)))]
    env = os.environ.get(DATA_ENV, "").strip()
    if env and not Path(env).expanduser().is_absolute():
        lines.append(
            f"  ({DATA_ENV}={env} is relative: it resolved to {os.path.abspath(Path(env).expanduser())}, "
            f"from the working folder {os.getcwd()}; use an absolute path)"
        )
    return "\n".join(lines)


def _help(what: str, files: list[str], where: Path, urls: list[str], errors: list[str]) -> str:
    lines = [f"{what} is not available.", f"  Looked for: {', '.join(files)}", f"  In: {_where(where)}"]
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
    """Fetch ``dest`` from the first of ``urls`` that works and matches ``md5`` (chapter 06).

    The bytes go to a temporary beside ``dest`` (:func:`book.files.atomic_path`) that is renamed to
    ``dest`` only after the checksum passed; a file lock makes concurrent calls for the same ``dest`` take
    turns (the second finds the finished file). An existing ``dest`` with the right checksum is reused;
    temporaries left by a killed download are removed.
    """
    dest = Path(dest)
    if check_md5(dest, md5):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetUnavailable(
            f"cannot create {dest.parent} ({exc.strerror}) to download {dest.name} into. "
            f"Set {DATA_ENV} to a folder you can write to, or put the file there by hand."
        ) from exc
    with file_lock(dest, "downloading"):
        if check_md5(dest, md5):  # another process finished it while we waited
            return dest
        _remove_stale(dest, f"{dest.name}.*.part", "download file(s)")
        errors = []
        for url in urls:
            try:
                with atomic_path(dest) as part:  # renamed to dest only if no exception
                    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
                        shutil.copyfileobj(response, out)
                    if md5 is not None and md5sum(part) != md5:
                        raise OSError(f"checksum mismatch (expected md5 {md5})")
                return dest
            except Exception as exc:  # noqa: BLE001 - every failure is reported below
                errors.append(f"{url}: {exc}")
    raise DatasetUnavailable(_help(dest.name, [dest.name], dest.parent, urls, errors))


def extract(archive: str | os.PathLike, dest_dir: str | os.PathLike) -> Path:
    """Unpack a .zip / .tar(.gz) into ``dest_dir`` atomically (a temporary sibling, renamed; ch. 05, 06).

    If ``dest_dir`` already exists it is complete (it only ever appears by that rename). A file lock
    makes concurrent extractions take turns; temporary folders left by a killed run are removed (also
    when the folder was already finished). The extracted folder gets a size manifest (:func:`verify_manifest`). Chapters 05, 06.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if dest_dir.exists():
        # a run killed between its rename and its clean-up leaves a temporary beside a finished folder
        _remove_stale(dest_dir, "", "extraction folder(s)")
        return dest_dir
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dest_dir, "extracting into"):
        _remove_stale(dest_dir, f".{dest_dir.name}-*", "extraction folder(s)")
        if dest_dir.exists():  # another process finished it while we waited
            return dest_dir
        tmp = temp_path_for(dest_dir)  # .<name>.<pid>.<random>.tmp: a killed run's is recognisable
        tmp.mkdir()
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
            write_manifest(src)
            os.replace(src, dest_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest_dir


# ----------------------------------------------------------------------------- MNIST
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# md5 of the uncompressed files: the official ones (yann.lecun.com's archives, decompressed), and the
# offline copy's training subset (the first 17,435 images; see the data README)
MNIST_MD5 = {
    "train-images-idx3-ubyte": {
        "6bbc9ace898e44ae57da46a324031adb": "official",
        "dbc7690b163f96c15e5d32e4d0a4b9a8": "offline subset, 17,435 images",
    },
    "train-labels-idx1-ubyte": {
        "a25bea736e30d166cdddb491f175f624": "official",
        "74f2c606bc4cec16f148f4ba74db2d9d": "offline subset, 17,435 labels",
    },
    "t10k-images-idx3-ubyte": {"2646ac647ad5339dbf082846283269ea": "official"},
    "t10k-labels-idx1-ubyte": {"27ae3e4e09519cfbb04c329615203637": "official"},
}


def check_mnist_md5(path: str | os.PathLike) -> str:
    """Refuse an MNIST file whose md5 is none of the known ones (:data:`MNIST_MD5`); ch. 02, 05, 06.

    Catches damage that keeps the size (overwritten bytes), which the IDX header check cannot see. The
    md5 is computed once per version of the file (:func:`cached_md5`). Returns which copy it is.
    """
    path = Path(path)
    known = MNIST_MD5[path.name]
    digest = cached_md5(path)
    if digest not in known:
        raise DatasetUnavailable(
            f"{path} is damaged: its md5 is {digest}, but the known copies of {path.name} have "
            f"{' or '.join(f'{m} ({what})' for m, what in known.items())}. Its size is right, so some "
            f"bytes were overwritten. Delete {path} and download MNIST again (or copy the file from a "
            "good copy)."
        )
    return known[digest]


def idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """Validate an IDX file (MNIST's format) by its header and size; return its shape (chapters 02, 05)."""
    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(4)
        if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
            raise DatasetUnavailable(
                f"{path} is not an IDX file of unsigned bytes; delete it and download again."
            )
        ndim = header[3]
        raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DatasetUnavailable(f"{path} is truncated inside its header; delete it and download again.")
    dims = tuple(int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + math.prod(dims)
    if path.stat().st_size != expected:
        raise DatasetUnavailable(
            f"{path} is truncated or corrupt ({path.stat().st_size} bytes, header says {expected}); "
            "delete it and download again."
        )
    return dims


def check_idx(path: str | os.PathLike) -> int:
    """Validate an IDX file by its header and size; return the number of items (chapters 02, 05)."""
    return idx_shape(path)[0]


def load_mnist(
    train: bool = True,
    root: str | os.PathLike | None = None,
    transform: Callable | None = None,
    download: bool = True,
) -> Any:
    """MNIST as a ``torchvision.datasets.MNIST``; reads ``<root>/MNIST/raw`` and checks the files (ch. 05, 06).

    Online, torchvision downloads the official archives from its mirrors and verifies their md5.
    Completeness: each IDX file must hold exactly the items its header announces, images 28x28, as
    many labels as images; and its md5 must be a known one (:func:`check_mnist_md5`, once per file). The training set may be a subset (the offline copy has 17,435 images, with
    a header that says so): use ``len()``.
    """
    import torchvision

    root = data_root(root)
    raw = root / "MNIST" / "raw"
    have = all((raw / f).is_file() for f in MNIST_FILES)
    if not have and download:
        try:
            with _undo_new_folders(raw):
                torchvision.datasets.MNIST(root, train=train, download=True)
            have = True
        except Exception as exc:  # noqa: BLE001
            urls = [m + "train-images-idx3-ubyte.gz" for m in torchvision.datasets.MNIST.mirrors]
            raise DatasetUnavailable(_help("MNIST", list(MNIST_FILES), raw, urls, [str(exc)])) from exc
    if not have:
        missing = [f for f in MNIST_FILES if not (raw / f).is_file()]
        raise DatasetUnavailable(
            _help("MNIST", list(MNIST_FILES), raw, [], []) + f"\n  Missing: {', '.join(missing)}"
        )
    prefix = "train" if train else "t10k"
    images = idx_shape(raw / f"{prefix}-images-idx3-ubyte")
    labels = idx_shape(raw / f"{prefix}-labels-idx1-ubyte")
    if len(images) != 3 or images[1:] != (28, 28) or len(labels) != 1:
        raise DatasetUnavailable(
            f"{raw}: {prefix} images have shape {images} and labels {labels}; expected (N, 28, 28) and "
            "(N,). These are not MNIST files: delete them and download again."
        )
    if images[0] != labels[0]:
        raise DatasetUnavailable(f"{raw}: {images[0]} images but {labels[0]} labels; re-download MNIST.")
    for kind in ("images-idx3", "labels-idx1"):
        check_mnist_md5(raw / f"{prefix}-{kind}-ubyte")
    return torchvision.datasets.MNIST(root, train=train, transform=transform, download=False)


# ----------------------------------------------------------------------------- CIFAR-10
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_JPEG = ("cifar10-jpeg.tar.gz", "668c2751683aa8f42cd2a548bfcc1d79")
CIFAR10_PER_CLASS = {"train": 5_000, "test": 1_000}  # 50,000 / 10,000 images in all
CIFAR10_ORDER_SEED = 0  # the one fixed permutation every CIFAR-10 loader applies (see cifar10_order)


def cifar10_order(targets: Sequence[int], seed: int = CIFAR10_ORDER_SEED) -> list[int]:
    """The order in which :func:`load_cifar10` returns images, as indices into the source (ch. 05, 06).

    Canonical order: by class, and within a class in the source's file order (the official batches'
    order; the JPEG folder's ``NNNN.jpg`` numbering). Then one fixed permutation (``torch.randperm``
    seeded with ``seed``) of the canonical positions. So any prefix (``ds[:100]``, "the first 2,000 test
    images") is a mix of all classes, two loads give the same order, and the official batches and the
    JPEG copy give the same images in the same order when the JPEG numbering follows the official order.
    """
    canonical = sorted(range(len(targets)), key=lambda i: (int(targets[i]), i))
    perm = torch.randperm(len(canonical), generator=torch.Generator().manual_seed(seed)).tolist()
    return [canonical[j] for j in perm]


def _reorder_cifar10(ds: Any) -> Any:
    """Put a CIFAR-10 dataset (torchvision's ``CIFAR10`` or an ``ImageFolder``) in :func:`cifar10_order`."""
    order = cifar10_order(ds.targets)
    if hasattr(ds, "samples"):  # ImageFolder: samples (path, label), imgs (the same list), targets
        ds.samples = [ds.samples[i] for i in order]
        ds.imgs = ds.samples
        ds.targets = [label for _, label in ds.samples]
    else:  # torchvision.datasets.CIFAR10: data (N, 32, 32, 3) uint8 and a list of targets
        ds.data = ds.data[order]
        ds.targets = [ds.targets[i] for i in order]
    return ds


def check_image_folder(
    ds: Any, folder: Path, classes: tuple[str, ...], per_class: int | Mapping[str, int]
) -> None:
    """Refuse an ``ImageFolder`` whose classes or per-class file counts are not the expected ones (ch. 05)."""
    if tuple(ds.classes) != tuple(classes):
        raise DatasetUnavailable(
            f"{folder} has classes {ds.classes}, expected {list(classes)}. "
            "Replace the folder with a complete copy of the data set."
        )
    want = per_class if isinstance(per_class, Mapping) else dict.fromkeys(classes, per_class)
    counts = torch.bincount(torch.tensor(ds.targets, dtype=torch.long), minlength=len(classes)).tolist()
    wrong = [f"{c}: {n} of {want[c]}" for c, n in zip(classes, counts) if c in want and n != want[c]]
    if wrong:
        raise DatasetUnavailable(
            f"{folder} is incomplete: {len(ds)} images, expected {sum(want.values())} "
            f"(files per class: {'; '.join(wrong)}). An interrupted copy or extraction? Delete {folder} "
            "and extract the archive again (or point the loader at a complete copy)."
        )


def load_cifar10(
    train: bool = True,
    root: str | os.PathLike | None = None,
    transform: Callable | None = None,
    download: bool = True,
    per_class: int | Mapping[str, int] | None = None,
) -> Any:
    """CIFAR-10 from, in order: torchvision's ``cifar-10-batches-py`` under ``root``; an extracted
    ``cifar10-jpeg/`` (ImageFolder layout); the ``cifar10-jpeg.tar.gz`` archive (md5-checked and
    extracted to a cache folder); else torchvision's download (md5-checked by torchvision). Chapters 00,
    05, 06.

    Either way the classes are in the official order, and the images in :func:`cifar10_order`: one
    fixed, seeded order that mixes the classes (a JPEG folder lists them class by class, so without it the
    first 1,000 test images would all be airplanes). A JPEG folder must be complete: ``per_class``
    images in each class (default 5,000 for train and 1,000 for test), and the files the book extracted
    must still have their sizes; else :class:`DatasetUnavailable` says what is missing.
    """
    import torchvision

    root = data_root(root)
    split = "train" if train else "test"
    per_class = CIFAR10_PER_CLASS[split] if per_class is None else per_class
    if (root / "cifar-10-batches-py").is_dir():
        try:  # torchvision checks the md5 of every batch file
            ds = torchvision.datasets.CIFAR10(root, train=train, transform=transform, download=False)
            return _reorder_cifar10(ds)
        except RuntimeError as exc:
            raise DatasetUnavailable(
                f"{root / 'cifar-10-batches-py'}: {exc} Delete the folder and download again."
            ) from exc
    jpeg_dir = root / "cifar10-jpeg"
    archive = root / CIFAR10_JPEG[0]
    if not jpeg_dir.is_dir() and archive.is_file():
        jpeg_dir = cache_dir() / "cifar10-jpeg"
        if not jpeg_dir.is_dir():  # md5 only before extracting; the extraction is atomic
            if not check_md5(archive, CIFAR10_JPEG[1]):
                raise DatasetUnavailable(
                    f"{archive} does not have md5 {CIFAR10_JPEG[1]}: it is damaged; replace it."
                )
            jpeg_dir = extract(archive, jpeg_dir)
    if jpeg_dir.is_dir():
        if not (jpeg_dir / split).is_dir():
            raise DatasetUnavailable(
                f"{jpeg_dir} has no {split}/ folder: it is incomplete. Delete it and extract "
                f"{CIFAR10_JPEG[0]} again."
            )
        verify_manifest(jpeg_dir, prefix=f"{split}/")
        ds = torchvision.datasets.ImageFolder(jpeg_dir / split, transform=transform)
        check_image_folder(ds, jpeg_dir / split, CIFAR10_CLASSES, per_class)
        return _reorder_cifar10(ds)
    files = ["cifar-10-batches-py/", "cifar10-jpeg/", CIFAR10_JPEG[0]]
    if download:
        try:
            with _undo_new_folders(root):
                ds = torchvision.datasets.CIFAR10(root, train=train, transform=transform, download=True)
        except Exception as exc:  # noqa: BLE001
            raise DatasetUnavailable(
                _help("CIFAR-10", files, root, [torchvision.datasets.CIFAR10.url], [str(exc)])
            ) from exc
        return _reorder_cifar10(ds)
    raise DatasetUnavailable(_help("CIFAR-10", files, root, [torchvision.datasets.CIFAR10.url], []))


# ----------------------------------------------------------------------------- small synthetic data
def make_spiral(
    n_per_class: int = 1000, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The spiral data of the week-1 exercise (NYU-DLSP20): ``X`` (N, 2), ``y`` (N,) (chapters 02, 04)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, n_per_class)
    xs, ys = [], []
    for c in range(n_classes):
        angle = torch.linspace(2 * math.pi / n_classes * c, 2 * math.pi / n_classes * (2 + c), n_per_class)
        angle = angle + torch.randn(n_per_class, generator=g) * noise
        xs.append(torch.stack([t * torch.sin(angle), t * torch.cos(angle)], dim=1))
        ys.append(torch.full((n_per_class,), c, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def subset_indices(total: int, n: int | None, seed: int = 0) -> torch.Tensor | None:
    """The first ``n`` of a permutation of ``range(total)`` seeded with ``seed``; None when ``n`` is None
    or covers everything. The one seeded selection behind :func:`subset` and
    :func:`book.fast_cifar.subset` (chapters 05, 06)."""
    if n is None or n >= total:
        return None
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n]


def subset(dataset: Sequence, n: int | None, seed: int = 0) -> Sequence:
    """The first ``n`` items of a seeded permutation of ``dataset``; all if ``n`` is None (ch. 05, 06)."""
    idx = subset_indices(len(dataset), n, seed)
    return dataset if idx is None else torch.utils.data.Subset(dataset, idx.tolist())
