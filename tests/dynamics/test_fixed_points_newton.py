"""Newton-first fixed points (dynamics/fixed_points.py): exact roots of polynomial fields, Lorenz's equilibria
against the closed form, one root for a degenerate zero, a singular Jacobian at a start, and the one-call line
search against halving one step size at a time."""

import numpy as np
import pytest
import torch
from torch import nn

from fhrn_ode.dynamics import LorenzField, find_fixed_points, newton_polish
from fhrn_ode.dynamics import fixed_points as fp
from fhrn_ode.dynamics._contract import FlatField


class Poly(nn.Module):
    """``x' = x^2 - 4``, ``y' = y^3 - y``: six simple roots ``(+-2, 0), (+-2, +-1)``, J = diag(2x, 3y^2 - 1)."""

    dim = 2

    def forward(self, t, z):
        x, y = z[..., 0], z[..., 1]
        return torch.stack([x * x - 4.0, y ** 3 - y], -1)


class Degenerate(nn.Module):
    """``x' = -x^3``, ``y' = -y``: one root, the origin, of multiplicity 3 in x (Newton only linear there)."""

    dim = 2

    def forward(self, t, z):
        return torch.stack([-z[..., 0] ** 3, -z[..., 1]], -1)


class Fold(nn.Module):
    """``x' = x^2 - 1``, ``y' = y - x``: roots +-(1, 1); J = [[2x, 0], [-1, 1]] is singular on x = 0."""

    dim = 2

    def forward(self, t, z):
        x, y = z[..., 0], z[..., 1]
        return torch.stack([x * x - 1.0, y - x], -1)


def test_polynomial_field_has_its_six_exact_roots_and_kinds():
    g = np.linspace(-3.0, 3.0, 5)
    starts = np.array([[a, b] for a in g for b in g]) + 0.1  # off the symmetry lines
    res = find_fixed_points(Poly(), starts)
    want = {(2.0, 0.0): "saddle", (2.0, 1.0): "unstable node", (2.0, -1.0): "unstable node",
            (-2.0, 0.0): "stable node", (-2.0, 1.0): "saddle", (-2.0, -1.0): "saddle"}
    assert len(res.points) == 6 and not res.slow_points
    for p in res.points:
        key = (float(np.round(p.x[0])), float(np.round(p.x[1])))
        np.testing.assert_allclose(p.x, key, atol=1e-13)
        assert p.kind == want[key] and p.residual <= 1e-10
    assert sum(p.count for p in res.points) <= 2 * len(starts)


def test_lorenz_equilibria_match_the_closed_form_to_1e_10():
    L = LorenzField()
    g = torch.Generator().manual_seed(0)
    z0 = 15.0 * torch.randn(16, 3, dtype=torch.float64, generator=g)
    res = find_fixed_points(L, starts=z0)
    c = np.sqrt(L.b * (L.rho - 1.0))
    exact = np.array([[0.0, 0.0, 0.0], [c, c, L.rho - 1.0], [-c, -c, L.rho - 1.0]])
    assert len(res.points) == 3
    got = np.array([p.x for p in res.points])
    assert np.abs(got[:, None, :] - exact[None]).max(-1).min(1).max() < 1e-10
    origin = res.points[0]
    # J(0) has eigenvalues -b and (-(sigma + 1) +- sqrt((sigma + 1)^2 + 4 sigma (rho - 1))) / 2
    s, r, b = L.sigma, L.rho, L.b
    lam = sorted([-b, (-(s + 1) + np.sqrt((s + 1) ** 2 + 4 * s * (r - 1))) / 2,
                  (-(s + 1) - np.sqrt((s + 1) ** 2 + 4 * s * (r - 1))) / 2], reverse=True)
    np.testing.assert_allclose(origin.eigenvalues.real, lam, rtol=1e-12)
    assert (origin.kind, origin.unstable_dim) == ("saddle", 1)
    # rho = 28 is past the subcritical Hopf of C+- (rho_H = sigma (sigma + b + 3) / (sigma - b - 1) = 24.74)
    assert all((p.kind, p.unstable_dim) == ("saddle", 2) for p in res.points[1:])


