"""The offline data set as a release asset (tools/data_bundle.py): built reproducibly, fetched from a
simulated release (a local HTTP server on 127.0.0.1), verified by sha256 and md5, unpacked atomically;
a corrupted download is refused with a clear message and leaves nothing behind. About 10 s (the command
line imports torch through book.data)."""

import functools
import hashlib
import http.server
import re
import subprocess
import sys
import threading

import pytest
import yaml
from data_bundle import BundleError, build, declared, fetch

from book.paths import ROOT


@pytest.fixture
def data_set(tmp_path):
    """A small stand-in for the data folder, and its expected checksums (the real one is 40 MB)."""
    src = tmp_path / "shared" / "data"
    files = {
        "MNIST/raw/t10k-labels-idx1-ubyte": b"\x00\x00\x08\x01labels",
        "cifar10-jpeg.tar.gz": b"jpeg" * 999,
    }
    for rel, content in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(content)
    (src / "README.md").write_text("# offline data\n")
    return src, {rel: hashlib.md5(content).hexdigest() for rel, content in files.items()}


@pytest.fixture
def release(tmp_path):
    """A simulated release: files put in the folder are served at the returned base URL."""
    folder = tmp_path / "release"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bundle_is_reproducible_and_fetch_unpacks_it(tmp_path, data_set, release):
    src, expected = data_set
    folder, base = release
    digest = build(src, folder / "book-data.tar.gz", expected)
    assert build(src, tmp_path / "again.tar.gz", expected) == digest, "same files, same bytes"
    dest = tmp_path / "fork" / "shared" / "data"
    message = fetch(dest, f"{base}/book-data.tar.gz", digest, expected)
    assert "sha256 verified" in message
    for rel in expected:
        assert (dest / rel).read_bytes() == (src / rel).read_bytes()
    assert (dest / "README.md").is_file()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["data"], "no temporaries left"
    assert "already there" in fetch(dest, f"{base}/book-data.tar.gz", digest, expected)


def test_build_refuses_a_folder_that_is_not_the_data(tmp_path, data_set):
    src, expected = data_set
    (src / "cifar10-jpeg.tar.gz").write_bytes(b"other")
    with pytest.raises(BundleError, match="cifar10-jpeg.tar.gz: md5"):
        build(src, tmp_path / "out.tar.gz", expected)
    assert not (tmp_path / "out.tar.gz").exists()


def test_corrupted_download_is_refused_and_leaves_nothing(tmp_path, data_set, release):
    src, expected = data_set
    folder, base = release
    digest = build(src, folder / "book-data.tar.gz", expected)
    blob = bytearray((folder / "book-data.tar.gz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte in transit
    (folder / "book-data.tar.gz").write_bytes(bytes(blob))
    dest = tmp_path / "fork" / "data"
    with pytest.raises(BundleError, match=f"declares {digest}: refusing it"):
        fetch(dest, f"{base}/book-data.tar.gz", digest, expected)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_bundle_with_the_right_hash_but_wrong_files_is_refused(tmp_path, data_set, release):
    """The sha256 guards the download; the md5s of book/data.py guard what is unpacked."""
    src, expected = data_set
    folder, base = release
    digest = build(src, folder / "book-data.tar.gz", expected)
    wrong = {**expected, "cifar10-jpeg.tar.gz": "0" * 32}
    dest = tmp_path / "fork" / "data"
    with pytest.raises(BundleError, match="not the book's data"):
        fetch(dest, f"{base}/book-data.tar.gz", digest, wrong)
    assert list(dest.parent.iterdir()) == []


def test_command_line_refuses_a_corrupted_download(tmp_path, release):
    folder, base = release
    (folder / "book-data.tar.gz").write_bytes(b"not a bundle")
    dest = tmp_path / "fork" / "data"
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "data_bundle.py"), "fetch", str(dest)]
        + ["--url", f"{base}/book-data.tar.gz", "--sha256", "1" * 64],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "refusing it (corrupted or a different bundle); nothing was written" in out.stderr
    assert list(dest.parent.iterdir()) == []


def test_a_missing_asset_says_where_it_looked(tmp_path, release):
    _, base = release
    with pytest.raises(BundleError, match="cannot download the data bundle from .*nothing-here"):
        fetch(tmp_path / "fork" / "data", f"{base}/nothing-here.tar.gz", "1" * 64, {"a": "0" * 32})
    assert list((tmp_path / "fork").iterdir()) == []


def test_one_place_names_the_data_and_ci_uses_it():
    source = declared()
    assert source["url"].startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8")
    steps = yaml.safe_load(workflow)["jobs"]["test"]["steps"]
    assert any("make data" in s.get("run", "") for s in steps)
    assert not any("repository" in s.get("with", {}) for s in steps), "no other repository is checked out"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^data:.*\n(\t.*\n)*\t.*data_bundle.py fetch", makefile, re.M)
    assert source["url"] not in makefile + workflow, "the URL is named in pyproject.toml only"
