"""Limit cycles of ANY field: detection by a Poincare return map, period, Floquet multipliers.

1. Each trajectory runs for ``t_transient``, then is saved densely over ``t_record``.
2. Section: the hyperplane through the first recorded state ``p`` with normal ``f(p)/|f(p)|``. Upward
   crossings are located on the cubic Hermite interpolant of the saved states and velocities
   (``scipy.interpolate.CubicHermiteSpline``) by ``scipy.optimize.brentq``; the crossing times give the
   return times, the crossing states the return map.
3. A trajectory is on a cycle when the return times agree (relative ``tol``) and the return points
   coincide; an equilibrium when ``|f|`` has dropped below ``tol_eq`` (or is still decaying, below 1e-3
   of its recorded maximum and halving over the last quarter of the record); a divergence when it left the ball
   ``max_norm`` or stopped being finite; else it is 'aperiodic'.
4. Each cycle is refined by shooting: Newton on ``phi_T(x) - x = 0`` with the phase condition on the
   section (the Jacobian ``[[M - I, f(phi_T x)], [n^T, 0]]``).
5. Floquet multipliers = eigenvalues of the monodromy matrix ``M = d phi_T / d x`` (:func:`monodromy`),
   obtained from the variational equation ``dM/dt = J M`` integrated with the orbit, or by autograd
   through the solver; one multiplier is 1 (along the flow), the cycle is stable iff the others lie
   inside the unit circle.

Ground truths (tests): ``expm(A T)`` for a linear flow; for the 2-D FHRN ring with antisymmetric
``W* = s R_90`` the period ``2 pi/(gamma s)`` and the multipliers ``1, exp(-2 kappa r*^2 T)``
(docs/model.md §1, C 7-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch
from scipy.interpolate import CubicHermiteSpline
from scipy.optimize import brentq

from fhrn_ode._errors import check_choice, check_int, check_real

from ._flow import FlatField, TangentField, as_flat_field, as_states, odeint, random_states

__all__ = ["Cycle", "CycleResult", "find_cycles", "monodromy", "floquet_multipliers"]


@dataclass(frozen=True)
class Cycle:
    """A periodic orbit.

    Attributes:
        period: ``T``. x0: a point of the orbit on the section ``(n,)``. floquet_multipliers: eigenvalues of
        the monodromy matrix ``(n,)`` complex, by modulus, largest first. trivial_error: distance of the
        multiplier nearest 1 from 1 (an accuracy check). stable: every other multiplier has modulus < 1.
        radius_mean, radius_min, radius_max: of ``|y|`` along the orbit (the ``y`` block). count:
        trajectories that converged to it. orbit: ``(M, n)`` samples over one period.
    """

    period: float
    x0: np.ndarray
    floquet_multipliers: np.ndarray
    trivial_error: float
    stable: bool
    radius_mean: float
    radius_min: float
    radius_max: float
    count: int
    orbit: np.ndarray = dc_field(repr=False)

    @property
    def spacing(self) -> float:
        """Largest distance between consecutive orbit samples."""
        return float(np.linalg.norm(np.diff(self.orbit, axis=0), axis=1).max())

    def to_dict(self) -> dict[str, Any]:
        return dict(period=self.period, floquet_multipliers=[[float(m.real), float(m.imag)] for m in self.floquet_multipliers],
                    radius_mean=self.radius_mean, radius_min=self.radius_min, radius_max=self.radius_max,
                    stable=self.stable, trivial_error=self.trivial_error, x0=self.x0.tolist(), count=self.count)


@dataclass(frozen=True)
class CycleResult:
    """Outcome of :func:`find_cycles`: the distinct cycles and what each trajectory did."""

    cycles: list[Cycle]
    outcomes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(cycles=[c.to_dict() for c in self.cycles], outcomes=self.outcomes)


def monodromy(field, x0, T: float, *, method: str = "variational", dim: int | None = None, rtol: float = 1e-10,
              atol: float = 1e-12) -> np.ndarray:
    """``M = d phi_T(x) / d x`` at states ``(N, n)`` (or ``(n,)``) -> ``(N, n, n)`` (or ``(n, n)``).

    Args:
        field: ``nn.Module`` field. x0: the states. T: the time (> 0).
        method: 'variational' (``dM/dt = J(phi_t x) M``, ``M(0) = I``, with Jacobian-vector products) or
            'autograd' (reverse-mode differentiation through the torchdiffeq solve, one backward pass per
            row of ``M``).
    """
    ff = as_flat_field(field, dim)
    check_choice("method", method, ("variational", "autograd"))
    T = check_real("T", T, low=0.0, low_open=True)
    single_ = not isinstance(x0, torch.Tensor) and np.ndim(x0) == 1 or isinstance(x0, torch.Tensor) and x0.ndim == 1
    z = as_states(x0, ff.dim, "x0")
    N, n = z.shape
    span = torch.tensor([0.0, T], dtype=torch.float64)
    if method == "variational":
        with torch.no_grad():
            I = torch.eye(n, dtype=torch.float64).expand(N, n, n).clone()
            M = odeint(TangentField(ff), (z, I), span, rtol=rtol, atol=atol)[1][-1].numpy()
    else:
        x = z.clone().requires_grad_(True)
        with torch.enable_grad():
            out = odeint(ff, x, span, rtol=rtol, atol=atol)[-1]
            rows = [torch.autograd.grad(out[:, i].sum(), x, retain_graph=i < n - 1)[0] for i in range(n)]
        M = torch.stack(rows, 1).detach().numpy()
    return M[0] if single_ else M


def floquet_multipliers(M: np.ndarray) -> np.ndarray:
    """Eigenvalues of a monodromy matrix, by modulus, largest first (``numpy.linalg.eigvals``)."""
    mu = np.linalg.eigvals(np.asarray(M, dtype=np.float64))
    return mu[np.argsort(-np.abs(mu), kind="stable")]


def _crossings(t: np.ndarray, Z: np.ndarray, F: np.ndarray, p: np.ndarray, nrm: np.ndarray):
    """Upward crossings of ``nrm . (z - p) = 0``: times and states (Hermite interpolation + brentq)."""
    s = (Z - p) @ nrm
    ds = F @ nrm
    spl = CubicHermiteSpline(t, Z, F, axis=0)
    sp = CubicHermiteSpline(t, s, ds)
    out_t = []
    for i in np.nonzero((s[:-1] < 0) & (s[1:] >= 0))[0]:
        out_t.append(brentq(sp, t[i], t[i + 1], xtol=1e-14, rtol=1e-14))
    out_t = np.asarray(out_t)
    return out_t, (spl(out_t) if out_t.size else np.zeros((0, Z.shape[1])))


def _shoot(ff: FlatField, x: np.ndarray, T: float, p: np.ndarray, nrm: np.ndarray, n_iter: int, rtol: float, atol: float):
    """Newton on ``phi_T(x) = x`` with the section as phase condition; returns ``(x, T, M)``."""
    n = x.size
    for _ in range(n_iter + 1):
        z = torch.as_tensor(x[None], dtype=torch.float64)
        I = torch.eye(n, dtype=torch.float64)[None]
        with torch.no_grad():
            zs, Ms = odeint(TangentField(ff), (z, I), torch.tensor([0.0, T], dtype=torch.float64), rtol=rtol, atol=atol)
            xT, M = zs[-1, 0].numpy(), Ms[-1, 0].numpy()
            v = ff(torch.tensor(0.0), zs[-1]).numpy()[0]
        F = np.concatenate([xT - x, [nrm @ (x - p)]])
        if np.linalg.norm(F) < 1e3 * rtol * max(1.0, np.linalg.norm(x)):
            break
        A = np.zeros((n + 1, n + 1))
        A[:n, :n] = M - np.eye(n)
        A[:n, n] = v
        A[n, :n] = nrm
        step = np.linalg.lstsq(A, -F, rcond=None)[0]
        x, T = x + step[:n], T + step[n]
    return x, T, M


def find_cycles(field, y0=None, *, dim: int | None = None, n_init: int = 8, radius: float = 2.0,
                t_transient: float = 30.0, t_record: float = 30.0, t_max: float = 300.0, n_save: int = 3000,
                tol: float = 1e-4,
                tol_eq: float = 1e-6, max_norm: float = 1e3, n_newton: int = 6, rtol: float = 1e-9,
                atol: float = 1e-11, seed: int = 0) -> CycleResult:
    """Detect limit cycles from trajectories and compute their periods and Floquet multipliers.

    Args:
        field: ``nn.Module`` field (states ``(N, n)``, flat with memory).
        y0: initial states ``(N, n)``; default ``n_init`` uniform in the ball of ``radius`` (seeded).
        t_transient: time discarded first. t_record: time recorded per chunk; chunks are appended until
            every moving trajectory crossed its section 4 times or ``t_max`` is reached.
        n_save: saved states per chunk (the Hermite interpolant's knots).
        tol: relative agreement of return times and return points for a cycle.
        tol_eq: ``|f|`` below which the trajectory has reached an equilibrium.
        max_norm: beyond it a trajectory counts as diverged.
        n_newton: shooting-Newton refinements of each cycle.
        rtol, atol: solver tolerances.

    Returns:
        :class:`CycleResult` (``outcomes[i]`` in 'cycle', 'equilibrium', 'divergence', 'aperiodic').
    """
    from ._flow import _Guard

    ff = as_flat_field(field, dim)
    t_transient = check_real("t_transient", t_transient, low=0.0)
    t_record = check_real("t_record", t_record, low=0.0, low_open=True)
    n_save = check_int("n_save", n_save, low=16)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    z = random_states(ff, n_init, radius, seed) if y0 is None else as_states(y0, ff.dim, "y0")
    g = _Guard(ff, max_norm)
    t_max = max(check_real("t_max", t_max, low=0.0), t_record)
    t = torch.linspace(0.0, t_record, n_save, dtype=torch.float64)
    parts, fparts = [], []
    with torch.no_grad():
        try:
            if t_transient > 0:
                z = odeint(g, z, torch.tensor([0.0, t_transient], dtype=torch.float64), rtol=rtol, atol=atol)[-1]
            total = 0.0
            while True:  # record chunks until every moving trajectory crossed its section 4 times (or t_max)
                Zc = odeint(g, z, t, rtol=rtol, atol=atol)  # (T, N, n)
                parts.append(Zc if not parts else Zc[1:])
                fparts.append(ff(torch.tensor(0.0), parts[-1].reshape(-1, ff.dim)).reshape(parts[-1].shape))
                z, total = Zc[-1], total + t_record
                Zn = torch.cat(parts).numpy()
                tn = np.linspace(0.0, total, Zn.shape[0])
                if total >= t_max or _enough(tn, Zn, torch.cat(fparts).numpy(), tol_eq):
                    break
        except (AssertionError, RuntimeError):
            return CycleResult(cycles=[], outcomes=["divergence"] * z.shape[0])
        Z, F = torch.cat(parts), torch.cat(fparts)
        t = torch.linspace(0.0, total, Z.shape[0], dtype=torch.float64)
    Z, F, tn = Z.numpy(), F.numpy(), t.numpy()
    outcomes: list[str] = []
    cycles: list[Cycle] = []
    for i in range(Z.shape[1]):
        zi, fi = Z[:, i], F[:, i]
        if not np.all(np.isfinite(zi)) or np.linalg.norm(zi[-1]) >= max_norm * (1 - 1e-9):
            outcomes.append("divergence")
            continue
        sp = np.linalg.norm(fi, axis=1)
        q = sp.size // 4
        if sp[-1] <= tol_eq or (sp[-1] <= 1e-3 * sp.max() and sp[-1] <= 0.5 * sp[-q:].max()):
            outcomes.append("equilibrium")  # at rest, or still decaying towards rest
            continue
        p = zi[0]
        nrm = fi[0] / np.linalg.norm(fi[0])
        tc, xc = _crossings(tn, zi, fi, p, nrm)
        if tc.size < 3:
            outcomes.append("aperiodic")
            continue
        periods = np.diff(tc)
        scale = max(1.0, float(np.abs(zi).max()))
        if (periods.max() - periods.min()) > tol * periods.mean() or \
                np.max(np.linalg.norm(xc - xc[-1], axis=1)) > tol * scale:
            outcomes.append("aperiodic")
            continue
        outcomes.append("cycle")
        T0 = float(periods[-1])
        known = [c for c in cycles if abs(c.period - T0) <= 10 * tol * c.period
                 and np.min(np.linalg.norm(c.orbit - xc[-1], axis=1)) <= max(10 * tol * scale, c.spacing)]
        if known:
            k = cycles.index(known[0])
            cycles[k] = _with_count(cycles[k], cycles[k].count + 1)
            continue
        x, T, M = _shoot(ff, xc[-1], T0, p, nrm, n_newton, rtol, atol)
        mu = floquet_multipliers(M)
        j = int(np.argmin(np.abs(mu - 1.0)))
        others = np.delete(mu, j)
        with torch.no_grad():
            orb = odeint(ff, torch.as_tensor(x[None]), torch.linspace(0.0, T, 200, dtype=torch.float64),
                         rtol=rtol, atol=atol)[:, 0].numpy()
        r = np.linalg.norm(orb[:, :ff.y_dim], axis=1)
        cycles.append(Cycle(period=float(T), x0=x, floquet_multipliers=mu, trivial_error=float(abs(mu[j] - 1.0)),
                            stable=bool(np.all(np.abs(others) < 1.0)), radius_mean=float(r[:-1].mean()),
                            radius_min=float(r.min()), radius_max=float(r.max()), count=1, orbit=orb))
    return CycleResult(cycles=cycles, outcomes=outcomes)


def _enough(t: np.ndarray, Z: np.ndarray, F: np.ndarray, tol_eq: float) -> bool:
    """Has every finite, moving trajectory crossed its section at least 4 times?"""
    for i in range(Z.shape[1]):
        zi, fi = Z[:, i], F[:, i]
        if not np.all(np.isfinite(zi)) or np.linalg.norm(fi[-1]) <= tol_eq or np.linalg.norm(fi[0]) == 0:
            continue
        if _crossings(t, zi, fi, zi[0], fi[0] / np.linalg.norm(fi[0]))[0].size < 4:
            return False
    return True


def _with_count(c: Cycle, count: int) -> Cycle:
    from dataclasses import replace

    return replace(c, count=count)
