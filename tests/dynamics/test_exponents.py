import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.func import jvp

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics._flow import FlatField, TangentField
from fhrn_ode.dynamics.exponents import lyapunov_spectrum
from fhrn_ode.dynamics.systems import LORENZ_LARGEST_EXPONENT, LorenzField, lorenz_jacobian
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


def test_fixed_step_methods_step_at_the_documented_default():
    # default step_size = dt / 50 (_flow.STEP_FRACTION). rk4: error ~ h^4 lambda^5 / 120 ~ 3e-9 at h = 0.01;
    # euler is first order: its exponent is exactly that of its own map, log|1 + h lambda| / h (within h lambda^2)
    lam = np.array([0.3, -0.5, -2.0])
    kw = dict(n_init=2, t_transient=0.0, t1=2.0, dt=0.5, t_align=0.0)
    rk4 = lyapunov_spectrum(_lin.LinearField(np.diag(lam)), method="rk4", **kw)
    np.testing.assert_allclose(rk4.exponents, lam, atol=1e-6)
    eu = lyapunov_spectrum(_lin.LinearField(np.diag(lam)), method="euler", **kw)
    h = 0.5 / 50
    np.testing.assert_allclose(eu.exponents, np.log(np.abs(1 + h * lam)) / h, atol=1e-10)
    fine = lyapunov_spectrum(_lin.LinearField(np.diag(lam)), method="euler", step_size=2e-3, **kw)
    np.testing.assert_allclose(fine.exponents, lam, atol=2e-3 * 4 / 2 * 1.05)  # h lambda^2 / 2


def test_lorenz_with_rk4_does_not_claim_divergence_and_tolerances_are_refused():
    L = LorenzField()
    res = lyapunov_spectrum(L, n_init=2, radius=10.0, t_transient=1.0, t1=1.0, dt=0.5, t_align=0.0, method="rk4")
    assert res.status == "success" and abs(res.sum - L.trace) < 1e-3
    with pytest.raises(FHRNInputError, match="`rtol`/`atol` do not apply to the fixed-step method 'rk4'"):
        lyapunov_spectrum(L, method="rk4", rtol=1e-8)
    with pytest.raises(FHRNInputError, match="`step_size` applies to fixed-step methods only"):
        lyapunov_spectrum(L, step_size=0.01)


def test_stiff_field_ends_with_a_budget_message():
    stiff = _lin.LinearField(np.diag([-1e7, -1.0]))
    res = lyapunov_spectrum(stiff, n_init=1, t_transient=1.0, t1=1.0, dt=0.5, max_nfe=3000)
    assert res.status == "failed" and "needs more than 3000 field evaluations" in res.message
    assert np.all(np.isnan(res.exponents)) and res.nfe <= 3001  # the evaluation that found the budget spent


def test_family_in_one_solve_equals_member_by_member():
    y0 = torch.tensor([[1.0, 2.0, 20.0], [-3.0, 1.0, 25.0]], dtype=torch.float64)
    kw = dict(t_transient=1.0, t1=1.0, dt=0.5, t_align=0.0, rtol=1e-9, atol=1e-11)
    fam = lyapunov_spectrum(lambda r: LorenzField(rho=r), y0, values=[24.0, 28.0, 32.0], **kw)
    assert fam.stacked and fam.exponents.shape == (3, 3)
    for r, m in zip([24.0, 28.0, 32.0], fam.members):
        one = lyapunov_spectrum(LorenzField(rho=r), y0, **kw)
        np.testing.assert_allclose(m.per_init, one.per_init, atol=1e-5)  # shared steps: same to the tolerance
        assert abs(m.sum - LorenzField(rho=r).trace) < 1e-6


def test_lorenz_analytic_jacobian_equals_autograd():
    from fhrn_ode.dynamics._contract import FlatField
    from fhrn_ode.dynamics.systems import lorenz_jacobian

    ff = FlatField(LorenzField(rho=31.0))
    assert ff.analytic
    x = torch.tensor([[1.0, -2.0, 20.0], [0.3, 0.1, 5.0]], dtype=torch.float64)
    np.testing.assert_allclose(ff.jacobian(x).numpy(), ff.autograd_jacobian(x).numpy(), atol=1e-13)
    np.testing.assert_allclose(ff.jacobian(x).numpy(), lorenz_jacobian(x.numpy(), rho=31.0), atol=1e-13)


