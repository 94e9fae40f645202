"""Lyapunov spectra of ANY field by Benettin's algorithm with QR re-orthonormalisation.

For ``dz/dt = f(z)`` the tangent vectors ``Q`` ``(n, k)`` evolve by ``dQ/dt = J(z) Q`` (the field's own
Jacobian where it has a confirmed one, else Jacobian-vector products by autograd;
:class:`~fhrn_ode.dynamics._flow.TangentField`). All states and their tangent vectors are ONE flat
batch ``(N, n + n k)`` integrated in one solve per window; the QR runs on the whole batch at once. Every ``dt`` the
columns are re-orthonormalised, ``Q R = Q(t)`` (``torch.linalg.qr``), and

    lambda_i = lim_{T -> inf} (1/T) sum_windows log |R_ii|          (Benettin et al., Meccanica 15, 1980)

(largest first). ``log|R_ii| / dt`` of one window is the finite-time exponent along the trajectory.
Batched over initial states: all trajectories and their tangent spaces integrate together; a family
(``make_field`` and ``values``) integrates all members' states together too (:mod:`._family`).
The default method is ``dopri8`` (Dormand-Prince 8(7) from torchdiffeq, run on the solver core's stage-major
loop, whose last step of a solve ends on its last save time, so every window's end state is a step's own
solution and not an interpolant). Fixed-step methods (``rk4``, ``euler``, ...) step with ``step_size``, default ``dt / 50``
(``_flow.STEP_FRACTION``); ``rtol``/``atol`` apply to adaptive methods only. The
convergence estimate ``spread`` is the largest change of the running estimate over the last
``n_windows`` re-orthonormalisations (max over exponents of max - min).

Ground truths (tests): a linear flow ``f = A z`` (exponents = Re eig A), the Lorenz system (sum exactly
``-(sigma + 1 + b)``, largest ~0.906), the 2-D FHRN ring with antisymmetric ``W*`` (``0`` along the flow and
``-2 kappa r*^2`` radially, from ``dr/dt = r(-leak - kappa(r^2 - theta^2))`` at ``r* = sqrt(theta^2 - leak/kappa)``;
docs/model.md §1, C 7-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError, Interrupted, check_int, check_real

from ._family import family_values, make_family
from ._flow import (Budget, BudgetExceeded, TangentField, as_flat_field, as_states, check_field_values, odeint,
                    random_states, solver_options)

__all__ = ["LyapunovSpectrum", "LyapunovFamily", "lyapunov_spectrum"]


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Outcome of :func:`lyapunov_spectrum`.

    Attributes:
        exponents: ``(k,)`` mean over the finite initial states, largest first.
        per_init: ``(N, k)`` exponents of each initial state (NaN where the trajectory stopped being finite).
        sum: sum of ``exponents``. spread: convergence estimate (see the module docstring).
        std_over_inits: ``(k,)`` standard deviation over initial states.
        times: ``(m,)`` end times of the windows (after the transient); running: ``(m, k)`` running
            estimate of the mean exponents; finite_time: ``(m, N, k)`` ``log|R_ii|/dt`` per window.
        t1, dt, t_transient, t_align: the times used (``t1``: the averaging time actually covered).
        n_windows: windows of the spread. status: 'success' or 'failed' (a budget ran out: the exponents
        average the windows completed, ``message`` says which budget). nfe: field evaluations.
    """

    exponents: np.ndarray
    per_init: np.ndarray
    sum: float
    spread: float
    std_over_inits: np.ndarray
    times: np.ndarray = dc_field(repr=False)
    running: np.ndarray = dc_field(repr=False)
    finite_time: np.ndarray = dc_field(repr=False)
    t1: float = 0.0
    dt: float = 0.0
    t_transient: float = 0.0
    t_align: float = 0.0
    n_windows: int = 0
    status: str = "success"
    message: str = ""
    nfe: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(exponents=self.exponents.tolist(), sum=self.sum, spread=self.spread,
                    std_over_inits=self.std_over_inits.tolist(), per_init=self.per_init.tolist(),
                    t1=self.t1, dt=self.dt, t_transient=self.t_transient, t_align=self.t_align, n_windows=self.n_windows,
                    n_init=int(self.per_init.shape[0]), status=self.status, message=self.message, nfe=self.nfe)


@dataclass(frozen=True)
class LyapunovFamily:
    """Outcome of :func:`lyapunov_spectrum` on a family: one :class:`LyapunovSpectrum` per value.

    Attributes:
        values: ``(P,)``. members: the spectra, in the order of ``values``. exponents: ``(P, k)``.
        status, message: 'success', or 'failed' with the budget's message. stacked: the members were
        evaluated in one call per evaluation (one ``vmap``, or one plain call when the module broadcasts its
        stacked parameters; :mod:`._family`), else one by one, still in one solve.
    """

    values: np.ndarray
    members: list[LyapunovSpectrum]
    status: str = "success"
    message: str = ""
    stacked: bool = False

    @property
    def exponents(self) -> np.ndarray:
        """``(P, k)``."""
        return np.stack([m.exponents for m in self.members])

    def to_dict(self) -> dict[str, Any]:
        return dict(values=self.values.tolist(), members=[m.to_dict() for m in self.members], status=self.status,
                    message=self.message, stacked=self.stacked)


