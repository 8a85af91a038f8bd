"""Tolerances come from measurement: the perturbation that calibrates them, the rule that sets them, and
the check that every tolerance in a notebook is the one its calibration record gives."""

from __future__ import annotations

import math

import calibrate
import pytest
import torch

from book import env, perturb


def test_perturbation_is_tiny_value_noise_at_initialisation_that_keeps_same_seed_models_equal():
    torch.manual_seed(0)
    plain = torch.nn.Conv2d(3, 4, 3)
    perturb.perturb_initial_weights(seed=5)
    try:
        torch.manual_seed(0)
        a = torch.nn.Conv2d(3, 4, 3)
        after_a = torch.rand(3)
        torch.manual_seed(0)
        b = torch.nn.Conv2d(3, 4, 3)
        assert torch.equal(torch.rand(3), after_a), "the notebook's own random stream changed"
        assert torch.equal(a.weight, b.weight), "two models from one seed must stay identical"
    finally:
        perturb.stop()
    rel = ((a.weight - plain.weight) / plain.weight).abs()
    assert 0 < rel.max().item() < 2e-6 and rel.mean().item() > 1e-7
    torch.manual_seed(0)
    assert torch.equal(torch.nn.Conv2d(3, 4, 3).weight, plain.weight), "stop() restores torch.nn.init"


def test_book_perturb_is_read_and_validated_in_env():
    assert env.get_perturb({}) is None
    assert env.get_perturb({"BOOK_PERTURB": "7"}) == 7
    with pytest.raises(ValueError, match="BOOK_PERTURB"):
        env.get_perturb({"BOOK_PERTURB": "yes"})


def test_tolerance_covers_margin_times_deviation_and_nothing_unmoved_widens_it():
    stored, devs = ["0.9609", "12.50", "4.0"], [0.002, 0.1, 0.0]
    tol = calibrate.tolerance_for(stored, devs, margin=3)
    for s, d in zip(stored, devs):
        assert tol["atol"] + tol["rtol"] * abs(float(s)) >= 3 * d
    # an exact number printed with one decimal must not force a tolerance of 0.1 on the others
    assert tol["atol"] < 0.01 and tol["rtol"] < 0.03


def test_non_finite_deviation_is_never_a_tolerance():
    tol = calibrate.tolerance_for(["0.5"], [math.inf])
    assert tol["rtol"] > calibrate.MAX_RTOL


def test_last_digit():
    assert calibrate.last_digit("0.0450") == 1e-4
    assert calibrate.last_digit("37") == 0.0
    assert calibrate.last_digit("1e-3") == 0.0


def test_every_tolerance_in_the_chapters_has_its_calibration_record():
    problems = calibrate.check()
    assert not problems, "\n".join(problems)
