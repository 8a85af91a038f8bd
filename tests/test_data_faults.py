"""book.data and book.tinyimagenet under faults: incomplete or damaged data, races, killed runs, bad
settings, malicious annotations. Each test injects the fault on purpose, on small fake data sets."""

import hashlib
import os
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from book import data, paths
from book import tinyimagenet as tin


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))


def fake_cifar(root: Path, per_class: int = 3) -> Path:
    """``root/cifar10-jpeg/{train,test}/<class>/NNNN.jpg``, ``per_class`` tiny JPEGs per class and split."""
    from PIL import Image

    folder = root / "cifar10-jpeg"
    for split in ("train", "test"):
        for k, c in enumerate(data.CIFAR10_CLASSES):
            (folder / split / c).mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (32, 32), (25 * k, 10 * i, 99)).save(folder / split / c / f"{i:04d}.jpg")
    return folder


def fake_cifar_archive(tmp_path: Path, monkeypatch, per_class: int = 3) -> Path:
    """A tar.gz of :func:`fake_cifar` in ``tmp_path/data``, accepted as the book's CIFAR-10 archive."""
    fake_cifar(tmp_path / "src", per_class)
    root = tmp_path / "data"
    root.mkdir()
    archive = root / data.CIFAR10_JPEG[0]
    with tarfile.open(archive, "w:gz") as t:
        t.add(tmp_path / "src" / "cifar10-jpeg", arcname="cifar10-jpeg")
    monkeypatch.setattr(data, "CIFAR10_JPEG", (archive.name, data.md5sum(archive)))
    return root


# ----------------------------------------------------------------------------- completeness
def test_cifar_folder_missing_images_is_refused(tmp_path):
    # a folder missing images must not load the rest and fail mid-epoch (or train on less)
    folder = fake_cifar(tmp_path, per_class=3)
    assert len(data.load_cifar10(False, root=tmp_path, download=False, per_class=3)) == 30
    (folder / "test" / "cat" / "0001.jpg").unlink()
    with pytest.raises(data.DatasetUnavailable, match=r"incomplete: 29 images, expected 30.*cat: 2 of 3"):
        data.load_cifar10(False, root=tmp_path, download=False, per_class=3)
    # the official counts are the default: a 3-per-class folder is not CIFAR-10's 5,000 per class
    with pytest.raises(data.DatasetUnavailable, match="airplane: 3 of 5000"):
        data.load_cifar10(True, root=tmp_path, download=False)


def test_cifar_extraction_has_a_manifest_that_catches_a_truncated_file(tmp_path, monkeypatch):
    # a half-written JPEG in the extracted folder must not surface as a PIL error mid-epoch
    root = fake_cifar_archive(tmp_path, monkeypatch)
    ds = data.load_cifar10(False, root=root, download=False, per_class=3)
    extracted = paths.cache_dir() / "cifar10-jpeg"
    assert (extracted / data.MANIFEST).is_file() and len(ds) == 30
    victim = extracted / "test" / "dog" / "0002.jpg"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(data.DatasetUnavailable, match=r"test/dog/0002.jpg \(100 bytes, expected"):
        data.load_cifar10(False, root=root, download=False, per_class=3)
    assert len(data.load_cifar10(True, root=root, download=False, per_class=3)) == 30  # train intact


def test_mnist_subset_with_consistent_header_loads_and_inconsistent_is_refused(tmp_path, shared_data):
    # the offline subset (17,435 training images, header says so) is complete by its own header
    assert len(data.load_mnist(True, root=shared_data, download=False)) == 17_435
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in data.MNIST_FILES:
        (raw / f).write_bytes((shared_data / "MNIST" / "raw" / f).read_bytes())
    labels = raw / "t10k-labels-idx1-ubyte"
    body = bytearray(labels.read_bytes())
    body[4:8] = (9_999).to_bytes(4, "big")  # one label fewer in the header, one byte fewer in the file
    labels.write_bytes(bytes(body[:-1]))
    with pytest.raises(data.DatasetUnavailable, match="10000 images but 9999 labels"):
        data.load_mnist(False, root=tmp_path, download=False)
    labels.write_bytes(bytes(body))  # header says 9,999, file holds 10,000: truncated or corrupt
    with pytest.raises(data.DatasetUnavailable, match="truncated or corrupt"):
        data.load_mnist(False, root=tmp_path, download=False)


