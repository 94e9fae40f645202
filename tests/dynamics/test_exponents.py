import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.func import jvp

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics._flow import FlatField, TangentField
from fhrn_ode.dynamics.exponents import lyapunov_spectrum
from fhrn_ode.dynamics.systems import LORENZ_LARGEST_EXPONENT, LorenzField
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius

_spec = importlib.util.spec_from_file_location("_linear", Path(__file__).with_name("_linear.py"))
_lin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lin)


def test_tangent_jvps_equal_torch_func_jvp():
    ff = FlatField(FHRNField(make_operator("mixed", 2), FHRNParams(memory="hebbian", beta=0.3)))
    z = torch.randn(3, 6, dtype=torch.float64)
    Q = torch.randn(3, 6, 4, dtype=torch.float64)
    fz, JQ = TangentField(ff)(torch.tensor(0.0), (z, Q))
    for i in range(3):
        for j in range(4):
            f_ref, jv = jvp(lambda x: ff(0.0, x), (z[i],), (Q[i, :, j],))
            torch.testing.assert_close(JQ[i, :, j], jv, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(fz[i], f_ref)


def test_linear_diagonal_flow_exponents_are_its_eigenvalues():
    res = lyapunov_spectrum(_lin.LinearField(np.diag([0.3, -0.5, -2.0])), n_init=3, t_transient=0.0, t1=4.0, dt=0.5,
                            t_align=0.0)
    np.testing.assert_allclose(res.exponents, [0.3, -0.5, -2.0], atol=1e-7)
    assert res.spread < 1e-7 and res.per_init.shape == (3, 3)


def test_lorenz_sum_is_minus_sigma_plus_one_plus_b():
    L = LorenzField()
    res = lyapunov_spectrum(L, n_init=4, radius=10.0, t_transient=2.0, t1=2.0, dt=0.5, t_align=0.0, rtol=1e-8, atol=1e-10)
    assert abs(res.sum - L.trace) < 1e-5
    assert L.trace == pytest.approx(-(10 + 1 + 8 / 3))


@pytest.mark.slow
def test_lorenz_largest_exponent_long_run():
    res = lyapunov_spectrum(LorenzField(), n_init=16, radius=10.0, t_transient=10.0, t1=200.0, dt=0.5, rtol=1e-6, atol=1e-8)
    assert abs(res.exponents[0] - LORENZ_LARGEST_EXPONENT) < 0.03
    assert abs(res.exponents[1]) < 0.01


def test_fhrn_ring_exponents_from_the_radial_equation():
    # dr/dt = r(-leak - kappa(r^2 - theta^2)): on the ring r* the radial exponent is -2 kappa r*^2; 0 along the flow
    p = FHRNParams(kappa=2.0)
    r = ring_radius(p.kappa, p.theta, p.leak)
    res = lyapunov_spectrum(FHRNField(make_operator("antisym", 2), p), n_init=4, t_transient=10.0, t1=40.0, dt=1.0,
                            t_align=1.0)
    np.testing.assert_allclose(res.exponents, [0.0, -2 * p.kappa * r * r], atol=0.03)
    assert abs(res.sum - (-2 * p.kappa * r * r)) < 1e-4  # the sum is exact: tr J on the ring


def test_bad_options():
    with pytest.raises(FHRNInputError, match="`t1` must be at least `dt`"):
        lyapunov_spectrum(LorenzField(), t1=0.1, dt=0.5)
    with pytest.raises(FHRNInputError, match="`k` must be <= 3"):
        lyapunov_spectrum(LorenzField(), k=4)
