"""Cycles at and just past the Hopf point of the 2-D ring (antisymmetric ``W* = R_90``, docs/model.md §1.7, §1.9).

Radially ``r' = r (kappa (theta^2 - r^2) - leak)`` at the angular rate ``gamma``: at ``kappa = leak / theta^2``
``r' = -kappa r^3``, the spiral decays like ``t^-1/2`` and there is NO cycle; past it the ring
``r* = sqrt(theta^2 - leak/kappa)`` (M17) is a cycle of period ``2 pi / gamma`` with the non-trivial
multiplier ``exp(-2 kappa r*^2 T)``.
"""

import numpy as np
import pytest
import torch

from fhrn_ode.dynamics.cycles import find_cycles
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius


def _ring(kappa: float) -> FHRNField:
    return FHRNField(make_operator("antisym", 2), FHRNParams(kappa=kappa))


def test_no_cycle_at_the_hopf_point_from_the_default_starts():
    # the returns still contract (by ~2 pi r^2 of the orbit per turn) and shooting only shrinks the orbit:
    # each Newton correction stays ~0.12 of it, so it never converges (dynamics/cycles.py SHOOT_TOL_FACTOR)
    res = find_cycles(_ring(1.0), n_init=2)
    assert res.cycles == [] and res.outcomes == ["not settled"] * 2 and res.status == "success"
    assert res.message.count("return points still moving, but shooting did not converge in 13 Newton steps") == 2


def test_no_cycle_at_the_hopf_point_when_the_returns_close_on_a_tiny_orbit():
    # r0 = 0.002: the return points agree to 7e-5 of the orbit's size (closure tol 1e-4), the old absolute test
    # (max(1, |z|)) called it a cycle of multiplier ~0.9998; shooting must reach a zero for 'cycle'
    res = find_cycles(_ring(1.0), np.array([[0.002, 0.0]]), t_transient=0.0)
    assert res.cycles == [] and res.outcomes == ["not settled"]
    assert "trajectory 0 not settled: return points closed, but shooting did not converge" in res.message


@pytest.mark.parametrize("kappa", [1.05, 1.02])
def test_small_cycle_just_past_the_hopf_point_has_the_closed_form_radius_and_multiplier(kappa):
    p = FHRNParams(kappa=kappa)
    res = find_cycles(_ring(kappa), n_init=2)
    assert res.outcomes == ["cycle", "cycle"] and len(res.cycles) == 1 and res.message == ""
    c = res.cycles[0]
    r = ring_radius(p.kappa, p.theta, p.leak)  # 0.218 (kappa 1.05), 0.140 (kappa 1.02)
    T = 2 * np.pi / p.gamma
    assert r < 0.22 and abs(c.period - T) < 1e-8 * T
    assert abs(c.radius_mean - r) < 1e-8 and c.radius_max - c.radius_min < 1e-8
    np.testing.assert_allclose(np.abs(c.floquet_multipliers), [1.0, np.exp(-2 * p.kappa * r * r * T)], rtol=1e-7)
    assert c.stable and c.trivial_error < 1e-8


def test_a_slow_one_way_drift_at_the_hopf_point_goes_to_shooting_not_to_aperiodic():
    # r0 = 0.004 over 300 time units: each return moves by ~2 pi r^3 and that shrinks only algebraically, so the
    # returns neither agree nor contract by 0.9; they drift one way (net move = the path) and shooting decides
    res = find_cycles(_ring(1.0), np.array([[0.004, 0.0]]), t_transient=0.0, t_record=300.0)
    assert res.cycles == [] and res.outcomes == ["not settled"]
    assert "return points still moving, but shooting did not converge" in res.message


class _Torus(torch.nn.Module):
    """Two uncoupled Hopf normal forms ``r' = r (1 - r^2)`` at angular rates 1 and sqrt(2): a quasi-periodic torus."""

    dim = 4

    def forward(self, t, y):
        out = []
        for k, w in ((0, 1.0), (2, 2 ** 0.5)):
            a, b = y[..., k], y[..., k + 1]
            r2 = a * a + b * b
            out += [a * (1 - r2) - w * b, b * (1 - r2) + w * a]
        return torch.stack(out, -1)


def test_the_drift_rule_leaves_a_quasi_periodic_torus_aperiodic():
    res = find_cycles(_Torus(), n_init=2, t_transient=10.0)
    assert res.cycles == [] and res.outcomes == ["aperiodic", "aperiodic"] and res.message == ""
