"""The notebooks' set-up cell on a simulated Colab: it installs the book from the repository that
``_config.yml`` names, with the extras Colab lacks (and PyCUDA on a GPU runtime), then imports it.

Colab is simulated, not mocked away: a stand-in ``google.colab`` module is imported at start-up (as on
Colab), a fresh site folder stands for Colab's ``dist-packages``, and the repository URL of ``_config.yml``
is redirected to this clone with git's ``url.<base>.insteadOf``. ``pip`` is a stand-in that records what
it is asked and then runs the real pip on the same requirement (``--no-deps``: Colab already has torch;
``--target`` the site folder), so the book is really cloned (the committed ``HEAD``), built as a wheel
and installed. A fake ``nvidia-smi`` on ``PATH`` makes a GPU runtime. The cell itself is the generated
one. About 30 s per runtime (a kernel start, a clone, a wheel build and an install).
"""

import os
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from nbtool import package_name, repo_url, setup_cell_source

from book.paths import ROOT

SITECUSTOMIZE = """
import os, site
import google.colab  # noqa: F401  (Colab imports it at start-up; the set-up cell looks for it)
site.addsitedir(os.environ["FAKE_SITE"])  # Colab's dist-packages, where pip installs
"""

PIP = """
import os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["PIP_RECORD_FOR_TEST"], "a") as f:
    f.write(" ".join(args) + "\\n")
if args[:1] == ["install"]:
    real = [sys.executable, "-I", "-m", "pip", "install", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", "--target", os.environ["FAKE_SITE"], *args[1:]]
    sys.exit(subprocess.run(real).returncode)
"""


def _stubs(tmp_path, gpu: bool) -> dict:
    stub = tmp_path / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text("IN_COLAB_STANDIN = True\n")
    (stub / "pip").mkdir()
    (stub / "pip" / "__init__.py").write_text("")
    (stub / "pip" / "__main__.py").write_text(textwrap.dedent(PIP))
    (stub / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    fake_site = tmp_path / "dist-packages"
    fake_site.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if gpu:
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\necho 'NVIDIA T4 (stand-in)'\n")
        smi.chmod(0o755)
    return {
        "PYTHONPATH": str(stub),
        "FAKE_SITE": str(fake_site),
        "PIP_RECORD_FOR_TEST": str(tmp_path / "pip.log"),
        "PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}{os.pathsep}/usr/bin:/bin",
        "BOOK_MODE": "quick",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{ROOT}.insteadOf",
        "GIT_CONFIG_VALUE_0": repo_url(),
    }


def _run(tmp_path, monkeypatch, gpu: bool):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("the book is not a git clone here, so there is nothing to install from")
    for key, value in _stubs(tmp_path, gpu).items():
        monkeypatch.setenv(key, value)
    cells = [
        nbformat.v4.new_code_cell(setup_cell_source()),
        nbformat.v4.new_code_cell(
            "import book.paths\nprint(book.__file__)\nprint(any(book.paths.CUDA_SRC.glob('*.cu')))"
        ),
        nbformat.v4.new_code_cell("cfg = book.setup()"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]
    pip = (tmp_path / "pip.log").read_text().splitlines()
    return text, pip, tmp_path / "dist-packages"


def test_setup_cell_is_short():
    lines = [line for line in setup_cell_source().splitlines() if line.strip()]
    assert len(lines) <= 9, lines
    assert sum("%pip" in line for line in lines) == 1, "one install line"


def test_colab_cpu_runtime(tmp_path, monkeypatch):
    text, pip, site = _run(tmp_path, monkeypatch, gpu=False)
    assert pip == [f"install -q {package_name()}[colab] @ git+{repo_url()}"]
    assert text[1].split() == [str(site / "book" / "__init__.py"), "True"], (
        "book (and its kernels) not installed"
    )
    assert "mode: quick" in text[2]


def test_colab_gpu_runtime_installs_pycuda(tmp_path, monkeypatch):
    text, pip, site = _run(tmp_path, monkeypatch, gpu=True)
    assert pip == [f"install -q {package_name()}[colab,gpu] @ git+{repo_url()}"]
    assert text[1].split() == [str(site / "book" / "__init__.py"), "True"]


def test_outside_colab_a_missing_book_says_how_to_install_it(tmp_path):
    """Not on Colab, the cell installs nothing; without ``book`` it says what to run."""
    code = setup_cell_source().replace("%pip", "raise AssertionError  # %pip")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 1
    assert "ImportError: no `book`: run `make book` or `pip install -e .`" in out.stderr
