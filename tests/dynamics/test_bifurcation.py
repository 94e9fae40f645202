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
