import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import root

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.fixed_points import classify_equilibrium, field_jacobian, find_fixed_points
from fhrn_ode.dynamics._flow import FlatField
from fhrn_ode.dynamics.systems import LorenzField, lorenz_jacobian
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams

_spec = importlib.util.spec_from_file_location("_linear", Path(__file__).with_name("_linear.py"))
_lin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lin)


def _np_field(W, p):
    """The FHRN field written again in numpy (independent of the torch module), docs/model.md §1."""
    def f(y):
        r2 = y @ y
        return -p.leak * y + p.gamma * W @ y - p.kappa * (r2 - p.theta ** 2) * y
    return f


def _scipy_roots(f, d, starts):
    roots = []
    for s in starts:
        sol = root(f, s, tol=1e-13)
        if sol.success and np.linalg.norm(f(sol.x)) < 1e-10 and not any(np.linalg.norm(sol.x - r) < 1e-6 for r in roots):
            roots.append(sol.x)
    return roots


def _fd_jac(f, x, h=1e-6):
    return np.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)], 1)


def test_sym_operator_matches_scipy_root_and_finite_differences():
    W = make_operator("sym", 2)
    p = FHRNParams()
    res = find_fixed_points(FHRNField(W, p), n_starts=48, n_minimise=100, seed=1)
    f = _np_field(W, p)
    g = np.linspace(-1.5, 1.5, 9)
    roots = _scipy_roots(f, 2, [np.array([a, b]) for a in g for b in g])
    assert len(roots) == len(res.points) == 5
    for r in roots:
        match = [q for q in res.points if np.linalg.norm(q.x - r) < 1e-8]
        assert len(match) == 1
        lam = np.linalg.eigvals(_fd_jac(f, r))
        np.testing.assert_allclose(np.sort(lam.real), np.sort(match[0].eigenvalues.real), atol=1e-6)
        kind, u = classify_equilibrium(lam)
        assert (kind, u) == (match[0].kind, match[0].unstable_dim)
    kinds = sorted(q.kind for q in res.points)
    assert kinds == ["saddle", "saddle", "stable node", "stable node", "unstable node"]
    assert not res.slow_points


def test_antisym_ring_has_only_the_unstable_origin():
    res = find_fixed_points(FHRNField(make_operator("antisym", 2), FHRNParams()), n_starts=32, n_minimise=50)
    assert len(res.points) == 1
    q = res.points[0]
    assert np.linalg.norm(q.x) < 1e-12 and q.kind == "unstable focus" and q.unstable_dim == 2 and not q.stable
    # J(0) = (kappa theta^2 - leak) I + gamma W: eigenvalues 9 +- i
    np.testing.assert_allclose(q.eigenvalues_max_real, 9.0, atol=1e-9)


def test_memory_fixed_points_satisfy_hebbian_balance_and_scipy():
    W = make_operator("sym", 2)
    p = FHRNParams(memory="hebbian", eta=0.5, lam=1.0)
    res = find_fixed_points(FHRNField(W, p), n_starts=48, n_minimise=50, seed=2)
    assert res.dim == 6
    f2 = _np_field(W, p)

    def f6(z):
        y, A = z[:2], z[2:].reshape(2, 2)
        return np.concatenate([f2(y) + A @ y, (-p.lam * A + p.eta * np.outer(y, y)).ravel()])

    g = np.linspace(-1.2, 1.2, 7)
    roots = _scipy_roots(f6, 6, [np.concatenate([[a, b], 0.5 * np.outer([a, b], [a, b]).ravel()]) for a in g for b in g])
    assert len(roots) == len(res.points) == 5
    for q in res.points:
        y, A = q.x[:2], q.x[2:].reshape(2, 2)
        np.testing.assert_allclose(A, p.eta / p.lam * np.outer(y, y), atol=1e-10)
        assert any(np.linalg.norm(q.x - r) < 1e-8 for r in roots)


def test_slow_point_is_not_a_fixed_point():
    res = find_fixed_points(_lin.GhostField(1e-3), n_starts=16, radius=0.5, n_minimise=400, t_sample=1.0)
    assert res.points == []
    assert len(res.slow_points) >= 1
    s = min(res.slow_points, key=lambda s: s.q)
    assert abs(s.q - 0.5e-6) < 1e-7 and np.linalg.norm(s.x) < 0.05


def test_autograd_jacobian_matches_closed_form_lorenz_and_fd_memory():
    x = torch.tensor([[1.0, -2.0, 20.0], [0.3, 0.1, 5.0]], dtype=torch.float64)
    J = field_jacobian(FlatField(LorenzField()), x).numpy()
    np.testing.assert_allclose(J, lorenz_jacobian(x.numpy()), atol=1e-12)
    ff = FlatField(FHRNField(make_operator("mixed", 2), FHRNParams(memory="hebbian", beta=0.5)))
    z = torch.randn(6, dtype=torch.float64)
    Jz = field_jacobian(ff, z[None])[0].numpy()
    f = lambda v: ff(0.0, torch.as_tensor(v)).numpy()  # noqa: E731
    np.testing.assert_allclose(Jz, _fd_jac(f, z.numpy()), atol=1e-7)


