"""Equilibrium continuation against exact answers: fold, pitchfork + switching, Hopf normal form, Brusselator,
FHRN 2-D closed form (docs/model.md §1.9); bad input ends a branch with a reason."""

import math

import numpy as np
import pytest
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation
from fhrn_ode.field import FHRNField
from fhrn_ode.params import FHRNParams

from ._cont_systems import Brusselator, Fold, HopfNF, Pitchfork


def test_fold_located_with_quadratic_coefficient():
    pr = ContinuationProblem(x0=torch.tensor([1.0]), p0=1.0, make_field=Fold, param="mu")
    br = continuation(pr, ContinuationOptions(p_max=2.0, ds=0.05))
    assert br.status == "success", br.message
    assert np.abs(br.x[:, 0] ** 2 - br.p).max() < 1e-10  # every point on x^2 = mu
    assert br.x[:, 0].min() < -1.3 and br.x[:, 0].max() > 1.3  # through the fold, both halves
    (lp,) = br.special
    assert lp.kind == "LP" and abs(lp.p) < 1e-8 and abs(lp.x[0]) < 1e-8
    assert lp.normal_form["a"] == pytest.approx(-1.0, abs=1e-8)
    assert set(br.stability[:3]) == {"unstable"} and set(br.stability[-3:]) == {"stable"}


def test_pitchfork_branch_point_and_switching():
    pr = ContinuationProblem(x0=torch.tensor([0.0]), p0=-1.0, make_field=Pitchfork, param="mu")
    opts = ContinuationOptions(p_min=-1.0, p_max=1.0, ds=0.05)
    br = continuation(pr, opts)
    (bp,) = br.special
    assert bp.kind == "BP" and abs(bp.p) < 1e-8 and abs(bp.x[0]) < 1e-12
    other = continuation(pr, opts, start=bp)
    assert other.status == "success", other.message
    assert np.abs(other.x[:, 0] ** 2 - other.p).max() < 1e-10
    assert other.x[:, 0].min() < -0.9 and other.x[:, 0].max() > 0.9  # x = +sqrt(mu) and x = -sqrt(mu)
    assert all(s == "stable" for s, x in zip(other.stability, other.x[:, 0]) if abs(x) > 1e-3)


@pytest.mark.parametrize("s,crit", [(-1.0, "supercritical"), (1.0, "subcritical")])
def test_hopf_normal_form(s, crit):
    pr = ContinuationProblem(x0=torch.zeros(2), p0=-0.5, make_field=lambda mu: HopfNF(mu, s), param="mu")
    br = continuation(pr, ContinuationOptions(p_min=-0.5, p_max=0.5, ds=0.05))
    (h,) = br.special
    assert h.kind == "H" and abs(h.p) < 1e-10
    assert h.normal_form["l1"] == pytest.approx(s, abs=1e-10) and h.normal_form["criticality"] == crit
    assert h.data["period"] == pytest.approx(2 * math.pi, rel=1e-10)


def test_brusselator_hopf_at_b_2_with_period_2pi():
    pr = ContinuationProblem(x0=torch.tensor([1.0, 1.0]), p0=1.0, make_field=Brusselator, param="b")
    br = continuation(pr, ContinuationOptions(p_min=0.5, p_max=3.0, ds=0.1))
    assert np.allclose(br.x, np.stack([np.ones_like(br.p), br.p], 1), atol=1e-10)
    (h,) = br.special
    assert h.kind == "H" and abs(h.p - 2.0) < 1e-8
    assert h.data["period"] == pytest.approx(2 * math.pi, rel=1e-8)
    assert h.normal_form["criticality"] == "supercritical"


@pytest.mark.parametrize("a,b,beta", [(-0.3, 0.8, 0.0), (0.2, 1.5, 0.5), (-0.9, 0.4, 0.6)])
def test_fhrn_2d_hopf_of_origin_in_kappa_closed_form(a, b, beta):
    """docs/model.md §1.9: kappa_H = (leak - gamma g0 a) / theta^2, w = gamma g0 b,
    l1 = -(kappa_H + gamma beta g0^2 a) / (gamma g0 b), g0 = 1 / (1 - beta)."""
    gamma, theta, leak = 2.0, 1.0, 1.0
    W = np.array([[a, -b], [b, a]])
    g0 = 1.0 / (1.0 - beta)
    kh = (leak - gamma * g0 * a) / theta ** 2
    mk = lambda k: FHRNField(W, FHRNParams(gamma=gamma, kappa=float(k), theta=theta, leak=leak, beta=beta))  # noqa: E731
    pr = ContinuationProblem(x0=torch.zeros(2), p0=kh / 2, make_field=mk, param="kappa")
    br = continuation(pr, ContinuationOptions(p_min=0.0, p_max=2 * kh, ds=0.1, ds_max=0.5))
    assert br.status == "success", br.message
    (h,) = br.special
    assert h.kind == "H" and h.p == pytest.approx(kh, abs=1e-9)
    assert h.data["omega"] == pytest.approx(gamma * g0 * b, rel=1e-10)
    l1 = -(kh + gamma * beta * g0 ** 2 * a) / (gamma * g0 * b)
    assert h.normal_form["l1"] == pytest.approx(l1, rel=1e-7)
    assert h.normal_form["criticality"] == ("supercritical" if l1 < 0 else "subcritical")


def test_start_not_an_equilibrium_fails_with_reason():
    pr = ContinuationProblem(x0=torch.tensor([1.0]), p0=-1.0, make_field=Fold, param="mu")
    br = continuation(pr)
    assert br.status == "failed" and "not an equilibrium" in br.message and len(br) == 0


def test_leaving_the_domain_ends_the_branch_with_the_reason():
    W = np.array([[0.5, -1.0], [1.0, 0.5]])
    mk = lambda k: FHRNField(W, FHRNParams(gamma=1.0, kappa=float(k)))  # noqa: E731
    br = continuation(ContinuationProblem(x0=torch.zeros(2), p0=0.3, make_field=mk, param="kappa"),
                      ContinuationOptions(p_max=1.0, ds=0.1))
    assert br.status == "stopped" and "kappa" in br.ends["backward"] and "domain" in br.ends["backward"]
    assert br.p.min() >= 0.0


def test_bad_input():
    with pytest.raises(FHRNInputError, match="exactly one of"):
        ContinuationProblem(x0=[0.0], p0=0.0)
    with pytest.raises(FHRNInputError, match="x0"):
        ContinuationProblem(x0=[[0.0]], p0=0.0, make_field=Fold)
    with pytest.raises(FHRNInputError, match="ds_min <= ds <= ds_max"):
        ContinuationOptions(ds=1.0, ds_max=0.1)
    with pytest.raises(FHRNInputError, match="detect"):
        ContinuationOptions(detect=("XX",))
    with pytest.raises(FHRNInputError, match="has no attribute 'nope'"):
        ContinuationProblem(x0=[0.0], p0=0.0, field=Fold(0.0), param="nope")


def test_field_plus_parameter_name_leaves_the_module_unchanged():
    f = Fold(torch.tensor(1.0, dtype=torch.float64))
    br = continuation(ContinuationProblem(x0=[1.0], p0=1.0, field=f, param="mu"), ContinuationOptions(p_max=2.0))
    assert br.points("LP")[0].p == pytest.approx(0.0, abs=1e-8)
    assert float(f.mu) == 1.0
