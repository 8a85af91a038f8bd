"""Fetch the JavaScript the site and the slides need (from the npm registry) so that both work offline.

    python tools/vendor.py            # -> _build/vendor/site (MathJax 3) and _build/vendor/slides

Nothing is loaded from a CDN at reading time: reveal.js (with its notes plugin) and MathJax 3 are copied
next to the pages. The site and the decks use the same MathJax (3, CommonHTML output): the site loads
its ``tex-mml-chtml.js``, a deck its ``tex-chtml-full.js`` (every TeX extension in one file, so a deck
needs no extension loader) and the CommonHTML web fonts. The versions are pinned here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from book.paths import ROOT

VENDOR = ROOT / "_build" / "vendor"
PACKAGES = {  # name in node_modules: npm spec
    "reveal.js": "reveal.js@4.6.0",
    "mathjax3": "mathjax3@npm:mathjax@3.2.2",  # the site and the slides
}
STAMP = VENDOR / "versions.json"
# What a deck loads from MathJax (paths under the package's es5/ folder).
SLIDES_MATHJAX = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2")


def _copy(src: Path, dst: Path, ignore=None) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=ignore)


def main() -> int:
    if STAMP.is_file() and json.loads(STAMP.read_text()) == PACKAGES:
        print(f"vendor: up to date in {VENDOR.relative_to(ROOT)}")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "vendor: npm is needed once to fetch reveal.js and MathJax (install Node.js, e.g. "
            "`apt-get install npm` or https://nodejs.org), then run `make book` again."
        )
    work = VENDOR / "npm"
    work.mkdir(parents=True, exist_ok=True)
    (work / "package.json").write_text('{"private": true}\n')
    cmd = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES.values()]
    if subprocess.run(cmd, cwd=work).returncode != 0:
        sys.exit(
            "vendor: `npm install` failed (no access to the npm registry?). Set a mirror, e.g. "
            "`npm config set registry https://registry.npmmirror.com`, and run again."
        )
    nm = work / "node_modules"
    site, slides = VENDOR / "site", VENDOR / "slides"
    _copy(nm / "mathjax3" / "es5", site / "mathjax")
    if slides.exists():  # drop what older versions vendored (MathJax 2, require.js, jQuery)
        shutil.rmtree(slides)
    _copy(nm / "reveal.js" / "dist", slides / "reveal.js" / "dist")
    _copy(nm / "reveal.js" / "plugin", slides / "reveal.js" / "plugin")
    for rel in SLIDES_MATHJAX:
        src, dst = nm / "mathjax3" / "es5" / rel, slides / "mathjax" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        _copy(src, dst) if src.is_dir() else shutil.copy2(src, dst)
    STAMP.write_text(json.dumps(PACKAGES))
    print(f"vendor: fetched {', '.join(PACKAGES.values())} into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
