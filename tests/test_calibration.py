"""Tolerances come from measurement: the perturbation that calibrates them, the rule that sets them, and
the check that every tolerance in a notebook is the one its calibration record gives."""

from __future__ import annotations

import math

import calibrate
import pytest
import torch

from book import env, perturb


def test_perturbation_is_tiny_relative_noise_on_first_forward_and_leaves_the_rng_alone():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Linear(4, 2))
    before = [p.detach().clone() for p in m.parameters()]
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    perturb.perturb_initial_weights(seed=5)
    try:
        torch.manual_seed(123)
        m(torch.zeros(1, 8))
        assert torch.equal(torch.rand(3), expected_draw), "the notebook's own random stream changed"
        after = [p.detach().clone() for p in m.parameters()]
        m(torch.zeros(1, 8))  # only once per module
        assert all(torch.equal(a, p) for a, p in zip(after, m.parameters()))
    finally:
        perturb.stop()
    rel = [((a - b) / b).abs().max().item() for a, b in zip(after, before)]
    assert all(0 < r < 1e-5 for r in rel), rel


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
    # a number that moved by less than its last printed digit still gets that digit (a rounding flip)
    assert calibrate.tolerance_for(["0.12"], [1e-6])["atol"] >= 0.01


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
