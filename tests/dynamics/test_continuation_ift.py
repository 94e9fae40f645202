"""Gradients of located bifurcation parameters by the implicit function theorem: closed forms, central finite
differences of the located point (1e-6 relative), and a fit of W* placing the Hopf point in kappa."""

import pytest
import torch
from torch import nn

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.continuation import (ContinuationOptions, ContinuationProblem, bifurcation_parameter,
                                            continuation)
from fhrn_ode.field import FHRNField
from fhrn_ode.params import FHRNParams

D = torch.float64


def _family(W, drive):
    return lambda k: FHRNField(W, FHRNParams(gamma=2.0, kappa=float(k), drive=drive))


def _hopf(W, drive, p0=0.5):
    pr = ContinuationProblem(x0=torch.zeros(2), p0=p0, make_field=_family(W, drive), param="kappa")
    return pr, continuation(pr, ContinuationOptions(p_min=0.0, p_max=3.0, ds=0.1)).points("H")[0]


def test_hopf_of_origin_gradient_is_closed_form():
    """kappa_H = leak - gamma tr(W)/2 for a complex pair at y = 0 (docs/model.md §1.9): dkappa_H/dW = -gamma/2 I."""
    W = torch.tensor([[-0.3, -0.8], [0.9, 0.1]], dtype=D, requires_grad=True)
    pr, h = _hopf(W, 0.0)
    kh = bifurcation_parameter(pr, h)
    assert kh.item() == pytest.approx(1.2, abs=1e-12)
    kh.backward()
    assert torch.allclose(W.grad, -torch.eye(2, dtype=D), atol=1e-10)


def test_hopf_gradient_matches_central_differences_of_the_located_point():
    W0 = torch.tensor([[-0.3, -0.8], [0.9, 0.1]], dtype=D)
    W = W0.clone().requires_grad_(True)
    pr, h = _hopf(W, 0.1)
    bifurcation_parameter(pr, h).backward()
    eps, fd = 1e-5, torch.zeros(2, 2, dtype=D)
    for i in range(2):
        for j in range(2):
            vals = []
            for s in (1.0, -1.0):
                Wp = W0.clone()
                Wp[i, j] += s * eps
                prp = ContinuationProblem(x0=torch.tensor(h.x), p0=h.p, make_field=_family(Wp, 0.1), param="kappa")
                vals.append(bifurcation_parameter(prp, h).item())
            fd[i, j] = (vals[0] - vals[1]) / (2 * eps)
    assert float((fd - W.grad).abs().max() / W.grad.abs().max()) < 1e-6
    assert float(W.grad.abs().min()) > 1e-3  # a nontrivial gradient (the equilibrium moves with W)


def test_fit_an_entry_of_w_to_place_the_hopf_point():
    """Newton on W[0, 0] with the IFT gradient puts kappa_H at the target."""
    target, w00 = 1.5, -0.3
    for _ in range(6):
        w = torch.tensor(w00, dtype=D, requires_grad=True)
        W = torch.stack([torch.stack([w, torch.tensor(-0.8, dtype=D)]), torch.tensor([0.9, 0.1], dtype=D)])
        pr, h = _hopf(W, 0.1)
        kh = bifurcation_parameter(pr, h)
        (g,) = torch.autograd.grad(kh, w)
        w00 -= (kh.item() - target) / float(g)
    assert kh.item() == pytest.approx(target, abs=1e-9)


class _Shifted(nn.Module):
    """x' = mu + c x - x^2: fold at x = c/2, mu* = -c^2/4."""

    def __init__(self, mu, c):
        super().__init__()
        self.mu, self.c = mu, c

    def forward(self, t, x):
        return self.mu + self.c * x - x ** 2


def test_fold_gradient_closed_form():
    c = torch.tensor(0.6, dtype=D, requires_grad=True)
    pr = ContinuationProblem(x0=[1.0], p0=1.0, make_field=lambda mu: _Shifted(mu, c), param="mu")
    lp = continuation(pr, ContinuationOptions(p_max=2.0, ds=0.1)).points("LP")[0]
    mu = bifurcation_parameter(pr, lp)
    assert mu.item() == pytest.approx(-0.09, abs=1e-12)
    mu.backward()
    assert float(c.grad) == pytest.approx(-0.3, abs=1e-10)


def test_bad_point():
    c = torch.tensor(0.6, dtype=D)
    pr = ContinuationProblem(x0=[1.0], p0=1.0, make_field=lambda mu: _Shifted(mu, c), param="mu")
    bp = continuation(pr, ContinuationOptions(p_max=2.0, ds=0.1)).special[0]
    bp.kind = "BP"
    with pytest.raises(FHRNInputError, match="'LP' or 'H'"):
        bifurcation_parameter(pr, bp)
    with pytest.raises(FHRNInputError, match="make_field"):
        bifurcation_parameter(ContinuationProblem(x0=[1.0], p0=1.0, field=_Shifted(1.0, 0.6), param="mu"),
                              continuation(pr, ContinuationOptions(p_max=2.0, ds=0.1)).special[0])
