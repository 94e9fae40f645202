"""The lean stage-major dopri5 is torchdiffeq's dopri5; without torchdiffeq's internals it falls back to it."""

import math

import numpy as np
import pytest
import torch
import torchdiffeq

from fhrn_ode import _dopri5
from fhrn_ode.field import FHRNField
from fhrn_ode.integration import initial_conditions
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams


class _Forced(torch.nn.Module):
    """A time-dependent field (t matters, so the stage times and the one-ulp nudge are checked)."""

    def forward(self, t, y):
        return -y + torch.sin(3.0 * t) * y.flip(-1)


def _run_both(func_factory, y0, t, method="dopri5", **kw):
    ref_f, new_f = func_factory(), func_factory()
    ref = torchdiffeq.odeint(ref_f, y0, t, method=method, **kw)
    with torch.no_grad():
        new = _dopri5.odeint_stage_major(new_f, y0, t, method=method, **kw)
    return ref, new, ref_f, new_f


@pytest.mark.parametrize("rtol,atol", [(1e-7, 1e-9), (1e-4, 1e-6), (1e-10, 1e-12)])
def test_time_dependent_field_matches_torchdiffeq(rtol, atol):
    y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 5.0, 17, dtype=torch.float64)
    ref, new, _, _ = _run_both(_Forced, y0, t, rtol=rtol, atol=atol)
    np.testing.assert_allclose(new.numpy(), ref.numpy(), rtol=0, atol=1e-12)


def test_same_nfe_and_round_off_on_fhrn_columns():
    W = make_operator("mixed", 3, seed=4)
    y0 = initial_conditions(6, 3, 2.0, seed=3)
    t = torch.linspace(0.0, 6.0, 61, dtype=torch.float64)
    p = FHRNParams(beta=0.4, drive=0.2)
    ref, new, fr, fn = _run_both(lambda: FHRNField(W, p), y0, t, rtol=1e-8, atol=1e-10)
    assert fr.nfe == fn.nfe
    np.testing.assert_allclose(new.numpy(), ref.numpy(), rtol=0, atol=1e-11)


class _Linear(torch.nn.Module):
    """``y' = y A^T``, exact solution ``y0 expm(A t)^T``; counts its evaluations."""

    def __init__(self, A):
        super().__init__()
        self.A, self.nfe = A, 0

    def forward(self, t, y):
        self.nfe += 1
        return y @ self.A.T


def _damped_rotation():
    A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=torch.float64)
    y0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 10.0, 11, dtype=torch.float64)
    exact = torch.stack([y0[0] @ torch.linalg.matrix_exp(A * s).T for s in t]).unsqueeze(1)
    return A, y0, t, exact


def test_dopri8_final_state_is_a_step_end():
    """torchdiffeq's dopri8 reaches the last save time through its 4th-order dense output (error 2.9e-7 at
    rtol 1e-10 on a damped rotation); the stage-major dopri8 ends its last step on it: error <= 1e-9, with
    fewer than 0.7x dopri5's evaluations. Interior save times are interpolated in both (<= 1e-6)."""
    A, y0, t, exact = _damped_rotation()
    nfe, err = {}, {}
    for method in _dopri5.STAGE_MAJOR_METHODS:
        f = _Linear(A)
        with torch.no_grad():
            y = _dopri5.odeint_stage_major(f, y0, t, method=method, rtol=1e-10, atol=1e-12)
        nfe[method], err[method] = f.nfe, float((y[-1] - exact[-1]).abs().max())
        np.testing.assert_allclose(y.numpy(), exact.numpy(), rtol=0, atol=1e-6)
    td = torchdiffeq.odeint(_Linear(A), y0, t, method="dopri8", rtol=1e-10, atol=1e-12)
    assert float((td[-1] - exact[-1]).abs().max()) > 1e-8  # the dense output's error the step end avoids
    assert err["dopri8"] <= 1e-9 and err["dopri5"] <= 1e-9, err
    assert nfe["dopri8"] < 0.7 * nfe["dopri5"], nfe