def test_degenerate_root_is_reported_once():
    starts = np.array([[1.0, 1.0], [-0.7, 0.3], [0.2, -2.0], [-1.5, -0.4], [0.05, 0.5], [2.0, 0.0]])
    res = find_fixed_points(Degenerate(), starts, n_minimise=0)
    assert len(res.points) == 1  # was 6: Newton stops at different |x| ~ 1e-4.5 along its linear approach
    p = res.points[0]
    assert np.linalg.norm(p.x) < 1e-3 and p.kind == "non-hyperbolic" and p.count == 2 * len(starts)
    # two genuinely distinct simple roots 1e-3 apart stay two
    res2 = find_fixed_points(Poly(), np.array([[2.1, 0.1], [-2.1, 0.1]]), dedup_tol=1e-6)
    assert len(res2.points) == 2


def test_singular_jacobian_at_a_start_takes_the_least_squares_step():
    ff = FlatField(Fold())
    z, r = newton_polish(ff, torch.tensor([[0.0, 0.5], [0.0, -3.0]], dtype=torch.float64), 40, tol=1e-13)
    assert bool((r <= 1e-13).all())
    np.testing.assert_allclose(np.abs(z.numpy()), 1.0, atol=1e-13)
    np.testing.assert_allclose(z[:, 0].numpy(), z[:, 1].numpy(), atol=1e-13)
    res = find_fixed_points(Fold(), np.array([[0.0, 0.5]]), n_minimise=0)
    assert len(res.points) == 2  # the start reaches one root, its mirror (0, -0.5) the other
    np.testing.assert_allclose(sorted(p.x[0] for p in res.points), [-1.0, 1.0], atol=1e-13)


def test_newton_step_matches_lstsq_where_singular_and_solve_elsewhere():
    J = torch.tensor([[[2.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [-1.0, 1.0]], [[float("nan"), 0.0], [0.0, 1.0]]],
                     dtype=torch.float64)
    F = torch.tensor([[1.0, -1.0], [-1.0, 0.5], [1.0, 1.0]], dtype=torch.float64)
    s = fp._newton_step(J, F)
    np.testing.assert_allclose(s[0].numpy(), [-0.5, 1.0], atol=1e-15)
    np.testing.assert_allclose(s[1].numpy(), np.linalg.lstsq(J[1].numpy(), -F[1].numpy(), rcond=None)[0], atol=1e-14)
    np.testing.assert_allclose(s[2].numpy(), [0.0, 0.0])  # a non-finite Jacobian: no step


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_call_line_search_equals_halving_one_step_at_a_time(seed, fused, monkeypatch):
    monkeypatch.setattr(fp, "_FUSED_MAX", 10 ** 9 if fused else 0)  # all 13 steps in one call, or full + shorter
    ff = FlatField(Poly())
    f = ff.batch_call()
    tt = torch.tensor(0.0, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    z = 3.0 * torch.randn(64, 2, dtype=torch.float64, generator=g)
    F = f(tt, z)
    r = F.norm(dim=-1)
    step = 4.0 * torch.randn(64, 2, dtype=torch.float64, generator=g)  # often too long: backtracking needed
    active = torch.rand(64, generator=g) < 0.8
    z1, F1, r1, moved = fp._line_search(f, tt, z.clone(), step, F.clone(), r.clone(), active)
    zs, rs, acc = z.clone(), r.clone(), torch.zeros(64, dtype=torch.bool)
    a = torch.ones(64, dtype=torch.float64)
    for _ in range(13):  # the reference: halve a until |f| decreases, one field call per halving
        trial = zs + a[:, None] * step
        rt = f(tt, trial).norm(dim=-1)
        better = active & ~acc & torch.isfinite(rt) & (rt < rs)
        zs, rs, acc = torch.where(better[:, None], trial, zs), torch.where(better, rt, rs), acc | better
        a = torch.where(acc, a, a * 0.5)
    assert torch.equal(moved, acc) and 0 < int(moved.sum()) < int(active.sum())  # some rows backtracked
    assert torch.equal(z1, zs) and torch.equal(r1, rs) and torch.equal(F1, f(tt, z1))


def test_fused_and_two_call_line_searches_give_the_same_fixed_points(monkeypatch):
    g = torch.Generator().manual_seed(3)
    z0 = 15.0 * torch.randn(16, 3, dtype=torch.float64, generator=g)
    res = {}
    for fused in (True, False):
        monkeypatch.setattr(fp, "_FUSED_MAX", 10 ** 9 if fused else 0)
        res[fused] = find_fixed_points(LorenzField(), starts=z0)
    assert len(res[True].points) == 3
    for p, q in zip(res[True].points, res[False].points, strict=True):  # the same choices: bit for bit
        assert np.array_equal(p.x, q.x) and p.residual == q.residual and (p.kind, p.count) == (q.kind, q.count)
