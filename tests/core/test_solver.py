"""torchdiffeq's test problems (its tests/problems.py), written from their equations, with exact solutions.

* constant: ``y' = a + (y - (a t + b))^5``, exact ``y = a t + b`` (a = 0.2, b = 3), scalar state ``()``;
* sine: ``y' = 2 y / t + t^4 sin 2t - t^2 + 4 t^3``, exact
  ``y = -t^4 cos(2t) / 2 + t^3 sin(2t) / 2 + t^2 cos(2t) / 4 - t^3 + 2 t^4 + (pi - 1/4) t^2``
  (grows to ~8000 on [1, 8]), scalar state;
* linear: ``y' = A y`` with ``A = U - U^T`` (``U`` seeded, scale 0.1), state ``(d,)``, exact ``expm(A t) y0``;
* exp: ``y' = -k y`` row-wise on ``(N, d)`` (ours; torchdiffeq's older suite had an exponential one),
  exact ``y0 exp(-k t)``.
All on ``t = linspace(1, 8, 10)`` as torchdiffeq's ``construct_problem``.
"""

import math

import torch


class Constant(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.2, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.tensor(3.0, dtype=torch.float64))

    def forward(self, t, y):
        return self.a + (y - (self.a * t + self.b)) ** 5

    def exact(self, t):
        return (self.a * t + self.b).detach()


class Sine(torch.nn.Module):
    def forward(self, t, y):
        return 2 * y / t + t ** 4 * torch.sin(2 * t) - t ** 2 + 4 * t ** 3

    def exact(self, t):
        return (-0.5 * t ** 4 * torch.cos(2 * t) + 0.5 * t ** 3 * torch.sin(2 * t) + 0.25 * t ** 2 * torch.cos(2 * t)
                - t ** 3 + 2 * t ** 4 + (math.pi - 0.25) * t ** 2)


