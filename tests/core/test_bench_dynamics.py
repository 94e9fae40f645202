"""The issue-20 bench pieces at tiny sizes: the scipy baselines, Lorenz-96, the hog, interleaved timing."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from fhrn_ode.bench.contention import cpu_hog
from fhrn_ode.bench.dynamics import (Lorenz96Numpy, exponents_lorenz_case, fixed_points_case, rho_family_case,
                                     scipy_benettin)
from fhrn_ode.bench.harness import RESULT_KEYS, interleaved
from fhrn_ode.dynamics.systems import Lorenz96Field


def test_baseline_lorenz96_matches_the_library_field_and_autograd():
    L, Ln = Lorenz96Field(7, 8.0), Lorenz96Numpy(7, 8.0)
    x = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    J = torch.autograd.functional.jacobian(lambda z: L(0.0, z), x).numpy()
    assert np.abs(Ln.jacobian(x.numpy()) - J).max() < 1e-12
    assert np.abs(Ln.rhs(x.numpy()) - L(0.0, x).numpy()).max() < 1e-12
    assert np.trace(J) == pytest.approx(-7.0, abs=1e-12)  # the exponents' exact sum


def test_scipy_benettin_gives_the_exponents_of_a_linear_field():
    A = np.array([[-1.0, 3.0], [0.0, -2.5]])  # exponents: the eigenvalues -1, -2.5
    ex = scipy_benettin(lambda x: A @ x, lambda x: A, np.array([[1.0, 1.0]]), 0.5, 4.0, 0.5, 1e-10, 1e-12)
    assert ex.shape == (1, 2)
    assert np.sort(ex[0]) == pytest.approx([-2.5, -1.0], abs=0.02)  # finite-time: alignment bias only
    assert ex.sum() == pytest.approx(-3.5, abs=1e-8)  # the trace, exactly


def test_scipy_benettin_dop853_agrees_with_rk45():
    A = np.array([[-1.0, 3.0], [0.0, -2.5]])
    ex = scipy_benettin(lambda x: A @ x, lambda x: A, np.array([[1.0, 1.0]]), 0.5, 4.0, 0.5, 1e-10, 1e-12,
                        method="DOP853")
    assert ex.sum() == pytest.approx(-3.5, abs=1e-8)


def test_exponent_rows_rk45_and_dop853_baselines():
    rows = exponents_lorenz_case(2, 0.5, 1.0, 1, seed=0)
    assert [r["name"] for r in rows] == ["exponents/lorenz_n2/vs_scipy_loop", "exponents/lorenz_n2/vs_scipy_dop853_loop"]
    assert [r["baseline_method"] for r in rows] == ["RK45", "DOP853"] and rows[0]["method"] == "dopri8"
    for r in rows:
        assert set(RESULT_KEYS) <= set(r)
        assert r["max_abs_err"] < 1e-6 and r["baseline_sum_err"] < 1e-6  # the sum is tr J = -(sigma + 1 + b)
        assert r["max_diff"] < 1e-3  # same starts, same windows: the exponents agree


def test_interleaved_runs_in_turns_and_keeps_the_best():
    calls = []
    rows = interleaved([lambda: calls.append("a") or 1, lambda: calls.append("b") or 2], k=2, warmup=1)
    assert calls == ["a", "b"] * 3
    assert [r[1] for r in rows] == [1, 2] and all(r[0] >= 0 for r in rows)
    ticks = iter(range(100))  # a fake clock: each call one tick later, so every timing is exactly 1
    rows = interleaved([lambda: 1, lambda: 2], k=3, warmup=0, clock=lambda: float(next(ticks)))
    assert [r[0] for r in rows] == [1.0, 1.0]


def test_fixed_points_row_finds_the_three_lorenz_equilibria():
    (row,) = fixed_points_case(n_starts=6, k=1, seed=0)
    assert set(RESULT_KEYS) <= set(row)
    assert row["n_found"] == 3 and row["max_abs_err"] < 1e-8
    assert row["baseline_max_abs_err"] < 1e-8 and row["speedup"] > 0


def test_rho_row_is_skipped_or_timed():
    (row,) = rho_family_case(P=2, n=1, t_transient=0.0, t1=1.0, n_sep=1, k=1)
    assert row["name"] == "exponents/lorenz_rho2/vs_separate"
    assert row.get("skipped") or row["max_diff_vs_separate"] < 1e-6


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 1, reason="no CPU")
def test_cpu_hog_spins_on_one_cpu_and_is_stopped():
    with cpu_hog() as proc:
        assert proc.poll() is None
        assert os.sched_getaffinity(proc.pid) == {max(os.sched_getaffinity(0))}
    assert proc.poll() is not None
