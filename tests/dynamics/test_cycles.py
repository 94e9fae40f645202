import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.cycles import find_cycles, floquet_multipliers, monodromy
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius

_spec = importlib.util.spec_from_file_location("_linear", Path(__file__).with_name("_linear.py"))
_lin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lin)

A = np.array([[-0.5, 2.0, 0.0], [-1.0, -0.2, 0.3], [0.1, 0.0, -1.0]])


@pytest.mark.parametrize("method", ["variational", "autograd"])
def test_linear_monodromy_is_expm(method):
    x0 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    M = monodromy(_lin.LinearField(A), x0, 1.7, method=method)
    assert M.shape == (2, 3, 3)
    np.testing.assert_allclose(M, np.broadcast_to(expm(A * 1.7), M.shape), atol=1e-9)
    np.testing.assert_allclose(np.sort(np.abs(floquet_multipliers(M[0]))),
                               np.sort(np.abs(np.linalg.eigvals(expm(A * 1.7)))), rtol=1e-8)


def test_fhrn_ring_period_and_floquet_multipliers():
    # W* = s R_90 (antisymmetric): on the ring r* = sqrt(theta^2 - leak/kappa) the phase turns at gamma s,
    # so T = 2 pi / (gamma s); the radial multiplier is exp(-2 kappa r*^2 T) (docs/model.md §1)
    W = make_operator("antisym", 2, scale=1.3)
    p = FHRNParams(kappa=1.5, gamma=0.8)
    res = find_cycles(FHRNField(W, p), n_init=3, t_transient=20.0, t_record=20.0)
    assert res.outcomes == ["cycle"] * 3 and len(res.cycles) == 1
    c = res.cycles[0]
    r = ring_radius(p.kappa, p.theta, p.leak)
    T = 2 * np.pi / (p.gamma * 1.3)
    assert abs(c.period - T) < 1e-7 * T
    np.testing.assert_allclose(np.abs(c.floquet_multipliers), [1.0, np.exp(-2 * p.kappa * r * r * T)], rtol=1e-6)
    assert c.stable and c.count == 3 and abs(c.radius_mean - r) < 1e-8 and c.trivial_error < 1e-7


def test_variational_and_autograd_monodromy_agree_on_a_nonlinear_cycle():
    W = np.array([[0.4, -1.0], [1.0, -0.4]])  # rotation plus a stretch: a non-circular cycle
    field = FHRNField(W, FHRNParams(kappa=1.5))
    res = find_cycles(field, n_init=1, t_transient=20.0, t_record=20.0)
    assert res.outcomes == ["cycle"]
    c = res.cycles[0]
    Mv = monodromy(field, c.x0, c.period, method="variational")
    Ma = monodromy(field, c.x0, c.period, method="autograd")
    np.testing.assert_allclose(Mv, Ma, atol=1e-6)
    assert c.radius_max - c.radius_min > 0.05  # genuinely not the circular ring
    # one multiplier is 1 (the flow direction): det M = exp(int tr J dt) is the other one
    assert min(abs(floquet_multipliers(Mv) - 1.0)) < 1e-6


def test_equilibria_are_not_cycles():
    res = find_cycles(FHRNField(make_operator("sym", 2), FHRNParams()), n_init=3, t_transient=10.0, t_record=10.0)
    assert res.cycles == [] and res.outcomes == ["equilibrium"] * 3


def test_bad_method():
    with pytest.raises(FHRNInputError, match="`method` must be one of"):
        monodromy(_lin.LinearField(A), np.zeros(3), 1.0, method="fd")
    with pytest.raises(FHRNInputError, match="`T` must be > 0"):
        monodromy(_lin.LinearField(A), np.zeros(3), 0.0)


def test_cycle_period_is_two_pi_over_gamma_im_lambda_for_a_non_normal_3d_operator():
    # beta = 0, no memory/drive: the direction u = y/|y| follows the normalised linear flow exp(H t) u0,
    # H = (kappa theta^2 - leak) I + gamma W, so with a dominant complex pair a +- ib of W the attractor is a
    # cycle in its eigenplane with period 2 pi / (gamma b), whatever the non-normality (docs/dynamics.md, Findings)
    P = np.array([[1.0, 0.4, 0.2], [0.0, 1.0, 0.5], [0.3, 0.0, 1.0]])
    B = np.array([[0.3, -0.8, 0.0], [0.8, 0.3, 0.0], [0.0, 0.0, -0.2]])
    W = P @ B @ np.linalg.inv(P)
    p = FHRNParams(kappa=2.0, gamma=0.7)
    res = find_cycles(FHRNField(W, p), n_init=2, t_transient=30.0, t_record=30.0)
    assert res.outcomes == ["cycle", "cycle"] and len(res.cycles) == 1
    c = res.cycles[0]
    T = 2 * np.pi / (p.gamma * 0.8)
    assert abs(c.period - T) < 1e-7 * T and c.radius_max - c.radius_min > 0.01
    # the transverse direction multiplier: exp(gamma (Re lambda_3 - a) T)
    assert np.min(np.abs(np.abs(c.floquet_multipliers) - np.exp(p.gamma * (-0.2 - 0.3) * T))) < 1e-6


def test_fast_ring_at_gamma_100_is_found_with_its_closed_form_period():
    # the save spacing follows the field's time scale: period 2 pi / 100 (docs/model.md §1)
    p = FHRNParams(kappa=1.5, gamma=100.0)
    res = find_cycles(FHRNField(make_operator("antisym", 2), p), n_init=1, t_transient=0.2, t_record=30.0, n_save=600)
    assert res.outcomes == ["cycle"] and res.spacing < 2 * np.pi / 100 / 20
    assert abs(res.cycles[0].period - 2 * np.pi / 100) < 1e-7 * 2 * np.pi / 100


def test_slowly_attracting_brusselator_cycle_is_a_cycle_or_not_settled():
    # a = 1, b = 2.1: a stable cycle of period 6.3221 whose multiplier ~0.88 makes it slow to settle
    res = find_cycles(_lin.Brusselator(1.0, 2.1), np.array([[1.5, 2.0]]))
    assert res.outcomes in (["cycle"], ["not settled"])
    if res.outcomes == ["cycle"]:
        assert abs(res.cycles[0].period - 6.3221) < 1e-4 and res.cycles[0].stable


def test_stiff_field_ends_with_a_budget_message():
    res = find_cycles(_lin.LinearField(np.diag([-1e7, -1.0])), np.array([[1.0, 1.0]]), max_nfe=2000)
    assert res.status == "failed" and res.outcomes == ["not settled"]
    assert "needs more than 2000 field evaluations (budget max_nfe=2000)" in res.message
