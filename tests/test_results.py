"""book/results.py: atomic writes with provenance, loading, and rendering (or the "not measured" note)."""

import json
import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch

from book import env, paths, results

matplotlib.use("Agg")


@pytest.fixture
def rdir(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("BOOK_MODE", "quick")
    monkeypatch.delenv("BOOK_SMOKE", raising=False)
    return tmp_path / "results"


def test_write_load_roundtrip_with_provenance(rdir):
    data = {
        "test_acc": np.float64(0.9951),
        "epochs": 12,
        "curve": torch.tensor([0.5, 0.25]),
        "rows": [{"n": 1024, "gbps": 812.5}, {"n": 4096, "gbps": float("nan")}],
    }
    path = results.write("mnist", data, command="make results-mnist", wall_s=12.3456)
    assert path == rdir / "mnist.json" and path.is_file()
    assert [p.name for p in rdir.iterdir()] == ["mnist.json"]  # no temporary file left
    rec = results.load("mnist")
    assert rec["name"] == "mnist"
    assert rec["data"] == {
        "test_acc": 0.9951,
        "epochs": 12,
        "curve": [0.5, 0.25],
        "rows": [{"n": 1024, "gbps": 812.5}, {"n": 4096, "gbps": None}],  # nan is stored as null
    }
    p = rec["provenance"]
    for key in ("gpu", "driver", "torch", "cuda", "date", "git_commit", "wall_s", "command"):
        assert key in p
    assert p["torch"] == torch.__version__ and p["command"] == "make results-mnist" and p["wall_s"] == 12.346
    assert p["date"][:4].isdigit() and p["smoke"] is False
    json.loads(path.read_text())  # strict JSON (no NaN tokens)


def test_load_missing_is_none_and_show_says_not_measured(rdir, capsys):
    assert results.load("nothing_here") is None
    assert results.show("nothing_here") is None
    out = capsys.readouterr().out
    assert "not measured yet" in out and "make results" in out and "nothing_here.json" in out
    assert str(rdir) not in out  # never an absolute path in a chapter's output


def test_write_is_atomic_when_serialisation_fails(rdir):
    results.write("x", {"a": 1}, "cmd", 1.0)
    with pytest.raises(TypeError, match="data\\['bad'\\]"):
        results.write("x", {"a": 2, "bad": object()}, "cmd", 1.0)
    assert results.load("x")["data"] == {"a": 1}
    assert [p.name for p in rdir.iterdir()] == ["x.json"]


def test_write_keeps_old_file_when_the_disk_fails_mid_write(rdir, monkeypatch):
    results.write("x", {"a": 1}, "cmd", 1.0)
    real_write_bytes = Path.write_bytes

    def half_then_full_disk(self, data):
        real_write_bytes(self, data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_then_full_disk)
    with pytest.raises(OSError, match="disk full"):
        results.write("x", {"a": 2}, "cmd", 1.0)
    monkeypatch.undo()
    os.environ["BOOK_RESULTS_DIR"] = str(rdir)
    assert json.loads((rdir / "x.json").read_text())["data"] == {"a": 1}
    assert [p.name for p in rdir.iterdir()] == ["x.json"]


def test_corrupt_file_names_itself(rdir):
    rdir.mkdir(parents=True)
    (rdir / "bad.json").write_text("{not json")
    with pytest.raises(results.ResultsError, match="bad.json.*make results"):
        results.load("bad")
    (rdir / "other.json").write_text('{"a": 1}')
    with pytest.raises(results.ResultsError, match="not a results file"):
        results.load("other")


def test_show_tables_and_provenance(rdir, capsys):
    rows = [{"kernel": "copy", "gbps": 1800.25}, {"kernel": "reduce_warp", "gbps": 1500.0}]
    results.write("cuda", {"bandwidth": rows, "n": 1 << 24, "peak": 3350.0}, "make results-cuda", 42.0)
    rec = results.show("cuda")
    out = capsys.readouterr().out
    assert rec is not None
    assert "reduce_warp" in out and "1800.250" in out and "16,777,216" in out
    assert "测量 measured on" in out and "make results-cuda" in out and "42 s" in out
    results.show("cuda", key="bandwidth", columns=["gbps", "kernel"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["gbps", "kernel"] and out[2].split() == ["1800.250", "copy"]
    with pytest.raises(KeyError, match="nope"):
        results.show("cuda", key="nope")


def test_plot_draws_rows_or_the_note(rdir):
    results.write("sweep", {"rows": [{"n": 1, "t": 2.0}, {"n": 2, "t": 3.0}]}, "cmd", 1.0)
    ax = results.plot("sweep", "n", "t", key="rows")
    assert len(ax.lines) == 1 and list(ax.lines[0].get_xdata()) == [1, 2]
    ax = results.plot("missing", "n", "t")
    assert "not measured yet" in ax.texts[0].get_text()
    matplotlib.pyplot.close("all")


def test_smoke_results_never_land_in_the_results_folder(monkeypatch, tmp_path):
    """The mode travels in the configuration: a smoke configuration passed in decides, whatever the
    environment says."""
    monkeypatch.setenv("BOOK_MODE", "quick")
    monkeypatch.delenv("BOOK_SMOKE", raising=False)
    monkeypatch.delenv("BOOK_RESULTS_DIR", raising=False)
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    smoke = env.RunConfig(mode="full", device=torch.device("cpu"), reason="test", smoke=True)
    path = results.write("smoke_probe", {"a": 1}, "cmd", 0.1, cfg=smoke)
    assert paths.results_dir() not in path.parents and (tmp_path / "cache") in path.parents
    assert results.load("smoke_probe") is None, "a quick-mode reader looks in results/, not the scratch"
    rec = results.load("smoke_probe", cfg=smoke)
    assert rec["provenance"]["smoke"] is True and rec["provenance"]["mode"] == "full"
    assert results.provenance_line(rec).startswith("SMOKE RUN")


def test_without_a_configuration_results_follow_what_setup_chose(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOK_MODE", "full")
    monkeypatch.setenv("BOOK_SMOKE", "1")
    monkeypatch.delenv("BOOK_RESULTS_DIR", raising=False)
    monkeypatch.setenv("BOOK_CACHE_DIR", str(tmp_path / "cache"))
    cfg = env.setup(verbose=False)
    monkeypatch.setenv("BOOK_SMOKE", "0")  # read once, by setup(); book.results does not read it again
    path = results.write("smoke_probe", {"a": 1}, "cmd", 0.1)
    assert cfg.smoke and (tmp_path / "cache") in path.parents
    assert results.load("smoke_probe")["provenance"]["smoke"] is True


def test_bad_names_are_refused(rdir):
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="plain file name"):
            results.write(bad, {}, "cmd", 0.0)


# ----------------------------------------------------------------------------- make results
def test_results_smoke_run_writes_every_group(tmp_path):
    """`make results-smoke` in small: every full-mode path of the CNN results on the CPU, tiny sizes."""
    import subprocess
    import sys

    env = {**os.environ, "BOOK_RESULTS_DIR": str(tmp_path), "BOOK_MODE": "full", "BOOK_SMOKE": "1"}
    env["PYTHONPATH"] = str(paths.ROOT)
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_cnn.py", "--smoke", "all"],
        cwd=paths.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cifar10_cnn.json",
        "cifar10_fast.json",
        "mnist.json",
    ]
    for name, tasks in {
        "mnist": ["mnist_lenet", "mnist_resnet18"],
        "cifar10_cnn": ["cifar10_lenet", "cifar10_resnet18"],
    }.items():
        rec = json.loads((tmp_path / f"{name}.json").read_text())
        assert rec["provenance"]["smoke"] is True and rec["provenance"]["gpu"] is None
        assert [r["task"] for r in rec["data"]["runs"]] == tasks
        for r in rec["data"]["runs"]:
            assert 0.0 <= r["test_acc"] <= 1.0 and r["train_time_s"] > 0
            assert list(r["history"])[:4] == ["train_loss", "train_acc", "val_loss", "val_acc"]
    fast = json.loads((tmp_path / "cifar10_fast.json").read_text())["data"]
    assert fast["runs"][0]["variant"] == "full recipe" and len(fast["runs"]) >= 6


def test_make_results_runs_each_step_as_its_own_bounded_command():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(
        ["make", "-n", "-s", "results", "RESULTS_PY=python3"], cwd=paths.ROOT, capture_output=True, text=True
    ).stdout
    for step in (
        "bench_cuda.py",
        "bench_cnn.py mnist",
        "bench_cnn.py cifar10_cnn",
        "bench_cnn.py cifar10_fast",
    ):
        line = next(ln for ln in out.splitlines() if step in ln)
        assert "timeout 540 python3" in line and "BOOK_MODE=full" in line
    assert "bench_dist.py" in out


def test_nb_timings_sums_cells_per_notebook():
    import nb_timings

    lines = [
        "3.50s call     chapters/05_lenet.ipynb::Cell 12",
        "0.50s call     chapters/05_lenet.ipynb::Cell 3",
        "0.10s setup    chapters/05_lenet.ipynb::Cell 0",
        "1.00s call     chapters/01_tensors.ipynb::Cell 1",
        "2.00s call     tests/test_x.py::test_y",
    ]
    per = nb_timings.parse(lines)
    assert per["chapters/05_lenet.ipynb"]["seconds"] == pytest.approx(4.1)
    assert per["chapters/05_lenet.ipynb"]["cells"] == 2
    assert per["chapters/05_lenet.ipynb"]["slowest"] == (3.5, "Cell 12")
    assert set(per) == {"chapters/05_lenet.ipynb", "chapters/01_tensors.ipynb"}
    table = nb_timings.report(per).splitlines()
    assert table[1].startswith("chapters/05_lenet.ipynb") and table[-1].split()[-1] == "5.1"
