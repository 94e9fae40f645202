"""Integration of the FHRN ODE, or of any ``nn.Module`` field, with divergence as a result: a front end of
:func:`fhrn_ode.solver.solve` (the one solver core).

One public entry point, :func:`integrate`, returns an :class:`IntegrationResult` (scipy-style:
``status``, ``message``, ``nfe``). A generic field sees its state exactly as written (``(d,)``, ``(N, d)``,
a tuple) and ``y`` comes back as ``(T, *y0.shape)``; no norm bound applies to it unless ``max_norm`` is
given. An FHRN field is integrated on ``(N, d)`` rows (a ``(d,)`` ``y0`` gives ``y`` ``(T, d)``) with its
guards: a trajectory that leaves ``|y| <= max_norm``, becomes non-finite or reaches the gain pole is
stopped on its own (``status = "diverged"``, NaN after its stop). A budget or a solver give-up gives
``"failed"`` with the computed prefix; Ctrl-C raises :class:`IntegrationInterrupted` (a
``KeyboardInterrupt``) whose ``.result`` holds the prefix. Gradients flow to every tensor of the field
that requires grad (direct backprop, or the adjoint with ``adjoint=True``); see docs/api.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._dopri5 import STAGE_MAJOR_METHODS
from ._errors import FHRNInputError, Interrupted, check_int, check_real
from ._states import (COLUMNS_MAX_DIM, FHRNGuard, _check_y0, _Columns, _pick_device, _save_grid, fhrn_A0, fhrn_setup,
                      generic_state, norm_guard)
from .homeostasis import has_pole, pole_radius
from .params import FHRNParams
from . import solver as _solver
from .solver import ADAPTIVE_SOLVERS, FIXED_SOLVERS, SOLVERS, Solution, solve

__all__ = [
    "SOLVERS",
    "ADAPTIVE_SOLVERS",
    "FIXED_SOLVERS",
    "FHRN_MAX_NFE",
    "IntegrationInterrupted",
    "IntegrationResult",
    "integrate",
    "initial_conditions",
]

#: Statuses of an :class:`IntegrationResult` ('interrupted' only on the ``.result`` of
#: :class:`IntegrationInterrupted`, and in the partial files the CLI writes).
STATUSES = ("success", "diverged", "failed", "interrupted")
#: Default bound on |g| for integration (see `max_gain` of :func:`integrate`, docs/performance.md).
MAX_GAIN = 20.0
#: Default evaluation budget of an FHRN field's run (generic fields: no budget unless ``max_nfe`` is given).
FHRN_MAX_NFE = 20_000


@dataclass
class IntegrationResult:
    """Outcome of :func:`integrate`.

    Attributes:
        t: saved times ``(T,)`` (the computed prefix of the requested grid when status is not 'success' or
            'diverged').
        y: states ``(T, *y0.shape)``: ``(T, N, d)`` for an FHRN field given ``(N, d)`` states, ``(T, d)`` for
            one ``(d,)`` state; a generic field's first (or only) state component exactly as torchdiffeq
            returns it. ``y[0]`` is ``y0``.
        A: fast-weight traces ``(T, N, d, d)`` (``(T, d, d)`` for a ``(d,)`` state) or None without memory.
        y0: the initial state (first component), shaped as given.
        W: the operator ``(d, d)`` (detached), or None for a generic (non-FHRN) field.
        status: 'success', 'diverged' (some trajectories blew up or reached the gain pole and were
            stopped; the others reached ``t1``) or 'failed' (the solver gave up or a budget ran out: ``t``
            holds every saved time computed before). 'interrupted' only on the ``.result`` of
            :class:`IntegrationInterrupted`.
        message: one human-readable sentence.
        nfe: number of vector-field evaluations.
        params: the :class:`FHRNParams` used (a snapshot of an FHRN field's values), or None for a
            generic field.
        method, rtol, atol: solver settings (``rtol``/``atol`` are None for fixed-step methods).
        t_diverged: per trajectory (shape ``rows``: ``(N,)``, or ``()`` for a single ``(d,)`` state): the
            first saved time at which it was found diverged (stopped), NaN for the trajectories that
            reached ``t_final``.
        diverged: boolean mask (shape ``rows``) of diverged trajectories. A diverged trajectory is stopped
            on its own, the others go on: its saved states from ``t_diverged`` on are NaN (``y_final``
            gives each trajectory's last kept state).
        y_rest: for a generic field with a tuple state, the saved trajectories ``(T, *y0[i].shape)`` of its
            components after the first (``y`` holds the first); empty otherwise.
        step_size: the step of a fixed-step method, None for adaptive ones.
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
    step_size: float | None = None

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def t_final(self) -> float:
        return float(self.t[-1])

    @property
    def y_final(self) -> torch.Tensor:
        """Each trajectory's last kept state ``(*rows, d)``: at ``t_final``, or just before its ``t_diverged``."""
        idx = self.last_index
        if idx.ndim == 0:
            return self.y[int(idx)]
        rows = tuple(idx.shape)
        flat = self.y.reshape(self.y.shape[0], int(np.prod(rows)), -1)
        last = flat[idx.reshape(-1), torch.arange(flat.shape[1])]
        return last.reshape(rows + tuple(self.y.shape[1 + len(rows):]))

    @property
    def last_index(self) -> torch.Tensor:
        """Index into ``t`` (shape ``rows``) of each trajectory's last kept (finite) saved state."""
        T = self.y.shape[0]
        div = np.asarray(self.diverged, dtype=bool)
        if not div.any():
            return torch.full(div.shape, T - 1, dtype=torch.long)
        t = self.t.detach().cpu().numpy()
        first = np.where(div, np.searchsorted(t, np.nan_to_num(self.t_diverged, nan=np.inf)), T)
        return torch.as_tensor(np.clip(first - 1, 0, T - 1), dtype=torch.long)

    @property
    def first_divergence(self) -> float | None:
        """The earliest ``t_diverged``, or None when no trajectory diverged."""
        return float(np.nanmin(self.t_diverged)) if self.diverged.any() else None

    def solver_dict(self) -> dict[str, Any]:
        """The solver settings and cost: ``method``, ``rtol``, ``atol``, ``nfe``."""
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol, "nfe": self.nfe}


class IntegrationInterrupted(Interrupted):
    """Ctrl-C (or SIGTERM through the CLI) during :func:`integrate`: a ``KeyboardInterrupt`` whose
    ``.result`` is the :class:`IntegrationResult` of the computed prefix (status 'interrupted')."""


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
    rtol: float | None = None,
    atol: float | None = None,
    step_size: float | None = None,
    adjoint: bool = False,
    adjoint_params=None,
    A0=None,
    max_norm: float | None = None,
    max_gain: float | None = MAX_GAIN,
    max_nfe: int | None | str = "default",
    wall_s: float | None = None,
    dtype: torch.dtype | None = None,
    seed: int = 0,
    device=None,
) -> IntegrationResult:
    """Integrate ``dy/dt = f(t, y)`` from ``y0`` through :func:`fhrn_ode.solver.solve`: the FHRN ODE (C 7-9, S1) or any field.

    Args:
        field: one of
            - a matrix ``W*`` ``(d, d)`` (numpy or torch): integrated as ``FHRNField(W, params)``; a torch
              ``W`` that requires grad receives gradients;
            - an :class:`FHRNField` (its own parameters; the trainable ones receive gradients);
            - any ``nn.Module`` (or callable) with ``forward(t, y)`` in torchdiffeq's convention: it receives
              ``y`` exactly as ``y0`` is shaped (a tensor of any shape or a tuple of tensors).
        y0: initial states: ``(N, d)`` or ``(d,)`` for an FHRN field (default: 8 states from
            :func:`initial_conditions` with radius 2 and ``seed``); any tensor/array or tuple for a generic
            field (required).
        params: model parameters when ``field`` is a matrix (default :class:`FHRNParams`).
        t1: final time (> 0) of the saved grid ``linspace(0, t1, n_points)``.
        n_points: number of saved times (>= 2).
        t: explicit strictly increasing saved times (overrides ``t1``/``n_points``).
        method: a torchdiffeq method, one of :data:`SOLVERS`.
        rtol, atol: tolerances of adaptive methods (default 1e-7, 1e-9); refused for fixed-step methods.
        step_size: step of fixed-step methods (default: the smallest save spacing / 10, see
            :func:`fhrn_ode.solver.solve`); refused for adaptive methods.
        adjoint: use ``torchdiffeq.odeint_adjoint`` (memory-efficient gradients w.r.t. ``y0`` and
            ``adjoint_params``).
        adjoint_params: tensors the adjoint method differentiates; default every parameter of the field.
        A0: initial fast-weight traces ``(N, d, d)`` or ``(d, d)`` (default zeros); FHRN field with memory only.
        max_norm: a trajectory with ``|y|`` above it counts as diverged and is stopped. FHRN fields:
            default ``100 * max(1, max |y0|, |c|)``; generic fields: default None, no bound (only
            non-finite states stop a trajectory), else measured on the last axis of the first state
            component (rows ``y0.shape[:-1]``).
        max_gain: FHRN fields with a gain pole (beta >= 1): a trajectory whose gain ``|g(|y|^2)|`` exceeds
            this bound (C 2) counts as having reached the pole and is stopped on its own (default
            :data:`MAX_GAIN` = 20). None: only the pole threshold of :mod:`fhrn_ode.homeostasis`.
        max_nfe: evaluation budget of the forward run; past it: status 'failed' with the computed prefix.
            "default": :data:`FHRN_MAX_NFE` for FHRN fields, no budget for generic fields; None: none.
        wall_s: wall-clock budget in seconds (default None: none).
        dtype: float dtype for a matrix ``field`` (default float64) and for array ``y0``; an
            :class:`FHRNField` uses its own dtype, a generic field keeps the dtype of tensor ``y0``.
        seed: seed for the default ``y0``.
        device: torch device of the solve (``"cpu"``, ``"cuda"``, ``"auto"``, a ``torch.device``). Default:
            the device of tensor ``y0``, else of the field's tensors, else CPU. A matrix field is built there;
            an ``nn.Module`` field must already live there.

    Returns:
        :class:`IntegrationResult` (``W``/``params`` None for a generic field).

    Raises:
        FHRNInputError: any invalid argument (checked before any integration).
        IntegrationInterrupted: Ctrl-C (or SIGTERM through the CLI); ``.result`` holds the computed prefix.
    """
    from .field import FHRNField

    is_fhrn = isinstance(field, FHRNField)
    generic = (isinstance(field, torch.nn.Module) or callable(field)) and not is_fhrn and not isinstance(
        field, (torch.Tensor, np.ndarray))
    if method not in SOLVERS:
        raise FHRNInputError(f"`method` must be one of {', '.join(SOLVERS)}; got {method!r}")
    if method in FIXED_SOLVERS and step_size is not None:
        step_size = check_real("step_size", step_size, low=0.0, low_open=True)
    if max_nfe == "default":
        max_nfe = None if generic else FHRN_MAX_NFE
    max_nfe = None if max_nfe is None else check_int("max_nfe", max_nfe, low=1)
    if (is_fhrn or generic) and params is not None:
        raise FHRNInputError("`params` applies only when `field` is a matrix; an nn.Module field carries its own parameters")
    dev = _pick_device(device, field, y0)
    tt = _save_grid(t, t1, n_points, dtype if dtype is not None else torch.float64, dev)
    kw = dict(method=method, rtol=rtol, atol=atol, step_size=step_size, adjoint=adjoint,
              adjoint_params=adjoint_params, max_nfe=max_nfe, wall_s=wall_s)
    if generic:
        return _integrate_generic(field, y0, tt, dtype, dev, A0, max_norm, kw)
    return _integrate_fhrn(field, y0, tt, params, dtype, dev, A0, max_norm, max_gain, seed, kw)