@pytest.mark.parametrize("rtol", [1e-4, 1e-7, 1e-10])
def test_dopri8_time_dependent_field_meets_tolerance(rtol):
    """Forced field: the stage-major dopri8 and torchdiffeq's dopri8 agree to the tolerance's order (their
    step controls differ at round-off: dopri8's error estimate sits near round-off at tight tolerances)."""
    y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=torch.float64)
    t = torch.tensor([0.0, 5.0], dtype=torch.float64)
    ref = torchdiffeq.odeint(_Forced(), y0, t, method="dopri8", rtol=1e-13, atol=1e-15)
    with torch.no_grad():
        new = _dopri5.odeint_stage_major(_Forced(), y0, t, method="dopri8", rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(new.numpy(), ref.numpy(), rtol=0, atol=100 * rtol)


def test_stage_major_refuses_other_methods():
    with pytest.raises(ValueError, match="runs dopri5, dopri8, not 'bosh3'"):
        _dopri5.odeint_stage_major(_Forced(), torch.ones(2, dtype=torch.float64),
                                   torch.linspace(0.0, 1.0, 3, dtype=torch.float64), method="bosh3")


@pytest.mark.parametrize("method", _dopri5.STAGE_MAJOR_METHODS)
def test_decreasing_time_and_tuple_state(method):
    """dopri5: torchdiffeq's numbers to round-off. dopri8: its step control differs from torchdiffeq's at
    round-off and interior save times come from the same 4th-order dense output, so the check is against a
    tight reference: no worse than torchdiffeq's dopri8 (x2), and the last save time (a step end) to rtol."""
    W = make_operator("antisym", 2, seed=1)
    p = FHRNParams(memory="hebbian")
    y0 = initial_conditions(3, 2, 1.5, seed=0)
    state = (y0, torch.zeros(3, 2, 2, dtype=torch.float64))
    t = torch.linspace(0.0, 2.0, 11, dtype=torch.float64)
    back = torch.linspace(2.0, 0.0, 11, dtype=torch.float64)
    cases = [(lambda: FHRNField(W, p), state, t), (_Forced, y0, back)]
    for make, s0, tt in cases:
        ref, new, _, _ = _run_both(make, s0, tt, method, rtol=1e-7, atol=1e-9)
        ref, new = (ref, new) if isinstance(ref, tuple) else ((ref,), (new,))
        if method == "dopri5":
            for a, b in zip(ref, new):
                np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=0, atol=1e-11)
            continue
        exact = torchdiffeq.odeint(make(), s0, tt, method="dopri5", rtol=1e-13, atol=1e-15)
        exact = exact if isinstance(exact, tuple) else (exact,)
        for a, b, e in zip(ref, new, exact):
            assert float((b - e).abs().max()) <= 2 * float((a - e).abs().max()) + 1e-9
            assert float((b[-1] - e[-1]).abs().max()) <= 1e-6  # rtol 1e-7 of states up to ~10