# ----------------------------------------------------------------------------- settings
def test_data_dir_pointing_at_a_file_names_the_variable(tmp_path, monkeypatch):
    # not a raw NotADirectoryError: the message names the setting that is wrong
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    monkeypatch.setenv(paths.DATA_ENV, str(f))
    with pytest.raises(paths.PathConfigError, match="BOOK_DATA_DIR=.*is a file, not a folder"):
        data.load_mnist(download=False)
    with pytest.raises(paths.PathConfigError, match="BOOK_DATA_DIR"):
        tin.get_tiny_imagenet(download_ok=False)


def test_unusable_cache_dir_names_the_variable(tmp_path, monkeypatch):
    root = fake_cifar_archive(tmp_path, monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(paths.CACHE_ENV, str(blocker / "cache"))  # cannot be created: a file is in the way
    with pytest.raises(paths.PathConfigError, match="Set BOOK_CACHE_DIR to a folder you can write to"):
        data.load_cifar10(False, root=root, download=False, per_class=3)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_cache_dir_names_the_variable(tmp_path, monkeypatch):
    root = fake_cifar_archive(tmp_path, monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv(paths.CACHE_ENV, str(ro))
    try:
        with pytest.raises(paths.PathConfigError, match="read-only. Set BOOK_CACHE_DIR"):
            data.load_cifar10(False, root=root, download=False, per_class=3)
    finally:
        ro.chmod(0o755)


# ----------------------------------------------------------------------------- races and killed runs
SLOW_EXTRACT = """
import sys, tarfile, time
from pathlib import Path
from book import data
real = tarfile.TarFile.extractall
def slow(self, *a, **k):
    real(self, *a, **k)
    Path(sys.argv[3]).touch()          # "extracted into the temporary folder"
    time.sleep(float(sys.argv[4]))
tarfile.TarFile.extractall = slow
while not Path(sys.argv[5]).exists():  # start together
    time.sleep(0.01)
out = data.extract(sys.argv[1], sys.argv[2])
print(sorted(p.name for p in out.iterdir()))
"""


def _pack(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "pack"
    src.mkdir(parents=True)
    for i in range(5):
        (src / f"f{i}.txt").write_text(str(i))
    archive = tmp_path / "pack.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(src, arcname="pack")
    return archive


def test_concurrent_extractions_take_turns(tmp_path):
    # the second must not os.replace onto the finished folder (OSError [Errno 39])
    # A second process extracts slowly; this one starts extracting the same archive meanwhile.
    archive, dest, go = _pack(tmp_path), tmp_path / "out" / "pack", tmp_path / "go"
    go.touch()
    mark = tmp_path / "mark"
    other = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXTRACT, archive, dest, mark, "1.0", go],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(mark, 60), other.communicate()
        assert not dest.exists()  # the other one is inside its extraction now
        out = data.extract(archive, dest)  # waits for the lock, then finds the finished folder
        stdout, stderr = other.communicate(timeout=60)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert other.returncode == 0, stderr
    names = sorted([data.MANIFEST] + [f"f{i}.txt" for i in range(5)])
    assert stdout.strip() == str(names) and sorted(p.name for p in out.iterdir()) == names
    assert [p.name for p in dest.parent.iterdir()] == ["pack"]  # no temporary folder left


def wait_for(path: Path, limit: float) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end and not path.exists():
        time.sleep(0.05)
    return path.exists()


def test_killed_extraction_leaves_a_temporary_that_the_next_run_removes(tmp_path, caplog):
    # a killed extraction's folder (up to ~236 MB for CIFAR-10) must not stay forever
    archive, dest, go = _pack(tmp_path), tmp_path / "out" / "pack", tmp_path / "go"
    go.touch()
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_EXTRACT, archive, dest, mark, "600", go])
    try:
        assert wait_for(mark, 60)
    finally:
        proc.kill()
        proc.wait()
    stale = list(dest.parent.glob(".pack.*.tmp"))
    assert len(stale) == 1 and not dest.exists()
    with caplog.at_level("WARNING", logger="book.data"):
        out = data.extract(archive, dest)
    assert (out / "f4.txt").read_text() == "4"
    assert [p.name for p in dest.parent.iterdir()] == ["pack"]
    assert "removed 1 temporary extraction folder(s)" in caplog.text and stale[0].name in caplog.text


KILLED_AFTER_RENAME = """
import os, signal, sys
from book import data
real = os.replace
def replace_then_killed(a, b):
    real(a, b)
    os.kill(os.getpid(), signal.SIGKILL)  # killed between the rename and the clean-up
os.replace = replace_then_killed
data.extract(sys.argv[1], sys.argv[2])
"""


