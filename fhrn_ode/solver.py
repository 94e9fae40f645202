"""The one solver core: every integration in fhrn-ode goes through :func:`solve`.

:func:`solve` is ``torchdiffeq.odeint`` with the house rules added, and nothing else changed:

* the state reaches ``func`` exactly as the caller wrote it (a ``(d,)`` tensor stays ``(d,)``, ``(N, d)``
  stays ``(N, d)``, a tuple stays a tuple) and ``y`` comes back as ``(T, *y0.shape)``, as torchdiffeq
  returns it;
* an evaluation budget (``max_nfe``) and a wall-clock budget (``wall_s``), both off by default; past a
  budget the run stops with status ``"failed"`` and keeps every saved time computed before;
* per-trajectory divergence through an optional ``guard`` (FHRN fields pass theirs); without a guard
  only non-finite saved states count as diverged (no implicit norm bound);
* a Ctrl-C (or SIGTERM through the CLI) raises :class:`fhrn_ode._errors.Interrupted` carrying the
  computed prefix as a :class:`Solution` (never swallowed);
* ``method="dopri5"`` or ``"dopri8"`` without a gradient to compute runs on the stage-major loop of
  :mod:`fhrn_ode._dopri5` over torchdiffeq's own tableau (same steps as torchdiffeq's, faster); every
  other case on torchdiffeq.

Fixed-step methods (``euler``, ``midpoint``, ``rk4``, ``explicit_adams``, ``implicit_adams``, ...) step
on a grid that contains every save time: each save interval ``[t_i, t_{i+1}]`` is cut into
``ceil(|t_{i+1} - t_i| / step_size)`` equal steps. The default ``step_size`` is the smallest save
spacing divided by :data:`FIXED_STEPS_PER_INTERVAL` (10). ``rtol``/``atol`` do not apply to them and
are refused if given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field
from typing import Any, Callable

import torch
from ._torchdiffeq import import_torchdiffeq

import_torchdiffeq()  # without scipy.integrate (start-up: fhrn_ode/_torchdiffeq.py)
from torchdiffeq._impl.odeint import SOLVERS as _TD_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

from ._dopri5 import STAGE_MAJOR_METHODS
from ._errors import FHRNInputError, Interrupted, check_int, check_real
from ._threads import limit_threads, threads_for
from ._solver_run import (_OutOfBudget, _Prefix, _Rhs, _Spec, _failure, _is_give_up, _pad, _run_adaptive,
                          _run_chunked, _run_fast, nonfinite_rows)

__all__ = ["solve", "Solution", "SOLVERS", "ADAPTIVE_SOLVERS", "FIXED_SOLVERS", "FIXED_STEPS_PER_INTERVAL",
           "DEFAULT_RTOL", "DEFAULT_ATOL"]

#: Every torchdiffeq method :func:`solve` accepts (``scipy_solver`` and the alias ``fixed_adams`` left out).
SOLVERS: tuple[str, ...] = tuple(k for k in _TD_SOLVERS if k not in ("scipy_solver", "fixed_adams"))
#: The fixed-step methods (``step_size`` applies, ``rtol``/``atol`` refused).
FIXED_SOLVERS: tuple[str, ...] = tuple(k for k in SOLVERS if issubclass(_TD_SOLVERS[k], FixedGridODESolver))
#: The adaptive methods (``rtol``/``atol`` apply, ``step_size`` refused).
ADAPTIVE_SOLVERS: tuple[str, ...] = tuple(k for k in SOLVERS if k not in FIXED_SOLVERS)
#: Default number of fixed steps per smallest save interval (default ``step_size = min |dt| / 10``).
FIXED_STEPS_PER_INTERVAL = 10
#: Run ``method="dopri5"``/``"dopri8"`` without gradients on the stage-major loop (``fhrn_ode/_dopri5.py``);
#: the benchmark switches it off for its plain-torchdiffeq rows.
_STAGE_MAJOR_DOPRI5 = True
#: Default tolerances of the adaptive methods (torchdiffeq's ``odeint`` defaults).
DEFAULT_RTOL, DEFAULT_ATOL = 1e-7, 1e-9


@dataclass
class Solution:
    """Outcome of :func:`solve`.

    Attributes:
        t: the computed save times ``(K,)``: the first ``n_kept`` entries of the requested ``t``.
        y: the states ``(K, *y0.shape)`` (a tuple of such for a tuple state); ``y[0]`` is ``y0``. The
            saved states of a diverged trajectory after its first bad save time are NaN.
        status: 'success', 'diverged' (some trajectories were marked by the guard, or became
            non-finite; the others reached ``t[-1]``) or 'failed' (a budget ran out or the solver gave
            up: ``t``/``y`` hold the prefix). A Solution carried by :class:`Interrupted` has 'interrupted'.
        message: one sentence saying what happened.
        nfe: vector-field evaluations of the forward solve.
        n_kept: number of save times computed (``K``).
        t_last: the last computed save time (``float(t[-1])``).
        method, rtol, atol, step_size: the settings used (``rtol``/``atol`` None for fixed-step methods,
            ``step_size`` None for adaptive ones).
        diverged: boolean tensor of the guard's row shape (``y0.shape[:-1]`` for the default guard, ``()``
            for a ``(d,)`` state): the trajectories found diverged.
        t_diverged: float tensor, same shape: each diverged trajectory's first bad save time, NaN elsewhere.
    """

    t: torch.Tensor
    y: Any
    status: str
    message: str
    nfe: int
    n_kept: int
    t_last: float
    method: str
    rtol: float | None
    atol: float | None
    step_size: float | None
    diverged: torch.Tensor = dc_field(default_factory=lambda: torch.zeros((), dtype=torch.bool))
    t_diverged: torch.Tensor = dc_field(default_factory=lambda: torch.full((), math.nan))

    @property
    def success(self) -> bool:
        """True when ``status == 'success'``."""
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays): status, message, nfe, n_kept, t_last and the settings."""
        return {"status": self.status, "message": self.message, "nfe": self.nfe, "n_kept": self.n_kept,
                "t_last": self.t_last, "method": self.method, "rtol": self.rtol, "atol": self.atol,
                "step_size": self.step_size, "n_diverged": int(self.diverged.sum())}


