"""Whole parameter sweeps in one call: P parameter sets x N initial states solved as ONE batch.

:func:`integrate_sweep` integrates the FHRN field (docs/model.md §1, C 7-8 with the gain C 2; no
memory) for ``P`` parameter sets at once: any of ``gamma``, ``kappa``, ``beta``, ``leak``, ``theta``
and the drive ``c`` given per set (length-``P`` arrays, scalars broadcast), and ``W*`` either one
``(d, d)`` matrix or a ``(P, d, d)`` stack. The state is ``(P, N, d)``: every set starts from the same
``N`` initial states (``y0`` ``(N, d)``) or from its own (``(P, N, d)``). The vector field of set ``p``
is exactly the one :class:`fhrn_ode.FHRNField` evaluates for that set's parameters
(:func:`fhrn_ode.field.fhrn_velocity`, one home for the formula).

**Error control** (``error_control``): the batch shares one step size (that is what makes it one
solve). ``"group"`` (default) accepts a step only when every parameter set meets the criterion it
would meet in a call of its own: the error norm is the largest of the per-set rms norms
(:class:`fhrn_ode._dopri5.GroupRMSNorm`), so no set is integrated more loosely than by a separate
:func:`fhrn_ode.integrate` call at the same ``rtol``/``atol``; the sets then share the step size of
the hardest one (tests/core/test_speed_sweep.py checks the results against separate calls to 1e-6).
``"shared"`` uses torchdiffeq's rms norm over the whole batch (cheaper, but one set's error may then
exceed what its own call would allow by up to ``sqrt(P)``).

Divergence: a trajectory that leaves ``|y| <= max_norm``, becomes non-finite or comes within the
pole guard of the gain (or passes ``max_gain``) is frozen (zero derivative, as :class:`FHRNField` does) and marked; the others
go on to ``t1``. Its saved states after its stop time are NaN and ``t_diverged[p, n]`` is the first
saved time at which it was bad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch

from ._dopri5 import GroupRMSNorm
from ._errors import FHRNInputError, Interrupted, check_choice, check_int, check_real
from .field import fhrn_velocity
from .homeostasis import POLE_THRESHOLD, gain_denominator, has_pole
from .integration import MAX_GAIN, initial_conditions
from .operators import check_matrix
from .params import FHRNParams
from .solver import Solution, solve

__all__ = ["SweepField", "SweepResult", "integrate_sweep", "parse_grid", "SWEEP_PARAMETERS"]

#: Scalar parameters that may vary across the sets of a sweep (plus ``drive`` and the ``W`` stack).
SWEEP_PARAMETERS = ("gamma", "kappa", "beta", "leak", "theta")


def parse_grid(spec: str, name: str = "grid") -> np.ndarray:
    """``"a:b:n"`` -> ``linspace(a, b, n)``; ``"v1,v2,..."`` -> those values; ``"v"`` -> ``[v]``.

    Raises:
        FHRNInputError: malformed text, non-finite values, or ``n < 1``.
    """
    text = str(spec).strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1 or n > 1_000_000:
                raise FHRNInputError(f"`{name}` {spec!r}: the count n of a:b:n must be in [1, 1000000], got {n}")
            vals = np.linspace(a, b, n)
        else:
            vals = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise FHRNInputError(f"`{name}` must be 'a:b:n' (n values from a to b) or 'v1,v2,...', got {spec!r}") from None
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise FHRNInputError(f"`{name}` {spec!r} must give finite values")
    return vals


class SweepField(torch.nn.Module):
    """The FHRN field for ``P`` parameter sets at once, on states stored as ``(d, P, N)``.

    Component-major, because reductions and broadcasts over a trailing axis of length ``d = 2`` are
    slow paths in torch (a ``(P, N, 2)`` layout was ~10x slower per evaluation), and so that a shared
    ``W*`` is one ``(d, d) @ (d, P N)`` product (a ``(P, d, d)`` stack is one batched product). No memory,
    no autograd.

    Args:
        W: ``(P, d, d)`` operators (one per set).
        values: dict of per-set tensors ``(P,)`` for :data:`SWEEP_PARAMETERS` and ``drive`` ``(P, d)``.
        max_norm: rows with ``|y| > max_norm`` (or non-finite, or on the gain pole) are frozen.
    """

    freezes_rows = True  # frozen in forward (solver.solve does not wrap it again)
    float_t = True  # autonomous: the stage-major solver may pass t as a Python float (fhrn_ode/_dopri5.py)

    def __init__(self, W: torch.Tensor, values: dict[str, torch.Tensor], max_norm: float) -> None:
        super().__init__()
        P = W.shape[0]
        self._shared_W = bool((W == W[:1]).all())
        self.register_buffer("W", W[0].contiguous() if self._shared_W else W.contiguous())
        for k in SWEEP_PARAMETERS:
            v = values[k]
            self.register_buffer(k, v[:1].reshape(1, 1, 1) if bool((v == v[0]).all()) else v.reshape(1, P, 1))
        self.register_buffer("drive", values["drive"].mT.reshape(-1, P, 1))
        self._has_drive = bool((values["drive"] != 0).any())
        self._has_gain = bool((values["beta"] != 0).any())
        self._pole = has_pole(values["beta"])
        self.max_norm = float(max_norm)
        self.max_gain: float | None = None
        self.nfe = 0

    def bad_mask(self, y: torch.Tensor) -> torch.Tensor:
        """``(..., P, N)`` mask of states ``y`` ``(..., P, N, d)`` (rows) that are non-finite, beyond
        ``max_norm`` or on the gain pole."""
        return self._bad_r2((y * y).sum(-1), self.beta.reshape(-1, 1))

    def _Wy(self, y: torch.Tensor) -> torch.Tensor:
        d, P, N = y.shape
        if self._shared_W:
            return torch.mm(self.W, y.reshape(d, P * N)).view(d, P, N)
        return torch.bmm(self.W, y.transpose(0, 1)).transpose(0, 1)  # (P, d, d) @ (P, d, N)

    def _bad_r2(self, r2: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        bad = ~(r2 <= self.max_norm ** 2)
        if self._pole:
            thr = POLE_THRESHOLD if self.max_gain is None else max(POLE_THRESHOLD, 1.0 / self.max_gain)
            bad = bad | ((beta >= 1) & (gain_denominator(r2, beta).abs() < thr))  # has_pole, per set
        return bad

    def forward(self, t, y):
        self.nfe += 1
        r2 = (y * y).sum(0, keepdim=True)  # (1, P, N)
        out = fhrn_velocity(y, self._Wy(y), r2, gamma=self.gamma, kappa=self.kappa, theta=self.theta,
                            leak=self.leak, beta=self.beta if self._has_gain else None,
                            drive=self.drive if self._has_drive else None)
        if not float(r2.max()) <= self.max_norm ** 2 or self._pole:
            bad = self._bad_r2(r2, self.beta)
            if bool(bad.any()):
                out = torch.where(bad, torch.zeros_like(out), out)
        return out


@dataclass
class SweepResult:
    """Outcome of :func:`integrate_sweep`.

    Attributes:
        t: saved times ``(T,)``.
        y: states ``(T, P, N, d)``; NaN after a diverged trajectory's stop time.
        y0: initial states ``(P, N, d)``.
        values: the per-set parameters actually used, ``{name: (P,) array}`` (``drive``: ``(P, d)``).
        W: ``(P, d, d)``.
        status: 'success' (all reached ``t1``), 'diverged' (some were stopped, the others reached ``t1``),
            'failed' (the solver gave up or ``max_nfe`` ran out; ``t`` stops at the last saved time computed);
            'interrupted' only on the ``.result`` of the :class:`fhrn_ode._errors.Interrupted` a Ctrl-C raises.
        message, nfe, method, rtol, atol, error_control: as named.
        diverged: ``(P, N)`` mask; t_diverged: ``(P, N)`` first bad saved time, NaN where none.
        set_status: per set: 'success', 'diverged', 'failed' (its own solve failed: its budget ran out or
            the solver gave up; its states after its last computed time are NaN) or 'interrupted'.
        set_message: per set: why it failed ('' for the others).
    """

    t: torch.Tensor
    y: torch.Tensor
    y0: torch.Tensor
    values: dict[str, np.ndarray]
    W: torch.Tensor
    status: str
    message: str
    nfe: int
    rtol: float
    atol: float
    error_control: str
    diverged: np.ndarray = dc_field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    t_diverged: np.ndarray = dc_field(default_factory=lambda: np.zeros((0, 0)))
    method: str = "dopri5"
    set_status: list = dc_field(default_factory=list)
    set_message: list = dc_field(default_factory=list)

    @property
    def t_final(self) -> float:
        return float(self.t[-1])

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (no trajectories)."""
        return dict(status=self.status, message=self.message, nfe=self.nfe, t_final=self.t_final,
                    n_sets=int(self.y0.shape[0]), n_init=int(self.y0.shape[1]), dim=int(self.y0.shape[2]),
                    error_control=self.error_control, rtol=self.rtol, atol=self.atol, method=self.method,
                    values={k: np.asarray(v).tolist() for k, v in self.values.items()},
                    diverged=self.diverged.tolist(), set_status=list(self.set_status),
                    set_message=list(self.set_message),
                    t_diverged=[[None if not math.isfinite(x) else float(x) for x in row] for row in self.t_diverged])


