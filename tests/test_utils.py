import random
import time

import numpy as np
import pytest
import torch

from book.utils import Timer, seed_everything


def test_seed_everything_repeats_all_generators():
    seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    seed_everything(8)
    assert not torch.equal(torch.rand(3), a[2])


def test_timer_measures_and_accumulates_laps():
    t = Timer()
    with t:
        time.sleep(0.02)
    t.start()
    time.sleep(0.01)
    t.stop()
    assert len(t.laps) == 2
    assert t.laps[0] >= 0.015 and t.elapsed >= 0.025


def test_timer_stop_without_start_is_an_error():
    with pytest.raises(RuntimeError, match="before Timer.start"):
        Timer().stop()
