"""Small-gain vs exact stability (analysis/stability.py, Fig. 4) and the Lyapunov traces (C 13-14)."""

import math

import numpy as np
import pytest

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.analysis import (brute_force_critical_scale, check_operator, exact_critical_scale, lyapunov_traces,
                               small_gain_surface, stability_map, wr_crit_small_gain)
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius


def test_small_gain_surface_equals_formula():
    gam = np.linspace(0.1, 1.0, 7)
    bet = np.linspace(0.0, 5.0, 6)
    s = small_gain_surface(gam, bet, 1.1)
    want = 1.0 / (gam[None, :] * (1.0 / (1.0 + bet[:, None] * (1.21 - 1.0))))
    assert s.wr_crit.shape == (6, 7) and np.allclose(s.wr_crit, want, rtol=1e-14)
    assert math.isinf(float(wr_crit_small_gain(0.0, 1.0, 1.1)))
    assert math.isnan(float(wr_crit_small_gain(1.0, 2.0, math.sqrt(0.5))))  # gain pole


@pytest.mark.parametrize("kind,dim,seed", [("random", 8, 1), ("mixed", 2, 0), ("sym", 4, 3)])
def test_exact_boundary_matches_brute_force(kind, dim, seed):
    W = make_operator(kind, dim, seed=seed)
    s_star = exact_critical_scale(W)
    rho = float(np.linalg.eigvals(W).real.max())
    assert s_star == pytest.approx(1.0 / rho, rel=1e-12)
    scales = np.linspace(1e-3, 3 * s_star, 30001)
    s_bf = brute_force_critical_scale(W, scales)
    assert abs(s_bf - s_star) <= scales[1] - scales[0]
    assert s_star >= 1.0 - 1e-12  # exact boundary never below the small-gain one (|W| = 1)
    # at s*: rho(-I + s* W) = 0
    assert abs(np.linalg.eigvals(-np.eye(dim) + s_star * W).real.max()) < 1e-10


def test_antisymmetric_never_unstable_and_map():
    Wa = make_operator("antisym", 4, seed=0)
    assert math.isinf(exact_critical_scale(Wa))
    Wr = make_operator("random", 6, seed=2)
    b = np.linspace(0, 3, 5)
    w = np.linspace(0, 4, 9)
    m = stability_map(b, w, gamma=0.8, radius=1.1, operators={"a": Wa, "r": Wr})
    g = 1.0 / (1.0 + b * 0.21)
    assert np.allclose(m.r_e, 0.8 * g[None, :] * w[:, None])
    assert np.allclose(m.wr_crit_small_gain, 1.0 / (0.8 * g))
    assert np.all(np.isinf(m.wr_crit_exact[0]))
    rho_hat = np.linalg.eigvals(Wr / np.linalg.norm(Wr, 2)).real.max()
    assert np.allclose(m.wr_crit_exact[1], 1.0 / (0.8 * g * rho_hat))
    # brute-force abscissa grid is stable exactly below the exact boundary
    assert np.array_equal(m.spectral_abscissa[1] < 0, w[:, None] < m.wr_crit_exact[1][None, :])


def test_check_operator():
    W = make_operator("random", 8, seed=1, scale=1.5)
    c = check_operator(W, 1.0, 0.5, 1.1)
    g = 1.0 / (1.0 + 0.5 * 0.21)
    assert c.gain == pytest.approx(g) and c.r_e == pytest.approx(g * 1.5)
    assert c.spectral_abscissa == pytest.approx(np.linalg.eigvals(-np.eye(8) + g * W).real.max(), abs=1e-12)
    assert c.stable and not c.stable_small_gain  # small gain fails, exact holds: the gap
    assert c.wr_norm_critical_small_gain == pytest.approx(1 / g)
    assert c.wr_norm_critical_exact > c.wr_norm_critical_small_gain
    with pytest.raises(FHRNInputError, match="pole"):
        check_operator(W, 1.0, 2.0, math.sqrt(0.5))
    with pytest.raises(FHRNInputError, match="gamma"):
        check_operator(W, -1.0, 0.0, 1.0)
    with pytest.raises(FHRNInputError, match="finite"):
        check_operator(np.full((2, 2), np.nan), 1.0, 0.0, 1.0)


def test_lyapunov_dVdt_matches_exact_and_finite_differences():
    p = FHRNParams(gamma=2.0, kappa=10.0)
    L = lyapunov_traces(make_operator("antisym", 2), [0.3, 1.5], params=p, t1=1.0, n_points=2001)
    assert L.status == "success"
    assert np.max(np.abs(L.dVdt - L.dVdt_exact)) < 1e-10
    dt = L.t[1] - L.t[0]
    fd = (L.V[2:] - L.V[:-2]) / (2 * dt)
    scale = np.max(np.abs(L.dVdt))
    assert np.max(np.abs(fd - L.dVdt[1:-1])) < 2e-3 * scale
    # the paper's V is NOT monotone: between r* and theta the flow climbs V
    r = ring_radius(p.kappa, p.theta, p.leak)
    v = L.violations
    assert v.count > 0 and v.max > 0
    lo, hi = v.radius_range
    assert r - 1e-6 <= lo and hi <= p.theta
    assert np.allclose(L.radius[-1], r, atol=1e-6)


def test_lyapunov_custom_V_and_errors():
    W = make_operator("antisym", 2)
    p = FHRNParams()
    r = ring_radius(p.kappa, p.theta, p.leak)
    V = lambda y: 0.25 * ((y * y).sum() - r * r) ** 2  # noqa: E731 - centred on the true ring
    L = lyapunov_traces(W, [0.3, 1.5], params=p, V=V, t1=1.0, n_points=101)
    assert L.dVdt_exact is None and L.violations.count == 0
    with pytest.raises(FHRNInputError, match="radii"):
        lyapunov_traces(W, [0.0])
    with pytest.raises(FHRNInputError, match="memory"):
        lyapunov_traces(W, [1.0], params=FHRNParams(memory="hebbian"))
    with pytest.raises(FHRNInputError, match="callable"):
        lyapunov_traces(W, [1.0], V=3)
