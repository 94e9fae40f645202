"""Integration contract: parameters, statuses, divergence as a result, input validation."""

import numpy as np
import pytest
import torch

import fhrn_ode as F
from fhrn_ode import FHRNInputError, FHRNParams


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(gamma=-1.0), "`gamma` must be >= 0"),
        (dict(kappa=float("nan")), "`kappa` must be finite"),
        (dict(leak=-0.1), "`leak` must be >= 0"),
        (dict(lam=-2.0), "`lam` must be >= 0"),
        (dict(eta=-2.0), "`eta` must be >= 0"),
        (dict(beta=-0.5), "`beta` must be >= 0"),
        (dict(memory="oja"), "`memory` must be one of"),
        (dict(drive=[]), "`drive` must be a scalar"),
        (dict(drive=[1.0, float("inf")]), r"`drive\[1\]` must be finite"),
        (dict(gamma="big"), "`gamma` must be a real number"),
    ],
)
def test_params_are_validated(kwargs, match):
    with pytest.raises(FHRNInputError, match=match):
        FHRNParams(**kwargs)


def test_params_are_frozen_and_replace_revalidates():
    p = FHRNParams()
    with pytest.raises(Exception):
        p.gamma = 2.0  # type: ignore[misc]
    assert p.replace(gamma=2.0).gamma == 2.0
    with pytest.raises(FHRNInputError):
        p.replace(kappa=-1)


W2 = np.array([[0.0, -1.0], [1.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="rk45"), "`method` must be one of"),
        (dict(rtol=0.0), "`rtol` must be > 0"),
        (dict(atol=-1.0), "`atol` must be > 0"),
        (dict(t1=0.0), "`t1` must be > 0"),
        (dict(n_points=1), "`n_points` must be >= 2"),
        (dict(t=[0.0, 1.0, 0.5]), "strictly increasing"),
        (dict(y0=np.ones((2, 3))), r"`y0` must have shape \(N, 2\)"),
        (dict(y0=[[np.nan, 0.0]]), "`y0` must be finite"),
        (dict(step_size=0.1), "fixed-step methods only"),
        (dict(method="rk4", step_size=-0.1), "`step_size` must be > 0"),
        (dict(A0=np.zeros((2, 2))), "only used with memory"),
        (dict(params=FHRNParams(drive=[1.0, 2.0, 3.0])), "`drive` has 3 entries"),
        (dict(params=FHRNParams(memory="input")), "pass a nonzero `drive`"),
        (dict(params=FHRNParams(beta=4.0), y0=[[np.sqrt(0.75), 0.0]]), "sits on the gain pole"),
        (dict(params="fast"), "`params` must be an FHRNParams"),
    ],
)
def test_integrate_rejects_bad_input(kwargs, match):
    with pytest.raises(FHRNInputError, match=match):
        F.integrate(W2, **kwargs)


def test_result_contract_and_shapes():
    res = F.integrate(W2, F.initial_conditions(5, 2, 2.0, seed=0), t1=3.0, n_points=31)
    assert res.status == "success" and res.success and "integrated 5" in res.message
    assert res.t.shape == (31,) and res.y.shape == (31, 5, 2) and res.A is None
    torch.testing.assert_close(res.y[0], res.y0)
    assert res.t_final == pytest.approx(3.0) and res.nfe > 0 and np.isnan(res.t_diverged).all()
    assert res.first_divergence is None and res.t_diverged.shape == (5,)
    mem = F.integrate(W2, F.initial_conditions(3, 2, 1.0), params=FHRNParams(memory="hebbian"), t1=1.0, n_points=5)
    assert mem.A.shape == (5, 3, 2, 2) and mem.success


def test_initial_conditions_cover_inside_and_outside_the_shell():
    y0 = F.initial_conditions(8, 3, 2.0, seed=1)
    np.testing.assert_allclose(y0.norm(dim=-1).numpy(), 2.0 * np.arange(1, 9) / 8)
    torch.testing.assert_close(y0, F.initial_conditions(8, 3, 2.0, seed=1))


def test_linear_blow_up_is_reported_as_diverged_without_nan():
    W = F.make_operator("sym", 2, seed=0)
    res = F.integrate(W, F.initial_conditions(8, 2, 1.0), params=FHRNParams(kappa=0.0, gamma=3.0), t1=20.0)
    assert res.status == "diverged"
    assert 0 < res.first_divergence < 20.0 and res.diverged.any()
    assert len(set(res.t_diverged[res.diverged].tolist())) > 1  # each stopped at its own time
    # per trajectory: the stopped ones are NaN from their own t_diverged on, the others reach t1
    assert res.t_final == pytest.approx(20.0) and torch.isfinite(res.y[:, ~res.diverged]).all()
    for k in np.nonzero(res.diverged)[0]:
        stop = int(np.searchsorted(res.t.numpy(), res.t_diverged[k]))
        assert torch.isfinite(res.y[:stop, k]).all() and torch.isnan(res.y[stop:, k]).all()
    assert torch.isfinite(res.y_final).all()
    assert "diverged" in res.message


def test_gain_pole_is_reported_not_nan():
    res = F.integrate(W2, F.initial_conditions(8, 2, 2.0), params=FHRNParams(beta=3.0, kappa=1.0), t1=10.0)
    assert res.status == "diverged" and "gain pole" in res.message
    assert torch.isfinite(res.y_final).all() and not torch.isinf(res.y).any()


def test_memory_driven_explosion_never_hangs():
    """Hebbian memory with eta/lam > kappa overwhelms homeostasis: |y| explodes (stiffly)."""
    p = FHRNParams(memory="hebbian", eta=100.0, lam=10.0, kappa=1.0)
    res = F.integrate(W2, F.initial_conditions(4, 2, 2.0), params=p, t1=20.0, max_nfe=3000)
    assert res.status == "failed" and "needs more than 3000 evaluations to reach t1 = 20 (max_nfe" in res.message
    assert res.nfe <= 3001 and torch.isfinite(res.y).all()
    grown = float(res.y[-1].norm(dim=-1).max())
    assert grown > 5.0, res.message  # it was exploding when stopped (started at |y| <= 2)