def lyapunov_spectrum(field, y0=None, *, values=None, dim: int | None = None, n_init: int = 8, radius: float = 2.0,
                      t_transient: float = 10.0, t1: float = 100.0, dt: float = 0.5, t_align: float = 2.0,
                      k: int | None = None, n_windows: int = 10, method: str = "dopri8", rtol: float | None = None,
                      atol: float | None = None, step_size: float | None = None, max_nfe: int | None = None,
                      wall_s: float | None = None, seed: int = 0,
                      progress: bool = False) -> LyapunovSpectrum | LyapunovFamily:
    """The ``k`` largest Lyapunov exponents of ``field``, batched over initial states (Benettin, QR).

    Args:
        field: ``nn.Module`` with ``forward(t, y)`` (the field contract, docs/api.md: batch-only and
            single-state modules both work; FHRN with or without memory, Lorenz, ...); with ``values``, a
            callable ``p -> field`` (a family).
        y0: initial states ``(N, n)`` (each member of a family starts from the same ones); default ``n_init``
            states uniform in the ball of ``radius`` (seeded; memory block 0).
        values: parameter values ``(P,)``: solve the family ``field(p)`` for all of them together.
        dim: size of the ``y`` state (override; default from ``y0`` or the field's ``dim``).
        t_transient: time integrated first without tangents (onto the attractor).
        t1: averaging time (>= dt); ``dt``: re-orthonormalisation interval.
        t_align: time the tangent vectors are evolved and re-orthonormalised BEFORE averaging starts, so
            they align with the Lyapunov vectors (the identity start biases the first windows).
        k: number of exponents (default all, ``n``).
        n_windows: number of final windows over which ``spread`` is measured.
        method: torchdiffeq method (default ``"dopri8"``: at the default rtol 1e-8 the 8th-order pair takes about half
            the evaluations of ``"dopri5"``; each window ends on a step, not on torchdiffeq's 4th-order dense
            output, docs/performance.md); adaptive ones take ``rtol`` (default 1e-8) and ``atol`` (1e-10),
            fixed-step ones take ``step_size`` (default ``dt / 50``).
        max_nfe, wall_s: budget of field evaluations / seconds for the whole call (None: none).
        progress: show a tqdm bar over the windows.

    Returns:
        :class:`LyapunovSpectrum`, or :class:`LyapunovFamily` with ``values``.

    Raises:
        FHRNInputError: bad options, ``rtol``/``atol`` for a fixed-step method, a broken field, or every
            trajectory diverging.
    """
    t_transient = check_real("t_transient", t_transient, low=0.0)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    if t1 < dt:
        raise FHRNInputError(f"`t1` must be at least `dt`={dt:g}, got {t1:g}")
    n_windows = check_int("n_windows", n_windows, low=2)
    t_align = check_real("t_align", t_align, low=0.0)
    solve_kw = solver_options(method, rtol, atol, step_size, dt)
    budget = Budget(max_nfe, wall_s, "lyapunov_spectrum")
    if values is not None:
        return _family_spectrum(field, y0, values, dim, n_init, radius, seed, k, (t_transient, t1, dt, t_align),
                                n_windows, solve_kw, budget, progress)
    ff = as_flat_field(field, dim, y0)
    k = ff.dim if k is None else check_int("k", k, low=1, high=ff.dim)
    z = random_states(ff, n_init, radius, seed) if y0 is None else as_states(y0, ff.dim, "y0")
    check_field_values(ff, z)
    raw = _benettin(ff, z, k, (t_transient, t1, dt, t_align), solve_kw, budget, progress)
    return _reraise(raw, _summarise(raw, slice(None), k, (t_transient, dt), n_windows, budget,
                                    strict="interrupt" not in raw))


def _family_spectrum(make_field, y0, values, dim, n_init, radius, seed, k, times, n_windows, solve_kw, budget,
                     progress) -> LyapunovFamily:
    vals = family_values(values)
    first = as_flat_field(make_field(float(vals[0])), dim, y0)
    z = random_states(first, n_init, radius, seed) if y0 is None else as_states(y0, first.dim, "y0")
    N = z.shape[0]
    fam = make_family(make_field, vals, N, dim, y0)
    k = fam.dim if k is None else check_int("k", k, low=1, high=fam.dim)
    zz = z.repeat(len(vals), 1)
    check_field_values(fam, zz)
    raw = _benettin(fam, zz, k, times, solve_kw, budget, progress)
    members = [_summarise(raw, slice(i * N, (i + 1) * N), k, (times[0], times[2]), n_windows, budget, strict=False)
               for i in range(len(vals))]
    return _reraise(raw, LyapunovFamily(values=vals, members=members, status=raw["status"], message=raw["message"],
                                        stacked=fam.stacked))


