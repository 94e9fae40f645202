"""Integration of the FHRN ODE, or of any ``nn.Module`` field, on torchdiffeq, with divergence as a result.

One public entry point, :func:`integrate`, returns an :class:`IntegrationResult` (scipy-style:
``status``, ``message``, ``nfe``). A trajectory that blows up (``|y|`` beyond ``max_norm``, or
non-finite), reaches the gain pole (FHRN fields), or makes the solver give up stops cleanly: the
result then carries ``status = "diverged"`` (or ``"failed"``) and the time, and its arrays stop
before the first bad saved time, so they never hold NaN. Gradients flow to every tensor of the
field that requires grad (direct backprop through the solver, or the adjoint method with
``adjoint=True``); see docs/api.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torchdiffeq
from torchdiffeq._impl.odeint import SOLVERS as _TORCHDIFFEQ_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

from ._dopri5 import odeint_stage_major
from ._errors import FHRNInputError, check_int, check_real
from ._states import _check_y0, _Columns, _generic_bad, _generic_state, _Guarded
from .field import FHRNField, _EvaluationBudgetExceeded
from .homeostasis import pole_radius
from .operators import check_matrix
from .params import FHRNParams

__all__ = [
    "SOLVERS",
    "ADAPTIVE_SOLVERS",
    "IntegrationResult",
    "integrate",
    "initial_conditions",
]

#: Every torchdiffeq method usable here (``scipy_solver`` is left out: it needs its own options).
SOLVERS: tuple[str, ...] = tuple(k for k in _TORCHDIFFEQ_SOLVERS if k not in ("scipy_solver", "fixed_adams"))
#: The adaptive-step methods, for which ``rtol``/``atol`` apply.
ADAPTIVE_SOLVERS: tuple[str, ...] = tuple(
    k for k in SOLVERS if not issubclass(_TORCHDIFFEQ_SOLVERS[k], FixedGridODESolver)
)

STATUSES = ("success", "diverged", "failed")
_N_CHUNKS = 8
#: Run method 'dopri5' (without gradients) on the stage-major re-layout of torchdiffeq's dopri5
#: (fhrn_ode/_dopri5.py): same steps, same nfe, results equal to round-off, several times faster.
_STAGE_MAJOR_DOPRI5 = True
#: On that path, states of dimension d <= this are integrated as columns (d, N) (cheaper products).
_COLUMNS_MAX_DIM = 16


@dataclass
class IntegrationResult:
    """Outcome of :func:`integrate`.

    Attributes:
        t: saved times ``(T,)``.
        y: states ``(T, N, d)``; ``y[0]`` is ``y0``.
        A: fast-weight traces ``(T, N, d, d)`` or None without memory.
        y0: initial states ``(N, d)``.
        W: the operator ``(d, d)`` (detached), or None for a generic (non-FHRN) field.
        status: 'success', 'diverged' (a trajectory blew up or hit the gain pole) or 'failed'
            (the solver gave up).
        message: one human-readable sentence.
        nfe: number of vector-field evaluations.
        params: the :class:`FHRNParams` used (a snapshot of an FHRN field's values), or None for a
            generic field.
        method, rtol, atol: solver settings (``rtol``/``atol`` are None for fixed-step methods).
        t_diverged: first saved time at which some trajectory had diverged, else None.
        diverged: boolean mask ``(N,)`` of diverged trajectories.
        y_rest: for a generic field with a tuple state, the saved trajectories ``(T, N, ...)`` of its
            components after the first (``y`` holds the first); empty otherwise.
    """

    t: torch.Tensor
    y: torch.Tensor
    A: torch.Tensor | None
    y0: torch.Tensor
    W: torch.Tensor | None
    status: str
    message: str
    nfe: int
    params: FHRNParams | None
    method: str
    rtol: float | None
    atol: float | None
    t_diverged: float | None = None
    diverged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    y_rest: tuple = ()

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def t_final(self) -> float:
        return float(self.t[-1])

    @property
    def y_final(self) -> torch.Tensor:
        """Final states ``(N, d)``."""
        return self.y[-1]

    def solver_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol, "nfe": self.nfe}


def initial_conditions(n: int, dim: int, radius: float = 2.0, *, seed: int = 0,
                       dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` initial states ``(n, dim)``: random directions, radii evenly spaced in ``(0, radius]``.

    ``y0_k = r_k u_k`` with ``u_k`` uniform on the unit sphere (seeded) and ``r_k = radius (k+1)/n``,
    so a family covers both the inside and the outside of the homeostatic shell.
    """
    n = check_int("n", n, low=1)
    dim = check_int("dim", dim, low=1)
    radius = check_real("radius", radius, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    u = rng.standard_normal((n, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = radius * np.arange(1, n + 1) / n
    return torch.as_tensor(u * r[:, None], dtype=dtype)


def integrate(
    field,
    y0=None,
    *,
    params: FHRNParams | None = None,
    t1: float = 20.0,
    n_points: int = 401,
    t=None,
    method: str = "dopri5",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    step_size: float | None = None,
    adjoint: bool = False,
    adjoint_params=None,
    A0=None,
    max_norm: float | None = None,
    max_nfe: int = 100_000,
    dtype: torch.dtype | None = None,
    seed: int = 0,
) -> IntegrationResult:
    """Integrate ``dy/dt = f(t, y)`` from ``y0`` with a torchdiffeq solver: the FHRN ODE (C 7-9, S1) or any field.

    Args:
        field: one of
            - a matrix ``W*`` ``(d, d)`` (numpy or torch): integrated as ``FHRNField(W, params)``; a torch
              ``W`` that requires grad receives gradients;
            - an :class:`FHRNField` (its own parameters; the trainable ones receive gradients);
            - any ``nn.Module`` with ``forward(t, y)`` in torchdiffeq's convention, ``y`` a tensor
              ``(N, d)`` or a tuple of tensors with leading dimension ``N`` (the first one ``(N, d)``).
              Only the generic guards apply to it: a row whose first state tensor is non-finite or has
              ``|y| > max_norm``, or whose other tensors are non-finite, counts as diverged (no gain pole).
        y0: initial states ``(N, d)`` or ``(d,)`` (a tuple for a generic field with a tuple state);
            default (matrix or FHRN field only): 8 states from :func:`initial_conditions` with radius 2
            and ``seed``.
        params: model parameters when ``field`` is a matrix (default :class:`FHRNParams`).
        t1: final time (> 0) of the saved grid ``linspace(0, t1, n_points)``.
        n_points: number of saved times (>= 2).
        t: explicit increasing saved times (overrides ``t1``/``n_points``).
        method: a torchdiffeq method, one of :data:`SOLVERS`.
        rtol, atol: tolerances of adaptive methods (> 0).
        step_size: step of fixed-grid methods (default: the saved-grid spacing); refused for
            adaptive methods.
        adjoint: use ``torchdiffeq.odeint_adjoint`` (memory-efficient gradients w.r.t. ``y0`` and
            ``adjoint_params``).
        adjoint_params: tensors the adjoint method differentiates; default every parameter and buffer
            of the field that requires grad (pass it for tensors a generic field captures otherwise).
        A0: initial fast-weight traces ``(N, d, d)`` (default zeros); only for an FHRN field with memory.
        max_norm: a trajectory with ``|y|`` above it counts as diverged (default
            ``100 * max(1, max |y0|, |c|)``).
        max_nfe: cap on vector-field evaluations for the whole forward run; past it the run stops with
            status 'failed' (a stiff or slowly exploding system never hangs the caller).
        dtype: float dtype for a matrix ``field`` (default float64) and for array ``y0``; an
            :class:`FHRNField` uses its own dtype, a generic field keeps the dtype of tensor ``y0``.
        seed: seed for the default ``y0``.

    Without a gradient to compute (autograd off, or nothing requires grad) the method 'dopri5' runs on
    the stage-major re-layout of torchdiffeq's dopri5 (same steps, faster); otherwise on torchdiffeq.

    Returns:
        :class:`IntegrationResult` (``W``/``params`` None for a generic field; ``y_rest`` holds the
        trajectories of a tuple state's other components).

    Raises:
        FHRNInputError: any invalid argument (checked before any integration).
    """
    is_fhrn = isinstance(field, FHRNField)
    generic = isinstance(field, torch.nn.Module) and not is_fhrn
    if method not in SOLVERS:
        raise FHRNInputError(f"`method` must be one of {', '.join(SOLVERS)}; got {method!r}")
    adaptive = method in ADAPTIVE_SOLVERS
    rtol = check_real("rtol", rtol, low=0.0, low_open=True)
    atol = check_real("atol", atol, low=0.0, low_open=True)
    max_nfe = check_int("max_nfe", max_nfe, low=1)
    if step_size is not None:
        if adaptive:
            raise FHRNInputError(
                f"`step_size` applies to fixed-grid methods only; method {method!r} is adaptive (use rtol/atol)"
            )
        step_size = check_real("step_size", step_size, low=0.0, low_open=True)
    if (is_fhrn or generic) and params is not None:
        raise FHRNInputError("`params` applies only when `field` is a matrix; an nn.Module field carries its own parameters")
    if is_fhrn:
        func = field
        if dtype is not None and dtype != func.W.dtype:
            raise FHRNInputError(f"`dtype`={dtype} differs from the FHRNField's dtype {func.W.dtype}; build the field with it")
        dtype = func.W.dtype
        try:
            params = func.params
        except FHRNInputError:  # e.g. a trained kappa < 0: still integrable, no FHRNParams snapshot
            params = None
    elif not generic:
        params = FHRNParams() if params is None else params
        if not isinstance(params, FHRNParams):
            raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
        dtype = torch.float64 if dtype is None else dtype
        func = FHRNField(field if isinstance(field, torch.Tensor) else check_matrix(field, "field"), params, dtype=dtype)
    tdtype = dtype if dtype is not None else torch.float64
    if t is None:
        t1 = check_real("t1", t1, low=0.0, low_open=True)
        n_points = check_int("n_points", n_points, low=2)
        tt = torch.linspace(0.0, t1, n_points, dtype=tdtype)
    else:
        tt = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=tdtype)
        if tt.ndim != 1 or tt.numel() < 2 or not torch.isfinite(tt).all() or not bool((tt[1:] > tt[:-1]).all()):
            raise FHRNInputError("`t` must be a 1-D, finite, strictly increasing grid of at least 2 times")

    if generic:
        if y0 is None:
            raise FHRNInputError("`y0` is required when `field` is a generic nn.Module")
        if A0 is not None:
            raise FHRNInputError("`A0` applies to FHRN fields with memory; pass a generic field's whole state as the tuple `y0`")
        comps0, is_tuple = _generic_state(y0, dtype)
        y0t = comps0[0]
        c_norm = 0.0
    else:
        d = func.dim
        y0t = initial_conditions(8, d, 2.0, seed=seed, dtype=dtype) if y0 is None else _check_y0(y0, d, dtype)
        c_norm = float(func.drive.detach().norm())
    N = y0t.shape[0]
    if max_norm is None:
        max_norm = 1e2 * max(1.0, float(y0t.detach().norm(dim=-1).max()), c_norm)
    max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
    if float(y0t.detach().norm(dim=-1).max()) > max_norm:
        raise FHRNInputError(f"`y0` has a state with |y| above `max_norm`={max_norm:g}")

    if generic:
        rhs_mod: Any = _Guarded(field, max_norm, max_nfe)
        counter = rhs_mod
        grad_source = field
        nfe0 = 0
    else:
        saved = (func.max_norm, func.max_nfe)
        func.max_norm = max_norm
        bad0 = func.bad_mask(y0t)
        beta = func._frozen().beta
        if beta > 1.0 and bool(bad0.any()):
            func.max_norm = saved[0]
            k = int(torch.nonzero(bad0)[0])
            raise FHRNInputError(
                f"`y0`[{k}] sits on the gain pole |y| = {pole_radius(beta):.6g} of g (beta={beta:g}); move it off"
            )
        if func.has_memory:
            if A0 is None:
                A0t = torch.zeros(N, d, d, dtype=dtype)
            else:
                A0t = A0.to(dtype) if isinstance(A0, torch.Tensor) else torch.as_tensor(np.asarray(A0, dtype=np.float64), dtype=dtype)
                if A0t.ndim == 2:
                    A0t = A0t.expand(N, d, d).clone()
                if tuple(A0t.shape) != (N, d, d) or not torch.isfinite(A0t.detach()).all():
                    func.max_norm = saved[0]
                    raise FHRNInputError(f"`A0` must be finite with shape ({N}, {d}, {d}) or ({d}, {d}); got {tuple(A0t.shape)}")
            comps0, is_tuple = (y0t, A0t), True
        else:
            if A0 is not None:
                func.max_norm = saved[0]
                raise FHRNInputError("`A0` is only used with memory; set params.memory to 'hebbian' or 'input'")
            comps0, is_tuple = (y0t,), False
        rhs_mod = func
        counter = func
        grad_source = func
        nfe0 = func.nfe
        func.max_nfe = nfe0 + max_nfe
    try:
        return _run(rhs_mod, counter, nfe0, grad_source, comps0, is_tuple, tt, generic=generic, params=params,
                    method=method, adaptive=adaptive, rtol=rtol, atol=atol, step_size=step_size, adjoint=adjoint,
                    adjoint_params=adjoint_params, max_norm=max_norm)
    finally:
        counter.max_nfe = None  # no budget during a later backward pass (adjoint)
        if not generic:
            func.max_norm, func.max_nfe = saved
            func._pin = None


def _run(rhs_mod, counter, nfe0, grad_source, comps0, is_tuple, tt, *, generic, params, method, adaptive, rtol,
         atol, step_size, adjoint, adjoint_params, max_norm) -> IntegrationResult:
    """The chunked solve of :func:`integrate` (inputs validated)."""
    y0t = comps0[0]
    N, d = y0t.shape
    if adjoint_params is None:
        grad_tensors = tuple(p for p in list(grad_source.parameters()) + list(grad_source.buffers()) if p.requires_grad)
    else:
        grad_tensors = tuple(adjoint_params)
        if not all(isinstance(p, torch.Tensor) for p in grad_tensors):
            raise FHRNInputError("`adjoint_params` must be a sequence of tensors")
    needs_grad = torch.is_grad_enabled() and (any(p.requires_grad for p in grad_tensors)
                                              or any(c.requires_grad for c in comps0))
    options: dict[str, Any] = {}
    if not adaptive and step_size is not None:
        options["step_size"] = step_size
    solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    kwargs: dict[str, Any] = dict(method=method, options=options)
    if adaptive:
        kwargs.update(rtol=rtol, atol=atol)
    if adjoint:
        kwargs["adjoint_params"] = grad_tensors
    columns = False
    rhs: Any = rhs_mod
    if _STAGE_MAJOR_DOPRI5 and method == "dopri5" and not adjoint and not needs_grad:
        solve = odeint_stage_major
        kwargs = dict(rtol=rtol, atol=atol, options=options)
        # small d without memory: integrate the states as columns (d, N), see FHRNField._forward_columns
        columns = not generic and not is_tuple and d <= _COLUMNS_MAX_DIM
        if columns:
            rhs = _Columns(rhs_mod)
    if not generic and not needs_grad:
        rhs_mod._pin = rhs_mod._frozen()  # values fixed for the whole solve: no per-call checks

    fhrn = rhs_mod if not generic else None
    common = dict(W=None if generic else fhrn.W.detach().clone(), params=params, method=method,
                  rtol=rtol if adaptive else None, atol=atol if adaptive else None, y0=y0t)

    def bad_rows(new: tuple) -> torch.Tensor:
        if generic:
            return _generic_bad(new[0], new[1:], max_norm)
        bad = fhrn.bad_mask(new[0])
        for o in new[1:]:
            bad = bad | ~torch.isfinite(o.detach().flatten(2)).all(-1)
        return bad

    parts = [[c.unsqueeze(0)] for c in comps0]
    state: Any = y0t.T.contiguous() if columns else (comps0 if is_tuple else y0t)
    bad_tn = bad_rows(tuple(c.unsqueeze(0) for c in comps0))
    return _chunks(rhs, counter, nfe0, solve, kwargs, parts, state, bad_tn, bad_rows, tt, columns, is_tuple,
                   generic, method, max_norm, N, common, adjoint)


def _chunks(rhs, counter, nfe0, solve, kwargs, parts, state, bad_tn, bad_rows, tt, columns, is_tuple,
            generic, method, max_norm, N, common, adjoint) -> IntegrationResult:
    """Solve chunk after chunk of the saved grid, stop at the first divergence or failure; the result."""
    fhrn = None if generic else counter
    failure: str | None = None
    # Integrate in a few chunks of the saved grid so a run that fails late keeps what it computed.
    T = tt.numel()
    bounds = np.unique(np.linspace(0, T - 1, min(T - 1, _N_CHUNKS) + 1).round().astype(int))
    for a, b in zip(bounds[:-1], bounds[1:]):
        try:
            with torch.set_grad_enabled(adjoint or torch.is_grad_enabled()):
                sol = solve(rhs, state, tt[a:b + 1], **kwargs)
        except _EvaluationBudgetExceeded as exc:
            failure = (f"stopped after {counter.nfe - nfe0} evaluations (max_nfe) at t = {exc.t:.4g} of "
                       f"[{float(tt[0]):.4g}, {float(tt[-1]):.4g}]: the system is stiff or slowly diverging "
                       f"(max |y| {exc.max_norm:.3g}); raise max_nfe or shorten t1")
            break
        except (AssertionError, RuntimeError) as exc:  # torchdiffeq reports give-ups by assertion
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failure = f"the {method} solver gave up after t = {float(tt[a]):.4g}: {why}"
            break
        if columns:
            new = (sol[1:].transpose(1, 2),)
            state = sol[-1]
        else:
            sols = sol if is_tuple else (sol,)
            new = tuple(s[1:] for s in sols)
            state = tuple(s[-1] for s in sols) if is_tuple else sols[0][-1]
        for p, n in zip(parts, new):
            p.append(n)
        bad = bad_rows(new)
        bad_tn = torch.cat([bad_tn, bad])
        if bool(bad.any()):
            break
    full = [torch.cat(p) for p in parts]
    ys = full[0]
    As = full[1] if (not generic and len(full) > 1) else None
    rest = tuple(full[1:]) if generic else ()
    nfe = counter.nfe - nfe0
    if bool(bad_tn.any()):
        first = int(torch.nonzero(bad_tn.any(dim=1))[0])
        diverged = bad_tn.any(dim=0).cpu().numpy()
        k = int(np.nonzero(bad_tn[first].cpu().numpy())[0][0])
        r_bad = float(ys[first, k].detach().norm()) if torch.isfinite(ys[first, k].detach()).all() else math.inf
        beta = 0.0 if generic else fhrn._frozen().beta
        if beta > 1.0 and math.isfinite(r_bad) and r_bad <= max_norm:
            why = f"reached the gain pole |y| = {pole_radius(beta):.4g} of g (beta = {beta:g})"
        elif math.isfinite(r_bad) and r_bad <= max_norm:
            why = "became non-finite"
        else:
            why = f"left the ball |y| <= {max_norm:.3g}"
        keep = max(first, 1)
        t_div = float(tt[first])
        return IntegrationResult(
            t=tt[:keep], y=ys[:keep], A=None if As is None else As[:keep], status="diverged",
            message=(f"{int(diverged.sum())} of {N} trajectories diverged; trajectory {k} {why} "
                     f"by t = {t_div:.4g}; results stop at t = {float(tt[keep - 1]):.4g}"),
            nfe=nfe, t_diverged=t_div, diverged=diverged, y_rest=tuple(r[:keep] for r in rest), **common,
        )
    if failure is not None:
        keep = ys.shape[0]
        return IntegrationResult(
            t=tt[:keep], y=ys, A=As, status="failed", message=failure + f"; results stop at t = {float(tt[keep - 1]):.4g}",
            nfe=nfe, diverged=np.zeros(N, dtype=bool), y_rest=rest, **common,
        )
    return IntegrationResult(
        t=tt, y=ys, A=As, status="success",
        message=f"integrated {N} trajectories to t = {float(tt[-1]):.4g} with {method} ({nfe} evaluations)",
        nfe=nfe, diverged=np.zeros(N, dtype=bool), y_rest=rest, **common,
    )
