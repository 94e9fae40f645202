"""Attractor-slot memory (fhrn_ode/slots.py, analysis/slots.py) against closed forms, autograd and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.optimize import approx_fprime

from fhrn_ode import FHRNInputError, FHRNParams, integrate
from fhrn_ode.analysis.slots import (aligned_abscissa, aligned_radius, critical_slot_count, growth_rate_no_homeostasis,
                                     regime_operator, slot_fixed_point, slot_regimes)
from fhrn_ode.slots import SlotFHRNField, integrate_slots, slot_similarity

P = FHRNParams(gamma=1.0, kappa=2.0, leak=1.0, lam=1.0, eta=0.3)


def test_field_matches_its_equations_and_scipy_solve_ivp():
    rng = np.random.default_rng(1)
    d, K = 3, 2
    W = rng.normal(size=(d, d))
    p = P.replace(beta=0.3, drive=0.05)
    f = SlotFHRNField(W, p, K)
    y, M = rng.normal(size=d), rng.normal(size=(K, d))
    s = M @ y / (np.linalg.norm(M, axis=1) * np.linalg.norm(y))
    r2 = y @ y
    g = 1 / (1 + 0.3 * (r2 - 1))
    dy = -y + g * W @ y - 2.0 * (r2 - 1) * y + 0.05 + (s[:, None] * M).sum(0)
    dM = -M + 0.3 * np.maximum(s, 0)[:, None] * y[None]
    out = f(0.0, (torch.as_tensor(y), torch.as_tensor(M)))
    np.testing.assert_allclose(out[0].numpy(), dy, rtol=1e-7)
    np.testing.assert_allclose(out[1].numpy(), dM, rtol=1e-7)
    ff = f.flat_field()
    sol = solve_ivp(lambda t, x: ff(torch.as_tensor(x)).numpy(), (0, 3), np.concatenate([y, M.ravel()]),
                    rtol=1e-10, atol=1e-12)
    run = integrate_slots(f, y[None], M[None], t1=3.0, n_points=2)
    np.testing.assert_allclose(run.y[-1, 0], sol.y[:d, -1], atol=1e-6)
    np.testing.assert_allclose(run.M[-1, 0].ravel(), sol.y[d:, -1], atol=1e-6)


def test_flat_jacobian_autograd_vs_finite_differences():
    rng = np.random.default_rng(2)
    f = SlotFHRNField(regime_operator(3), P, 2)
    ff = f.flat_field()
    x = rng.normal(size=3 + 6)
    J = torch.func.jacrev(ff)(torch.as_tensor(x)).numpy()
    Jfd = np.stack([approx_fprime(x, lambda z, i=i: ff(torch.as_tensor(z)).numpy()[i], 1e-7) for i in range(x.size)])
    np.testing.assert_allclose(J, Jfd, atol=2e-5)


@pytest.mark.parametrize("K", [1, 3, 6])
def test_aligned_equilibrium_radius_and_spectrum_closed_forms(K):
    W = regime_operator(4)
    f = SlotFHRNField(W, P, K)
    y = np.zeros(4)
    y[0] = 1.0
    run = integrate_slots(f, y[None], np.repeat(0.1 * y[None, None], K, 1), t1=30.0, n_points=2)
    fp = slot_fixed_point(f, run.y[-1, 0], run.M[-1, 0])
    assert fp is not None and fp.residual < 1e-9 and fp.n_aligned == K
    r = aligned_radius(P, 0.5, K)
    assert np.linalg.norm(fp.y) == pytest.approx(r, rel=1e-9)
    np.testing.assert_allclose(fp.M, np.repeat((P.eta / P.lam) * fp.y[None], K, 0), atol=1e-9)
    assert fp.spectral_abscissa == pytest.approx(aligned_abscissa(P, np.diag(W), K), abs=1e-8)
    assert fp.stable and fp.spectral_abscissa < 0


def test_growth_without_homeostasis_and_critical_slot_count():
    p0 = P.replace(kappa=0.0)
    kc = critical_slot_count(P, 0.5)
    assert kc == pytest.approx((1.0 - 0.5) * 1.0 / 0.3)
    for K in (1, 2, 3):  # K_crit = 1.67: K = 1 decays, K >= 2 grows
        rate = growth_rate_no_homeostasis(P, 0.5, K)
        assert (rate > 0) == (K > kc)
        # closed form: top eigenvalue of the linear (r, a) system; compare with the integrated growth
        f = SlotFHRNField(regime_operator(4), p0, K)
        y = np.zeros((1, 4))
        y[0, 0] = 1.0
        run = integrate_slots(f, y, np.repeat(0.1 * y[:, None], K, 1), t1=20.0, n_points=3, max_norm=1e12)
        n = np.linalg.norm(run.y[:, 0], axis=-1)
        assert np.log(n[2] / n[1]) / 10.0 == pytest.approx(rate, abs=2e-3)


def test_unused_slot_decays_exactly_and_heavy_decay_is_stateless():
    reg = slot_regimes(d=3, n_slots=3, ks=(1,), lams=(10.0, 100.0), t1=12.0, seed=0)
    assert reg.unused.size >= 1 and reg.unused_decay_error < 1e-4
    assert reg.fixed_point is not None and reg.fixed_point.n_aligned >= 1
    assert reg.fixed_point.spectral_abscissa_active < 0
    # a zero slot is not a hyperbolic equilibrium: the regularised cosine makes it violently unstable
    if reg.fixed_point.n_aligned < 3:
        assert reg.fixed_point.spectral_abscissa > 1e3
    assert reg.deviation_vs_lam[1] < 0.2 * reg.deviation_vs_lam[0]  # ~ 1/lam
    d = reg.to_dict()
    assert set(d) == {"stable_slots", "unused_slots", "too_many_slots", "heavy_decay", "params"}  # + rotation_drag in the CLI


def test_no_slot_feedback_reduces_to_the_memory_free_field():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 3))
    y0 = rng.normal(size=(2, 3))
    f = SlotFHRNField(W, P, 2, readout=0.0)
    run = integrate_slots(f, y0, rng.normal(size=(2, 2, 3)), t1=4.0, n_points=5)
    ref = integrate(W, y0, params=P, t1=4.0, n_points=5)
    np.testing.assert_allclose(run.y, np.asarray(ref.y), atol=1e-6)


def test_similarity_is_zero_for_a_zero_slot_and_bad_input_is_refused():
    s = slot_similarity(torch.zeros(1, 2, 3, dtype=torch.float64), torch.ones(1, 3, dtype=torch.float64))
    assert torch.all(s == 0)
    with pytest.raises(FHRNInputError, match="memory"):
        SlotFHRNField(np.eye(2), P.replace(memory="hebbian"), 2)
    with pytest.raises(FHRNInputError, match="n_slots"):
        SlotFHRNField(np.eye(2), P, 0)
    with pytest.raises(FHRNInputError, match="M0"):
        integrate_slots(SlotFHRNField(np.eye(2), P, 2), np.ones((1, 2)), np.ones((1, 3, 2)))


def test_part1_fixed_point_finder_on_the_flat_slot_field():
    from fhrn_ode.dynamics.fixed_points import find_fixed_points

    W = regime_operator(3)
    f = SlotFHRNField(W, P, 2).flat()
    z0 = np.array([[1.0, 0, 0, 0.3, 0, 0, 0.3, 0, 0]])
    res = find_fixed_points(f, starts=z0, n_minimise=0)
    assert res.points
    for p in res.points:
        assert np.linalg.norm(p.x[:3]) == pytest.approx(aligned_radius(P, 0.5, 2), rel=1e-9)
        assert p.eigenvalues_max_real == pytest.approx(aligned_abscissa(P, np.diag(W), 2), abs=1e-8) and p.stable


def test_slots_drag_a_rotating_state_back_but_never_stop_it():
    from fhrn_ode.analysis.slots import rotation_drag, rotating_slot_state

    drag = rotation_drag(P, ks=(0, 2, 8), t1=30.0)
    np.testing.assert_allclose(drag.omega, drag.omega_closed_form, rtol=1e-3)
    np.testing.assert_allclose(drag.radius, drag.radius_closed_form, rtol=1e-3)
    assert drag.omega[0] == pytest.approx(1.0) and np.all(np.diff(drag.omega) < 0) and np.all(drag.omega > 0)
    w, _ = rotating_slot_state(P, 1000)
    assert 0 < w < 2 * P.lam ** 2 / (1000 * P.eta)  # ~ gamma lam^2 / (rho n eta) for many slots