def _benettin(ff, z: torch.Tensor, k: int, times, solve_kw: dict, budget: Budget, progress: bool) -> dict:
    """Run the transient and the QR windows; the raw per-state sums (stops early on a budget)."""
    t_transient, t1, dt, t_align = times
    N, n = z.shape
    m, m0 = int(round(t1 / dt)), int(round(t_align / dt))
    logs = torch.zeros(N, k, dtype=torch.float64)
    finite = np.full((m, N, k), np.nan)
    alive = torch.ones(N, dtype=torch.bool)
    out = dict(logs=logs, finite=finite, alive=alive, done=0, status="success", message="", t_align=m0 * dt)
    tan = TangentField(ff, k)
    span = torch.tensor([0.0, dt], dtype=torch.float64)
    from tqdm import tqdm

    with torch.no_grad():
        try:
            if t_transient > 0:
                kw = dict(solve_kw)
                if "step_size" in kw:
                    kw["step_size"] = min(kw["step_size"], t_transient)
                z = odeint(ff, z, torch.tensor([0.0, t_transient], dtype=torch.float64), budget=budget, **kw)[-1]
            Q = torch.eye(n, k, dtype=torch.float64).expand(N, n, k).clone()
            for w in tqdm(range(-m0, m), desc="lyapunov", unit="window", disable=not progress, leave=False):
                z, Q = tan.unpack(odeint(tan, tan.pack(z, Q), span, budget=budget, **solve_kw)[-1])
                ok = torch.isfinite(z).all(-1) & torch.isfinite(Q).flatten(1).all(-1)
                alive &= ok
                z = torch.where(ok[:, None], z, torch.zeros_like(z))
                Q = torch.where(ok[:, None, None], Q, torch.eye(n, k, dtype=Q.dtype).expand_as(Q))
                Q, R = torch.linalg.qr(Q)
                lr = torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs())
                if w < 0:
                    continue
                logs += torch.where(alive[:, None], lr, torch.zeros_like(lr))
                finite[w] = np.where(alive.numpy()[:, None], (lr / dt).numpy(), np.nan)
                out["done"] = w + 1
        except BudgetExceeded as exc:
            out.update(status="failed", message=f"{exc}; averaged over the {out['done']} windows completed")
        except KeyboardInterrupt as exc:  # not swallowed: the caller raises Interrupted with the windows done
            out.update(status="interrupted", message=f"interrupted; averaged over the {out['done']} windows completed",
                       interrupt=exc)
    return out


def _reraise(raw: dict, result):
    """Raise :class:`Interrupted` carrying ``result`` when :func:`_benettin` was interrupted, else return it."""
    exc = raw.get("interrupt")
    if exc is not None:
        raise Interrupted(result, cause=exc, what=f"{raw['done']} windows done") from exc
    return result


def _summarise(raw: dict, rows: slice, k: int, times, n_windows: int, budget: Budget,
               strict: bool = True) -> LyapunovSpectrum:
    """The spectrum of the states ``rows`` from :func:`_benettin`'s raw sums."""
    t_transient, dt = times
    m = raw["done"]
    logs, alive, finite = raw["logs"][rows].numpy(), raw["alive"][rows].numpy(), raw["finite"][:m, rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        per_init = logs / (m * dt) if m else np.full_like(logs, np.nan)
        per_init[~alive] = np.nan
        # running mean estimate after each window, over the states still finite at the end
        cum = np.cumsum(np.where(np.isfinite(finite), finite, 0.0), axis=0) * dt
        running = (cum[:, alive] / (dt * np.arange(1, m + 1))[:, None, None]).mean(1) if alive.any() \
            else np.full((m, k), np.nan)
    if not alive.any() and strict and raw["status"] == "success":
        raise FHRNInputError("every trajectory stopped being finite: the flow diverges from all initial states")
    ex = per_init[alive].mean(0) if alive.any() and m else np.full(k, np.nan)
    order = np.argsort(-np.nan_to_num(ex, nan=-np.inf), kind="stable")
    last = running[-min(n_windows, m):] if m else np.full((1, k), np.nan)
    std = per_init[alive][:, order].std(0) if alive.any() and m else np.full(k, np.nan)
    return LyapunovSpectrum(exponents=ex[order], per_init=per_init[:, order], sum=float(ex.sum()),
                            spread=float(np.max(last.max(0) - last.min(0))), std_over_inits=std,
                            times=dt * np.arange(1, m + 1), running=running[:, order], finite_time=finite[:, :, order],
                            t1=m * dt, dt=dt, t_transient=t_transient, t_align=raw.get("t_align", 0.0),
                            n_windows=n_windows, status=raw["status"], message=raw["message"], nfe=budget.nfe)
