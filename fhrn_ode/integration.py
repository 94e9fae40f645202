"""Integration of the FHRN ODE on torchdiffeq (docs/model.md §1), with divergence as a result.

One public entry point, :func:`integrate`, returns an :class:`IntegrationResult` (scipy-style:
``status``, ``message``, ``nfe``). A trajectory that blows up (``|y|`` beyond ``max_norm``),
reaches the gain pole, or makes the solver give up stops cleanly: the result then carries
``status = "diverged"`` (or ``"failed"``) and the time, and its arrays stop before the
first bad saved time, so they never hold NaN.
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
from .field import FHRNField, _EvaluationBudgetExceeded
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


class _Columns(torch.nn.Module):
    """The field on states stored as columns ``(d, N)`` (FHRNField._forward_columns)."""

    def __init__(self, field: FHRNField) -> None:
        super().__init__()
        self.field = field

    def forward(self, t, yT):
        return self.field._forward_columns(t, yT)


@dataclass
class IntegrationResult:
    """Outcome of :func:`integrate`.

    Attributes:
        t: saved times ``(T,)``.
        y: states ``(T, N, d)``; ``y[0]`` is ``y0``.
        A: fast-weight traces ``(T, N, d, d)`` or None without memory.
        y0: initial states ``(N, d)``.
        W: the operator ``(d, d)``.
        status: 'success', 'diverged' (a trajectory blew up or hit the gain pole) or 'failed'
            (the solver gave up).
        message: one human-readable sentence.
        nfe: number of vector-field evaluations.
        params: the :class:`FHRNParams` used.
        method, rtol, atol: solver settings (``rtol``/``atol`` are None for fixed-step methods).
        t_diverged: first saved time at which some trajectory had diverged, else None.
        diverged: boolean mask ``(N,)`` of diverged trajectories.
    """

    t: torch.Tensor
    y: torch.Tensor
    A: torch.Tensor | None
    y0: torch.Tensor
    W: torch.Tensor
    status: str
    message: str
    nfe: int
    params: FHRNParams
    method: str
    rtol: float | None
    atol: float | None
    t_diverged: float | None = None
    diverged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

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
    n = check_int("n_init", n, low=1)
    dim = check_int("dim", dim, low=1)
    radius = check_real("init_radius", radius, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    u = rng.standard_normal((n, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = radius * np.arange(1, n + 1) / n
    return torch.as_tensor(u * r[:, None], dtype=dtype)


def _check_y0(y0, d: int, dtype: torch.dtype) -> torch.Tensor:
    """Validate ``y0``; a tensor keeps its autograd graph (for gradients w.r.t. initial states)."""
    if isinstance(y0, torch.Tensor):
        y = y0.to(dtype)
    else:
        try:
            y = torch.as_tensor(np.asarray(y0, dtype=np.float64), dtype=dtype)
        except (TypeError, ValueError):
            raise FHRNInputError(f"`y0` must be a real array of shape (N, {d}), got {type(y0).__name__}") from None
    if y.ndim == 1:
        y = y.unsqueeze(0)
    if y.ndim != 2 or y.shape[1] != d:
        raise FHRNInputError(f"`y0` must have shape (N, {d}) or ({d},) to match W, got {tuple(np.shape(y0))}")
    if y.shape[0] == 0:
        raise FHRNInputError("`y0` must hold at least one initial state, got 0")
    if not bool(torch.isfinite(y.detach()).all()):
        raise FHRNInputError("`y0` must be finite; it has NaN/inf entries")
    return y


def integrate(
    W,
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
    A0=None,
    max_norm: float | None = None,
    max_nfe: int = 100_000,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> IntegrationResult:
    """Integrate the FHRN ODE (C 7-9, S1) from ``y0`` with a torchdiffeq solver.

    Args:
        W: reentry operator ``W*`` ``(d, d)``.
        y0: initial states ``(N, d)`` or ``(d,)``; default: 8 states from
            :func:`initial_conditions` with radius 2 and ``seed``.
        params: model parameters (default :class:`FHRNParams`).
        t1: final time (> 0) of the saved grid ``linspace(0, t1, n_points)``.
        n_points: number of saved times (>= 2).
        t: explicit increasing saved times (overrides ``t1``/``n_points``).
        method: a torchdiffeq method, one of :data:`SOLVERS`.
        rtol, atol: tolerances of adaptive methods (> 0).
        step_size: step of fixed-grid methods (default: the saved-grid spacing); refused for
            adaptive methods.
        adjoint: use ``torchdiffeq.odeint_adjoint`` (memory-efficient gradients w.r.t. parameters).
        A0: initial fast-weight traces ``(N, d, d)`` (default zeros); only with memory.
        max_norm: a trajectory with ``|y|`` above it counts as diverged (default
            ``100 * max(1, max |y0|, |c|)``).
        max_nfe: cap on vector-field evaluations for the whole run; past it the run stops with
            status 'failed' (a stiff or slowly exploding system never hangs the caller).
        dtype: float dtype (float64 by default).
        seed: seed for the default ``y0``.

    Returns:
        :class:`IntegrationResult`.

    Raises:
        FHRNInputError: any invalid argument (checked before any integration).
    """
    params = FHRNParams() if params is None else params
    if not isinstance(params, FHRNParams):
        raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
    Wn = check_matrix(W, "W")
    d = Wn.shape[0]
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
    if t is None:
        t1 = check_real("t1", t1, low=0.0, low_open=True)
        n_points = check_int("n_points", n_points, low=2)
        tt = torch.linspace(0.0, t1, n_points, dtype=dtype)
    else:
        tt = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=dtype)
        if tt.ndim != 1 or tt.numel() < 2 or not torch.isfinite(tt).all() or not bool((tt[1:] > tt[:-1]).all()):
            raise FHRNInputError("`t` must be a 1-D, finite, strictly increasing grid of at least 2 times")
    if y0 is None:
        y0t = initial_conditions(8, d, 2.0, seed=seed, dtype=dtype)
    else:
        y0t = _check_y0(y0, d, dtype)
    N = y0t.shape[0]
    c = np.asarray(params.drive_vector(d))
    if max_norm is None:
        max_norm = 1e2 * max(1.0, float(y0t.detach().norm(dim=-1).max()), float(np.linalg.norm(c)))
    max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
    if float(y0t.detach().norm(dim=-1).max()) > max_norm:
        raise FHRNInputError(f"`y0` has a state with |y| above `max_norm`={max_norm:g}")
    func = FHRNField(Wn, params, dtype=dtype, max_norm=max_norm)
    if params.beta > 1.0 and bool(func.bad_mask(y0t.detach()).any()):
        k = int(torch.nonzero(func.bad_mask(y0t.detach()))[0])
        raise FHRNInputError(
            f"`y0`[{k}] sits on the gain pole |y| = {params.pole_radius:.6g} of g (beta={params.beta:g}); move it off"
        )
    if func.has_memory:
        if A0 is None:
            A0t = torch.zeros(N, d, d, dtype=dtype)
        else:
            A0t = torch.as_tensor(np.asarray(A0, dtype=np.float64), dtype=dtype)
            if A0t.ndim == 2:
                A0t = A0t.expand(N, d, d).clone()
            if tuple(A0t.shape) != (N, d, d) or not torch.isfinite(A0t).all():
                raise FHRNInputError(f"`A0` must be finite with shape ({N}, {d}, {d}) or ({d}, {d}); got {tuple(A0t.shape)}")
        state0: Any = (y0t, A0t)
    else:
        if A0 is not None:
            raise FHRNInputError("`A0` is only used with memory; set params.memory to 'hebbian' or 'input'")
        state0 = y0t

    options: dict[str, Any] = {}
    if not adaptive and step_size is not None:
        options["step_size"] = step_size
    solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    kwargs: dict[str, Any] = dict(method=method, options=options)
    if adaptive:
        kwargs.update(rtol=rtol, atol=atol)
    if adjoint:
        kwargs["adjoint_params"] = tuple(func.parameters())
    func.max_nfe = max_nfe
    columns = False
    rhs: Any = func
    if (_STAGE_MAJOR_DOPRI5 and method == "dopri5" and not adjoint
            and not (torch.is_grad_enabled() and y0t.requires_grad)):
        solve = odeint_stage_major
        kwargs = dict(rtol=rtol, atol=atol, options=options)
        # small d without memory: integrate the states as columns (d, N), see FHRNField._forward_columns
        columns = not func.has_memory and d <= _COLUMNS_MAX_DIM
        if columns:
            rhs = _Columns(func)

    common = dict(W=torch.as_tensor(Wn, dtype=dtype), params=params, method=method,
                  rtol=rtol if adaptive else None, atol=atol if adaptive else None, y0=y0t)
    # Integrate in a few chunks of the saved grid so a run that fails late keeps what it computed.
    T = tt.numel()
    bounds = np.unique(np.linspace(0, T - 1, min(T - 1, _N_CHUNKS) + 1).round().astype(int))
    ys_parts, As_parts = [y0t.unsqueeze(0)], ([state0[1].unsqueeze(0)] if func.has_memory else None)
    state = state0.T.contiguous() if columns else state0
    failure: str | None = None
    bad_tn = func.bad_mask(y0t).unsqueeze(0)
    for a, b in zip(bounds[:-1], bounds[1:]):
        try:
            with torch.set_grad_enabled(adjoint or torch.is_grad_enabled()):
                sol = solve(rhs, state, tt[a:b + 1], **kwargs)
        except _EvaluationBudgetExceeded as exc:
            failure = (f"stopped after {func.nfe} evaluations (max_nfe) at t = {exc.t:.4g} of "
                       f"[{float(tt[0]):.4g}, {float(tt[-1]):.4g}]: the system is stiff or slowly diverging "
                       f"(max |y| {exc.max_norm:.3g}); raise max_nfe or shorten t1")
            break
        except (AssertionError, RuntimeError) as exc:  # torchdiffeq reports give-ups by assertion
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failure = f"the {method} solver gave up after t = {float(tt[a]):.4g}: {why}"
            break
        y_new = sol[0][1:] if func.has_memory else (sol[1:].transpose(1, 2) if columns else sol[1:])
        ys_parts.append(y_new)
        bad = func.bad_mask(y_new)
        if func.has_memory:
            A_new = sol[1][1:]
            As_parts.append(A_new)
            bad = bad | ~torch.isfinite(A_new.flatten(2)).all(-1)
            state = (y_new[-1], A_new[-1])
        else:
            state = sol[-1] if columns else y_new[-1]
        bad_tn = torch.cat([bad_tn, bad])
        if bool(bad.any()):
            break
    ys = torch.cat(ys_parts)
    As = None if As_parts is None else torch.cat(As_parts)
    if bool(bad_tn.any()):
        first = int(torch.nonzero(bad_tn.any(dim=1))[0])
        diverged = bad_tn.any(dim=0).cpu().numpy()
        k = int(np.nonzero(bad_tn[first].cpu().numpy())[0][0])
        r_bad = float(ys[first, k].norm()) if torch.isfinite(ys[first, k]).all() else math.inf
        if params.beta > 1.0 and math.isfinite(r_bad) and r_bad <= max_norm:
            why = f"reached the gain pole |y| = {params.pole_radius:.4g} of g (beta = {params.beta:g})"
        else:
            why = f"left the ball |y| <= {max_norm:.3g}"
        keep = max(first, 1)
        t_div = float(tt[first])
        return IntegrationResult(
            t=tt[:keep], y=ys[:keep], A=None if As is None else As[:keep], status="diverged",
            message=(f"{int(diverged.sum())} of {N} trajectories diverged; trajectory {k} {why} "
                     f"by t = {t_div:.4g}; results stop at t = {float(tt[keep - 1]):.4g}"),
            nfe=func.nfe, t_diverged=t_div, diverged=diverged, **common,
        )
    if failure is not None:
        keep = ys.shape[0]
        return IntegrationResult(
            t=tt[:keep], y=ys, A=As, status="failed", message=failure + f"; results stop at t = {float(tt[keep - 1]):.4g}",
            nfe=func.nfe, diverged=np.zeros(N, dtype=bool), **common,
        )
    return IntegrationResult(
        t=tt, y=ys, A=As, status="success",
        message=f"integrated {N} trajectories to t = {float(tt[-1]):.4g} with {method} ({func.nfe} evaluations)",
        nfe=func.nfe, diverged=np.zeros(N, dtype=bool), **common,
    )
