"""Fetch the JavaScript the site and the slides need (from the npm registry) so that both work offline.

    python tools/vendor.py            # -> _build/vendor/site (MathJax 3) and _build/vendor/slides

Nothing is loaded from a CDN at reading time: reveal.js, require.js, jQuery and MathJax are copied next
to the pages. The versions are pinned here.
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
    "mathjax": "mathjax@2.7.9",  # the nbconvert reveal template speaks MathJax 2 (MathJax.Hub)
    "mathjax3": "mathjax3@npm:mathjax@3.2.2",  # the Sphinx site uses MathJax 3
    "requirejs": "requirejs@2.3.8",
    "jquery": "jquery@2.2.4",
}
STAMP = VENDOR / "versions.json"


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
    _copy(nm / "reveal.js" / "dist", slides / "reveal.js" / "dist")
    _copy(nm / "reveal.js" / "plugin", slides / "reveal.js" / "plugin")
    skip_mj = shutil.ignore_patterns(
        "unpacked",
        "test",
        "png",
        "SVG",
        "HTML-CSS",
        "NativeMML",
        "PreviewHTML",
        "Asana-Math",
        "Gyre-*",
        "Latin-Modern",
        "Neo-Euler",
        "STIX*",
        "eot",
        "svg",
    )
    _copy(nm / "mathjax", slides / "mathjax", ignore=skip_mj)
    # CommonHTML's fonts live under fonts/HTML-CSS/TeX: copy those back in.
    _copy(
        nm / "mathjax" / "fonts" / "HTML-CSS" / "TeX",
        slides / "mathjax" / "fonts" / "HTML-CSS" / "TeX",
        ignore=shutil.ignore_patterns("png", "eot", "svg"),
    )
    (slides / "js").mkdir(parents=True, exist_ok=True)
    shutil.copy2(nm / "requirejs" / "require.js", slides / "js" / "require.js")
    shutil.copy2(nm / "jquery" / "dist" / "jquery.min.js", slides / "js" / "jquery.min.js")
    STAMP.write_text(json.dumps(PACKAGES))
    print(f"vendor: fetched {', '.join(PACKAGES.values())} into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
