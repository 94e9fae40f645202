"""The saliency map Z <- kappa (1 - 1/Z) (analysis/saliency.py, fhrn_ode/maps.py) against closed forms and sympy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhrn_ode import FHRNInputError
from fhrn_ode.analysis.saliency import (KAPPA_CRITICAL, asymptotic_period, escape_scan, escape_time,
                                        escape_time_closed_form, map_fixed_points, saliency_fixed_points,
                                        saliency_multipliers, saliency_regime, saliency_report)
from fhrn_ode.maps import DiscreteMap, SaliencyMap, difference_field, is_discrete, map_stable


def test_sympy_fixed_points_multipliers_and_critical_gain():
    k, Z = sp.symbols("kappa Z", positive=True)
    f = k * (1 - 1 / Z)
    roots = sp.solve(sp.Eq(f, Z), Z)
    zp = (k + sp.sqrt(k ** 2 - 4 * k)) / 2
    zm = (k - sp.sqrt(k ** 2 - 4 * k)) / 2
    assert {sp.simplify(r - zp) == 0 or sp.simplify(r - zm) == 0 for r in roots} == {True}
    fp = sp.diff(f, Z)
    assert sp.simplify(fp - k / Z ** 2) == 0
    # f'(Z+) = Z-/Z+ and f'(Z-) = Z+/Z- (product of roots = kappa); they multiply to 1
    assert sp.simplify(fp.subs(Z, zp) - zm / zp) == 0
    assert sp.simplify(fp.subs(Z, zm) * fp.subs(Z, zp) - 1) == 0
    # critical gain: the discriminant kappa^2 - 4 kappa vanishes at kappa = 4 (kappa > 0), with Z = 2, f' = 1
    assert sp.solve(sp.Eq(k ** 2 - 4 * k, 0), k) == [4]
    assert zp.subs(k, 4) == 2 and fp.subs({Z: 2, k: 4}) == 1
    # near kappa_c: f(2+u) - (2+u) = -(u^2 + eps)/2 + O(3) with kappa = 4 - eps (saddle-node normal form)
    u, eps = sp.symbols("u epsilon")
    g = (f - Z).subs({Z: 2 + u, k: 4 - eps})
    ser = sp.series(sp.series(g, u, 0, 3).removeO(), eps, 0, 2).removeO()
    assert sp.simplify(sp.expand(ser) - sp.expand(-(u ** 2 + eps) / 2 - eps * u / 4 + eps * u ** 2 / 8)) == 0


@pytest.mark.parametrize("kappa", [4.0001, 4.5, 6.0, 10.0, 100.0])
def test_numeric_fixed_points_match_closed_form(kappa):
    zs = saliency_fixed_points(kappa)
    mus = saliency_multipliers(kappa)
    assert len(zs) == 2 and zs[0] < 2 < zs[1]
    np.testing.assert_allclose([z * z - kappa * z + kappa for z in zs], 0, atol=1e-9 * kappa ** 2)
    np.testing.assert_allclose(mus, [zs[1] / zs[0], zs[0] / zs[1]], rtol=1e-12)
    num = map_fixed_points(SaliencyMap(kappa), [[0.5], [1.5], [3.0], [kappa], [2 * kappa]])
    assert len(num) == 2
    np.testing.assert_allclose([p.z[0] for p in num], zs, rtol=1e-9)
    np.testing.assert_allclose([p.multiplier_max_abs for p in num], mus, rtol=1e-7)
    assert [p.stable for p in num] == [False, True]


@pytest.mark.parametrize("kappa", [0.5, 2.0, 3.999])
def test_no_fixed_point_below_critical_gain(kappa):
    assert saliency_fixed_points(kappa) == () and saliency_multipliers(kappa) == ()
    assert map_fixed_points(SaliencyMap(kappa), [[0.5], [2.0], [5.0]]) == []
    assert saliency_regime(kappa) == "collapse" and asymptotic_period(kappa) is None


def test_critical_gain_and_regimes():
    assert KAPPA_CRITICAL == 4.0
    assert saliency_fixed_points(4.0) == (2.0,) and saliency_multipliers(4.0) == (1.0,)
    assert saliency_regime(4.0) == "critical"
    zm = saliency_fixed_points(6.0)[0]
    assert saliency_regime(6.0, zm + 0.01) == "retrieval" and saliency_regime(6.0, zm - 0.01) == \
        "collapse_below_threshold_state"


@settings(max_examples=60, deadline=None)
@given(st.floats(0.2, 12.0), st.floats(0.05, 30.0))
@example(12.0, 1.1)  # Z_3 = 0 exactly (1.1 -> 12/11 -> 1 -> 0): the boundary case, checked in float64
def test_escape_time_closed_form_matches_iteration(kappa, z0):
    it = escape_time(kappa, z0, max_iter=5000)
    cf = escape_time_closed_form(kappa, z0)
    if it is None:
        assert cf == math.inf or cf > 5000
    elif abs(cf - it) > 0:
        # only a state within round-off of the escape boundary (Z_t = 0 exactly) may differ by one step
        assert abs(cf - it) == 1
        orb = SaliencyMap(kappa).iterate(torch.tensor([z0], dtype=torch.float64), int(min(cf, it)))[:, 0].numpy()
        assert abs(orb[-1]) < 1e-6 * max(1.0, kappa)


def test_every_orbit_collapses_below_threshold_within_pi_over_theta():
    for kappa in (1.0, 2.5, 3.5, 3.9):
        theta = math.acos(math.sqrt(kappa) / 2)
        bound = math.ceil(math.pi / theta)
        for z0 in np.linspace(0.01, 50, 301):
            t = escape_time(kappa, z0, max_iter=bound + 1)
            assert t is not None and t <= bound


def test_escape_time_near_critical_gain_scales_like_2pi_over_sqrt():
    scan = escape_scan([4 - 1e-2, 4 - 1e-4, 4 - 1e-6], z0=10.0)
    np.testing.assert_array_equal(scan.escape_time, scan.closed_form)
    ratio = scan.escape_time / scan.law
    assert abs(ratio[-1] - 1) < 2e-3 and abs(ratio[-1] - 1) < abs(ratio[0] - 1)  # -> 1 as kappa -> 4-


def test_above_threshold_orbit_converges_to_z_plus_at_rate_z_minus_over_z_plus():
    rep = saliency_report(6.0, z0=10.0, n=40)
    zm, zp = rep.fixed_points
    orb = np.asarray(rep.orbit)
    err = np.abs(orb - zp)
    # Moebius conjugacy: (Z_t - Z+)/(Z_t - Z-) = (Z-/Z+)^t (Z_0 - Z+)/(Z_0 - Z-)
    w = (orb - zp) / (orb - zm)
    np.testing.assert_allclose(w[1:12] / w[:11], zm / zp, rtol=1e-9)
    assert err[-1] < 1e-12 and rep.log_orbit_error < 1e-12 and rep.asymptotic_period == pytest.approx(math.log(zp))
    assert rep.contraction == pytest.approx(zm / zp) and rep.stable == (False, True)


def test_discrete_map_interface_and_difference_field():
    m = SaliencyMap(6.0)
    assert is_discrete(m) and isinstance(m, DiscreteMap) and isinstance(m, torch.nn.Module)
    z = torch.tensor([[3.0], [5.0]], dtype=torch.float64)
    np.testing.assert_allclose(m(0, z).numpy(), 6.0 * (1 - 1 / z.numpy()))
    F = difference_field(m)
    assert not is_discrete(F)
    np.testing.assert_allclose(F(0, z).numpy(), (m(0, z) - z).numpy())
    zp = saliency_fixed_points(6.0)[1]
    lam = torch.func.jacrev(lambda x: F(0, x))(torch.tensor([zp], dtype=torch.float64)).numpy().ravel()
    np.testing.assert_allclose(lam + 1, 6.0 / zp ** 2)  # lambda = mu - 1
    assert bool(map_stable(lam)) and not bool(map_stable(np.array([-2.5])))  # Re lambda < 0 but |mu| = 1.5
    with pytest.raises(FHRNInputError, match="fmap"):
        difference_field(torch.nn.Linear(1, 1))


def test_bad_kappa_is_refused():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(FHRNInputError, match="kappa"):
            saliency_fixed_points(bad)
    with pytest.raises(FHRNInputError, match="kappa"):
        SaliencyMap(-2.0)
    with pytest.raises(FHRNInputError, match="kappas"):
        escape_scan([3.0, 4.5])


def test_part1_fixed_point_finder_applies_to_the_map_through_its_difference_field():
    from fhrn_ode.dynamics.fixed_points import find_fixed_points

    res = find_fixed_points(difference_field(SaliencyMap(6.0)), starts=np.array([[0.5], [1.5], [3.0], [8.0]]),
                            dim=1, n_minimise=50)
    zs = sorted(float(p.x[0]) for p in res.points)
    np.testing.assert_allclose(zs, saliency_fixed_points(6.0), rtol=1e-9)
    verdict = {round(float(p.x[0]), 6): bool(map_stable(p.eigenvalues)) for p in res.points}
    assert list(dict(sorted(verdict.items())).values()) == [False, True]
    # just below kappa_c there is no fixed point, only the slow ghost of the saddle-node at Z = 2
    res = find_fixed_points(difference_field(SaliencyMap(3.99)), starts=np.array([[1.5], [2.0], [3.0]]), dim=1,
                            n_minimise=200)
    assert res.points == [] or len(res.points) == 0
    assert any(abs(float(s.x[0]) - 2.0) < 0.05 for s in res.slow_points)
