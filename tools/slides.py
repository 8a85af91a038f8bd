"""Build the reveal.js slides of every chapter from the notebooks themselves.

    python tools/slides.py [OUT_DIR]      # default: _build/html/slides

Each cell's ``slideshow.slide_type`` decides where it goes (slide / subslide / fragment / - / skip /
notes); cells tagged ``remove-cell`` (the set-up cell) are dropped, ``remove-input`` hides code.
reveal.js, require.js, jQuery and MathJax are copied into OUT_DIR/vendor (see tools/vendor.py), so the
slides open from the file system with no network.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from nbtool import chapter_notebooks  # noqa: E402

VENDOR = ROOT / "_build" / "vendor" / "slides"


def exporter() -> SlidesExporter:
    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    c.TagRemovePreprocessor.enabled = True
    c.SlidesExporter.extra_template_basedirs = [str(ROOT / "tools" / "slides_template")]
    c.SlidesExporter.template_name = "reveal_offline"
    c.SlidesExporter.reveal_url_prefix = "vendor/reveal.js"
    c.SlidesExporter.reveal_theme = "white"  # themes "simple"/"sky"/... import Google Fonts: not offline
    c.SlidesExporter.reveal_scroll = True
    c.SlidesExporter.reveal_number = "c/t"
    c.SlidesExporter.require_js_url = "vendor/js/require.js"
    c.SlidesExporter.jquery_url = "vendor/js/jquery.min.js"
    c.SlidesExporter.mathjax_url = "vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    ex = SlidesExporter(config=c)
    ex.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    return ex


def expected_slide_count(nb) -> int:
    """How many slides reveal.js should report for ``nb`` (after dropping remove-cell cells):
    the first visible cell starts one, and each later ``slide`` or ``subslide`` cell starts another."""
    kinds = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in nb.cells
             if "remove-cell" not in c.metadata.get("tags", [])]
    visible = [i for i, k in enumerate(kinds) if k not in ("skip", "notes")]
    if not visible:
        return 0
    return 1 + sum(k in ("slide", "subslide") for k in kinds[visible[0] + 1:])


def build(out_dir: Path) -> list[Path]:
    if not (VENDOR / "reveal.js").is_dir():
        sys.exit("slides: vendored JavaScript missing; run `python tools/vendor.py` (make book does).")
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / "vendor").exists():
        shutil.rmtree(out_dir / "vendor")
    shutil.copytree(VENDOR, out_dir / "vendor")
    ex = exporter()
    written = []
    for nb_path in chapter_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        body, _ = ex.from_notebook_node(nb, resources={"metadata": {"name": nb_path.stem}})
        if "https://" in "".join(line for line in body.splitlines() if "<script src=" in line or "<link" in line):
            sys.exit(f"slides: {nb_path.name} still loads something from the network")
        target = out_dir / f"{nb_path.stem}.slides.html"
        tmp = target.with_suffix(".part")
        tmp.write_text(body, encoding="utf-8")
        tmp.replace(target)
        written.append(target)
        print(f"slides: {target.relative_to(ROOT)} ({expected_slide_count(nb)} slides)")
    return written


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "_build" / "html" / "slides")
