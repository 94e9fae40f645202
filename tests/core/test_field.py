"""The FHRN vector field against closed forms, autograd and an independent numpy implementation."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from torch.func import jacrev, vmap

import fhrn_ode as F
from fhrn_ode import FHRNField, FHRNParams


def numpy_rhs(W, p: FHRNParams, d):
    """dy/dt and dA/dt written straight from docs/model.md §1, independent of FHRNField."""
    c = np.asarray(p.drive_vector(d))

    def rhs(t, s):
        y = s[:d]
        r2 = y @ y
        g = 1.0 if p.beta == 0 else 1.0 / (1.0 + p.beta * (r2 - 1.0))
        dy = -p.leak * y + p.gamma * g * (W @ y) - p.kappa * (r2 - p.theta ** 2) * y + c
        if p.memory == "none":
            return dy
        A = s[d:].reshape(d, d)
        dy = dy + A @ y
        phi = np.outer(y, y) if p.memory == "hebbian" else np.outer(y, c)
        dA = -p.lam * A + p.eta * phi
        return np.concatenate([dy, dA.ravel()])

    return rhs


CASES = [
    ("random", FHRNParams(gamma=0.7, kappa=2.0, leak=1.0)),
    ("mixed", FHRNParams(gamma=1.3, kappa=1.5, beta=0.4, drive=0.2)),
    ("random", FHRNParams(gamma=0.5, kappa=3.0, memory="hebbian", eta=0.8, lam=2.0)),
    ("sym", FHRNParams(gamma=0.9, kappa=2.0, beta=0.3, memory="input", eta=0.5, lam=1.0, drive=0.3)),
]


@pytest.mark.parametrize("kind,params", CASES)
def test_integration_matches_solve_ivp(kind, params):
    d = 3
    W = F.make_operator(kind, d, seed=4)
    y0 = F.initial_conditions(3, d, 1.5, seed=1)
    res = F.integrate(W, y0, params=params, t1=4.0, n_points=21, rtol=1e-10, atol=1e-12)
    assert res.status == "success", res.message
    rhs = numpy_rhs(W, params, d)
    for k in range(3):
        s0 = y0[k].numpy()
        if params.memory != "none":
            s0 = np.concatenate([s0, np.zeros(d * d)])
        ref = solve_ivp(rhs, (0, 4.0), s0, method="DOP853", t_eval=res.t.numpy(), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(res.y[:, k].numpy(), ref.y[:d].T, atol=1e-7)
        if params.memory != "none":
            np.testing.assert_allclose(res.A[:, k].reshape(-1, d * d).numpy(), ref.y[d:].T, atol=1e-7)


@pytest.mark.parametrize("beta", [0.0, 0.6, 2.5])
@pytest.mark.parametrize("with_A", [False, True])
def test_analytic_jacobian_equals_autograd(beta, with_A):
    d = 5
    W = F.make_operator("random", d, seed=2, scale=1.7)
    p = FHRNParams(gamma=0.8, kappa=1.3, theta=1.1, leak=0.7, beta=beta, drive=0.1)
    field = FHRNField(W, p)
    y = torch.randn(16, d, dtype=torch.float64) * 0.3 + 1.0  # away from the beta=2.5 pole at |y|=0.77
    A = torch.randn(16, d, d, dtype=torch.float64) * 0.2 if with_A else None
    if with_A:
        J_auto = vmap(jacrev(lambda yy, AA: field.velocity(yy, AA)))(y, A)
    else:
        J_auto = vmap(jacrev(lambda yy: field.velocity(yy)))(y)
    J = field.jacobian(y, A)
    torch.testing.assert_close(J, J_auto, atol=1e-10, rtol=0)


def test_jacobian_closed_form_C11_by_finite_differences():
    d = 4
    W = F.make_operator("mixed", d, seed=3)
    field = FHRNField(W, FHRNParams(beta=0.5))
    y = torch.randn(d, dtype=torch.float64)
    h = 1e-6
    fd = torch.stack([(field.velocity(y + h * e) - field.velocity(y - h * e)) / (2 * h)
                      for e in torch.eye(d, dtype=torch.float64)], dim=1)
    torch.testing.assert_close(field.jacobian(y), fd, atol=1e-7, rtol=0)


def test_antisymmetric_operator_conserves_norm_without_leak_and_homeostasis():
    d = 6
    W = F.make_operator("antisym", d, seed=5, scale=2.0)
    np.testing.assert_allclose(W, -W.T)
    y0 = F.initial_conditions(4, d, 1.7, seed=2)
    for beta in (0.0, 0.3):
        res = F.integrate(W, y0, params=FHRNParams(leak=0.0, kappa=0.0, gamma=1.5, beta=beta),
                          t1=10.0, n_points=11, rtol=1e-10, atol=1e-12)
        assert res.success
        norms = res.y.norm(dim=-1)
        torch.testing.assert_close(norms, norms[:1].expand_as(norms), atol=1e-8, rtol=0)


def test_symmetric_operator_gives_real_spectra():
    for d in (2, 5, 9):
        W = F.make_operator("sym", d, seed=d)
        np.testing.assert_allclose(W, W.T)
        assert np.max(np.abs(np.linalg.eigvals(W).imag)) == 0.0
        field = FHRNField(W, FHRNParams(gamma=1.2))
        J = field.jacobian(torch.randn(7, d, dtype=torch.float64))
        torch.testing.assert_close(J, J.transpose(-1, -2))  # symmetric Jacobian -> real spectrum
        assert torch.linalg.eigvals(J).imag.abs().max() < 1e-12


@pytest.mark.parametrize("kappa,leak,theta", [(10.0, 1.0, 1.0), (3.0, 1.0, 1.0), (2.0, 0.5, 1.5), (1.0, 0.0, 1.0)])
def test_ring_radius_and_radial_law_2d_rotation(kappa, leak, theta):
    """2-D, W = [[0,-1],[1,0]]: r^2 obeys d(r^2)/dt = 2 r^2 (a - kappa r^2), a = kappa theta^2 - leak,
    so r^2(t) = a r0^2 e^{2at} / (a + kappa r0^2 (e^{2at} - 1)), the ring is r* = sqrt(a/kappa), and the
    phase advances at exactly gamma."""
    W = np.array([[0.0, -1.0], [1.0, 0.0]])
    gamma = 1.3
    p = FHRNParams(gamma=gamma, kappa=kappa, leak=leak, theta=theta)
    y0 = torch.tensor([[0.1, 0.0], [0.0, 0.7], [-2.0, 1.0]], dtype=torch.float64)
    res = F.integrate(W, y0, params=p, t1=3.0, n_points=31, rtol=1e-11, atol=1e-12)
    a = kappa * theta ** 2 - leak
    t = res.t.numpy()[:, None]
    r02 = (y0.numpy() ** 2).sum(-1)[None]
    e = np.exp(2 * a * t)
    r2 = a * r02 * e / (a + kappa * r02 * (e - 1))
    np.testing.assert_allclose((res.y.numpy() ** 2).sum(-1), r2, rtol=1e-8)
    phase = np.unwrap(np.arctan2(res.y[..., 1].numpy(), res.y[..., 0].numpy()), axis=0)
    np.testing.assert_allclose(phase - phase[:1], gamma * np.broadcast_to(t, phase.shape), atol=1e-8)
    assert F.ring_radius(kappa, theta, leak) == pytest.approx(np.sqrt(a / kappa))


def test_below_threshold_the_origin_attracts():
    """kappa theta^2 < leak: no ring; the origin is a stable focus with eigenvalues (kappa theta^2 - leak) +- i gamma."""
    W = np.array([[0.0, -1.0], [1.0, 0.0]])
    p = FHRNParams(gamma=2.0, kappa=0.5, leak=1.0)
    assert F.ring_radius(p.kappa, p.theta, p.leak) == 0.0
    lam = np.linalg.eigvals(FHRNField(W, p).jacobian(torch.zeros(2, dtype=torch.float64)).numpy())
    np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(np.array([-0.5 - 2j, -0.5 + 2j])), atol=1e-14)
    res = F.integrate(W, F.initial_conditions(4, 2, 1.0, seed=0), params=p, t1=40.0, n_points=5)
    assert float(res.y[-1].norm(dim=-1).max()) < 1e-6


def test_linear_flow_matches_matrix_exponential():
    d = 4
    W = F.make_operator("random", d, seed=7)
    p = FHRNParams(gamma=0.8, kappa=0.0, leak=0.6)
    y0 = F.initial_conditions(2, d, 1.0, seed=3)
    res = F.integrate(W, y0, params=p, t1=2.0, n_points=5, rtol=1e-11, atol=1e-13)
    M = -0.6 * np.eye(d) + 0.8 * W
    for i, t in enumerate(res.t.numpy()):
        np.testing.assert_allclose(res.y[i].numpy(), y0.numpy() @ expm(M * t).T, atol=1e-9)


def test_fixed_step_rk4_converges_at_fourth_order():
    W = np.array([[0.0, -1.0], [1.0, 0.0]])
    p = FHRNParams(gamma=1.0, kappa=0.0, leak=0.3)
    y0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    exact = y0.numpy() @ expm((-0.3 * np.eye(2) + W) * 2.0).T
    errs = []
    for h in (0.2, 0.1, 0.05):
        res = F.integrate(W, y0, params=p, t1=2.0, n_points=2, method="rk4", step_size=h)
        assert res.rtol is None and res.atol is None
        errs.append(np.abs(res.y[-1].numpy() - exact).max())
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 3.8) and np.all(orders < 4.3), orders


def test_nfe_is_counted_and_tighter_tolerance_costs_more():
    W = F.make_operator("antisym", 2)
    loose = F.integrate(W, params=FHRNParams(), t1=5.0, rtol=1e-4, atol=1e-6)
    tight = F.integrate(W, params=FHRNParams(), t1=5.0, rtol=1e-10, atol=1e-12)
    assert 0 < loose.nfe < tight.nfe
    assert tight.solver_dict() == {"method": "dopri5", "rtol": 1e-10, "atol": 1e-12, "nfe": tight.nfe}


def test_adjoint_gradient_equals_direct_gradient():
    W = F.make_operator("mixed", 3, seed=1)
    y0 = F.initial_conditions(2, 3, 1.2, seed=0).requires_grad_(True)
    grads = []
    for adjoint in (False, True):
        y = y0.detach().clone().requires_grad_(True)
        res = F.integrate(W, y, params=FHRNParams(kappa=2.0), t1=1.0, n_points=3, adjoint=adjoint,
                          rtol=1e-10, atol=1e-12)
        (res.y[-1] ** 2).sum().backward()
        grads.append(y.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-6)


def test_gain_has_its_pole_where_documented():
    p = FHRNParams(beta=4.0)
    assert p.pole_radius == pytest.approx(np.sqrt(0.75))
    assert FHRNParams(beta=0.9).pole_radius is None
    r2 = torch.tensor([0.75], dtype=torch.float64)
    assert torch.isinf(F.gain(r2, 4.0)).all()
    torch.testing.assert_close(F.gain_derivative(torch.tensor([2.0], dtype=torch.float64), 0.5),
                               torch.tensor([-0.5 / 1.5 ** 2], dtype=torch.float64))


@pytest.mark.parametrize("beta, pole", [(0.0, None), (0.5, None), (0.999, None), (1.0, 0.0), (4.0, 0.75)])
def test_the_pole_exists_exactly_for_beta_at_least_one(beta, pole):
    """The denominator 1 - beta + beta r2 is >= 1 - beta > 0 for beta < 1 and r2 at beta = 1 (docs/model.md §1.2)."""
    from fhrn_ode.homeostasis import has_pole, near_pole, pole_r2

    assert has_pole(beta) is (pole is not None) and has_pole(torch.tensor([0.0, beta])) is (pole is not None)
    assert pole_r2(beta) == (None if pole is None else pytest.approx(pole))
    r2 = np.linspace(0.0, 2.0, 20001)
    den = 1.0 + beta * (r2 - 1.0)
    assert bool(np.abs(den).min() < 1e-3) == (pole is not None)  # a root of the denominator on [0, 2] iff a pole
    mask = near_pole(r2, beta)
    assert bool(mask.any()) == (pole is not None)
    if pole is not None:
        assert np.all(np.abs(r2[mask] - pole) < 1e-3 / beta)
