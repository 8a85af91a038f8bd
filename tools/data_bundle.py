"""The book's offline data set as one file that this repository publishes as a release asset.

    python tools/data_bundle.py build [SRC] [OUT]   # make data-bundle: pack SRC, print its sha256
    python tools/data_bundle.py fetch [DEST]        # make data: download, verify, unpack to DEST

The stored quick-mode outputs were computed from a fixed data set (``tools/check_data.py`` lists its
files and checksums). A fork, a new CI runner or a reader's laptop gets exactly that set from one
place: ``[tool.book.data]`` in ``pyproject.toml`` names the asset's URL and its sha256, and nothing else
does.

* ``build`` packs the files of ``tools/check_data.py`` (and the folder's README) from ``SRC`` (default
  ``../shared/data``) into a reproducible ``.tar.gz`` (sorted entries, no dates or owners: the same
  files give the same bytes), and prints its sha256 and what to do with it.
* ``fetch`` downloads the asset to a temporary file beside ``DEST`` (default ``$BOOK_DATA_DIR``, else
  ``../shared/data``), refuses it unless its sha256 is the declared one, unpacks it into a temporary
  folder, checks every file's md5, and only then renames the folder to ``DEST``. A failure at any step
  leaves nothing behind: ``DEST`` is complete or absent. ``--url`` / ``--sha256`` override the declared
  ones (tests, mirrors).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tomllib
import urllib.request
from pathlib import Path

from check_data import EXPECTED, problems

from book.files import atomic_path, remove_stale_temps, temp_path_for
from book.paths import ROOT

DEFAULT_DIR = ROOT.parent / "shared" / "data"  # beside the repository, as on the course's machines
README = "README.md"  # the data folder's description travels with the data, when present


class BundleError(RuntimeError):
    """The bundle cannot be built, downloaded, verified or unpacked; the message says what to do."""


def declared() -> dict[str, str]:
    """``{"url", "sha256"}`` of ``[tool.book.data]`` in ``pyproject.toml``: the one place naming the source."""
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["book"]["data"]
    return {"url": table["url"], "sha256": table["sha256"]}


def sha256sum(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(src: Path, out: Path, expected: dict[str, str] | None = None) -> str:
    """Pack the data files of ``src`` into ``out`` (reproducibly, atomically); return its sha256."""
    expected = EXPECTED if expected is None else expected
    bad = problems(src, expected)
    if bad:
        raise BundleError(f"{src} is not the book's offline data: " + "; ".join(bad))
    names = sorted(expected) + ([README] if (src / README).is_file() else [])
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name in names:
                    info = tarfile.TarInfo(name)
                    info.size = (src / name).stat().st_size
                    info.mode, info.mtime = 0o644, 0
                    with open(src / name, "rb") as f:
                        tar.addfile(info, f)
    return sha256sum(out)


def _download(url: str, dest: Path, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
            while block := response.read(1 << 20):
                f.write(block)
    except OSError as e:  # URLError, HTTPError, timeouts and disk errors are all OSErrors
        raise BundleError(
            f"cannot download the data bundle from {url} ({e}). Check the URL in pyproject.toml "
            "[tool.book.data], or copy the data folder by hand (tools/check_data.py lists its files)."
        ) from e


def _safe_members(tar: tarfile.TarFile, expected: dict[str, str]) -> list[tarfile.TarInfo]:
    allowed = set(expected) | {README}
    members = tar.getmembers()
    strange = [m.name for m in members if m.name not in allowed or not m.isfile()]
    if strange:
        raise BundleError(f"the data bundle holds unexpected entries {strange[:5]}: refusing it")
    return members


def fetch(
    dest: Path,
    url: str | None = None,
    sha256: str | None = None,
    expected: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> str:
    """Download the bundle, verify it and unpack it to ``dest`` atomically; return what was done."""
    expected = EXPECTED if expected is None else expected
    source = declared() if url is None or sha256 is None else {}
    url, sha256 = url or source["url"], sha256 or source["sha256"]
    dest = Path(dest).absolute()
    if dest.is_dir() and any(dest.iterdir()):
        bad = problems(dest, expected)
        if not bad:
            return f"{dest}: already there, all {len(expected)} files verified"
        raise BundleError(
            f"{dest} exists but is not the book's offline data ({'; '.join(bad[:3])}). "
            "Remove it (or set BOOK_DATA_DIR to another folder) and run `make data` again."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dest.parent, dest.name)  # left by a fetch that was killed
    archive = temp_path_for(dest)
    try:
        _download(url, archive, timeout)
        got = sha256sum(archive)
        if got != sha256:
            raise BundleError(
                f"the download from {url} has sha256 {got}, but pyproject.toml [tool.book.data] declares "
                f"{sha256}: refusing it (corrupted or a different bundle); nothing was written to {dest}"
            )
        with atomic_path(dest) as tmp:
            with tarfile.open(archive, "r:gz") as tar:
                members = _safe_members(tar, expected)
                tmp.mkdir()
                for m in members:
                    target = tmp / m.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(m) as f, open(target, "wb") as out:
                        shutil.copyfileobj(f, out)
            bad = problems(tmp, expected)
            if bad:
                raise BundleError(
                    f"the unpacked bundle is not the book's data ({'; '.join(bad)}): refusing it"
                )
            if dest.is_dir():
                dest.rmdir()  # empty (checked above): the rename replaces it
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, io.UnsupportedOperation) as e:
        raise BundleError(f"the data bundle from {url} cannot be unpacked ({e}): refusing it") from e
    finally:
        archive.unlink(missing_ok=True)
    return f"{dest}: fetched {url}, sha256 verified, {len(expected)} files verified"


def _default_dest() -> Path:
    raw = os.environ.get("BOOK_DATA_DIR", "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_DIR


def main(argv: list[str] | None = None) -> int:
    """The command line (``make data-bundle``, ``make data``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="pack the data folder into one release asset; print its sha256")
    b.add_argument("src", nargs="?", type=Path, default=DEFAULT_DIR)
    b.add_argument("out", nargs="?", type=Path, default=ROOT / "dist" / "book-data.tar.gz")
    f = sub.add_parser("fetch", help="download the declared asset, verify it, unpack it")
    f.add_argument(
        "dest", nargs="?", type=Path, default=None, help="default: $BOOK_DATA_DIR, else ../shared/data"
    )
    f.add_argument("--url", help="override the URL of pyproject.toml [tool.book.data]")
    f.add_argument("--sha256", help="override the sha256 of pyproject.toml [tool.book.data]")
    args = p.parse_args(argv)
    try:
        if args.cmd == "build":
            digest = build(args.src, args.out)
            print(f"data_bundle: {args.out} ({args.out.stat().st_size:,} bytes)\nsha256 {digest}")
            print(
                "Publish it: attach it to a release of the repository (e.g. tag data-v1), then put its "
                "download URL and this sha256 in pyproject.toml [tool.book.data]."
            )
        else:
            print("data_bundle: " + fetch(args.dest or _default_dest(), args.url, args.sha256))
    except BundleError as e:
        print(f"data_bundle: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
