"""The book as a package and a release (issues 10 and 17): one version, consistent dependencies, no
path hacks, and a CI workflow that runs the Makefile's own targets."""

import re
import subprocess
import tomllib

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
