"""The field contract of the dynamics tools (dynamics/_contract.py): batch-only and single-state modules
give the same answers through every tool; broken fields are named, never a raw IndexError or a 'divergence'."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.dynamics import (bifurcation_sweep, find_cycles, find_fixed_points, floquet_multipliers,
                               lyapunov_spectrum, monodromy)
from fhrn_ode.dynamics._contract import FlatField

_spec = importlib.util.spec_from_file_location("_linear", Path(__file__).with_name("_linear.py"))
_lin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lin)

VDP_PERIOD = 6.6632868593  # Van der Pol mu = 1 (Hairer, Norsett & Wanner, Solving ODEs I, §II.10)


def test_probe_picks_the_calling_mode_and_the_size():
    b, s = FlatField(_lin.VdPBatch(), states=np.zeros((3, 2))), FlatField(_lin.VdPSingle(), dim=2)
    assert (b.mode, b.dim, s.mode, s.dim) == ("batch", 2, "vmap", 2)
    z = torch.tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]], dtype=torch.float64)
    want = torch.stack([z[:, 1], (1 - z[:, 0] ** 2) * z[:, 1] - z[:, 0]], 1)
    for ff in (b, s):
        torch.testing.assert_close(ff(torch.tensor(0.0), z), want, rtol=0, atol=0)
        torch.testing.assert_close(ff(torch.tensor(0.0), z[1]), want[1], rtol=0, atol=0)


def test_both_writings_give_the_same_fixed_point_and_exponents():
    starts = np.array([[0.3, -0.2], [-0.5, 0.4], [1.5, 1.0]])
    res = [find_fixed_points(f, starts, n_minimise=20) for f in (_lin.VdPBatch(), _lin.VdPSingle())]
    for r in res:  # the origin, J = [[0, 1], [-1, 1]]: eigenvalues (1 +- i sqrt 3) / 2
        assert len(r.points) == 1 and r.dim == 2 and r.points[0].kind == "unstable focus"
        np.testing.assert_allclose(r.points[0].eigenvalues.real, [0.5, 0.5], atol=1e-12)
    y0 = torch.tensor([[2.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    ls = [lyapunov_spectrum(f, y0, t_transient=5.0, t1=4.0, dt=0.5, t_align=0.0, rtol=1e-8, atol=1e-10)
          for f in (_lin.VdPBatch(), _lin.VdPSingle())]
    np.testing.assert_allclose(ls[0].per_init, ls[1].per_init, rtol=1e-9, atol=1e-12)


class HopfBatch(nn.Module):
    """``r' = mu r - r^3``, ``phi' = 1`` written for a batch only (``x[:, 0]``)."""

    def __init__(self, mu=1.0):
        super().__init__()
        self.mu = mu

    def forward(self, t, x):
        r2 = x[:, 0] ** 2 + x[:, 1] ** 2
        return torch.stack([self.mu * x[:, 0] - x[:, 1] - r2 * x[:, 0], x[:, 0] + self.mu * x[:, 1] - r2 * x[:, 1]], 1)


class HopfSingle(HopfBatch):
    """The same, written for one state (``x[0]``)."""

    def forward(self, t, x):
        r2 = x[0] ** 2 + x[1] ** 2
        return torch.stack([self.mu * x[0] - x[1] - r2 * x[0], x[0] + self.mu * x[1] - r2 * x[1]])


def test_both_writings_give_the_same_cycle_and_monodromy():
    # the cycle r = sqrt(mu), period 2 pi, radial multiplier exp(-2 mu 2 pi)
    y0 = np.array([[0.5, 0.0]])
    cyc = [find_cycles(f(), y0, t_transient=2.0, t_record=20.0, n_save=800) for f in (HopfBatch, HopfSingle)]
    for c in cyc:
        assert c.outcomes == ["cycle"] and abs(c.cycles[0].period - 2 * np.pi) < 1e-7
        np.testing.assert_allclose(np.abs(c.cycles[0].floquet_multipliers), [1.0, np.exp(-4 * np.pi)], atol=1e-7)
    c = cyc[0].cycles[0]
    M = [monodromy(f(), c.x0, c.period) for f in (HopfBatch, HopfSingle)]
    np.testing.assert_allclose(M[0], M[1], rtol=1e-9, atol=1e-11)
    assert abs(floquet_multipliers(M[0])[0] - 1) < 1e-7


@pytest.mark.slow
def test_both_writings_give_the_same_bifurcation_sweep_and_a_supercritical_hopf():
    out = [bifurcation_sweep(cls, [-0.5, 0.5], dim=2, n_init=1, t_transient=5.0, n_starts=8, exponents=False)
           for cls in (HopfBatch, HopfSingle)]
    for d in out:  # Hopf of the origin at mu = 0, l1 = -1 in Kuznetsov's normalisation (omega = 1)
        hopf = [b for b in d.bifurcations if b.kind == "hopf"]
        assert len(hopf) == 1 and abs(hopf[0].value) < 1e-9
        assert hopf[0].criticality == "supercritical" and abs(hopf[0].l1 + 1.0) < 1e-9
    assert out[0].label == out[1].label == ["equilibrium", "cycle"]


def test_broken_fields_are_named_not_raw_errors_or_divergence():
    class Broken(nn.Module):
        def forward(self, t, x):
            return x[:, 5]  # IndexError on every shape

    with pytest.raises(FHRNInputError, match=r"field Broken is broken for states of size 2: on a batch \(2, 2\) "
                                             r"it raised IndexError"):
        find_fixed_points(Broken(), np.zeros((2, 2)))

    class WrongShape(nn.Module):
        dim = 3

        def forward(self, t, x):
            return x[..., :2]

    with pytest.raises(FHRNInputError, match=r"field WrongShape is broken.*returned shape \(2, 2\), not \(2, 3\)"):
        lyapunov_spectrum(WrongShape())

    class NaNField(nn.Module):
        dim = 2

        def forward(self, t, x):
            return torch.where(x[..., :1] > 0.5, torch.full_like(x, float("nan")), -x)

    with pytest.raises(FHRNInputError, match="field NaNField returned non-finite values at the finite state"):
        find_cycles(NaNField(), np.array([[1.0, 0.0]]))
    # a trajectory that walks into the bad region: 'field error', not 'divergence'
    class Drift(NaNField):
        def forward(self, t, x):
            return torch.where(x[..., :1] > 0.5, torch.full_like(x, float("nan")), torch.ones_like(x))

    res = find_cycles(Drift(), np.array([[0.0, 0.0]]), t_transient=0.0, t_record=2.0, t_max=2.0)
    assert res.outcomes == ["field error"]


def test_unknowable_size_is_a_clear_error():
    class NoDim(nn.Module):
        def forward(self, t, x):
            return -x

    with pytest.raises(FHRNInputError, match="the state size of NoDim is unknown.*pass `dim=`"):
        lyapunov_spectrum(NoDim())
    assert lyapunov_spectrum(NoDim(), dim=2, n_init=1, t_transient=0.0, t1=1.0, t_align=0.0).exponents.shape == (2,)


class _LinJac(nn.Module):
    """``f(y) = A y`` with a ``jacobian`` method that returns ``A + E`` (E = 0: correct)."""

    def __init__(self, E):
        super().__init__()
        self.A = nn.Parameter(torch.tensor([[-1.0, 2.0, 0.5], [0.3, -0.7, 1.1], [0.0, 0.4, -2.0]],
                                           dtype=torch.float64), requires_grad=False)
        self.E = torch.as_tensor(E, dtype=torch.float64)

    def forward(self, t, y):
        return y @ self.A.T

    def jacobian(self, y):
        return (self.A + self.E).expand(*y.shape[:-1], 3, 3)


@pytest.mark.parametrize("i, j", [(0, 0), (1, 2), (2, 0)])
def test_a_wrong_analytic_jacobian_is_refused_by_the_vjp_check(i, j):
    assert FlatField(_LinJac(np.zeros((3, 3))), dim=3).analytic
    E = np.zeros((3, 3))
    E[i, j] = 1e-6  # one entry off by a relative ~1e-6
    assert not FlatField(_LinJac(E), dim=3).analytic
    assert not FlatField(_LinJac(np.eye(3)[::-1].copy()), dim=3).analytic  # a permuted error
    m = _LinJac(np.zeros((3, 3)))
    m.jacobian = lambda y: m.A.T.expand(*y.shape[:-1], 3, 3)  # the transpose
    assert not FlatField(m, dim=3).analytic


def test_the_probe_verdict_is_kept_per_module_until_it_changes(monkeypatch):
    calls = []
    probe = FlatField._probe

    def counted(self):
        calls.append(1)
        return probe(self)

    monkeypatch.setattr(FlatField, "_probe", counted)
    m = _lin.VdPBatch()
    assert FlatField(m, dim=2).mode == "batch" and FlatField(m, dim=2).mode == "batch"
    assert len(calls) == 1  # the second FlatField reused the verdict
    lj = _LinJac(np.zeros((3, 3)))
    assert FlatField(lj, dim=3).analytic and len(calls) == 2
    with torch.no_grad():
        lj.A[0, 0] += 1.0  # an in-place change: probed again (the Jacobian stays right: analytic)
    assert FlatField(lj, dim=3).analytic and len(calls) == 3
    lj.E = torch.ones(3, 3, dtype=torch.float64)  # a new attribute object: probed again, now wrong
    assert not FlatField(lj, dim=3).analytic and len(calls) == 4
    lj.E.zero_()  # a plain tensor attribute changed in place: probed again, right again
    assert FlatField(lj, dim=3).analytic and len(calls) == 5
    assert FlatField(_lin.VdPBatch(), dim=2).mode == "batch" and len(calls) == 6  # another module


def test_row_by_row_autograd_jacobian_equals_vmap_jacrev():
    from torch.func import jacrev, vmap

    from fhrn_ode.field import FHRNField
    from fhrn_ode.operators import make_operator
    from fhrn_ode.params import FHRNParams

    class Partly(nn.Module):  # one component does not depend on the state, the other not at all on y_1
        def forward(self, t, x):
            return torch.stack([x[..., 0] ** 2, torch.ones_like(x[..., 0])], -1)

    class Constant(nn.Module):
        def forward(self, t, x):
            return torch.ones_like(x)

    for m in (_lin.VdPBatch(), Partly(), Constant(),
              FHRNField(make_operator("mixed", 3), FHRNParams(memory="hebbian", beta=0.5))):
        ff = FlatField(m, dim=None if isinstance(m, FHRNField) else 2)
        z = torch.randn(5, ff.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            J = ff.autograd_jacobian(z)  # n reverse passes over the batch
        t0 = torch.tensor(0.0, dtype=torch.float64)
        torch.testing.assert_close(J, vmap(jacrev(lambda x: ff(t0, x)))(z), rtol=0, atol=0)
