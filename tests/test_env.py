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


def test_portable_cpu_numerics(monkeypatch):
    import torch
    from book import env

    before = torch.backends.mkldnn.enabled
    try:
        assert env.portable_cpu_numerics({}) is False
        assert torch.backends.mkldnn.enabled == before
        assert env.portable_cpu_numerics({"BOOK_PORTABLE_CPU": "0"}) is False
        assert env.portable_cpu_numerics({"BOOK_PORTABLE_CPU": "1"}) is True
        assert torch.backends.mkldnn.enabled is False
        with pytest.raises(ValueError, match="BOOK_PORTABLE_CPU"):
            env.portable_cpu_numerics({"BOOK_PORTABLE_CPU": "yes"})
    finally:
        torch.backends.mkldnn.enabled = before