@pytest.mark.parametrize("lam, want", [
    ([-1, -2], ("stable node", 0)), ([-1 + 1j, -1 - 1j], ("stable focus", 0)), ([1, -2], ("saddle", 1)),
    ([1 + 2j, 1 - 2j], ("unstable focus", 2)), ([3, 1], ("unstable node", 2)), ([0, -1], ("non-hyperbolic", 0)),
    ([2, 1 + 1j, 1 - 1j, -1], ("saddle", 3)),
])
def test_classify(lam, want):
    assert classify_equilibrium(lam) == want


def test_bad_starts_and_options():
    field = FHRNField(make_operator("antisym", 2))
    with pytest.raises(FHRNInputError, match="`starts` must have shape"):
        find_fixed_points(field, np.zeros((3, 5)))
    with pytest.raises(FHRNInputError, match="`tol` must be > 0"):
        find_fixed_points(field, np.zeros((3, 2)), tol=0.0)
    with pytest.raises(FHRNInputError, match="field Linear is broken for states of size 2: on a batch"):
        find_fixed_points(torch.nn.Linear(2, 2), np.zeros((3, 2)))  # forward(x), not forward(t, y)
    with pytest.raises(FHRNInputError, match="the state size of Linear is unknown.*pass `dim=`"):
        find_fixed_points(torch.nn.Linear(2, 2))


def test_closed_form_fixed_points_of_a_non_normal_4d_operator():
    # beta = 0, no memory, no drive: f(y) = H y - kappa |y|^2 y with H = (kappa theta^2 - leak) I + gamma W, so
    # the fixed points are 0 and +- r_j v_j for each real eigenpair (lambda_j, v_j) of W with
    # r_j^2 = theta^2 + (gamma lambda_j - leak)/kappa > 0; J there has eigenvalues -2 kappa r_j^2 and
    # gamma (lambda_i - lambda_j), i != j (Brauer's rank-one theorem). See docs/dynamics.md, Findings.
    W = make_operator("random", 4, seed=1)
    p = FHRNParams(gamma=1.0, kappa=2.0)
    res = find_fixed_points(FHRNField(W, p), n_starts=64, n_minimise=50, seed=0)
    lam, V = np.linalg.eig(W)
    real = [j for j in range(4) if abs(lam[j].imag) < 1e-12]
    want = [np.zeros(4)]
    for j in real:
        r2 = p.theta ** 2 + (p.gamma * lam[j].real - p.leak) / p.kappa
        if r2 > 0:
            v = V[:, j].real / np.linalg.norm(V[:, j].real)
            want += [np.sqrt(r2) * v, -np.sqrt(r2) * v]
            got = [q for q in res.points if np.linalg.norm(q.x - np.sqrt(r2) * v) < 1e-8]
            assert len(got) == 1
            ev = np.concatenate([[-2 * p.kappa * r2], p.gamma * (np.delete(lam, j) - lam[j])])
            np.testing.assert_allclose(np.sort_complex(got[0].eigenvalues), np.sort_complex(ev), atol=1e-8)
    assert len(res.points) == len(want)
    stable = [q for q in res.points if q.stable]
    jmax = int(np.argmax(lam.real))
    assert len(stable) == 2 and abs(np.linalg.norm(stable[0].x) ** 2 - (1 + (lam[jmax].real - 1) / 2)) < 1e-9


def test_degenerate_fold_point_is_non_hyperbolic_never_a_saddle():
    # x' = r + x^2, y' = -y at r = 0: the double root (0, 0); Newton converges only linearly to it, so the
    # eigenvalue 2x it leaves behind (~1e-7) must be read against the residual (hyperbolicity_tol)
    res = find_fixed_points(_lin.FoldField(0.0), np.array([[0.5, 0.1], [-0.3, 0.2], [0.2, -0.4]]), n_minimise=0)
    assert len(res.points) == 1
    q = res.points[0]
    assert q.kind == "non-hyperbolic" and not q.stable and np.linalg.norm(q.x) < 1e-5


def test_stiff_field_does_not_hang_the_finder():
    # rates 1e7 and 1: the sampling solve stops at its evaluation budget and the starts still find the origin
    res = find_fixed_points(_lin.LinearField(np.diag([-1e7, -1.0])), n_starts=8, max_nfe=2000)
    assert len(res.points) == 1 and np.linalg.norm(res.points[0].x) < 1e-12
    assert res.points[0].kind == "stable node" and "max_nfe=2000" in res.message


def test_starts_far_outside_the_sampling_bound_still_give_samples():
    """Starts at radius 1e4 (beyond the sampling bound 1e3 of the old code: ValueError from rng.choice) are
    sampled: the search ends normally (a result, no exception)."""
    from fhrn_ode import FHRNField, FHRNParams, make_operator

    field = FHRNField(make_operator("antisym", 2), FHRNParams(kappa=10.0))
    res = find_fixed_points(field, n_starts=8, radius=1e4, seed=0)
    assert res.n_starts == 8 and all(np.isfinite(q.x).all() for q in res.points)
