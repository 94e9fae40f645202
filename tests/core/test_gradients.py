"""Gradients through integrate (issue 9): direct backprop and the adjoint method, against finite differences.

These fail on the matrix-only integrate of before: its FHRNField had no parameters (W.grad stayed None).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch import nn

import fhrn_ode as F
from fhrn_ode import FHRNField, FHRNInputError, FHRNParams

W0 = F.make_operator("mixed", 3, seed=1)
TOL = dict(rtol=1e-10, atol=1e-12)  # gradients then agree with finite differences to ~2e-9


def _loss(field, y0, adjoint=False):
    res = F.integrate(field, y0, t1=1.0, n_points=4, adjoint=adjoint, **TOL)
    assert res.success, res.message
    return (res.y[1:] ** 2).sum() + res.y[-1, :, 0].sum()


@functools.lru_cache(maxsize=None)
def _fd_cached(memory, name):
    return _fd(_grad_params(memory), name, _grad_y0())


def _grad_params(memory):
    return FHRNParams(gamma=1.3, kappa=2.0, beta=0.4, memory=memory, eta=0.3, lam=0.7)


def _grad_y0():
    return F.initial_conditions(2, 3, 1.2, seed=0)


def _fd(params, name, y0, h=1e-4):
    """Central finite differences of the loss in every entry of the tensor ``name``."""
    base = FHRNField(W0, params)
    val = getattr(base, name).detach().clone()
    grad = torch.zeros_like(val)
    for i in range(val.numel()):
        out = []
        for sgn in (1.0, -1.0):
            f = FHRNField(W0, params)
            with torch.no_grad():
                getattr(f, name).view(-1)[i] += sgn * h
                out.append(float(_loss(f, y0)))
        grad.view(-1)[i] = (out[0] - out[1]) / (2 * h)
    return grad


@pytest.mark.parametrize("memory", ["none", "hebbian"])
@pytest.mark.parametrize("adjoint", [False, True])
def test_W_and_gamma_gradients_match_finite_differences(memory, adjoint):
    p, y0 = _grad_params(memory), _grad_y0()
    field = FHRNField(W0, p, trainable=("W", "gamma", "kappa"))
    _loss(field, y0, adjoint=adjoint).backward()
    for name in ("W", "gamma", "kappa"):
        g = getattr(field, name).grad
        assert g is not None and torch.isfinite(g).all(), name
        fd = _fd_cached(memory, name)
        rel = float((g - fd).norm() / fd.norm())
        assert rel < 1e-6, (name, rel)


def test_matrix_tensor_that_requires_grad_receives_gradients_direct_and_adjoint():
    y0 = F.initial_conditions(2, 3, 1.2, seed=0)
    grads = []
    for adjoint in (False, True):
        W = torch.tensor(W0, requires_grad=True)
        res = F.integrate(W, y0, params=FHRNParams(kappa=2.0), t1=1.0, n_points=3, adjoint=adjoint, **TOL)
        (res.y[-1] ** 2).sum().backward()
        assert W.grad is not None
        grads.append(W.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-7, atol=1e-9)


def test_trainable_names_are_validated():
    with pytest.raises(FHRNInputError, match="`trainable` entries must be among"):
        FHRNField(W0, trainable=("W", "alpha"))
    with pytest.raises(FHRNInputError, match="only acts with memory"):
        FHRNField(W0, trainable=("lam",))
    f = FHRNField(W0, trainable=("W", "gamma"))
    assert {n for n, _ in f.named_parameters()} == {"W", "gamma"}
    assert "kappa" in dict(f.named_buffers())


def test_trainable_field_evaluates_like_the_frozen_one():
    p = FHRNParams(gamma=1.3, kappa=2.0, beta=0.4, drive=0.1, memory="hebbian")
    y = F.initial_conditions(5, 3, 1.5, seed=2)
    A = torch.randn(5, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = FHRNField(W0, p)
    b = FHRNField(W0, p, trainable=("W", "gamma", "kappa", "theta", "leak", "beta", "lam", "eta", "drive"))
    for fa, fb in [(a((0.0), (y, A)), b(0.0, (y, A)))]:
        torch.testing.assert_close(fa[0], fb[0].detach(), rtol=1e-13, atol=1e-13)
        torch.testing.assert_close(fa[1], fb[1].detach(), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(a.jacobian(y, A), b.jacobian(y, A).detach())
    # an in-place change of a buffer is seen by the cached (no-grad) path
    with torch.no_grad():
        a.gamma.fill_(0.0)
    assert float((a.velocity(y) - FHRNField(W0, p.replace(gamma=0.0)).velocity(y)).abs().max()) < 1e-14


class _Linear(nn.Module):
    """dy/dt = M y with a trainable M: the exact solution is expm(t M) y0."""

    def __init__(self, M):
        super().__init__()
        self.M = nn.Parameter(torch.as_tensor(M))

    def forward(self, t, y):
        return y @ self.M.T


@pytest.mark.parametrize("adjoint", [False, True])
def test_generic_module_field_is_integrated_with_gradients(adjoint):
    from scipy.linalg import expm

    M = np.array([[-0.5, 1.0], [-1.0, -0.2]])
    mod = _Linear(M)
    y0 = torch.tensor([[1.0, 0.5], [0.0, -1.0]], dtype=torch.float64)
    res = F.integrate(mod, y0, t1=1.0, n_points=3, adjoint=adjoint, **TOL)
    assert res.success and res.W is None and res.params is None
    np.testing.assert_allclose(res.y[-1].detach().numpy(), y0.numpy() @ expm(M).T, rtol=1e-10)
    res.y[-1].sum().backward()
    # d/dM sum(expm(M) y0) by finite differences of scipy's expm
    fd = np.zeros_like(M)
    for i in range(2):
        for j in range(2):
            E = np.zeros_like(M)
            E[i, j] = 1e-6
            fd[i, j] = ((y0.numpy() @ expm(M + E).T).sum() - (y0.numpy() @ expm(M - E).T).sum()) / 2e-6
    np.testing.assert_allclose(mod.M.grad.numpy(), fd, rtol=1e-7)


def test_generic_module_blow_up_is_diverged_and_tuple_states_work():
    class Grow(nn.Module):
        def forward(self, t, state):
            y, z = state
            return y * 3.0, -z

    y0 = (torch.ones(2, 2, dtype=torch.float64), torch.ones(2, 1, dtype=torch.float64))
    res = F.integrate(Grow(), y0, t1=5.0, n_points=11, max_norm=10.0)
    assert res.status == "diverged" and "left the ball" in res.message
    # per-trajectory stop: the kept states are finite, NaN after each trajectory's t_diverged
    assert torch.isfinite(res.y_final).all() and len(res.y_rest) == 1 and res.y_rest[0].shape[1:] == (2, 1)
    assert res.diverged.all() and torch.isnan(res.y[-1]).all()
    ok = F.integrate(Grow(), (y0[0] * 1e-3, y0[1]), t1=1.0, n_points=3)
    np.testing.assert_allclose(ok.y_rest[0][-1].numpy(), np.exp(-1.0), rtol=1e-6)
    with pytest.raises(FHRNInputError, match="`y0` is required"):
        F.integrate(Grow())
    with pytest.raises(FHRNInputError, match="`params` applies only when `field` is a matrix"):
        F.integrate(Grow(), y0, params=FHRNParams())
    # tuple components need not share a leading dimension (torchdiffeq's contract): passed through as is
    odd = F.integrate(Grow(), (y0[0] * 1e-3, torch.ones(3, 1, dtype=torch.float64)), t1=1.0, n_points=3)
    assert odd.success and odd.y_rest[0].shape == (3, 3, 1)


def test_fast_stage_major_path_only_without_gradients(monkeypatch):
    import fhrn_ode._solver_run as I

    calls = []
    real = I.odeint_stage_major
    monkeypatch.setattr(I, "odeint_stage_major", lambda *a, **k: calls.append(1) or real(*a, **k))
    y0 = F.initial_conditions(2, 3, 1.2, seed=0)
    F.integrate(W0, y0, t1=0.5, n_points=3)
    F.integrate(FHRNField(W0), y0, t1=0.5, n_points=3)
    with torch.no_grad():
        F.integrate(FHRNField(W0, trainable=("W",)), y0, t1=0.5, n_points=3)
    fast = len(calls)
    assert fast >= 3
    field = FHRNField(W0, trainable=("W",))
    res = F.integrate(field, y0, t1=0.5, n_points=3)
    F.integrate(W0, y0.clone().requires_grad_(True), t1=0.5, n_points=3)
    F.integrate(_Linear(np.eye(3) * -0.5), y0, t1=0.5, n_points=3)
    assert len(calls) == fast  # gradients needed: torchdiffeq's own solver
    assert res.y.requires_grad and field._pin is None