def _solve(func, state, tt, guard, kw, to_result):
    """:func:`solve`, turning an interrupt's partial :class:`Solution` into :class:`IntegrationInterrupted`."""
    try:
        return solve(func, state, tt, guard=guard, **kw)
    except Interrupted as exc:
        if isinstance(exc, IntegrationInterrupted) or not isinstance(exc.result, Solution):
            raise
        res = to_result(exc.result)
        raise IntegrationInterrupted(res, cause=exc, what=res.message) from exc


def _integrate_generic(field, y0, tt, dtype, dev, A0, max_norm, kw) -> IntegrationResult:
    """A generic field: the state passed through unchanged; no norm bound unless ``max_norm`` is given."""
    if y0 is None:
        raise FHRNInputError("`y0` is required when `field` is a generic nn.Module")
    if A0 is not None:
        raise FHRNInputError("`A0` applies to FHRN fields with memory; pass a generic field's whole state as the tuple `y0`")
    if isinstance(field, torch.nn.Module) and any(
            p.device != dev for p in list(field.parameters()) + list(field.buffers())):
        raise FHRNInputError(f"the field's tensors are not on `device` {dev}; move it with .to(device)")
    state, is_tuple = generic_state(y0, dtype, dev)
    first = state[0] if is_tuple else state
    guard = None
    if max_norm is not None:
        max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
        if float(first.detach().norm(dim=-1).max()) > max_norm:
            raise FHRNInputError(f"`y0` has a state with |y| above `max_norm`={max_norm:g}")
        guard = norm_guard(max_norm)
    tt = tt.to(first.dtype)

    def to_result(sol: Solution) -> IntegrationResult:
        ys = sol.y if is_tuple else (sol.y,)
        div = sol.diverged.numpy()
        msg = sol.message
        if sol.status == "success":
            msg = (f"integrated {div.size} trajector{'y' if div.size == 1 else 'ies'} to t = {sol.t_last:.4g} "
                   f"with {sol.method} ({sol.nfe} evaluations)")
        if sol.status == "diverged":
            why = f"left the ball |y| <= {max_norm:.3g} or became non-finite" if max_norm else "became non-finite"
            msg = (f"{int(div.sum())} of {div.size} trajectories diverged and were stopped (the first {why} by "
                   f"t = {float(np.nanmin(sol.t_diverged.numpy())):.4g}); the others were integrated to "
                   f"t = {sol.t_last:.4g}")
        return IntegrationResult(t=sol.t, y=ys[0], A=None, y0=first, W=None, status=sol.status, message=msg,
                                 nfe=sol.nfe, params=None, method=sol.method, rtol=sol.rtol, atol=sol.atol,
                                 t_diverged=sol.t_diverged.numpy(), diverged=div, y_rest=tuple(ys[1:]),
                                 step_size=sol.step_size)

    return to_result(_solve(field, state, tt, guard, kw, to_result))