def _per_set(name: str, v, default: float, P: int | None) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(default if v is None else v, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise FHRNInputError(f"`{name}` must be a finite scalar or 1-D array of per-set values, got shape {arr.shape}")
    return arr


def integrate_sweep(W, y0=None, *, params: FHRNParams | None = None, gamma=None, kappa=None, beta=None, leak=None,
                    theta=None, drive=None, t1: float = 20.0, n_points: int = 401, rtol: float = 1e-7,
                    atol: float = 1e-9, error_control: str = "group", max_norm: float | None = None,
                    max_gain: float | None = MAX_GAIN, max_nfe: int = 100_000, seed: int = 0,
                    device=None) -> SweepResult:
    """Integrate the FHRN ODE for ``P`` parameter sets x ``N`` initial states as one batch (dopri5).

    Args:
        W: ``(d, d)`` (shared) or ``(P, d, d)`` (one per set).
        y0: ``(N, d)`` shared by every set, or ``(P, N, d)``; default 8 states of
            :func:`fhrn_ode.integrate`'s default family (radius 2, ``seed``).
        params: base values (default :class:`FHRNParams`; memory must be 'none').
        gamma, kappa, beta, leak, theta: per-set values, scalars or length-``P`` arrays (override ``params``).
        drive: per-set drive: scalar, ``(P,)`` (the same value in every component) or ``(P, d)``.
        t1, n_points: saved grid ``linspace(0, t1, n_points)``.
        rtol, atol: dopri5 tolerances. error_control: 'group' or 'shared' (module docstring).
        max_norm: divergence bound on ``|y|`` (default ``100 max(1, max|y0|, max|c|)``).
        max_gain: sets with a gain pole (``beta >= 1``): a trajectory with ``|g| > max_gain`` is stopped (as in
            :func:`fhrn_ode.integrate`).
        max_nfe: evaluation budget of each set: the sets are solved as one batch; when that batch fails
            (budget spent, the solver gave up), it is split in halves, each solved again with the full
            budget, down to single sets, so one stiff set fails alone (``set_status``/``set_message``) and
            the others keep their results (a failing set costs up to ``log2 P + 1`` budgets; the re-solves
            of one level of the split hold each set at most once, so they do at most ``ceil(log2 P)`` times
            the work of the first solve).
        device: torch device (default: ``W``'s if it is a tensor, else CPU).

    Returns:
        :class:`SweepResult`.

    Raises:
        FHRNInputError: bad shapes or values, inconsistent ``P``, memory in ``params``.
        fhrn_ode._errors.Interrupted: Ctrl-C (SIGTERM through the CLI); ``.result`` is the
            :class:`SweepResult` of the computed prefix.
    """
    params = FHRNParams() if params is None else params
    if not isinstance(params, FHRNParams):
        raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
    if params.memory != "none":
        raise FHRNInputError("`integrate_sweep` integrates the field without memory; params.memory must be 'none'")
    error_control = check_choice("error_control", error_control, ("group", "shared"))
    rtol = check_real("rtol", rtol, low=0.0, low_open=True)
    atol = check_real("atol", atol, low=0.0, low_open=True)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    n_points = check_int("n_points", n_points, low=2)
    max_nfe = check_int("max_nfe", max_nfe, low=1)
    if device is None:
        device = W.device if isinstance(W, torch.Tensor) else torch.device("cpu")
    Wn = W.detach().cpu().numpy() if isinstance(W, torch.Tensor) else np.asarray(W, dtype=np.float64)
    if Wn.ndim == 3:
        if Wn.shape[0] == 0:
            raise FHRNInputError("`W` stack must hold at least one matrix")
        Ws = np.stack([check_matrix(w, f"W[{i}]") for i, w in enumerate(Wn)])
    else:
        Ws = check_matrix(Wn, "W")[None]
    d = Ws.shape[-1]
    vals = {k: _per_set(k, v, getattr(params, k), None) for k, v in
            zip(SWEEP_PARAMETERS, (gamma, kappa, beta, leak, theta))}
    if drive is None:
        c = np.asarray(params.drive_vector(d), dtype=np.float64)[None]
    else:
        c = np.asarray(drive, dtype=np.float64)
        c = c.reshape(-1, 1) * np.ones((1, d)) if c.ndim <= 1 else c
        if c.ndim != 2 or c.shape[1] != d or not np.all(np.isfinite(c)):
            raise FHRNInputError(f"`drive` must be a finite scalar, (P,) or (P, {d}) array, got shape {np.shape(drive)}")
    sizes = {k: v.size for k, v in vals.items()} | {"W": Ws.shape[0], "drive": c.shape[0]}
    P = max(sizes.values())
    wrong = {k: n for k, n in sizes.items() if n not in (1, P)}
    if wrong:
        raise FHRNInputError(f"per-set arguments must have length 1 or P = {P}; got " +
                             ", ".join(f"`{k}` of length {n}" for k, n in wrong.items()))
    vals = {k: np.broadcast_to(v, (P,)).copy() for k, v in vals.items()}
    for k, low in (("kappa", 0.0), ("beta", 0.0), ("leak", 0.0)):
        if (vals[k] < low).any():
            raise FHRNInputError(f"`{k}` must be >= {low:g} for every set, got min {vals[k].min():g}")
    if (vals["theta"] <= 0).any():
        raise FHRNInputError(f"`theta` must be > 0 for every set, got min {vals['theta'].min():g}")
    Ws = np.broadcast_to(Ws, (P, d, d)).copy()
    c = np.broadcast_to(c, (P, d)).copy()
    vals["drive"] = c

    dt = torch.float64
    if y0 is None:
        y0t = initial_conditions(8, d, 2.0, seed=seed).expand(P, -1, -1)
    else:
        y0t = torch.as_tensor(y0.detach().cpu().numpy() if isinstance(y0, torch.Tensor) else np.asarray(y0, dtype=np.float64),
                              dtype=dt)
        if y0t.ndim == 2:
            y0t = y0t.expand(P, -1, -1)
        if y0t.ndim != 3 or y0t.shape[0] != P or y0t.shape[2] != d or y0t.shape[1] == 0:
            raise FHRNInputError(f"`y0` must have shape (N, {d}) or ({P}, N, {d}), got {tuple(np.shape(y0))}")
        if not bool(torch.isfinite(y0t).all()):
            raise FHRNInputError("`y0` must be finite; it has NaN/inf entries")
    y0t = y0t.contiguous().to(device)
    N = y0t.shape[1]
    if max_norm is None:
        max_norm = 1e2 * max(1.0, float(y0t.norm(dim=-1).max()), float(np.linalg.norm(c, axis=1).max()))
    max_norm = check_real("max_norm", max_norm, low=0.0, low_open=True)
    tvals = {k: torch.as_tensor(v, dtype=dt, device=device) for k, v in vals.items()}
    fieldm = SweepField(torch.as_tensor(Ws, dtype=dt, device=device), tvals, max_norm)
    if bool(fieldm.bad_mask(y0t).any()):
        p, n = (int(i) for i in torch.nonzero(fieldm.bad_mask(y0t))[0])
        raise FHRNInputError(f"`y0`[{n}] of set {p} is beyond `max_norm` or on the gain pole; move it off")
    max_gain = None if max_gain is None else check_real("max_gain", max_gain, low=1.0, low_open=True)
    tt = torch.linspace(0.0, t1, n_points, dtype=dt, device=device)
    common = dict(y0=y0t, values={k: np.asarray(v) for k, v in vals.items()}, W=torch.as_tensor(Ws), rtol=rtol,
                  atol=atol, error_control=error_control)
    run = _SetSolver(torch.as_tensor(Ws, dtype=dt, device=device), tvals, max_norm, max_gain, y0t, tt,
                     dict(rtol=rtol, atol=atol, max_nfe=max_nfe), error_control)
    try:
        sol = run.batch(torch.arange(P, device=device))
    except Interrupted as exc:
        if not isinstance(exc.result, Solution):
            raise
        raise Interrupted(_sweep_result(exc.result, P, N, common), cause=exc, what=exc.result.message) from exc
    if sol.status != "failed" or P == 1:
        return _sweep_result(sol, P, N, common)
    return run.split(sol, P, N, common)


class _SetSolver:
    """Solves a subset of the sets as one batch (:func:`fhrn_ode.solver.solve`); after a failed batch,
    :meth:`split` solves each half again with its own budget, down to single sets, so a set that fails
    (its budget spent, the solver giving up) fails alone and the others keep their results."""

    def __init__(self, W, tvals, max_norm, max_gain, y0t, tt, solve_kw, error_control) -> None:
        self.W, self.tvals, self.max_norm, self.max_gain = W, tvals, max_norm, max_gain
        self.y0t, self.tt, self.solve_kw, self.error_control = y0t, tt, solve_kw, error_control
        self.nfe = 0

    def batch(self, idx: torch.Tensor) -> Solution:
        """The solve of the sets ``idx`` (an :class:`Interrupted` carries the Solution of the prefix)."""
        fieldm = SweepField(self.W[idx], {k: v[idx] for k, v in self.tvals.items()}, self.max_norm)
        fieldm.max_gain = self.max_gain
        y0 = self.y0t[idx]
        p, N, d = y0.shape
        options = {"norm": GroupRMSNorm(p, shape=(d, p, N), axis=1)} if self.error_control == "group" else None

        def guard(yT):  # (d, p, N) -> (1, p, N)
            return fieldm.bad_mask(yT.permute(1, 2, 0)).unsqueeze(0)

        guard.stacked = lambda ys: fieldm.bad_mask(ys.permute(0, 2, 3, 1)).unsqueeze(1)  # (K, d, p, N) -> (K, 1, p, N)
        try:
            with torch.no_grad():
                sol = solve(fieldm, y0.permute(2, 0, 1).contiguous(), self.tt, guard=guard, options=options,
                            **self.solve_kw)
        except Interrupted as exc:
            if isinstance(exc.result, Solution):
                self.nfe += exc.result.nfe
            raise
        self.nfe += sol.nfe
        return sol

    def split(self, failed: Solution, P: int, N: int, common: dict) -> "SweepResult":
        """Bisect the failed whole batch ``failed``: every set ends with the solve of the smallest batch
        that held it (its own, when it failed)."""
        owner: list = [(failed, p, False) for p in range(P)]  # set p -> (Solution, its column, final)
        todo, h = [torch.arange(P)], None
        try:
            while todo:
                idx = todo.pop()
                for h in (idx[: len(idx) // 2], idx[len(idx) // 2:]):
                    sol = self.batch(h.to(self.tt.device))
                    for j, p in enumerate(h.tolist()):
                        owner[p] = (sol, j, sol.status != "failed" or len(h) == 1)
                    if sol.status == "failed" and len(h) > 1:
                        todo.append(h)
        except KeyboardInterrupt as exc:  # Interrupted (a solve's prefix) or a Ctrl-C between solves
            part = getattr(exc, "result", None)
            if isinstance(part, Solution) and h is not None:
                for j, p in enumerate(h.tolist()):
                    if part.n_kept > owner[p][0].n_kept:
                        owner[p] = (part, j, False)
            res = _assemble(owner, P, N, self.tt, self.nfe, common, interrupted=True)
            raise Interrupted(res, cause=exc, what=res.message) from exc
        return _assemble(owner, P, N, self.tt, self.nfe, common)


def _set_status(sol: Solution, j: int, final: bool) -> str:
    if not final:  # an interrupt came before this set's own solve ended
        return "interrupted"
    if sol.status == "failed":
        return sol.status
    return "diverged" if bool(sol.diverged[0][j].any()) else "success"


def _assemble(owner: list, P: int, N: int, tt, nfe: int, common: dict, interrupted: bool = False) -> "SweepResult":
    """The :class:`SweepResult` of sets solved in several batches (``owner[p] = (Solution, column, final)``,
    final: the solve that decides set ``p``); each set's states after its own last computed time are NaN."""
    K = max(o[0].n_kept for o in owner)
    d = owner[0][0].y.shape[1]
    y = torch.full((K, P, N, d), math.nan, dtype=tt.dtype, device=owner[0][0].y.device)
    diverged, t_div = np.zeros((P, N), dtype=bool), np.full((P, N), math.nan)
    for p, (sol, j, _) in enumerate(owner):
        y[: sol.n_kept, p] = sol.y[:, :, j, :].permute(0, 2, 1)
        diverged[p], t_div[p] = sol.diverged[0][j].numpy(), sol.t_diverged[0][j].numpy()
    status = [_set_status(*o) for o in owner]
    messages = [{"failed": o[0].message, "interrupted": "interrupted before its own solve ended"}.get(s, "")
                for s, o in zip(status, owner)]
    bad = [p for p, s in enumerate(status) if s in ("failed", "interrupted")]
    if interrupted:
        top = "interrupted"
        n_left = status.count("interrupted")
        msg = (f"interrupted while solving the sets of a failed batch again in smaller groups ({P - n_left} of {P} "
               f"sets decided: {status.count('failed')} failed)")
    elif bad:
        top = "failed"
        vals = ", ".join(f"{k} = {float(v[bad[0]]):.6g}" for k, v in common["values"].items() if k != "drive")
        msg = (f"{len(bad)} of {P} parameter sets failed (each solved again with its own budget); set {bad[0]} "
               f"({vals}): {messages[bad[0]]}; the other {P - len(bad)} reached t = {float(tt[-1]):.6g}")
    else:  # pragma: no cover - a failed batch always leaves a failed set
        top, msg = ("diverged" if diverged.any() else "success"), f"integrated {P} parameter sets"
    return SweepResult(t=tt[:K], y=y, status=top, message=msg, nfe=nfe, diverged=diverged, t_diverged=t_div,
                       set_status=status, set_message=messages, **common)


def _sweep_result(sol, P: int, N: int, common: dict) -> "SweepResult":
    """The :class:`SweepResult` of a solve on ``(d, P, N)`` states."""
    y = sol.y.permute(0, 2, 3, 1)  # (T, d, P, N) -> (T, P, N, d)
    diverged, t_div = sol.diverged[0].numpy(), sol.t_diverged[0].numpy()
    n_div = int(diverged.sum())
    msg = {"success": f"integrated {P} parameter sets x {N} states to t = {sol.t_last:.4g} ({sol.nfe} evaluations)",
           "diverged": f"{n_div} of {P * N} trajectories diverged (stopped at their t_diverged); the others reached "
                       f"t = {sol.t_last:.4g}",
           }.get(sol.status, sol.message)
    status = [sol.status if sol.status in ("failed", "interrupted") else ("diverged" if d.any() else "success")
              for d in diverged]
    return SweepResult(t=sol.t, y=y, status=sol.status, message=msg, nfe=sol.nfe, diverged=diverged,
                       t_diverged=t_div, set_status=status,
                       set_message=[sol.message if sol.status in ("failed", "interrupted") else ""] * P, **common)
