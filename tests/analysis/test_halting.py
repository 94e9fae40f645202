"""Fixed-point halting of the reentry loop vs the ODE verdict (analysis/halting.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from fhrn_ode import FHRNInputError
from fhrn_ode.analysis.halting import (continuous_to_discrete, discrete_to_continuous, halting_model, iterate_loop,
                                       loop_multipliers, loop_stable_from_multipliers, max_stable_step,
                                       ode_stable_from_multipliers, verdict_class)


def _matrix_with_spectrum(mus, seed=0):
    """Real matrix with the given eigenvalues (complex ones as conjugate pairs: pass one of each pair)."""
    blocks = []
    for m in mus:
        if np.iscomplex(m):
            a, b = m.real, m.imag
            blocks.append(np.array([[a, -b], [b, a]]))
        else:
            blocks.append(np.array([[float(np.real(m))]]))
    n = sum(b.shape[0] for b in blocks)
    D = np.zeros((n, n))
    i = 0
    for b in blocks:
        k = b.shape[0]
        D[i:i + k, i:i + k] = b
        i += k
    S = np.random.default_rng(seed).normal(size=(n, n)) + 3 * np.eye(n)
    return S @ D @ np.linalg.inv(S)


def test_conversion_round_trip():
    lam = np.array([-0.5 + 2j, -3.0, 0.1])
    np.testing.assert_allclose(discrete_to_continuous(continuous_to_discrete(lam)), lam)
    np.testing.assert_allclose(continuous_to_discrete(lam), lam + 1)


@pytest.mark.parametrize("mus,ode,loop", [
    ([0.5, 0.3 + 0.2j], True, True),          # inside the unit disk: both stable
    ([1.2j, 0.1], True, False),                # Re mu = 0 < 1 but |mu| = 1.2: the ODE verdict fails
    ([-1.5, 0.2], True, False),                # negative real multiplier: loop flips sign and grows
    ([1.3, 0.1], False, False),                # Re mu > 1: both unstable
])
def test_ode_vs_loop_verdict_on_constructed_matrices(mus, ode, loop):
    M = _matrix_with_spectrum(mus, seed=1)
    mu = np.linalg.eigvals(M)
    assert bool(ode_stable_from_multipliers(mu)) == ode
    assert bool(loop_stable_from_multipliers(mu)) == loop
    assert verdict_class(mu[None])[0] == ("both_stable" if loop else "ode_only" if ode else "both_unstable")
    # independent ground truth: the ODE dy/dt = (M - I) y by its matrix exponential, the loop by powers of M
    y0 = np.ones(M.shape[0])
    ode_decays = np.linalg.norm(expm(60.0 * (M - np.eye(M.shape[0]))) @ y0) < 1e-6
    loop_decays = np.linalg.norm(np.linalg.matrix_power(M, 200) @ y0) < 1e-6
    assert bool(ode_decays) == ode and bool(loop_decays) == loop


def test_max_stable_step_closed_form():
    mu = np.array([1.2j, -1.5, 0.5])
    dt = max_stable_step(mu)
    expect = min(2 * (1 - m.real) / abs(m - 1) ** 2 for m in mu)
    assert dt == pytest.approx(expect)
    assert dt < 1  # the undamped loop (dt = 1) is unstable here
    M = _matrix_with_spectrum([1.2j, -1.5, 0.5], seed=2)
    I = np.eye(M.shape[0])
    for s, decays in ((0.9 * dt, True), (1.1 * dt, False)):
        P = np.linalg.matrix_power(I + s * (M - I), 800)
        assert bool(np.linalg.norm(P @ np.ones(M.shape[0])) < 1e-3) == decays
    assert max_stable_step(np.array([1.5, 0.2])) == 0.0


def test_linear_loop_fixed_point_and_rate_match_linear_solve():
    rng = np.random.default_rng(0)
    d, C, gamma = 6, 5, 0.7
    Wr = rng.normal(size=(d, d)) / np.sqrt(d)
    # J_c chosen so that gamma W_r J_c has a known spectrum with a separated dominant multiplier rho_c
    rho_c = np.linspace(0.5, 0.9, C)
    Ms = [_matrix_with_spectrum([r, 0.2 + 0.1j, -0.25, 0.1, 0.05], seed=c) for c, r in enumerate(rho_c)]
    Js = np.stack([np.linalg.solve(gamma * Wr, M) for M in Ms])
    h = rng.normal(size=(C, d))
    Wt, Jt, ht = (torch.as_tensor(a) for a in (Wr, Js, h))

    def fn(x, J):
        return J @ x

    def step(x, i):
        return ht[i] + gamma * torch.einsum("ij,cjk,ck->ci", Wt, Jt[i], x)

    it = iterate_loop(step, ht, tol=1e-12, max_iter=2000)
    M = gamma * Wr[None] @ Js
    rho = np.max(np.abs(np.linalg.eigvals(M)), axis=-1)
    assert np.all(rho < 1) and it.converged.all()
    x_star = np.linalg.solve(np.eye(d)[None] - M, h[..., None])[..., 0]
    np.testing.assert_allclose(it.x, x_star, atol=1e-10)
    np.testing.assert_allclose(rho, rho_c, rtol=1e-10)
    np.testing.assert_allclose(it.rate, rho, rtol=1e-3)
    mu = loop_multipliers(fn, it.x, (Jt,), gamma, Wr)
    np.testing.assert_allclose(np.sort(np.abs(mu), -1), np.sort(np.abs(np.linalg.eigvals(M)), -1), atol=1e-12)


def test_unstable_linear_loop_diverges():
    M = torch.as_tensor(_matrix_with_spectrum([1.2j, 0.3], seed=3))
    it = iterate_loop(lambda x, i: torch.ones_like(x) + x @ M.T, torch.zeros(1, 3), max_iter=500, div_norm=1e6)
    assert it.diverged.all() and not it.converged.any() and it.iterations[0] < 500
    assert it.rate[0] == pytest.approx(1.2, rel=0.05)  # a rotating pair: step ratios oscillate around |mu|


def test_iterate_loop_rejects_bad_input():
    with pytest.raises(FHRNInputError, match="tol"):
        iterate_loop(lambda x, i: x, torch.zeros(1, 2), tol=0.0)
    with pytest.raises(FHRNInputError, match="x0"):
        iterate_loop(lambda x, i: x, torch.zeros(2))


@pytest.fixture(scope="module")
def reference():
    from fhrn_ode import load_checkpoint, reference_model_path

    model, _ = load_checkpoint(reference_model_path())
    return model


def test_reference_model_loop_halts_and_agrees(reference):
    res = halting_model(reference, contexts=6, seed=0, gammas=None)[0]
    assert res.gamma == pytest.approx(0.1)
    assert res.converged.all() and res.ode_stable.all() and res.agreement == 1.0
    # measured contraction rate = spectral radius of gamma W_r J_H at the fixed point
    # (where the loop ran long enough for the dominant multiplier to take over)
    ok = res.iterations >= 8
    assert ok.sum() >= 2  # 2 of these 12 nested contexts (docs: linearize_model) run >= 8 iterations
    np.testing.assert_allclose(res.rate[ok], res.multiplier_max_abs[ok], rtol=2e-2)
    assert np.all(res.multiplier_max_abs < 1)
    d = res.to_dict()
    assert set(d["contexts"][0]) >= {"iterations", "converged", "rate", "multiplier_max_abs", "ode_stable", "agree"}


def test_reference_model_at_zero_gain_halts_in_one_step(reference):
    res = halting_model(reference, contexts=3, gammas=[0.0])[0]
    assert (res.iterations == 1).all() and res.converged.all()
    assert np.all(res.fixed_point_shift == 0) and np.all(res.multiplier_max_abs == 0)