def test_temporary_of_an_extraction_killed_after_its_rename_is_removed_by_the_next_run(tmp_path):
    archive, dest = _pack(tmp_path), tmp_path / "out" / "pack"
    proc = subprocess.run([sys.executable, "-c", KILLED_AFTER_RENAME, archive, dest], timeout=120)
    assert proc.returncode == -9 and (dest / "f4.txt").is_file()
    assert len(list(dest.parent.iterdir())) == 2  # the finished folder and the killed run's temporary
    assert (data.extract(archive, dest) / "f4.txt").read_text() == "4"  # finds the finished folder
    assert [p.name for p in dest.parent.iterdir()] == ["pack"]


def test_failed_offline_download_creates_no_folders(tmp_path, monkeypatch):
    import torchvision

    missing = tmp_path / "not-created-yet"
    monkeypatch.setenv(paths.DATA_ENV, str(missing))
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # refused
    with pytest.raises(data.DatasetUnavailable, match="MNIST is not available"):
        data.load_mnist(download=True)
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", "http://127.0.0.1:9/c.tar.gz")
    with pytest.raises(data.DatasetUnavailable, match="CIFAR-10 is not available"):
        data.load_cifar10(download=True)
    with pytest.raises(data.DatasetUnavailable, match="What to do"):
        tin.get_tiny_imagenet(urls=["http://127.0.0.1:9/tiny-imagenet-200.zip"])
    assert not missing.exists()  # nothing the failed attempts made is left
    (missing / "MNIST" / "keep").mkdir(parents=True)  # the user's own (empty) folders stay
    with pytest.raises(data.DatasetUnavailable):
        data.load_mnist(download=True)
    assert sorted(p.name for p in (missing / "MNIST").iterdir()) == ["keep"]


def test_relative_data_dir_is_reported_with_where_it_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(paths.DATA_ENV, "some/data")
    with pytest.raises(data.DatasetUnavailable) as e:
        data.load_mnist(download=False)
    msg = str(e.value)
    assert f"{data.DATA_ENV}=some/data is relative" in msg and str(tmp_path / "some" / "data") in msg