def _integrate_fhrn(field, y0, tt, params, dtype, dev, A0, max_norm, max_gain, seed, kw) -> IntegrationResult:
    """An FHRN field on ``(N, d)`` rows with its guards (norm ball, gain pole, ``max_gain``)."""
    func, params, dtype = fhrn_setup(field, params, dtype, dev)
    d = func.dim
    single = y0 is not None and np.ndim(y0.detach() if isinstance(y0, torch.Tensor) else y0) == 1
    y0t = (initial_conditions(8, d, 2.0, seed=seed, dtype=dtype) if y0 is None else _check_y0(y0, d, dtype)).to(dev)
    N = y0t.shape[0]
    if max_norm is None:
        max_norm = 1e2 * max(1.0, float(y0t.detach().norm(dim=-1).max()), float(func.drive.detach().norm()))
    max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
    if max_gain is not None:
        max_gain = check_real("max_gain", max_gain, low=1.0, low_open=True)
    if float(y0t.detach().norm(dim=-1).max()) > max_norm:
        raise FHRNInputError(f"`y0` has a state with |y| above `max_norm`={max_norm:g}")
    if not func.has_memory and A0 is not None:
        raise FHRNInputError("`A0` is only used with memory; set params.memory to 'hebbian' or 'input'")
    A0t = fhrn_A0(A0, N, d, dtype, dev) if func.has_memory else None
    saved = (func.max_norm, func.max_gain, func.max_nfe)
    func.max_norm, func.max_gain, func.max_nfe = max_norm, max_gain, None
    try:
        bad0 = func.bad_mask(y0t)
        beta = func._frozen().beta
        if has_pole(beta) and bool(bad0.any()):
            k = int(torch.nonzero(bad0)[0])
            raise FHRNInputError(f"`y0`[{k}] sits on the gain pole |y| = {pole_radius(beta):.6g} of g (beta={beta:g}); "
                                 "move it off")
        grad = torch.is_grad_enabled() and (y0t.requires_grad or (A0t is not None and A0t.requires_grad) or any(
            p.requires_grad for p in list(func.parameters()) + list(func.buffers()) + list(kw["adjoint_params"] or ())))
        columns = (_solver._STAGE_MAJOR_DOPRI5 and kw["method"] in STAGE_MAJOR_METHODS and not kw["adjoint"] and not grad
                   and A0t is None and d <= COLUMNS_MAX_DIM)
        if not grad:
            func._pin = func._frozen()  # values fixed for the whole solve: no per-call checks
        guard = FHRNGuard(func, columns)
        state = y0t.T.contiguous() if columns else ((y0t, A0t) if A0t is not None else y0t)
        rhs = _Columns(func) if columns else func
        common = dict(W=func.W.detach().clone(), params=params, y0=y0t[0] if single else y0t)

        def to_result(sol: Solution) -> IntegrationResult:
            return _fhrn_result(sol, guard, columns, single, max_norm, common)

        if kw["adjoint"] and kw["adjoint_params"] is None:
            kw = dict(kw, adjoint_params=tuple(p for p in list(func.parameters()) + list(func.buffers())
                                               if p.requires_grad))
        return to_result(_solve(rhs, state, tt, guard, kw, to_result))
    finally:
        func.max_norm, func.max_gain, func.max_nfe = saved
        func._pin = None


