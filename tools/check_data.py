"""Check that the offline data the stored outputs were computed from is there, and is that data.

    python tools/check_data.py [DIR]     # DIR: default $BOOK_DATA_DIR

The quick-mode outputs stored in the notebooks were computed from a fixed data set: MNIST's official
test set with the first 17,435 training images, and CIFAR-10 re-encoded as JPEG (see that folder's
README). CI must run on exactly these files, or nbval compares against numbers from other data. This
exits non-zero with what is missing or different, so a CI run fails loudly instead of skipping chapters.
``tools/data_bundle.py`` packs this data set into one release asset and fetches it (``make data``).

The checksums are those of ``book/data.py``, the home of the book's datasets; this file only chooses,
for each file, the copy the stored outputs were computed from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from book.data import CIFAR10_JPEG, MNIST_FILES, MNIST_MD5, md5sum


def _offline_copy(known: dict[str, str]) -> str:
    """The md5 of the offline copy among the known copies of an MNIST file (else the official one)."""
    return next((md5 for md5, what in known.items() if what.startswith("offline")), next(iter(known)))


EXPECTED: dict[str, str] = {  # path under the data folder: md5
    **{f"MNIST/raw/{name}": _offline_copy(MNIST_MD5[name]) for name in sorted(MNIST_FILES)},
    CIFAR10_JPEG[0]: CIFAR10_JPEG[1],
}


def problems(folder: Path, expected: dict[str, str] | None = None) -> list[str]:
    """What is missing or different in ``folder`` (empty when it is the expected data)."""
    expected = EXPECTED if expected is None else expected
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    out = []
    for rel, want in expected.items():
        path = folder / rel
        if not path.is_file():
            out.append(f"missing {rel}")
        elif (got := md5sum(path)) != want:
            out.append(f"{rel}: md5 {got}, expected {want}")
    return out


def main(argv: list[str]) -> int:
    """Check the folder named in ``argv`` (else ``$BOOK_DATA_DIR``); print what is wrong."""
    raw = argv[0] if argv else os.environ.get("BOOK_DATA_DIR", "")
    if not raw:
        print(
            "check_data: set BOOK_DATA_DIR (or pass the folder) to the book's offline data folder",
            file=sys.stderr,
        )
        return 1
    bad = problems(Path(raw))
    for line in bad:
        print(f"check_data: {line}", file=sys.stderr)
    if bad:
        print(f"check_data: {raw} is not the book's offline data (`make data` fetches it)", file=sys.stderr)
        return 1
    print(f"check_data: {raw}: all {len(EXPECTED)} files present with the expected checksums")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