def test_lean_tangent_equals_the_contract_tangent_field():
    # the lean path (analytic Jacobian called directly; a family's f and J Q in one vmap) is the same formula
    from fhrn_ode.dynamics._contract import FlatField
    from fhrn_ode.dynamics._family import make_family
    g = torch.Generator().manual_seed(1)
    z = 10 * torch.randn(6, 3, dtype=torch.float64, generator=g)
    Q = torch.randn(6, 3, 2, dtype=torch.float64, generator=g)
    t = torch.tensor(0.3, dtype=torch.float64)
    fam = make_family(lambda r: LorenzField(rho=r), [20.0, 28.0, 35.0], 2)
    assert fam.stacked and fam.broadcast  # LorenzField broadcasts params (P, 3): one call, no vmap
    for ff in (FlatField(LorenzField(rho=31.0)), fam):
        lean, ref = TangentField(ff, 2), TangentField(ff, 2, lean=False)
        assert lean._lean is not None
        torch.testing.assert_close(lean(t, lean.pack(z, Q)), ref(t, ref.pack(z, Q)), rtol=1e-14, atol=1e-12)
    # Lorenz-96 does not broadcast a stacked forcing: the vmap path, checked member by member
    from fhrn_ode.dynamics.systems import Lorenz96Field

    f96 = make_family(lambda F: Lorenz96Field(6, F), [4.0, 8.0], 3)
    assert f96.stacked and not f96.broadcast
    z6 = torch.randn(6, 6, dtype=torch.float64, generator=g)
    Q6 = torch.randn(6, 6, 2, dtype=torch.float64, generator=g)
    got = TangentField(f96, 2)(t, TangentField(f96, 2).pack(z6, Q6))
    want = []
    for i, F in enumerate([4.0, 8.0]):
        one = FlatField(Lorenz96Field(6, F))
        rows = slice(3 * i, 3 * i + 3)
        want.append((one(t, z6[rows]), torch.bmm(one.jacobian(z6[rows]), Q6[rows])))
    ref = torch.cat([torch.cat([w[0] for w in want]).reshape(-1), torch.cat([w[1] for w in want]).reshape(-1)])
    torch.testing.assert_close(got, ref, rtol=1e-14, atol=1e-12)
    for i, r in enumerate([20.0, 28.0, 35.0]):  # member i's rows see member i's rho (exact Jacobian)
        J = fam.jacobian(z)[2 * i:2 * i + 2]
        np.testing.assert_allclose(J.numpy(), lorenz_jacobian(z[2 * i:2 * i + 2].numpy(), rho=r), atol=1e-13)


@pytest.mark.parametrize("N", [5, 40, 70])  # 70: past _L96_AFFINE_MAX, the indexed construction
def test_lorenz96_jacobian_is_exact(N):
    from fhrn_ode.dynamics._contract import FlatField
    from fhrn_ode.dynamics.systems import Lorenz96Field

    ff = FlatField(Lorenz96Field(N, 8.0))
    x = torch.randn(3, N, dtype=torch.float64, generator=torch.Generator().manual_seed(N))
    assert ff.analytic
    J = ff.jacobian(x)
    np.testing.assert_allclose(J.numpy(), ff.autograd_jacobian(x).numpy(), atol=1e-13)
    np.testing.assert_allclose(torch.diagonal(J, dim1=1, dim2=2).sum(1).numpy(), -N, atol=1e-12)  # tr J = -N


def test_lorenz_with_stacked_params_equals_each_member():
    # LorenzField broadcasts params (P, 3) against states (P, N, 3): the family's one-call path
    rhos = [20.0, 28.0, 35.0]
    x = 10 * torch.randn(3, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    L = LorenzField()
    L.params = torch.stack([LorenzField(rho=r).params for r in rhos])
    f, J = L(0.0, x), L.jacobian(x)
    for i, r in enumerate(rhos):
        one = LorenzField(rho=r)
        torch.testing.assert_close(f[i], one(0.0, x[i]), rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(J[i].numpy(), lorenz_jacobian(x[i].numpy(), rho=r), atol=1e-12)


@pytest.mark.parametrize("N", [5, 40, 70, 100])  # 70, 100: past _L96_AFFINE_MAX, the O(N k) sparse form
def test_lorenz96_jacobian_matmul_equals_autograd_jacobian_times_q(N):
    from fhrn_ode.dynamics.systems import Lorenz96Field

    L = Lorenz96Field(N, 8.0)
    g = torch.Generator().manual_seed(N)
    x = 3.0 * torch.randn(3, N, dtype=torch.float64, generator=g)
    Q = torch.randn(3, N, 7, dtype=torch.float64, generator=g)
    J = torch.func.vmap(torch.func.jacrev(lambda y: L(0.0, y)))(x)
    np.testing.assert_allclose(L.jacobian_matmul(x, Q).numpy(), (J @ Q).numpy(), rtol=0, atol=1e-13)


def test_lorenz96_exponents_through_jacobian_matmul_sum_to_minus_n():
    # N = 70: the lean tangent path takes the sparse jacobian_matmul; the same run without the method (J @ Q)
    # gives the same exponents, and both sum to tr J = -N
    from fhrn_ode.dynamics._contract import FlatField
    from fhrn_ode.dynamics.systems import Lorenz96Field

    class Dense(Lorenz96Field):
        jacobian_matmul = None

    N = 70
    x0 = 8.0 + 0.01 * torch.randn(1, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    kw = dict(t_transient=1.0, t1=2.0, dt=0.5, t_align=0.0, rtol=1e-8, atol=1e-10)
    lean = TangentField(FlatField(Lorenz96Field(N, 8.0)), N)
    assert lean._lean is not None
    sparse, dense = lyapunov_spectrum(Lorenz96Field(N, 8.0), x0, **kw), lyapunov_spectrum(Dense(N, 8.0), x0, **kw)
    assert abs(sparse.sum + N) < 1e-6 and abs(dense.sum + N) < 1e-6
    np.testing.assert_allclose(sparse.exponents, dense.exponents, atol=1e-7)


def test_a_jacobian_matmul_that_disagrees_with_jacobian_is_refused():
    from fhrn_ode.dynamics.systems import Lorenz96Field

    class Wrong(Lorenz96Field):
        def jacobian_matmul(self, x, Q):
            return 2.0 * super().jacobian_matmul(x, Q)

    with pytest.raises(FHRNInputError, match="`jacobian_matmul` disagrees with `jacobian"):
        lyapunov_spectrum(Wrong(6, 8.0), torch.ones(1, 6, dtype=torch.float64), t_transient=0.0, t1=0.5, dt=0.5,
                          t_align=0.0)
