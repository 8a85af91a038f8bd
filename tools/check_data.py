"""Check that the offline data the stored outputs were computed from is there, and is that data.

    python tools/check_data.py [DIR]     # DIR: default $BOOK_DATA_DIR

The quick-mode outputs stored in the notebooks were computed from a fixed data set: MNIST's official
test set with the first 17,435 training images, and CIFAR-10 re-encoded as JPEG (see that folder's
README). CI must run on exactly these files, or nbval compares against numbers from other data. This
exits non-zero with what is missing or different, so a CI run fails loudly instead of skipping chapters.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

EXPECTED = {  # path under the data folder: md5
    "MNIST/raw/t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "MNIST/raw/t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    "MNIST/raw/train-images-idx3-ubyte": "dbc7690b163f96c15e5d32e4d0a4b9a8",
    "MNIST/raw/train-labels-idx1-ubyte": "74f2c606bc4cec16f148f4ba74db2d9d",
    "cifar10-jpeg.tar.gz": "668c2751683aa8f42cd2a548bfcc1d79",
}


def md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def problems(folder: Path) -> list[str]:
    """What is missing or different in ``folder`` (empty when it is the expected data)."""
    if not folder.is_dir():
        return [f"{folder} is not a folder"]
    out = []
    for rel, want in EXPECTED.items():
        path = folder / rel
        if not path.is_file():
            out.append(f"missing {rel}")
        elif md5(path) != want:
            out.append(f"{rel}: md5 {md5(path)}, expected {want}")
    return out


if __name__ == "__main__":
    raw = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BOOK_DATA_DIR", "")
    if not raw:
        sys.exit("check_data: set BOOK_DATA_DIR (or pass the folder) to the book's offline data folder")
    bad = problems(Path(raw))
    for line in bad:
        print(f"check_data: {line}", file=sys.stderr)
    if bad:
        sys.exit(f"check_data: {raw} is not the book's offline data (see tools/check_data.py)")
    print(f"check_data: {raw}: all {len(EXPECTED)} files present with the expected checksums")