def _check_state(y0) -> tuple:
    comps = tuple(y0) if isinstance(y0, (tuple, list)) else (y0,)
    if not comps:
        raise FHRNInputError("`y0` must be a tensor or a non-empty tuple of tensors, got ()")
    for i, c in enumerate(comps):
        name = f"y0[{i}]" if isinstance(y0, (tuple, list)) else "y0"
        if not isinstance(c, torch.Tensor) or not c.is_floating_point():
            raise FHRNInputError(f"`{name}` must be a floating-point torch tensor, got "
                                 f"{getattr(c, 'dtype', type(c).__name__)}")
        if not bool(torch.isfinite(c.detach()).all()):
            raise FHRNInputError(f"`{name}` must be finite; it has NaN/inf entries")
    return comps


def _check_t(t, like: torch.Tensor) -> torch.Tensor:
    tt = t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)
    tt = tt.to(device=like.device, dtype=like.dtype if like.dtype.is_floating_point else torch.float64)
    d = tt[1:] - tt[:-1] if tt.ndim == 1 else None
    if (tt.ndim != 1 or tt.numel() < 2 or not bool(torch.isfinite(tt).all())
            or not (bool((d > 0).all()) or bool((d < 0).all()))):
        raise FHRNInputError("`t` must be a 1-D, finite, strictly monotone tensor of at least 2 save times")
    return tt


