"""Private machinery of :func:`fhrn_ode.solver.solve`: the wrapped field (counting, budgets, guard
freezing), the drivers (stage-major dopri5, torchdiffeq's adaptive loop, chunked fixed-step/adjoint runs)
that keep every saved state computed before a failure or an interrupt, and the failure messages."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import Any

import torch
from ._torchdiffeq import import_torchdiffeq

torchdiffeq = import_torchdiffeq()  # without scipy.integrate (start-up: fhrn_ode/_torchdiffeq.py)
from torchdiffeq._impl.misc import _check_inputs, _flat_to_shape
from torchdiffeq._impl.odeint import SOLVERS as _TD_SOLVERS

from ._dopri5 import _direct_callable, odeint_stage_major, partial_solution

#: A step below this fraction of the span counts as a collapsed step size in failure messages.
_COLLAPSED = 1e-9
#: Save-grid chunks of the fixed-step and adjoint runs (a failure keeps the chunks before it).
_N_CHUNKS = 8


@dataclass
class _Spec:
    method: str
    rtol: float | None
    atol: float | None
    step_size: float | None
    adjoint: bool
    adjoint_params: tuple | None
    options: dict
    fast: bool


class _OutOfBudget(Exception):
    """Raised inside the wrapped field when ``max_nfe`` or ``wall_s`` is exhausted."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _pad(mask: torch.Tensor, ndim: int) -> torch.Tensor:
    """``mask`` with trailing singleton dimensions up to ``ndim`` (to broadcast against a state)."""
    return mask.reshape(mask.shape + (1,) * (ndim - mask.ndim))


class _Rhs(torch.nn.Module):
    """The caller's field with evaluation counting, the budgets and the guard's freezing of marked rows.

    The state is passed through unchanged. Rows the guard marks get a zero derivative (unless the field
    freezes its own rows: an :class:`fhrn_ode.FHRNField`, or any module with ``freezes_rows = True``).
    """

    def __init__(self, func, guard, max_nfe: int | None, wall_s: float | None) -> None:
        super().__init__()
        if isinstance(func, torch.nn.Module):
            self.field = func
        self._call = _direct_callable(func)
        self.guard = None if guard is None or getattr(func, "freezes_rows", False) or _fhrn_field(func) else guard
        #: the stage-major solver may pass stage times as Python floats when the field declares ``float_t``
        self.float_t = bool(getattr(func, "float_t", False))
        self.max_nfe = max_nfe
        self.deadline = None if wall_s is None else time.monotonic() + wall_s
        self.wall_s = wall_s
        self._n = [0]  # a list, not an int attribute: nn.Module.__setattr__ per call would cost ~15 us
        self.times: collections.deque = collections.deque(maxlen=8)

    @property
    def nfe(self) -> int:
        """Evaluations so far."""
        return self._n[0]

    def forward(self, t, y):
        n = self._n
        n[0] += 1
        self.times.append(t)
        if self.max_nfe is not None and n[0] > self.max_nfe:
            raise _OutOfBudget("max_nfe")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _OutOfBudget("wall_s")
        out = self._call(t, y)
        if self.guard is None:
            return out
        mask = self.guard(y)
        if isinstance(out, tuple):
            return tuple(torch.where(_pad(mask, o.ndim), torch.zeros_like(o), o) for o in out)
        return torch.where(_pad(mask, out.ndim), torch.zeros_like(out), out)

    def last_step(self) -> float | None:
        """The spread of the last few evaluation times (about one step), or None."""
        if len(self.times) < 2:
            return None
        ts = [float(x.detach()) if isinstance(x, torch.Tensor) else float(x) for x in self.times]
        return max(ts) - min(ts)


def _fhrn_field(func) -> bool:
    from .field import FHRNField

    return isinstance(func, FHRNField)


def _rows_stacked(ys: tuple) -> torch.Tensor:
    """:func:`nonfinite_rows` of every saved state at once: ``ys`` components ``(K, ...)`` -> ``(K, *rows)``."""
    first = ys[0].detach()
    K = first.shape[0]
    rows = first.shape[1:-1] if first.ndim >= 3 else torch.Size()
    bad = ~torch.isfinite(first.reshape((K,) + rows + (-1,))).all(-1)
    for c in ys[1:]:
        c = c.detach()
        if c.shape[1: 1 + len(rows)] == rows and c.ndim > 1 + len(rows):
            bad = bad | ~torch.isfinite(c.reshape((K,) + rows + (-1,))).all(-1)
        else:
            bad = bad | ~torch.isfinite(c.reshape(K, -1)).all(-1).reshape((K,) + (1,) * len(rows))
    return bad


def nonfinite_rows(y) -> torch.Tensor:
    """The default guard: rows with a non-finite entry. Rows are ``y.shape[:-1]`` for ``ndim >= 2`` and
    the whole state (shape ``()``) otherwise; for a tuple, those of ``y[0]`` (another component marks the
    rows it shares leading dimensions with, or all of them)."""
    comps = y if isinstance(y, tuple) else (y,)
    first = comps[0].detach()
    rows = first.shape[:-1] if first.ndim >= 2 else torch.Size()
    bad = ~torch.isfinite(first.reshape(rows + (-1,))).all(-1)
    for c in comps[1:]:
        c = c.detach()
        if c.shape[: len(rows)] == rows and c.ndim > len(rows):
            bad = bad | ~torch.isfinite(c.reshape(rows + (-1,))).all(-1)
        else:
            bad = bad | (not bool(torch.isfinite(c).all()))
    return bad