def test_non_finite_state_is_refused_like_torchdiffeq():
    class Blow(torch.nn.Module):
        def forward(self, t, y):
            return y * y * y * 1e3

    y0 = torch.tensor([[3.0, 1.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 10.0, 3, dtype=torch.float64)
    with torch.no_grad(), pytest.raises(RuntimeError, match="underflow in dt|non-finite|max_num_steps"):
        _dopri5.odeint_stage_major(Blow(), y0, t, options=dict(max_num_steps=2000))


def test_fast_path_available_on_the_installed_torchdiffeq():
    assert torchdiffeq.__version__ in _dopri5.TESTED_TORCHDIFFEQ
    assert _dopri5.fast_path_available(), _dopri5.FAST_PATH_PROBLEM


@pytest.mark.parametrize("missing", ["_PerturbFunc", "_rms_norm", "_check_inputs"])
def test_missing_internals_are_detected(monkeypatch, missing):
    import importlib

    misc = importlib.import_module("torchdiffeq._impl.misc")
    monkeypatch.delattr(misc, missing)
    with pytest.raises(ImportError, match=missing):
        _dopri5._load_internals()


def test_untested_version_is_detected(monkeypatch):
    monkeypatch.setattr(torchdiffeq, "__version__", "0.3.0")
    with pytest.raises(ImportError, match="0.3.0 is not one of the tested versions"):
        _dopri5._load_internals()


def test_fallback_runs_torchdiffeq_dopri5(monkeypatch):
    """With the internals missing, odeint_stage_major and integrate use torchdiffeq's own dopri5."""
    import importlib

    monkeypatch.setattr(_dopri5, "FAST_PATH_PROBLEM", "simulated: torchdiffeq 9.9 lacks _PerturbFunc")
    assert not _dopri5.fast_path_available()
    calls = []
    real = torchdiffeq.odeint
    monkeypatch.setattr(torchdiffeq, "odeint", lambda *a, **k: calls.append(k["method"]) or real(*a, **k))
    y0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    t = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)
    with torch.no_grad():
        out = _dopri5.odeint_stage_major(_Forced(), y0, t)
    assert calls == ["dopri5"]
    np.testing.assert_allclose(out.numpy(), real(_Forced(), y0, t, method="dopri5", rtol=1e-7, atol=1e-9).numpy(),
                               rtol=0, atol=0)
    mod = importlib.import_module("fhrn_ode.integration")
    W = make_operator("antisym", 2, seed=0)
    res = mod.integrate(W, initial_conditions(4, 2, 2.0, seed=0), t1=2.0, n_points=11)
    assert res.status == "success" and calls.count("dopri5") >= 2


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, RuntimeError])
def test_exception_carries_the_computed_prefix(exc_type):
    """A failure (or Ctrl-C) inside the field leaves the saved times computed before it on the exception."""

    class Stops(torch.nn.Module):
        def forward(self, t, y):
            if float(t) > 1.25:
                raise exc_type("stop")
            return -y

    y0 = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 2.0, 9, dtype=torch.float64)
    with torch.no_grad(), pytest.raises(exc_type) as info:
        _dopri5.odeint_stage_major(Stops(), y0, t)
    part = _dopri5.partial_solution(info.value)
    assert part is not None and 2 <= part.shape[0] <= 6  # y0 and the saved times up to t <= 1.25
    np.testing.assert_allclose(part[:, 0].numpy(), (torch.exp(-t[: part.shape[0]])[:, None] * y0[0]).numpy(),
                               rtol=1e-6)
    assert _dopri5.partial_solution(ValueError()) is None


def test_group_norm_fast_path_equals_torchdiffeq_with_the_same_norm():
    """The fused group norm takes torchdiffeq's steps under the same (callable) norm."""
    W = make_operator("antisym", 2, seed=0)
    y0 = initial_conditions(12, 2, 2.0, seed=1).reshape(3, 4, 2)  # 3 groups of 4 states

    class Grouped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.f = FHRNField(W, FHRNParams(beta=0.3))

        def forward(self, t, y):
            return self.f(t, y.reshape(-1, 2)).reshape(y.shape)

    t = torch.linspace(0.0, 3.0, 13, dtype=torch.float64)
    norm = _dopri5.GroupRMSNorm(3)
    x = torch.randn(3, 8, dtype=torch.float64)
    assert float(norm(x)) == pytest.approx(max(float(r.pow(2).mean().sqrt()) for r in x))
    ref, new, fr, fn = _run_both(Grouped, y0, t, rtol=1e-7, atol=1e-9, options=dict(norm=norm))
    assert fr.f.nfe == fn.f.nfe
    np.testing.assert_allclose(new.numpy(), ref.numpy(), rtol=0, atol=1e-12)