def _settings(func, comps, tt, method, rtol, atol, step_size, adjoint, adjoint_params, options) -> _Spec:
    """Validate the solver settings; decide the fast path."""
    if method not in SOLVERS:
        raise FHRNInputError(f"`method` must be one of {', '.join(SOLVERS)}; got {method!r}")
    opts = dict(options or {})
    fixed = method in FIXED_SOLVERS
    if fixed:
        for name, v in (("rtol", rtol), ("atol", atol)):
            if v is not None:
                raise FHRNInputError(f"`{name}`={v!r} does not apply to the fixed-step method {method!r}; "
                                     "set `step_size` (or use an adaptive method)")
        if "step_size" in opts or "grid_constructor" in opts:
            raise FHRNInputError("pass the step of a fixed-step method as `step_size`, not in `options`")
        if step_size is None:
            step_size = float((tt[1:] - tt[:-1]).abs().min()) / FIXED_STEPS_PER_INTERVAL
        step_size = check_real("step_size", step_size, low=0.0, low_open=True)
        opts["grid_constructor"] = _grid_through_saves(step_size)
    else:
        if step_size is not None:
            raise FHRNInputError(f"`step_size` applies to fixed-step methods only; {method!r} is adaptive "
                                 "(use rtol/atol)")
        rtol = check_real("rtol", DEFAULT_RTOL if rtol is None else rtol, low=0.0, low_open=True)
        atol = check_real("atol", DEFAULT_ATOL if atol is None else atol, low=0.0, low_open=True)
        if comps[0].dtype == torch.float32 and rtol < 1e-6:
            raise FHRNInputError(f"`rtol`={rtol:g} is below the float32 floor 1e-6 (unit round-off 6e-8); "
                                 "raise rtol or use float64")
    if adjoint_params is not None:
        adjoint_params = tuple(adjoint_params)
        if not all(isinstance(p, torch.Tensor) for p in adjoint_params):
            raise FHRNInputError("`adjoint_params` must be a sequence of tensors")
    if adjoint and adjoint_params is None and not isinstance(func, torch.nn.Module):
        raise FHRNInputError("`adjoint=True` with a plain callable needs `adjoint_params` (the tensors to "
                             "differentiate)")
    fast = _STAGE_MAJOR_DOPRI5 and method in STAGE_MAJOR_METHODS and not adjoint and not _needs_grad(func, comps, adjoint_params)
    return _Spec(method, rtol, atol, step_size if fixed else None, bool(adjoint), adjoint_params, opts, fast)


def _needs_grad(func, comps, adjoint_params) -> bool:
    """Whether autograd must see the solve: grad mode on and a tensor it can reach requires grad (a plain
    callable may capture any tensor: assumed yes)."""
    if not torch.is_grad_enabled():
        return False
    if any(c.requires_grad for c in comps) or any(p.requires_grad for p in adjoint_params or ()):
        return True
    if not isinstance(func, torch.nn.Module):
        return True
    return any(p.requires_grad for p in func.parameters()) or any(b.requires_grad for b in func.buffers())


def _grid_through_saves(step: float) -> Callable:
    """A torchdiffeq ``grid_constructor``: each save interval cut into ``ceil(|dt| / step)`` equal steps."""
    def grid(func, y0, t):
        pieces = [t[:1]]
        for a, b in zip(t[:-1], t[1:]):
            n = max(1, math.ceil(abs(float(b - a)) / step - 1e-9))
            pieces.append(a + (b - a) * torch.arange(1, n + 1, dtype=t.dtype, device=t.device) / n)
        return torch.cat(pieces)

    return grid


def _marks(ys: list, is_tuple: bool, guard) -> torch.Tensor:
    """``(K, *rows)``: the guard's (default :func:`nonfinite_rows`) mark of every saved state; one call on the
    stacked states when the guard offers ``guard.stacked`` (it then takes ``(K, ...)`` components)."""
    g = guard if guard is not None else nonfinite_rows
    with torch.no_grad():
        stacked = getattr(g, "stacked", None)
        if stacked is not None:
            return torch.as_tensor(stacked(tuple(ys) if is_tuple else ys[0]), dtype=torch.bool).cpu()
        rows = [torch.as_tensor(g(tuple(y[k] for y in ys) if is_tuple else ys[0][k]), dtype=torch.bool)
                for k in range(ys[0].shape[0])]
    return torch.stack(torch.broadcast_tensors(*rows)).cpu()


