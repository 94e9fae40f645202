import numpy as np
import pytest

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics.bifurcation import bifurcation_sweep, fhrn_family
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams


def test_hopf_of_the_origin_in_kappa_is_leak_over_theta_squared():
    # J(0) = (kappa theta^2 - leak) I + gamma W_a: a complex pair crosses at kappa = leak / theta^2 (docs/model.md §1)
    p = FHRNParams(leak=1.0, theta=1.0)
    d = bifurcation_sweep(fhrn_family(make_operator("antisym", 2), p, "kappa"), [0.7, 1.3, 1.8], param="kappa",
                          n_init=1, t_transient=10.0, n_starts=16, exponents=False)
    hopf = [b for b in d.bifurcations if b.kind == "hopf"]
    assert len(hopf) == 1 and abs(hopf[0].value - 1.0) < 1e-9 and abs(hopf[0].eigenvalue.imag) > 0.5
    # radially r' = (kappa theta^2 - leak) r - kappa r^3 at rotation gamma: l1 = -kappa / gamma (Kuznetsov's
    # normalisation, l1 = Re c1 / omega; docs/model.md §1), supercritical
    assert hopf[0].criticality == "supercritical" and abs(hopf[0].l1 - (-1.0 / p.gamma)) < 1e-8
    assert d.label == ["equilibrium", "cycle", "cycle"]
    np.testing.assert_allclose([c[0]["radius_mean"] for c in d.cycles[1:]], np.sqrt(1 - 1 / np.array([1.3, 1.8])),
                               rtol=1e-7)


def test_real_crossings_of_the_origin_in_leak():
    # J(0) = (kappa theta^2 - leak) I + gamma W_s: real eigenvalues cross at leak = kappa theta^2 + gamma lambda_i(W)
    W = make_operator("sym", 2)
    p = FHRNParams()
    d = bifurcation_sweep(fhrn_family(W, p, "leak"), [9.2, 10.2, 11.3], param="leak", n_init=1, t_transient=5.0,
                          n_starts=16, exponents=False)
    want = p.kappa + p.gamma * np.linalg.eigvalsh(W)
    got = sorted(b.value for b in d.bifurcations if b.method == "brentq")
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert all(b.kind == "fold" for b in d.bifurcations)


def test_bad_grid_and_param():
    with pytest.raises(FHRNInputError, match="`values` must be a finite, strictly increasing grid"):
        bifurcation_sweep(lambda p: None, [1.0, 1.0])
    with pytest.raises(FHRNInputError, match="`param` must be one of"):
        fhrn_family(np.eye(2), None, "omega")


def _lin():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_linear", Path(__file__).with_name("_linear.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_fold_of_r_plus_x_squared_is_located_with_its_coefficient_and_the_point_is_non_hyperbolic():
    lin = _lin()
    d = bifurcation_sweep(lin.FoldField, [-1.0, 0.0, 0.5], param="r", n_init=1, t_transient=1.0, n_starts=8,
                          exponents=False)
    assert all(e["kind"] == "non-hyperbolic" for e in d.equilibria[1])  # the double root at r = 0
    assert "saddle" not in [e["kind"] for e in d.equilibria[1]]
    folds = [b for b in d.bifurcations if b.kind == "fold"]
    assert folds and all(abs(b.value) < 1e-6 for b in folds)
    assert all(abs(abs(b.a) - 1.0) < 1e-6 and b.criticality == "nondegenerate" for b in folds)  # x' = mu + x^2


@pytest.mark.slow
def test_subcritical_hopf_normal_form():
    lin = _lin()
    d = bifurcation_sweep(lambda mu: lin.HopfNF(mu, s=+1.0), [-0.5, 0.5], param="mu", n_init=1, t_transient=2.0,
                          n_starts=8, exponents=False, radius=0.3)
    hopf = [b for b in d.bifurcations if b.kind == "hopf"]
    assert len(hopf) == 1 and hopf[0].criticality == "subcritical" and abs(hopf[0].l1 - 1.0) < 1e-9