class _Counted(_Forced):
    def __init__(self) -> None:
        super().__init__()
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return super().forward(t, y)


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("tensor_atol", [False, True])
def test_error_ratio_paths_match_torchdiffeq(dtype, tol, tensor_atol, monkeypatch):
    """The CPU error ratio on numpy views (scalar tolerances, float32/64) and the torch one (a per-component
    atol tensor) take torchdiffeq's steps: same nfe, the same states to round-off."""
    divides = []
    real_divide = np.divide
    monkeypatch.setattr(_dopri5.np, "divide", lambda *a, **k: divides.append(1) or real_divide(*a, **k))
    y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0], [0.7, -1.1]], dtype=dtype)
    t = torch.linspace(0.0, 3.0, 13, dtype=dtype)
    atol = torch.full_like(y0, 1e-6) if tensor_atol else 1e-6
    ref, new, fr, fn = _run_both(_Counted, y0, t, rtol=1e-4, atol=atol)
    assert fr.nfe == fn.nfe
    assert (len(divides) == 0) == tensor_atol  # numpy path exactly for scalar tolerances
    np.testing.assert_allclose(new.numpy(), ref.numpy(), rtol=0, atol=tol)


class _ForcedNumber(torch.nn.Module):
    """A time-dependent field that reads ``t`` as a number; records the types of ``t`` it was given."""

    float_t = False

    def __init__(self):
        super().__init__()
        self.kinds = set()

    def forward(self, t, y):
        self.kinds.add(type(t).__name__)
        return -y + math.sin(3.0 * float(t)) * y.flip(-1)


class _ForcedFloat(_ForcedNumber):
    float_t = True


@pytest.mark.parametrize("method", _dopri5.STAGE_MAJOR_METHODS)
def test_float_t_fields_get_python_floats_and_the_same_numbers(method):
    """``float_t = True``: the stage times come as Python floats (no 0-dim tensor per evaluation), with the
    same values, so the solution is bit for bit that of the tensor-time path."""
    y0 = torch.tensor([[1.0, 0.5], [-0.3, 2.0]], dtype=torch.float64)
    t = torch.linspace(0.0, 5.0, 17, dtype=torch.float64)
    with torch.no_grad():
        a, b = _ForcedNumber(), _ForcedFloat()
        ya = _dopri5.odeint_stage_major(a, y0, t, method=method)
        yb = _dopri5.odeint_stage_major(b, y0, t, method=method)
    assert torch.equal(ya, yb)
    assert a.kinds == {"Tensor"} and "float" in b.kinds  # (torchdiffeq's own set-up calls still pass tensors)


def test_fhrn_columns_adapter_calls_the_field_directly():
    from fhrn_ode._states import _Columns

    f = FHRNField(make_operator("antisym", 2, seed=0), FHRNParams())
    c = _Columns(f)
    yT = initial_conditions(4, 2, 1.5, seed=1).T.contiguous()
    assert c.forward == f._forward_columns and c.float_t
    torch.testing.assert_close(c(0.25, yT), f(torch.tensor(0.25), yT.T).T, rtol=1e-15, atol=0)


def test_integrate_dopri8_runs_the_columns_path_and_meets_the_ring():
    """integrate(method='dopri8') on the FHRN columns path: the final states agree with the row layout's solve
    through the solver core to rtol, and every trajectory ends on the ring |y| = sqrt(theta^2 - leak/kappa)."""
    from fhrn_ode import integrate, solve

    W = make_operator("antisym", 2, seed=0)
    p = FHRNParams()
    y0 = initial_conditions(6, 2, 2.0, seed=2)
    seen = []
    real = FHRNField._forward_columns

    def spy(self, t, yT):
        seen.append(1)
        return real(self, t, yT)

    FHRNField._forward_columns = spy
    try:
        res = integrate(W, y0, params=p, t1=20.0, n_points=3, method="dopri8", rtol=1e-10, atol=1e-12)
    finally:
        FHRNField._forward_columns = real
    assert seen and res.status == "success"
    rows = solve(FHRNField(W, p), y0, torch.tensor([0.0, 10.0, 20.0], dtype=torch.float64), method="dopri8",
                 rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.y[-1].numpy(), rows.y[-1].numpy(), rtol=0, atol=1e-8)
    r_star = (p.theta ** 2 - p.leak / p.kappa) ** 0.5
    np.testing.assert_allclose(res.y[-1].norm(dim=-1).numpy(), r_star, rtol=0, atol=1e-9)
