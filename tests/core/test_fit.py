"""fhrn_ode.fitting: recover a known FHRN (d = 4) from noise-free trajectories with the adjoint method."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fhrn_ode as F
from fhrn_ode import FHRNField, FHRNInputError, FHRNParams
from fhrn_ode.fitting import fit


def test_fit_recovers_W_and_kappa_of_a_known_fhrn():
    W = F.make_operator("mixed", 4, seed=3, scale=1.5)
    p = FHRNParams(gamma=1.0, kappa=2.0)
    y0 = F.initial_conditions(6, 4, 1.5, seed=1)
    data = F.integrate(W, y0, params=p, t1=0.6, n_points=11, rtol=1e-10, atol=1e-12)
    rng = np.random.default_rng(0)
    # gamma is fixed: only gamma W* is identifiable (fit's docstring)
    field = FHRNField(W + 0.05 * rng.standard_normal(W.shape), p.replace(kappa=1.8), trainable=("W", "kappa"))
    res = fit(field, data.t, data.y, adjoint=True, rtol=1e-7, atol=1e-9, loss_tol=1e-10)
    assert res.converged and res.loss < 1e-10, res.message
    assert res.loss_history[0] > 1e4 * res.loss
    W_fit, kappa_fit = res.params["W"].numpy(), float(res.params["kappa"])
    assert np.linalg.norm(W_fit - W) / np.linalg.norm(W) < 1e-3
    assert abs(kappa_fit - 2.0) / 2.0 < 1e-3
    assert res.field is field and torch.equal(field.W.detach(), res.params["W"])
    assert set(res.to_dict()) >= {"params", "loss", "loss_history", "n_steps", "converged", "message"}


def test_fit_rejects_bad_input():
    W = F.make_operator("antisym", 2)
    t = np.linspace(0, 1, 3)
    y = np.zeros((3, 2, 2))
    with pytest.raises(FHRNInputError, match="no tensor that requires grad"):
        fit(FHRNField(W), t, y)
    f = FHRNField(W, trainable=("W",))
    with pytest.raises(FHRNInputError, match=r"`y_obs` must have shape \(T, \*state_shape\) with T = len\(t\) = 3"):
        fit(f, t, y[:2])
    with pytest.raises(FHRNInputError, match="`optimizer` must be one of"):
        fit(f, t, y, optimizer="sgd")
    with pytest.raises(FHRNInputError, match="`field` must be an nn.Module"):
        fit(W, t, y)
    with pytest.raises(FHRNInputError, match="`steps` must be >= 1"):
        fit(f, t, y, steps=0)


def test_fit_with_adam_on_a_generic_module_lowers_the_loss():
    class Decay(nn.Module):
        def __init__(self):
            super().__init__()
            self.rate = nn.Parameter(torch.tensor(0.5, dtype=torch.float64))

        def forward(self, t, y):
            return -self.rate * y

    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    y = torch.exp(-1.0 * t)[:, None, None] * torch.ones(1, 2, 1, dtype=torch.float64)
    m = Decay()
    res = fit(m, t, y, optimizer="adam", lr=0.05, steps=10, adjoint=False)
    assert res.loss < res.loss_history[0] and float(m.rate.detach()) > 0.5


def test_fit_takes_a_single_d_state_as_torchdiffeq_does():
    """y_obs (T, d) for a (d,) state: the module sees (d,) (linear decay rate recovered exactly)."""
    import torch.nn as nn

    class Decay(nn.Module):
        def __init__(self):
            super().__init__()
            self.k = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

        def forward(self, t, y):
            assert y.shape == (3,)
            return -self.k * y

    t = torch.linspace(0, 2, 9, dtype=torch.float64)
    y0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    y_obs = y0 * torch.exp(-0.8 * t)[:, None]
    m = Decay()
    res = F.fit(m, t, y_obs, steps=10, adjoint=False)
    assert res.converged and abs(float(m.k.detach()) - 0.8) < 1e-6


def test_fit_restores_the_best_finite_parameters_when_a_step_enters_nan():
    """The field is NaN for a > 2; the data want a = 3, so Adam steps into the NaN region: the module
    must end at the best finite parameters seen (the loss there is exp-decay's, computed exactly)."""
    import math

    import torch
    from torch import nn

    from fhrn_ode.fitting import fit

    class Decay(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))

        def forward(self, t, y):
            bad = torch.where(self.a > 2.0, torch.tensor(float("nan"), dtype=y.dtype), torch.zeros((), dtype=y.dtype))
            return -self.a * y + bad

    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    y0 = torch.tensor([[1.0]], dtype=torch.float64)
    y_obs = torch.exp(-3.0 * t)[:, None, None] * y0
    f = Decay()
    res = fit(f, t, y_obs, optimizer="adam", lr=0.6, steps=6, adjoint=False)
    a = float(f.a.detach())
    assert math.isfinite(a) and a <= 2.0 and "restored the best finite parameters" in res.message
    finite = [h for h in res.loss_history if math.isfinite(h)]
    assert res.loss == min(finite) and math.isinf(res.loss_history[-1])
    want = float(((torch.exp(-a * t[1:]) - torch.exp(-3.0 * t[1:])) ** 2).mean())
    assert res.loss == pytest.approx(want, rel=1e-5)  # the restored parameters are the ones of that loss