def _fhrn_result(sol: Solution, guard, columns: bool, single: bool, max_norm: float, common) -> IntegrationResult:
    """The :class:`IntegrationResult` of an FHRN solve (rows ``(N,)``; squeezed for one ``(d,)`` state)."""
    ys = sol.y if isinstance(sol.y, tuple) else (sol.y,)
    y = ys[0].transpose(1, 2) if columns else ys[0]
    A = ys[1] if len(ys) > 1 else None
    div = sol.diverged.reshape(-1).numpy()
    t_div = sol.t_diverged.reshape(-1).numpy()
    message = sol.message
    if sol.status == "success":
        message = (f"integrated {div.size} trajector{'y' if div.size == 1 else 'ies'} to t = {sol.t_last:.4g} "
                   f"with {sol.method} ({sol.nfe} evaluations)")
    if div.any():
        N = div.size
        k = int(np.nanargmin(np.where(div, t_div, np.inf)))
        why = (f"{int(div.sum())} of {N} trajectories diverged and were stopped (trajectory {k} "
               f"{guard.why(k, max_norm)} by t = {t_div[k]:.4g})")
        message = (why + "; " + sol.message if sol.status != "diverged"
                   else why + f"; the other {N - int(div.sum())} were integrated to t = {sol.t_last:.4g}")
    if single:
        y, A, div, t_div = y[:, 0], None if A is None else A[:, 0], div.reshape(()), t_div.reshape(())
    return IntegrationResult(t=sol.t, y=y, A=A, status=sol.status, message=message, nfe=sol.nfe,
                             method=sol.method, rtol=sol.rtol, atol=sol.atol, t_diverged=t_div, diverged=div,
                             step_size=sol.step_size, **common)