def _finish(pre: _Prefix, tt, is_tuple, guard, spec: _Spec, nfe: int, status: str, message: str) -> Solution:
    """Assemble the :class:`Solution` of the computed prefix: divergence marks, NaN after a stop."""
    ys = pre.stacked()
    K = ys[0].shape[0]
    tk = tt[:K]
    bad = _marks(ys, is_tuple, guard)  # (K, *rows)
    bad[0] = False  # y0 was checked finite; a guard hit at t0 is the caller's concern
    diverged = bad.any(0)
    first = torch.where(diverged, bad.to(torch.int8).argmax(0), torch.full(diverged.shape, K))
    t_div = torch.where(diverged, tk.detach().cpu().to(torch.float64)[first.clamp(max=K - 1)],
                        torch.full(diverged.shape, math.nan, dtype=torch.float64))
    if bool(diverged.any()):
        after = torch.arange(K).reshape((K,) + (1,) * diverged.ndim) >= first  # (K, *rows)
        ys = [torch.where(_pad(after.to(y.device), y.ndim), torch.full_like(y, math.nan), y)
              if all(a in (1, s) for a, s in zip(after.shape, y.shape)) else y for y in ys]
        if status == "success":
            n, where = int(diverged.sum()), float(t_div[diverged].min())
            status = "diverged"
            message = (f"{n} of {diverged.numel()} trajectories diverged and were stopped (the first at "
                       f"t = {where:.6g}); the others reached t = {float(tk[-1]):.6g}")
    y = tuple(ys) if is_tuple else ys[0]
    return Solution(t=tk, y=y, status=status, message=message, nfe=nfe, n_kept=K, t_last=float(tk[-1]),
                    method=spec.method, rtol=spec.rtol, atol=spec.atol, step_size=spec.step_size,
                    diverged=diverged, t_diverged=t_div)