#: The default guard also takes all saved states at once (see ``_marks`` in fhrn_ode/solver.py).
nonfinite_rows.stacked = lambda ys: _rows_stacked(ys if isinstance(ys, tuple) else (ys,))


#: Messages by which torchdiffeq's solvers (and the stage-major dopri5) give up.
_GIVE_UPS = ("underflow in dt", "max_num_steps exceeded", "non-finite values in", "invalid interpolation")


class _Prefix:
    """The saved states computed so far, per state component: lists of ``(k, *shape)`` blocks."""

    def __init__(self, comps: tuple) -> None:
        self.parts = [[c.unsqueeze(0)] for c in comps]
        self.n = 1

    def add(self, sol, skip_first: bool = True) -> None:
        """Append a solve's output ``(k, *shape)`` (tuple for tuple states); its row 0 repeats the state."""
        sols = sol if isinstance(sol, tuple) else (sol,)
        new = [s[1:] if skip_first else s for s in sols]
        if new[0].shape[0]:
            for p, s in zip(self.parts, new):
                p.append(s)
            self.n += new[0].shape[0]

    def state(self, is_tuple: bool):
        last = tuple(p[-1][-1] for p in self.parts)
        return last if is_tuple else last[0]

    def stacked(self) -> list:
        return [torch.cat(p) if len(p) > 1 else p[0] for p in self.parts]


def _run_fast(rhs, y0, tt, spec: _Spec, pre: _Prefix) -> None:
    """The stage-major loop (dopri5/dopri8, no autograd); on any exception the computed saved times are kept."""
    try:
        with torch.no_grad():
            sol = odeint_stage_major(rhs, y0, tt, rtol=spec.rtol, atol=spec.atol, options=spec.options,
                                     method=spec.method)
    except BaseException as exc:
        part = partial_solution(exc)
        if part is not None:
            pre.add(part)
        raise
    pre.add(sol)


def _run_adaptive(rhs, y0, tt, spec: _Spec, pre: _Prefix) -> None:
    """torchdiffeq's adaptive solver driven save time by save time (its own ``integrate`` loop), so that
    every saved state computed before a failure or an interrupt is kept."""
    shapes, func, y0f, t, rtol, atol, method, options, _, _ = _check_inputs(
        rhs, y0, tt, spec.rtol, spec.atol, spec.method, spec.options, None, _TD_SOLVERS)
    solver = _TD_SOLVERS[method](func=func, y0=y0f, rtol=rtol, atol=atol, **options)
    t = t.to(solver.dtype)
    solver._before_integrate(t)
    for i in range(1, len(t)):
        yi = solver._advance(t[i]).unsqueeze(0)
        pre.add(_flat_to_shape(yi, (1,), shapes) if shapes is not None else yi, skip_first=False)


def _run_chunked(rhs, y0, tt, spec: _Spec, pre: _Prefix, is_tuple: bool) -> None:
    """Fixed-step methods and the adjoint: torchdiffeq on a few chunks of the save grid in turn."""
    T = tt.numel()
    bounds = sorted({round(x) for x in torch.linspace(0, T - 1, min(T - 1, _N_CHUNKS) + 1).tolist()})
    kw: dict[str, Any] = dict(method=spec.method, options=spec.options)
    if spec.rtol is not None:
        kw.update(rtol=spec.rtol, atol=spec.atol)
    if spec.adjoint:
        kw["adjoint_params"] = spec.adjoint_params if spec.adjoint_params is not None else tuple(
            p for p in list(rhs.parameters()) + list(rhs.buffers()) if p.requires_grad)
    run = torchdiffeq.odeint_adjoint if spec.adjoint else torchdiffeq.odeint
    state = y0
    for a, b in zip(bounds[:-1], bounds[1:]):
        pre.add(run(rhs, state, tt[a:b + 1], **kw))
        state = pre.state(is_tuple)


def _failure(exc: BaseException, rhs: _Rhs, tt: torch.Tensor, spec: _Spec, t_reached: float) -> str:
    """The message of a run stopped by a budget or a solver give-up (issue 21: name the budget; say
    'stiff' only when the step size collapsed)."""
    tt = tt.detach()  # a time grid that carries grad (fit, adjoint) is read as numbers here
    span = abs(float(tt[-1] - tt[0]))
    step = rhs.last_step()
    collapsed = step is not None and step < _COLLAPSED * max(span, 1e-300)
    t_now = float(torch.as_tensor(rhs.times[-1]).detach()) if rhs.times else t_reached
    where = f"at t = {t_now:.6g} of [{float(tt[0]):.6g}, {float(tt[-1]):.6g}]"
    tail = (f"; the step size collapsed to {step:.3g} (the system is stiff there, or the solution blows up)"
            if collapsed else "")
    if isinstance(exc, _OutOfBudget) and exc.what == "max_nfe":
        return (f"needs more than {rhs.max_nfe} evaluations to reach t1 = {float(tt[-1]):.6g} (max_nfe = "
                f"{rhs.max_nfe}; stopped {where}){tail}; raise max_nfe")
    if isinstance(exc, _OutOfBudget):
        return f"needs more than {rhs.wall_s:g} s to reach t1 = {float(tt[-1]):.6g} (wall_s; stopped {where}){tail}"
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the {spec.method} solver gave up {where}: {why}{tail}"


def _is_give_up(exc: BaseException) -> bool:
    return isinstance(exc, (AssertionError, RuntimeError)) and str(exc).startswith(_GIVE_UPS)
