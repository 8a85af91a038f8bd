"""Pack the built book (site, slides, slide PDFs) into one archive that works with no network.

    python tools/release.py [dist]     # -> dist/ai-programming-book-<version>.zip (after `make book`)

An instructor unzips it on a course server (or a laptop) and opens ``index.html``: every script, style,
font and MathJax file is inside, so nothing is fetched from the internet. The version comes from
``pyproject.toml`` (the one place it is set; ``CHANGELOG.md`` and ``_config.yml`` must agree: a test
checks).
"""

from __future__ import annotations

import os
import sys
import tomllib
import zipfile
from pathlib import Path

from book.paths import ROOT

SITE = ROOT / "_build" / "html"
README = """AI中的编程 (Programming in AI) {version}

Open index.html in a browser: the whole book, offline.
Slides: slides/NN_name.slides.html (press S for speaker notes, F for full screen); PDF handouts:
slides/NN_name.pdf (the slides) and slides/NN_name.notes.pdf (each slide with its speaker notes).
"""


def version() -> str:
    """The book's version, from ``pyproject.toml``."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def build(dest: Path, site: Path = SITE) -> Path:
    """Write ``dest/ai-programming-book-<version>.zip`` from the built site; atomically."""
    if not (site / "index.html").is_file():
        sys.exit(f"release: no built site at {site}: run `make book` first")
    decks = sorted((site / "slides").glob("*.slides.html"))
    if not decks:
        sys.exit(f"release: no slides in {site / 'slides'}: run `make book` first")
    name = f"ai-programming-book-{version()}"
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{name}.zip"
    tmp = target.with_suffix(f".zip.part{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"{name}/README.txt", README.format(version=version()))
            for path in sorted(site.rglob("*")):
                if path.is_file() and ".doctrees" not in path.parts:
                    z.write(path, f"{name}/{path.relative_to(site)}")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist")
    print(
        f"release: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} ({out.stat().st_size >> 20} MiB)"
    )
