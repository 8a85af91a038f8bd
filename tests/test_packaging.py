"""The book as a package and a release: one version, consistent dependencies, no path hacks, a wheel
that carries everything ``book`` reads at run time, and a CI workflow that runs the Makefile's own
targets."""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import yaml

from book.paths import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_everywhere():
    version = _pyproject()["project"]["version"]
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["config"]["release"] == version
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert newest and newest.group(1) == version, "the newest CHANGELOG entry must be the current version"


def test_runtime_dependencies_are_pinned_in_requirements():
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt pins exact versions: {line!r}"
            pinned[name.lower()] = version
    for dep in _pyproject()["project"]["dependencies"]:
        name = re.split(r"[<>=!~ ;\[]", dep, maxsplit=1)[0].lower()
        assert name in pinned, f"{name} is a dependency of the package but not pinned in requirements.txt"


def test_book_is_installed_not_put_on_sys_path():
    """`import book` works because `make` installs it (pip install -e .), not by sys.path edits."""
    out = subprocess.run(
        [
            "grep",
            "-rn",
            "--include=*.py",
            "--include=*.ipynb",
            "sys.path.insert",
            "book",
            "tools",
            "tests",
            "benchmarks",
            "chapters",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    offenders = [line for line in out.splitlines() if not line.startswith("tests/test_packaging.py")]
    assert offenders == []


def test_workflow_runs_the_makefile_targets():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["test"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("book", "test", "test-numerics", "release"):
        assert f"make {target}" in runs, f"the workflow does not run `make {target}`"
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"no `{target}` target in the Makefile"
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["os"]
    assert "ubuntu-latest" in matrix and any("arm" in os for os in matrix)
    assert "deploy-pages" in str(workflow["jobs"]["deploy"]["steps"])
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert {"push", "pull_request", "schedule", "workflow_dispatch"} <= set(triggers)


# What a wheel is built from (the rest of the repository is the book's text, not the package).
_PACKAGE_INPUTS = ("pyproject.toml", "setup.py", "README.md", "book", "cuda_src")


def test_wheel_carries_the_kernels_and_compiles_one_outside_the_repository(tmp_path):
    """``pip install git+<repository>`` gives a working ``book``: build the wheel from a copy of the
    package's inputs, install it with ``--target`` into a temporary folder, and from a folder outside
    the repository import it, find the CUDA kernels and compile one on the emulator (about 10 s)."""
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ruff_cache")
    for name in _PACKAGE_INPUTS:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name, src / name, **({"ignore": ignore} if (ROOT / name).is_dir() else {})
        )
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(src)],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)

    # Everything book/ reads at run time is in the wheel: its modules, headers, worker scripts, kernels.
    not_needed = {".md", ".toml"}  # documentation beside the code, the workers' lint settings
    wanted = [
        p.relative_to(src) for p in (src / "book").rglob("*") if p.is_file() and p.suffix not in not_needed
    ]
    wanted += [Path("book") / "cuda_src" / p.name for p in (src / "cuda_src").iterdir()]
    missing = [str(p) for p in wanted if not (site / p).is_file()]
    assert not missing, f"not in the wheel: {missing}"

    probe = textwrap.dedent(
        """
        import pathlib, sys
        import numpy as np
        import book
        from book import cuda, paths

        site = pathlib.Path(sys.argv[1]).resolve()
        assert pathlib.Path(book.__file__).resolve().is_relative_to(site), book.__file__
        assert not paths.CHECKOUT
        assert paths.CUDA_SRC.resolve() == site / "book" / "cuda_src", paths.CUDA_SRC
        kernels = cuda.kernel_files()
        assert {"elementwise", "reduce", "matmul"} <= set(kernels), kernels
        assert (paths.CUDA_SRC / "README.md").is_file()
        assert (paths.PACKAGE / "cuda" / "emu_runtime.h").is_file()
        assert (paths.PACKAGE / "dist_workers" / "hello.py").is_file()
        backend = cuda.load("emulator")
        vec_add = backend.module("elementwise").get_function("vec_add")
        a, b = np.arange(64, dtype=np.float32), np.ones(64, dtype=np.float32)
        c = np.empty_like(a)
        drv = backend.driver
        vec_add(drv.In(a), drv.In(b), drv.Out(c), np.int32(64), block=(32, 1, 1), grid=(2, 1))
        assert np.array_equal(c, a + b), c
        print("kernels:", len(kernels), "from", paths.CUDA_SRC.relative_to(site))
        """
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "BOOK_CACHE_DIR": str(tmp_path / "cache"),
        "BOOK_CUDA_BACKEND": "emulator",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe, str(site)],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "from book/cuda_src" in out.stdout