@pytest.fixture
def slow_http(tmp_path):
    """A local HTTP server (loopback) that sends its files slowly, so that two downloads overlap."""

    class Slow(SimpleHTTPRequestHandler):
        def copyfile(self, source, outputfile):
            while chunk := source.read(4096):
                outputfile.write(chunk)
                time.sleep(0.02)

        def log_message(self, *a):
            pass

    served = tmp_path / "served"
    served.mkdir()
    server = HTTPServer(("127.0.0.1", 0), partial(Slow, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_concurrent_downloads_take_turns(tmp_path, slow_http):
    # two processes downloading one file must not share a temporary file, nor both fail
    served, url = slow_http
    payload = os.urandom(4096 * 50)  # ~1 s to send
    (served / "f.bin").write_bytes(payload)
    md5 = hashlib.md5(payload).hexdigest()
    dest = tmp_path / "dl" / "f.bin"
    stale = tmp_path / "dl" / "f.bin.0badc0de.part"  # left by a killed download of an older version
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    code = textwrap.dedent(
        """
        import sys
        from book import data
        print(data.download([sys.argv[1]], sys.argv[2], md5=sys.argv[3]))
        """
    )
    # another process downloads slowly; this one asks for the same file while its temporary grows
    other = subprocess.Popen(
        [sys.executable, "-c", code, f"{url}/f.bin", dest, md5],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and not list(dest.parent.glob(".f.bin.*.tmp")):
            time.sleep(0.02)
        assert not stale.exists()  # removed by the other process, which holds the lock
        assert data.download([f"{url}/f.bin"], dest, md5=md5) == dest
        stdout, stderr = other.communicate(timeout=60)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert other.returncode == 0, stderr
    assert dest.read_bytes() == payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.bin"]  # stale and own .part files gone


# ----------------------------------------------------------------------------- Tiny ImageNet
@pytest.fixture
def tiny(tmp_path):
    return tin.make_fake_tiny_imagenet(tmp_path, n_classes=3, n_train=4, n_val=2, size=8)


def _annotations(folder: Path) -> Path:
    return folder / "val" / "val_annotations.txt"


def _val_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{name}\timages\t0\t0\t7\t7", "wnid 'images' is not in wnids.txt"),  # its own source folder
        ("../../wnids.txt\t{wnid}\t0\t0\t7\t7", "not a plain file name"),  # escapes val/
        ("{name}\tn99999999\t0\t0\t7\t7", "wnid 'n99999999' is not in wnids.txt"),  # a typo'd wnid
        ("{name}\t{wnid}\t0\t0\t7\t7", "is listed again"),  # the same file twice
    ],
)
def test_reorganize_val_checks_every_line_before_moving_anything(tiny, bad, message):
    # a target resolving to its own source would unlink it; `..` and unknown wnids must be refused
    # (a typo'd wnid would make an extra class and shift ImageFolder's labels)
    first_name, first_wnid = tin.read_val_annotations(tiny)[0]
    with _annotations(tiny).open("a") as f:
        f.write(bad.format(name=first_name, wnid=first_wnid) + "\n")
    before = _val_files(tiny)
    with pytest.raises(data.DatasetUnavailable, match=f"line 7: .*{message}.*Nothing was moved"):
        tin.reorganize_val(tiny)
    assert _val_files(tiny) == before and (tiny / "wnids.txt").is_file()
    with pytest.raises(data.DatasetUnavailable, match=message):
        tin.TinyImageNet(tiny, "val")


def test_tiny_imagenet_counts(tiny):
    assert len(tin.TinyImageNet(tiny, "train")) == 12 and len(tin.TinyImageNet(tiny, "val")) == 6
    wnid = tin.read_wnids(tiny)[1]
    next((tiny / "train" / wnid / "images").glob("*.JPEG")).unlink()
    with pytest.raises(
        data.DatasetUnavailable, match=f"1 class\\(es\\) with the wrong number.*{wnid}: 3 of 4"
    ):
        tin.TinyImageNet(tiny, "train")
    # a val line removed: fewer images than the data set's size
    lines = _annotations(tiny).read_text().splitlines()
    _annotations(tiny).write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(data.DatasetUnavailable, match="lists 5 images, expected 6"):
        tin.TinyImageNet(tiny, "val")
    # the official counts are the default when a folder does not record its own
    (tiny / tin.COUNTS_FILE).unlink()
    with pytest.raises(data.DatasetUnavailable, match="lists 3 classes, expected 200"):
        tin.TinyImageNet(tiny, "val")
    explicit = {"classes": 3, "train_per_class": 4, "val": 5}
    with pytest.raises(data.DatasetUnavailable, match="have no line: val_0.JPEG"):  # its image is there
        tin.TinyImageNet(tiny, "val", counts=explicit)
    (tiny / "val" / "images" / lines[0].split()[0]).unlink()  # a consistent smaller set, declared so
    assert len(tin.TinyImageNet(tiny, "val", counts=explicit)) == 5


# ----------------------------------------------------------------------------- damage of the right size
def copy_mnist(shared_data, tmp_path) -> Path:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in data.MNIST_FILES:
        (raw / f).write_bytes((shared_data / "MNIST" / "raw" / f).read_bytes())
    return raw


def test_mnist_overwritten_bytes_of_the_right_size_are_refused(tmp_path, shared_data):
    raw = copy_mnist(shared_data, tmp_path)
    labels = raw / "t10k-labels-idx1-ubyte"
    body = bytearray(labels.read_bytes())
    body[8:] = bytes((b + 1) % 10 for b in body[8:])  # every label wrong, header and size intact
    labels.write_bytes(bytes(body))
    with pytest.raises(data.DatasetUnavailable, match=r"t10k-labels-idx1-ubyte is damaged: its md5") as e:
        data.load_mnist(False, root=tmp_path, download=False)
    assert str(labels) in str(e.value) and "27ae3e4e09519cfbb04c329615203637" in str(e.value)
    assert len(data.load_mnist(True, root=tmp_path, download=False)) == 17_435  # train files intact


def test_mnist_checksum_is_computed_once_per_file_version(tmp_path, shared_data, monkeypatch):
    raw = copy_mnist(shared_data, tmp_path)
    data.load_mnist(False, root=tmp_path, download=False)  # hashes the two test files, keeps verdicts
    hashed = []
    monkeypatch.setattr(data, "md5sum", lambda p, *a: hashed.append(Path(p).name) or "0" * 32)
    data.load_mnist(False, root=tmp_path, download=False)
    assert hashed == []  # unchanged files: one stat each, no hashing
    images = raw / "t10k-images-idx3-ubyte"
    os.utime(images, ns=(images.stat().st_atime_ns, images.stat().st_mtime_ns + 1000))
    with pytest.raises(data.DatasetUnavailable, match="damaged"):  # changed mtime: hashed again
        data.load_mnist(False, root=tmp_path, download=False)
    assert hashed == ["t10k-images-idx3-ubyte"]
