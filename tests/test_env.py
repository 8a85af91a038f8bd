import pytest
import torch

import book
from book.env import get_config, get_mode


def test_mode_forced_by_environment():
    assert get_mode({"BOOK_MODE": "quick"}) == ("quick", "BOOK_MODE=quick")
    assert get_mode({"BOOK_MODE": " FULL "})[0] == "full"


def test_mode_auto_follows_cuda():
    mode, reason = get_mode({})
    assert mode == ("full" if torch.cuda.is_available() else "quick")
    assert reason.startswith("auto")
    assert get_mode({"BOOK_MODE": "auto"})[0] == mode


@pytest.mark.parametrize("bad", ["fast", "1", "quick!"])
def test_bad_mode_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="BOOK_MODE=quick .*BOOK_MODE=full"):
        get_mode({"BOOK_MODE": bad})


def test_quick_mode_runs_on_cpu_and_picks_quick_values():
    cfg = get_config({"BOOK_MODE": "quick"})
    assert cfg.device == torch.device("cpu")
    assert cfg.quick and cfg.pick(1, 100) == 1
    full = get_config({"BOOK_MODE": "full"})
    assert not full.quick and full.pick(1, 100) == 100
    assert full.device == book.best_device()


def test_setup_prints_mode_and_device(capsys, monkeypatch):
    monkeypatch.setenv("BOOK_MODE", "quick")
    cfg = book.setup(seed=3)
    out = capsys.readouterr().out
    assert "mode: quick (BOOK_MODE=quick)" in out and "device: cpu" in out and "seed: 3" in out
    assert cfg.mode == "quick"


def test_describe_hardware_names_torch_version():
    assert f"torch {torch.__version__}" in book.describe_hardware()


def test_smoke_run_takes_full_branches_at_small_sizes():
    smoke = get_config({"BOOK_MODE": "full", "BOOK_SMOKE": "1"})
    assert smoke.full and smoke.smoke and "BOOK_SMOKE=1" in smoke.reason
    assert smoke.pick(1, 100) == 1 and smoke.pick(1, 100, smoke=2) == 2
    assert get_config({"BOOK_MODE": "full"}).pick(1, 100, smoke=2) == 100
    assert get_config({"BOOK_MODE": "quick", "BOOK_SMOKE": "1"}).smoke is False  # smoke is a kind of full
    with pytest.raises(ValueError, match="BOOK_SMOKE"):
        get_config({"BOOK_MODE": "full", "BOOK_SMOKE": "yes"})


def test_full_mode_on_a_cpu_warns(capsys, monkeypatch):
    """BOOK_MODE=full on a machine without a GPU says so instead of silently running for hours."""
    monkeypatch.setenv("BOOK_MODE", "full")
    monkeypatch.delenv("BOOK_SMOKE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    book.setup()
    out = capsys.readouterr().out
    assert "mode: full" in out and "warning: full mode on the CPU" in out and "BOOK_MODE=quick" in out