class Linear(torch.nn.Module):
    def __init__(self, dim=10, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        U = torch.randn(dim, dim, generator=g, dtype=torch.float64) * 0.1
        self.dim = dim
        self.A = torch.nn.Parameter(2 * U - (U + U.T))

    def forward(self, t, y):  # written for a (d,) state, as torchdiffeq's LinearODE
        return torch.mm(self.A, y.reshape(self.dim, 1)).reshape(-1)

    def exact(self, t, y0):
        return torch.stack([torch.linalg.matrix_exp(self.A.detach() * (ti - t[0])) @ y0 for ti in t])


class Exp(torch.nn.Module):
    def __init__(self, k=0.7):
        super().__init__()
        self.k = k

    def forward(self, t, y):
        return -self.k * y

    def exact(self, t, y0):
        return y0.unsqueeze(0) * torch.exp(-self.k * (t - t[0])).reshape((-1,) + (1,) * y0.ndim)


def grid():
    return torch.linspace(1.0, 8.0, 10, dtype=torch.float64)


# ---------------------------------------------------------------- the engine: fhrn_ode.solver.solve

import pytest
import torchdiffeq

from fhrn_ode import FHRNInputError
from fhrn_ode._errors import Interrupted
from fhrn_ode.solver import FIXED_STEPS_PER_INTERVAL, solve


def _rel(a, b):
    return float(((a - b).abs() / b.abs().clamp(min=1e-300)).max())


@pytest.mark.parametrize("name", ["constant", "sine", "linear", "exp"])
def test_solve_exact_solutions_and_torchdiffeq_shape(name):
    t = grid()
    f = {"constant": Constant, "sine": Sine, "linear": Linear, "exp": Exp}[name]()
    if name in ("constant", "sine"):
        y0 = f.exact(t[0])  # a 0-d state, as torchdiffeq's construct_problem gives
        exact = f.exact(t)
    else:
        y0 = torch.ones(10, dtype=torch.float64) if name == "linear" else torch.rand(
            3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.5
        exact = f.exact(t, y0)
    with torch.no_grad():
        sol = solve(f, y0, t, rtol=1e-9, atol=1e-12)
        ref = torchdiffeq.odeint(f, y0, t, rtol=1e-9, atol=1e-12)
    assert sol.status == "success", sol.message
    assert sol.y.shape == ref.shape == (10, *y0.shape)
    assert _rel(sol.y, exact) < 1e-5
    assert sol.n_kept == 10 and sol.t_last == 8.0


def test_sine_growth_to_8000_is_not_divergence():
    t = grid()
    sol = solve(Sine(), Sine().exact(t[0]), t, rtol=1e-9, atol=1e-9)
    assert sol.status == "success" and not bool(sol.diverged.any())
    assert float(sol.y[-1]) > 7000.0 and _rel(sol.y, Sine().exact(t)) < 1e-5


def test_linear_gradient_direct_equals_adjoint():
    t = grid()
    grads = []
    for adjoint in (False, True):
        f = Linear()
        sol = solve(f, torch.ones(10, dtype=torch.float64), t, rtol=1e-8, atol=1e-10, adjoint=adjoint)
        sol.y[-1].pow(2).sum().backward()
        grads.append(f.A.grad.clone())
    assert float((grads[0] - grads[1]).abs().max()) < 1e-6 * float(grads[0].abs().max())
    # and both against the exact gradient of |expm(A (t1 - t0)) 1|^2 by autograd through matrix_exp
    A = Linear().A.detach().clone().requires_grad_(True)
    (torch.linalg.matrix_exp(A * 7.0) @ torch.ones(10, dtype=torch.float64)).pow(2).sum().backward()
    assert float((grads[0] - A.grad).abs().max()) < 1e-6 * float(A.grad.abs().max())


def test_tuple_state_shapes_match_torchdiffeq():
    def f(t, s):
        y, z = s
        return -y, 2 * z
    y0 = (torch.ones(4, 3, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    sol = solve(f, y0, t, rtol=1e-10, atol=1e-12)
    ref = torchdiffeq.odeint(f, y0, t, rtol=1e-10, atol=1e-12)
    assert isinstance(sol.y, tuple) and [s.shape for s in sol.y] == [r.shape for r in ref]
    assert _rel(sol.y[1][-1], torch.full((2,), torch.e ** 2, dtype=torch.float64)) < 1e-8


@pytest.mark.parametrize("method", ["rk4", "euler", "midpoint"])
@pytest.mark.parametrize("kw", [dict(rtol=1e-6), dict(atol=1e-6)])
def test_fixed_step_methods_refuse_tolerances(method, kw):
    with pytest.raises(FHRNInputError, match=f"does not apply to the fixed-step method '{method}'"):
        solve(Exp(), torch.ones(2, dtype=torch.float64), grid(), method=method, **kw)


def test_adaptive_methods_refuse_step_size():
    with pytest.raises(FHRNInputError, match="`step_size` applies to fixed-step methods only"):
        solve(Exp(), torch.ones(2, dtype=torch.float64), grid(), step_size=0.1)


def test_fixed_step_default_step_is_a_tenth_of_the_save_spacing():
    # rk4 on y' = -k y: each step multiplies by exp(-kh) (1 + (kh)^5 / 120 + O(h^6)), so after time T the
    # relative error is T/h (kh)^5 / 120 = k T (kh)^4 / 120 (3.6e-7 here, h = 7/9/10, k = 0.7, T = 7)
    y0 = torch.ones(2, dtype=torch.float64)
    t = grid()
    sol = solve(Exp(), y0, t, method="rk4")
    assert sol.step_size == pytest.approx(7.0 / 9 / FIXED_STEPS_PER_INTERVAL)
    assert sol.nfe == 4 * 9 * FIXED_STEPS_PER_INTERVAL
    h = 7.0 / 90
    assert _rel(sol.y, Exp().exact(t, y0)) == pytest.approx(0.7 * 7.0 * (0.7 * h) ** 4 / 120, rel=0.05)
    # euler is exact on the constant problem (y' = a along the exact solution), any step
    c = Constant()
    sol = solve(c, c.exact(t[0]), t, method="euler")
    assert _rel(sol.y.detach(), c.exact(t)) < 1e-12
    # a non-uniform save grid: every save time is a grid point (no interpolation error)
    tn = torch.tensor([0.0, 0.1, 1.0, 1.05, 3.0], dtype=torch.float64)
    sol = solve(Exp(), y0, tn, method="rk4", step_size=0.01)
    assert _rel(sol.y, Exp().exact(tn, y0)) < 1e-9


def test_budget_message_names_max_nfe_and_keeps_prefix():
    t = grid()
    sol = solve(Sine(), Sine().exact(t[0]), t, rtol=1e-9, atol=1e-9, max_nfe=200)
    assert sol.status == "failed"
    assert "needs more than 200 evaluations to reach t1 = 8" in sol.message and "stiff" not in sol.message
    assert 1 <= sol.n_kept < 10 and sol.y.shape == (sol.n_kept,)
    assert _rel(sol.y, Sine().exact(t[: sol.n_kept])) < 1e-5


def test_collapsed_step_says_so():
    # y' = y^2 from y(0) = 1 blows up at t = 1
    sol = solve(lambda t, y: y * y, torch.ones(1, dtype=torch.float64),
                torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64))
    assert sol.status == "failed" and sol.n_kept == 2
    assert "step size collapsed" in sol.message, sol.message
    assert float(sol.y[1]) == pytest.approx(2.0, rel=1e-6)


def test_guard_marks_and_freezes_rows():
    # two rows of y' = y; a guard at |y| > 5 stops row 1 (y0 = 2: exp(t) 2 > 5 after t = 0.92), not row 0
    y0 = torch.tensor([[0.1], [2.0]], dtype=torch.float64)
    t = torch.linspace(0, 2, 11, dtype=torch.float64)
    sol = solve(lambda t, y: y, y0, t, guard=lambda y: y.abs().squeeze(-1) > 5.0, rtol=1e-10, atol=1e-12)
    assert sol.status == "diverged"
    assert sol.diverged.tolist() == [False, True]
    assert float(sol.t_diverged[1]) == pytest.approx(1.0)  # first save time past log(2.5) = 0.916
    assert torch.isnan(sol.y[5:, 1]).all() and not torch.isnan(sol.y[:5, 1]).any()
    assert _rel(sol.y[:, 0, 0], 0.1 * torch.exp(t)) < 1e-8


def test_interrupt_raises_with_partial_solution():
    calls = {"n": 0}

    def f(t, y):
        calls["n"] += 1
        if calls["n"] == 300:
            raise KeyboardInterrupt
        return -y

    t = torch.linspace(0, 10, 11, dtype=torch.float64)
    for method, kw in (("dopri5", dict(rtol=1e-12, atol=1e-14)), ("bosh3", dict(rtol=1e-10, atol=1e-12))):
        calls["n"] = 0
        with torch.no_grad(), pytest.raises(Interrupted) as info:
            solve(f, torch.ones(2, dtype=torch.float64), t, method=method, **kw)
        part = info.value.result
        assert isinstance(info.value, KeyboardInterrupt)
        assert part.status == "interrupted" and 1 <= part.n_kept < 11
        assert _rel(part.y, torch.exp(-t[: part.n_kept]).unsqueeze(-1).expand(-1, 2)) < 1e-8