def solve(func, y0, t, *, method: str = "dopri5", rtol: float | None = None, atol: float | None = None,
          step_size: float | None = None, max_nfe: int | None = None, wall_s: float | None = None,
          guard: Callable | None = None, adjoint: bool = False, adjoint_params=None,
          options: dict | None = None, threads: int | None = None) -> Solution:
    """Integrate ``dy/dt = func(t, y)`` from ``y(t[0]) = y0``, saving at ``t``: the one solver core.

    Args:
        func: an ``nn.Module`` or callable ``(t, y) -> dy/dt`` in torchdiffeq's convention; it receives
            ``y`` with exactly the shape of ``y0`` (tuple states as tuples).
        y0: initial state: a floating-point tensor of any shape, or a tuple of such; its dtype and device
            are the solve's.
        t: 1-D strictly monotone save times ``(T,)`` (tensor or sequence); ``t[0]`` is the initial time.
        method: one of :data:`SOLVERS` (torchdiffeq's methods).
        rtol: relative tolerance of an adaptive method (default :data:`DEFAULT_RTOL` = 1e-7); refused
            (FHRNInputError) for a fixed-step method.
        atol: absolute tolerance likewise (default :data:`DEFAULT_ATOL` = 1e-9).
        step_size: step of a fixed-step method: each save interval takes ``ceil(|dt| / step_size)``
            equal steps (default ``min |t[i+1] - t[i]| / FIXED_STEPS_PER_INTERVAL``); refused for
            adaptive methods.
        max_nfe: budget of vector-field evaluations of the forward solve; None (default): no budget.
        wall_s: wall-clock budget in seconds of the forward solve; None (default): none.
        guard: optional ``guard(y) -> bool tensor`` marking diverged trajectories ("rows") of a state
            ``y`` (shape of ``y0``): marked rows get a zero derivative (right-padded to broadcast against
            the state; a field that freezes its own rows, e.g. :class:`fhrn_ode.FHRNField`, is not
            wrapped) and are reported in ``diverged``/``t_diverged``. None: only non-finite saved
            states mark a row (rows ``y0.shape[:-1]``; the whole state for ``ndim <= 1``); no norm bound.
            A guard may offer ``guard.stacked(ys) -> (K, *rows)`` on all saved states at once (faster).
        adjoint: gradients by ``torchdiffeq.odeint_adjoint`` instead of backprop through the solver.
        adjoint_params: tensors the adjoint differentiates (default: the parameters of ``func``; required
            for a plain callable).
        options: extra torchdiffeq solver options (e.g. ``first_step``, ``max_num_steps``, ``norm``).
        threads: torch intra-op threads during the solve (restored after it); None (default): the thread
            policy :func:`fhrn_ode._threads.threads_for` of the state's size (1 thread for small problems).

    Returns:
        :class:`Solution` with ``y`` of shape ``(K, *y0.shape)`` (``K = n_kept`` save times computed;
        ``K = T`` unless status is 'failed').

    Raises:
        FHRNInputError: invalid ``method``/``t``/``y0``/tolerances/step/budgets (before any evaluation).
        fhrn_ode._errors.Interrupted: on Ctrl-C (or SIGTERM through the CLI); its ``.result`` is the
            :class:`Solution` of the computed prefix (status 'interrupted').
        Exception: whatever ``func`` raises, other than the solver's own give-ups (those give 'failed').
    """
    comps = _check_state(y0)
    is_tuple = isinstance(y0, (tuple, list))
    y0 = tuple(comps) if is_tuple else comps[0]
    tt = _check_t(t, comps[0])
    max_nfe = None if max_nfe is None else check_int("max_nfe", max_nfe, low=1)
    wall_s = check_real("wall_s", wall_s, low=0.0, low_open=True, allow_none=True)
    if guard is not None and not callable(guard):
        raise FHRNInputError(f"`guard` must be a callable guard(y) -> bool tensor, got {type(guard).__name__}")
    spec = _settings(func, comps, tt, method, rtol, atol, step_size, adjoint, adjoint_params, options)
    rhs = _Rhs(func, guard, max_nfe, wall_s)
    pre = _Prefix(comps)
    status, message = "success", ""
    try:
        with limit_threads(threads if threads is not None else threads_for(sum(c.numel() for c in comps))):
            if spec.fast:
                _run_fast(rhs, y0, tt, spec, pre)
            elif spec.method in ADAPTIVE_SOLVERS and not spec.adjoint:
                _run_adaptive(rhs, y0, tt, spec, pre)
            else:
                _run_chunked(rhs, y0, tt, spec, pre, is_tuple)
    except KeyboardInterrupt as exc:
        part = _finish(pre, tt, is_tuple, guard, spec, rhs.nfe, "interrupted",
                       f"interrupted after t = {float(tt[pre.n - 1]):.6g}")
        raise Interrupted(part, cause=exc, what=part.message) from exc
    except (_OutOfBudget, AssertionError, RuntimeError) as exc:
        if not isinstance(exc, _OutOfBudget) and not _is_give_up(exc):
            raise
        status, message = "failed", _failure(exc, rhs, tt, spec, float(tt[pre.n - 1]))
    finally:
        rhs.max_nfe, rhs.deadline = None, None  # no budget during a later backward pass
    if status == "success":
        message = f"integrated to t = {float(tt[-1]):.6g} with {spec.method} ({rhs.nfe} evaluations)"
    elif status == "failed":
        message += f"; results stop at t = {float(tt[pre.n - 1]):.6g}"
    return _finish(pre, tt, is_tuple, guard, spec, rhs.nfe, status, message)
