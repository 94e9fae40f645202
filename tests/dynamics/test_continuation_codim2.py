"""Fold and Hopf curves in two parameters against closed forms: the cusp, the Brusselator's Hopf curve
b = 1 + a^2, the FHRN 2-D Hopf curve in (gamma, kappa) with its Bautin point (docs/model.md §1.9)."""

import numpy as np
import pytest
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation
from fhrn_ode.field import FHRNField
from fhrn_ode.params import FHRNParams

from ._cont_systems import Brusselator, Cusp, Fold


def test_fold_curve_through_the_cusp():
    pr = ContinuationProblem(x0=[1.0], p0=0.0, make_field=Cusp, param="mu", param2="lam", p2_0=1.0)
    lp = continuation(pr, ContinuationOptions(p_min=-1, p_max=1, ds=0.1)).points("LP")[0]
    curve = continuation(pr, ContinuationOptions(p2_min=-0.5, p2_max=1.0, ds=0.05, ds_max=0.3), start=lp)
    assert curve.kind == "fold" and curve.status == "success", curve.message
    x = curve.x[:, 0]
    assert np.abs(curve.p + 2 * x ** 3).max() < 1e-10 and np.abs(curve.p2 - 3 * x ** 2).max() < 1e-10
    (cp,) = curve.points("CP")
    assert abs(cp.p) < 1e-8 and abs(cp.p2) < 1e-8 and abs(cp.x[0]) < 1e-8


def test_brusselator_hopf_curve_is_b_equals_1_plus_a_squared():
    pr = ContinuationProblem(x0=[1.0, 1.0], p0=1.0, make_field=lambda b, a: Brusselator(b, a), param="b",
                             param2="a", p2_0=1.0)
    h = continuation(pr, ContinuationOptions(p_min=0.5, p_max=3.0, ds=0.2, ds_max=0.5)).points("H")[0]
    curve = continuation(pr, ContinuationOptions(p2_min=0.5, p2_max=2.0, ds=0.1, ds_max=0.5, detect=("BT", "ZH")),
                         start=h)
    assert curve.kind == "hopf" and curve.status == "success", curve.message
    assert curve.p2.min() < 0.6 and curve.p2.max() > 1.9
    assert np.abs(curve.p - (1 + curve.p2 ** 2)).max() < 1e-6
    assert np.allclose(curve.data["omega"], curve.p2, atol=1e-6)  # w = a on the curve
    assert curve.special == []


def test_fhrn_hopf_curve_in_gamma_kappa_and_its_bautin_point():
    """kappa_H(gamma) = leak - gamma g0 a; l1 = 0 at gamma = leak (1 - beta)^2 / (a (1 - 2 beta))."""
    a, b, beta = -0.9, 0.4, 0.6
    g0 = 1 / (1 - beta)
    W = np.array([[a, -b], [b, a]])
    mk = lambda k, g: FHRNField(W, FHRNParams(gamma=float(g), kappa=float(k), beta=beta))  # noqa: E731
    pr = ContinuationProblem(x0=torch.zeros(2), p0=1.0, make_field=mk, param="kappa", param2="gamma", p2_0=1.0)
    h = continuation(pr, ContinuationOptions(p_min=0.0, p_max=10, ds=0.2, ds_max=2.0)).points("H")[0]
    curve = continuation(pr, ContinuationOptions(p2_min=0.75, p2_max=1.1, ds=0.05, ds_max=0.2), start=h)
    assert np.abs(curve.p - (1 - curve.p2 * g0 * a)).max() < 1e-9
    l1 = -(curve.p + curve.p2 * beta * g0 ** 2 * a) / (curve.p2 * g0 * b)
    assert np.allclose(curve.data["l1"], l1, rtol=1e-6, atol=1e-12)
    (gh,) = curve.points("GH")
    assert gh.p2 == pytest.approx((1 - beta) ** 2 / (a * (1 - 2 * beta)), abs=1e-9)
    assert gh.p == pytest.approx(3.0, abs=1e-9)


def test_two_parameter_curve_needs_param2():
    pr = ContinuationProblem(x0=[1.0], p0=1.0, make_field=Fold, param="mu")
    lp = continuation(pr, ContinuationOptions(p_max=2.0, ds=0.1)).points("LP")[0]
    with pytest.raises(FHRNInputError, match="param2"):
        continuation(pr, start=lp, branch="codim2")
    with pytest.raises(FHRNInputError, match="cannot start"):
        continuation(pr, start=lp, branch="cycles")
