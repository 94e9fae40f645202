"""Normal-form coefficients against exact answers: Hopf/Bautin normal forms, the Brusselator (sympy, eq. (3.20)),
Lorenz (subcritical, w^2 = b (sigma + r)), folds x' = mu + a x^2 and a cusp."""

import math

import pytest
import sympy as sp
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.normal_forms import fold_normal_form, hopf_normal_form

D = torch.float64


def bautin(ell: float, mu: float = 0.0, w: float = 1.0):
    """z' = (mu + i w) z + ell z|z|^2 + z|z|^4 in real coordinates."""
    def f(v):
        r2 = v[0] ** 2 + v[1] ** 2
        g = mu + ell * r2 + r2 ** 2
        return torch.stack([g * v[0] - w * v[1], w * v[0] + g * v[1]])
    return f


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_hopf_normal_form_gives_plus_minus_one(sign):
    nf = hopf_normal_form(bautin(sign), torch.zeros(2, dtype=D))
    assert nf.l1 == pytest.approx(sign, abs=1e-14)
    assert nf.omega == pytest.approx(1.0, abs=1e-14)
    assert nf.criticality == ("supercritical" if sign < 0 else "subcritical")


def test_bautin_embedded_orthogonally_in_3d():
    """l1 = ell is invariant under an orthogonal change of coordinates; w scales l1 = Re(c1)/w."""
    Q, _ = torch.linalg.qr(torch.tensor([[1.0, 2.0, 0.5], [-0.3, 1.0, 2.0], [0.7, -1.0, 1.0]], dtype=D))
    g = bautin(0.3, w=2.0)

    def f(v):
        u = Q.T @ v
        return Q @ torch.cat([g(u[:2]), (-u[2] + u[0] ** 2).reshape(1)])
    nf = hopf_normal_form(f, torch.zeros(3, dtype=D))
    # the stable direction enters l1 through -2<p, B(q, A^-1 B(q, qbar))>: u2 ~ |z|^2 feeds nothing back here
    assert nf.l1 == pytest.approx(0.3 / 2.0, rel=1e-12)
    assert nf.omega == pytest.approx(2.0, rel=1e-12)


def test_bautin_point_is_degenerate():
    nf = hopf_normal_form(bautin(0.0), torch.zeros(2, dtype=D))
    assert nf.criticality == "degenerate" and abs(nf.l1) <= nf.tol and "Bautin" in nf.message


def _brusselator_l1_sympy(a_val):
    """Kuznetsov eq. (3.20) with the planar g_ij, in exact arithmetic, normalised <q, q> = 1/2."""
    a = sp.nsimplify(a_val)
    b = 1 + a ** 2
    x, y, z, zb = sp.symbols("x y z zb")
    F = sp.Matrix([a - (b + 1) * x + x ** 2 * y, b * x - x ** 2 * y])
    x0 = sp.Matrix([a, b / a])
    A = F.jacobian([x, y]).subs({x: x0[0], y: x0[1]})
    w = a  # eigenvalues +- i a on the Hopf curve
    q = (A - sp.I * w * sp.eye(2)).nullspace()[0]
    q = q / sp.sqrt((q.H * q)[0]) / sp.sqrt(2)
    p = (A.T + sp.I * w * sp.eye(2)).nullspace()[0]
    p = p / sp.conjugate((p.H * q)[0])
    X = x0 + z * q + zb * q.conjugate()
    g = sp.expand((p.H * F.subs({x: X[0], y: X[1]}, simultaneous=True))[0])
    at0 = {z: 0, zb: 0}
    g20, g11, g21 = (sp.diff(g, z, 2).subs(at0), sp.diff(g, z, zb).subs(at0), sp.diff(g, z, 2, zb).subs(at0))
    return float(sp.re(sp.simplify((sp.I * g20 * g11 + w * g21) / (2 * w ** 2)))), float(w)


@pytest.mark.parametrize("a", [1.0, 0.5, 2.0])
def test_brusselator_on_hopf_curve_matches_planar_formula(a):
    b = 1 + a * a

    def f(v):
        return torch.stack([a - (b + 1) * v[0] + v[0] ** 2 * v[1], b * v[0] - v[0] ** 2 * v[1]])
    nf = hopf_normal_form(f, torch.tensor([a, b / a], dtype=D))
    l1, w = _brusselator_l1_sympy(a)
    assert nf.omega == pytest.approx(w, rel=1e-12)
    assert nf.l1 == pytest.approx(l1, rel=1e-10)
    assert nf.criticality == "supercritical"
    if a == 1.0:
        assert nf.l1 == pytest.approx(-0.25, rel=1e-12)


def test_lorenz_hopf_is_subcritical():
    """Lorenz (sigma 10, b 8/3) at r_H = sigma (sigma + b + 3) / (sigma - b - 1): subcritical, w^2 = b (sigma + r)."""
    s, bb = 10.0, 8.0 / 3.0
    r = s * (s + bb + 3) / (s - bb - 1)
    c = math.sqrt(bb * (r - 1))

    def f(v):
        return torch.stack([s * (v[1] - v[0]), v[0] * (r - v[2]) - v[1], v[0] * v[1] - bb * v[2]])
    nf = hopf_normal_form(f, torch.tensor([c, c, r - 1], dtype=D))
    assert nf.omega == pytest.approx(math.sqrt(bb * (s + r)), rel=1e-12)
    assert abs(nf.real_part) < 1e-12 and nf.residual < 1e-12
    assert nf.criticality == "subcritical"


@pytest.mark.parametrize("coef", [-1.0, 3.0])
def test_fold_coefficient(coef):
    f = lambda v: torch.stack([coef * v[0] ** 2, -v[1] + v[0] ** 2])  # noqa: E731 (mu = 0)
    nf = fold_normal_form(f, torch.zeros(2, dtype=D))
    assert nf.a == pytest.approx(coef, abs=1e-14) and not nf.degenerate
    assert nf.q == pytest.approx([1.0, 0.0])


def test_fold_of_mu_minus_x_squared_and_cusp():
    assert fold_normal_form(lambda v: 0.0 - v ** 2, torch.zeros(1, dtype=D)).a == pytest.approx(-1.0, abs=1e-15)
    cusp = fold_normal_form(lambda v: -v ** 3, torch.zeros(1, dtype=D))
    assert cusp.degenerate and cusp.criticality == "degenerate"


def test_bad_input():
    with pytest.raises(FHRNInputError, match="no complex eigenvalue pair"):
        hopf_normal_form(lambda v: -v, torch.zeros(2, dtype=D))
    with pytest.raises(FHRNInputError, match="no real eigenvalue"):
        fold_normal_form(bautin(-1.0), torch.zeros(2, dtype=D))
    with pytest.raises(FHRNInputError, match="1-D tensor"):
        hopf_normal_form(bautin(-1.0), torch.zeros(2, 2, dtype=D))
    with pytest.raises(FHRNInputError, match="must return a tensor of shape"):
        fold_normal_form(lambda v: v.sum(), torch.zeros(2, dtype=D))
    with pytest.raises(FHRNInputError, match="omega"):
        hopf_normal_form(bautin(-1.0), torch.zeros(2, dtype=D), omega=-1.0)
