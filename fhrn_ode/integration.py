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
from ._torchdiffeq import import_torchdiffeq

torchdiffeq = import_torchdiffeq()  # without scipy.integrate (start-up: fhrn_ode/_torchdiffeq.py)
from torchdiffeq._impl.odeint import SOLVERS as _TORCHDIFFEQ_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

from ._dopri5 import odeint_stage_major, partial_solution
from . import _signals
from ._errors import FHRNInputError, check_int, check_real
from ._states import _check_y0, _Columns, _generic_bad, _generic_state, _Guarded
from .field import FHRNField, _EvaluationBudgetExceeded
from .homeostasis import has_pole, pole_radius
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

STATUSES = ("success", "diverged", "failed", "interrupted")
#: Default bound on |g| for integration (see `max_gain` of :func:`integrate`, docs/performance.md).
MAX_GAIN = 20.0
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
        status: 'success', 'diverged' (some trajectories blew up or reached the gain pole and were
            stopped; the others reached ``t1``), 'failed' (the solver gave up or the evaluation budget
            ran out: ``t`` holds every saved time computed before) or 'interrupted' (Ctrl-C/SIGTERM:
            likewise the computed prefix of the time grid).
        message: one human-readable sentence.
        nfe: number of vector-field evaluations.
        params: the :class:`FHRNParams` used (a snapshot of an FHRN field's values), or None for a
            generic field.
        method, rtol, atol: solver settings (``rtol``/``atol`` are None for fixed-step methods).
        t_diverged: ``(N,)`` per trajectory: the first saved time at which it was found diverged
            (stopped), NaN for the trajectories that reached ``t_final``.
        diverged: boolean mask ``(N,)`` of diverged trajectories. A diverged trajectory is stopped on
            its own, the others go on: its saved states from ``t_diverged`` on are NaN (``y_final``
            gives each trajectory's last kept state).
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
    t_diverged: np.ndarray = field(default_factory=lambda: np.zeros(0))
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
        """Each trajectory's last kept state ``(N, d)``: at ``t_final``, or just before its ``t_diverged``."""
        return self.y[self.last_index, torch.arange(self.y.shape[1])]

    @property
    def last_index(self) -> torch.Tensor:
        """``(N,)`` index into ``t`` of each trajectory's last kept (finite) saved state."""
        T = self.y.shape[0]
        if not self.diverged.any():
            return torch.full((self.y.shape[1],), T - 1, dtype=torch.long)
        t = self.t.detach().cpu().numpy()
        first = np.where(self.diverged, np.searchsorted(t, np.nan_to_num(self.t_diverged, nan=np.inf)), T)
        return torch.as_tensor(np.clip(first - 1, 0, T - 1), dtype=torch.long)

    @property
    def first_divergence(self) -> float | None:
        """The earliest ``t_diverged``, or None when no trajectory diverged."""
        return float(np.nanmin(self.t_diverged)) if self.diverged.any() else None

    def solver_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol, "nfe": self.nfe}


def _pick_device(device, field, y0) -> torch.device:
    """The solve's device: ``device`` if given, else tensor ``y0``'s, else the field's, else CPU."""
    if device is not None:
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(device)
        except (TypeError, RuntimeError):
            raise FHRNInputError(f"`device` must be 'cpu', 'cuda', 'auto' or a torch.device, got {device!r}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise FHRNInputError("`device` is 'cuda' but no CUDA GPU is available (torch.cuda.is_available() is False)")
        return dev
    if isinstance(y0, torch.Tensor):
        return y0.device
    if isinstance(y0, (tuple, list)) and y0 and isinstance(y0[0], torch.Tensor):
        return y0[0].device
    if isinstance(field, torch.nn.Module):
        for t in list(field.parameters()) + list(field.buffers()):
            return t.device
    if isinstance(field, torch.Tensor):
        return field.device
    return torch.device("cpu")


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
    max_gain: float | None = MAX_GAIN,
    max_nfe: int = 20_000,
    dtype: torch.dtype | None = None,
    seed: int = 0,
    device=None,
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
        max_gain: FHRN fields with a gain pole (beta >= 1): a trajectory whose gain ``|g(|y|^2)|``
            exceeds this bound, i.e. ``|1 + beta (|y|^2 - 1)| < 1 / max_gain`` (C 2), counts as having
            reached the pole and is stopped on its own (default :data:`MAX_GAIN` = 20). Stopping at a
            finite bound is what keeps the shared step size from collapsing: near the pole the field's
            speed grows like ``g``. None: only the pole threshold of :mod:`fhrn_ode.homeostasis`.
        max_nfe: cap on vector-field evaluations for the whole forward run (default 20 000, a few
            seconds for small batches); past it the run stops with status 'failed', keeping every
            saved time computed before (a stiff or slowly exploding system never hangs the caller).

    Divergence is per trajectory: a trajectory that leaves ``|y| <= max_norm``, becomes non-finite
    or passes ``max_gain`` is frozen (zero derivative) and marked (``diverged``, ``t_diverged``) while
    the others are integrated on to ``t1``. A KeyboardInterrupt (Ctrl-C; the CLI turns SIGTERM into
    one) during the solve returns the computed prefix with status 'interrupted' instead of raising.
        dtype: float dtype for a matrix ``field`` (default float64) and for array ``y0``; an
            :class:`FHRNField` uses its own dtype, a generic field keeps the dtype of tensor ``y0``.
        seed: seed for the default ``y0``.
        device: torch device of the solve (``"cpu"``, ``"cuda"``, a ``torch.device``). Default: the
            device of tensor ``y0``, else of the field's tensors (a module) or of tensor ``W``, else CPU.
            A matrix field is built there; an ``nn.Module`` field must already live there (no silent
            moves of the caller's module: ``field.to(device)``). float32 (``dtype``) needs
            ``rtol >= 1e-6``: its unit round-off (6e-8) makes tighter tolerances meaningless.

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
    dev = _pick_device(device, field, y0)
    if not generic:
        if field is func and any(t.device != dev for t in func._tensors()):
            raise FHRNInputError(f"the FHRNField lives on {func.W.device}, `device` is {dev}; move it with .to(device)")
        func = func.to(dev)
    elif any(t.device != dev for t in list(field.parameters()) + list(field.buffers())):
        raise FHRNInputError(f"the field's tensors are not on `device` {dev}; move it with .to(device)")
    if tdtype == torch.float32 and adaptive and rtol < 1e-6:
        raise FHRNInputError(f"`rtol`={rtol:g} is below the float32 floor 1e-6 (unit round-off 6e-8); "
                             "raise rtol or use float64")
    if t is None:
        t1 = check_real("t1", t1, low=0.0, low_open=True)
        n_points = check_int("n_points", n_points, low=2)
        tt = torch.linspace(0.0, t1, n_points, dtype=tdtype, device=dev)
    else:
        tt = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=tdtype, device=dev)
        if tt.ndim != 1 or tt.numel() < 2 or not torch.isfinite(tt).all() or not bool((tt[1:] > tt[:-1]).all()):
            raise FHRNInputError("`t` must be a 1-D, finite, strictly increasing grid of at least 2 times")

    if generic:
        if y0 is None:
            raise FHRNInputError("`y0` is required when `field` is a generic nn.Module")
        if A0 is not None:
            raise FHRNInputError("`A0` applies to FHRN fields with memory; pass a generic field's whole state as the tuple `y0`")
        comps0, is_tuple = _generic_state(y0, dtype)
        comps0 = tuple(c.to(dev) for c in comps0)
        y0t = comps0[0]
        c_norm = 0.0
    else:
        d = func.dim
        y0t = (initial_conditions(8, d, 2.0, seed=seed, dtype=dtype) if y0 is None else _check_y0(y0, d, dtype)).to(dev)
        c_norm = float(func.drive.detach().norm())
    N = y0t.shape[0]
    if max_norm is None:
        max_norm = 1e2 * max(1.0, float(y0t.detach().norm(dim=-1).max()), c_norm)
    max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
    if max_gain is not None:
        max_gain = check_real("max_gain", max_gain, low=1.0, low_open=True)
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
        if has_pole(beta) and bool(bad0.any()):
            func.max_norm = saved[0]
            k = int(torch.nonzero(bad0)[0])
            raise FHRNInputError(
                f"`y0`[{k}] sits on the gain pole |y| = {pole_radius(beta):.6g} of g (beta={beta:g}); move it off"
            )
        if func.has_memory:
            if A0 is None:
                A0t = torch.zeros(N, d, d, dtype=dtype, device=dev)
            else:
                A0t = (A0.to(dtype) if isinstance(A0, torch.Tensor)
                       else torch.as_tensor(np.asarray(A0, dtype=np.float64), dtype=dtype)).to(dev)
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
        saved_gain = func.max_gain
        func.max_gain = max_gain
        func.max_nfe = nfe0 + max_nfe
    try:
        return _run(rhs_mod, counter, nfe0, grad_source, comps0, is_tuple, tt, generic=generic, params=params,
                    method=method, adaptive=adaptive, rtol=rtol, atol=atol, step_size=step_size, adjoint=adjoint,
                    adjoint_params=adjoint_params, max_norm=max_norm)
    finally:
        counter.max_nfe = None  # no budget during a later backward pass (adjoint)
        if not generic:
            func.max_norm, func.max_nfe = saved
            func.max_gain = saved_gain if "saved_gain" in locals() else func.max_gain
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
    """Solve chunk after chunk of the saved grid; diverged rows are frozen and marked, the others go on.

    A failure, an exhausted budget or an interrupt ends the loop; the saved times computed before it
    are kept (inside the failing chunk too, on the stage-major path: :func:`partial_solution`).
    """
    fhrn = None if generic else counter
    failure: str | None = None
    status = "failed"
    # Integrate in a few chunks of the saved grid so a run that fails late keeps what it computed.
    T = tt.numel()
    bounds = np.unique(np.linspace(0, T - 1, min(T - 1, _N_CHUNKS) + 1).round().astype(int))
    for a, b in zip(bounds[:-1], bounds[1:]):
        try:
            with torch.set_grad_enabled(adjoint or torch.is_grad_enabled()):
                sol = solve(rhs, state, tt[a:b + 1], **kwargs)
        except KeyboardInterrupt as exc:
            _signals.caught()  # handled here: the CLI's signal handler stops re-raising it
            sol, status = partial_solution(exc), "interrupted"
            failure = f"interrupted after t = {float(tt[a]):.4g}"
        except _EvaluationBudgetExceeded as exc:
            sol = partial_solution(exc)
            failure = (f"stopped after {counter.nfe - nfe0 - 1} evaluations (max_nfe) at t = {exc.t:.4g} of "
                       f"[{float(tt[0]):.4g}, {float(tt[-1]):.4g}]: the system is stiff or slowly diverging "
                       f"(max |y| {exc.max_norm:.3g}); raise max_nfe or shorten t1")
        except (AssertionError, RuntimeError) as exc:  # torchdiffeq reports give-ups by assertion
            sol = partial_solution(exc)
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failure = f"the {method} solver gave up after t = {float(tt[a]):.4g}: {why}"
        if sol is not None and (sol[0] if isinstance(sol, tuple) else sol).shape[0] > 1:
            if columns:
                new = (sol[1:].transpose(1, 2),)
                state = sol[-1]
            else:
                sols = sol if is_tuple else (sol,)
                new = tuple(s[1:] for s in sols)
                state = tuple(s[-1] for s in sols) if is_tuple else sols[0][-1]
            for p, n in zip(parts, new):
                p.append(n)
            bad_tn = torch.cat([bad_tn, bad_rows(new)])
        if failure is not None:
            break
    full = [torch.cat(p) for p in parts]
    keep = full[0].shape[0]
    tk = tt[:keep]
    nfe = counter.nfe - nfe0
    diverged = bad_tn.any(dim=0).cpu().numpy()
    t_div = np.full(N, np.nan)
    why = ""
    if diverged.any():
        first = torch.where(bad_tn.any(0), bad_tn.to(torch.int8).argmax(0), torch.full((N,), keep)).cpu().numpy()
        t_div[diverged] = tk.detach().cpu().numpy()[first[diverged]]
        k = int(np.argmin(np.where(diverged, first, keep)))
        y_bad = full[0][first[k], k].detach()
        r_bad = float(y_bad.norm()) if torch.isfinite(y_bad).all() else math.inf
        beta = 0.0 if generic else fhrn._frozen().beta
        if has_pole(beta) and math.isfinite(r_bad) and r_bad <= max_norm:
            why = f"reached the gain pole |y| = {pole_radius(beta):.4g} of g (beta = {beta:g}, |g| > max_gain)"
        elif math.isfinite(r_bad) and r_bad <= max_norm:
            why = "became non-finite"
        else:
            why = f"left the ball |y| <= {max_norm:.3g}"
        # a stopped trajectory keeps its states before t_diverged; NaN from there on (y0 always kept)
        idx = torch.arange(keep)[:, None]
        after = (idx >= torch.as_tensor(np.maximum(first, 1))[None, :])  # (keep, N)
        full = [torch.where(after.reshape(after.shape + (1,) * (f.ndim - 2)), torch.full_like(f, float("nan")), f)
                for f in full]
        why = (f"{int(diverged.sum())} of {N} trajectories diverged and were stopped (trajectory {k} {why} by "
               f"t = {t_div[k]:.4g}); ")
    ys = full[0]
    As = full[1] if (not generic and len(full) > 1) else None
    rest = tuple(full[1:]) if generic else ()
    res = dict(t=tk, y=ys, A=As, nfe=nfe, t_diverged=t_div, diverged=diverged, y_rest=rest, **common)
    if failure is not None:
        return IntegrationResult(status=status, message=why + failure + f"; results stop at t = {float(tk[-1]):.4g}",
                                 **res)
    if diverged.any():
        return IntegrationResult(status="diverged", message=why + f"the other {N - int(diverged.sum())} were "
                                 f"integrated to t = {float(tk[-1]):.4g}", **res)
    return IntegrationResult(
        status="success",
        message=f"integrated {N} trajectories to t = {float(tt[-1]):.4g} with {method} ({nfe} evaluations)", **res)
