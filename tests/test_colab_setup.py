"""The notebooks' set-up cell on a simulated Colab (issue 11, item 6).

Colab is simulated, not mocked away: a stand-in ``google.colab`` module is imported at start-up (as on
Colab), the repository URL of ``_config.yml`` is redirected to this clone with git's
``url.<base>.insteadOf``, ``/content`` is a fresh temporary folder, and ``pip`` is a stand-in that records
what it is asked to install and performs the editable install of ``book`` by a ``.pth`` file in a site
folder. A fake ``nvidia-smi`` on ``PATH`` makes a GPU runtime. The cell itself is the generated one.
"""

import os
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from nbtool import repo_url, setup_cell_source

from book.paths import ROOT

SITECUSTOMIZE = """
import os, site
import google.colab  # noqa: F401  (Colab imports it at start-up; the set-up cell looks for it)
_fake = os.environ["FAKE_SITE"]
_orig = site.getsitepackages
site.getsitepackages = lambda *a, **k: [*_orig(*a, **k), _fake]
"""

PIP = """
import os, sys
args = sys.argv[1:]
with open(os.environ["PIP_LOG"], "a") as f:
    f.write(" ".join(args) + "\\n")
if args[:1] == ["install"] and "-e" in args:
    target = args[args.index("-e") + 1]
    with open(os.path.join(os.environ["FAKE_SITE"], "book-editable.pth"), "w") as f:
        f.write(target + "\\n")
"""


def _stubs(tmp_path, gpu: bool) -> dict:
    stub = tmp_path / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text("IN_COLAB_STANDIN = True\n")
    (stub / "pip").mkdir()
    (stub / "pip" / "__init__.py").write_text("")
    (stub / "pip" / "__main__.py").write_text(textwrap.dedent(PIP))
    (stub / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    fake_site = tmp_path / "site"
    fake_site.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\necho 'NVIDIA T4 (stand-in)'\n")
        smi.chmod(0o755)
    content = tmp_path / "content"
    content.mkdir()
    return {
        "PYTHONPATH": str(stub),
        "FAKE_SITE": str(fake_site),
        "PIP_LOG": str(tmp_path / "pip.log"),
        "PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}/usr/bin:/bin",
        "BOOK_COLAB_ROOT": str(content),
        "BOOK_MODE": "quick",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{ROOT}.insteadOf",
        "GIT_CONFIG_VALUE_0": repo_url(),
    }


def _run(tmp_path, monkeypatch, gpu: bool):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("the book is not a git clone here, so there is nothing to clone from")
    for key, value in _stubs(tmp_path, gpu).items():
        monkeypatch.setenv(key, value)
    cells = [
        nbformat.v4.new_code_cell(setup_cell_source()),
        nbformat.v4.new_code_cell("import book\nprint(book.__file__)"),
        nbformat.v4.new_code_cell("cfg = book.setup()"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    pip = (tmp_path / "pip.log").read_text().splitlines()
    return text, pip, tmp_path / "content" / repo_url().rstrip("/").rsplit("/", 1)[-1]


def test_colab_cpu_runtime(tmp_path, monkeypatch):
    text, pip, clone = _run(tmp_path, monkeypatch, gpu=False)
    assert (clone / "book" / "__init__.py").is_file(), "the repository was not cloned into /content"
    assert f"install -q -r {clone}/requirements-colab.txt" in pip
    assert f"install -q --no-deps -e {clone}" in pip
    assert not any("pycuda" in line for line in pip), "no GPU runtime: PyCUDA must not be installed"
    assert text[1].strip() == str(clone / "book" / "__init__.py"), "book was not imported from the clone"
    assert "mode: quick" in text[2]


def test_colab_gpu_runtime_installs_pycuda(tmp_path, monkeypatch):
    text, pip, clone = _run(tmp_path, monkeypatch, gpu=True)
    assert "install -q pycuda" in pip
    assert text[1].strip() == str(clone / "book" / "__init__.py")
