"""Limit cycles of ANY field: detection by a Poincare return map, period, Floquet multipliers.

1. Each trajectory runs for ``t_transient``, then is saved densely in chunks of ``t_record``. The save
   spacing follows the field's time scale: at most ``2 pi / (40 rho)`` with ``rho`` the largest
   ``|lambda(J)|`` over the states after the transient (about 40 samples per fastest rotation), so a
   fast field (the ring at gamma 100, period ``2 pi / 100``) is resolved as well as a slow one.
2. Section: the hyperplane through the first recorded state ``p`` with normal ``f(p)/|f(p)|``. Upward
   crossings are located on the cubic Hermite interpolant of the saved states and velocities
   (``scipy.interpolate.CubicHermiteSpline``) by ``scipy.optimize.brentq``; the crossing times give the
   return times, the crossing states the return map.
3. Outcomes, every closeness measured RELATIVE TO THE ORBIT'S SIZE ``amp`` (:func:`_amplitude`, over the last
   return), never to ``max(1, |z|)``: 'cycle' only when shooting (4.) converges, from return points that
   coincide (times within relative ``tol``, points within ``tol * amp``) or from an approach still under way
   (return points that contract, or drift one way) that ends on a stable cycle; 'equilibrium' when ``|f|``
   has dropped below ``tol_eq`` (or is still decaying, below 1e-3 of its recorded maximum and halving over
   the last quarter of the record); 'divergence' when it left the ball ``max_norm`` or stopped being finite;
   'field error' when the field returned non-finite values at a finite state; 'not settled' when fewer
   than 3 returns were recorded by ``t_max``, when shooting did not converge or ended on an unstable cycle
   (``message`` says why, per trajectory), or when a budget (``max_nfe``, ``wall_s``) ran out (``status``
   'failed' then); else 'aperiodic' (returns that neither agree, contract nor drift one way).
4. Each cycle is refined by shooting: Newton on ``phi_T(x) - x = 0`` with the phase condition on the
   section (the Jacobian ``[[M - I, f(phi_T x)], [n^T, 0]]``); converged when the residual and the next
   Newton correction are both within :data:`SHOOT_TOL_FACTOR` ``(rtol max(amp, |x|) + atol)``. At the Hopf
   point of the ring (``r' = -kappa r^3``: a spiral decaying like ``t^-1/2``, no cycle) the residual shrinks
   with the orbit but each correction stays ~0.12 of it: 'not settled', never 'cycle'.
   The transient, the shooting solves and the monodromy use ``dopri8`` (``_END_METHOD``: results that are
   end states, a step end of the solver core's loop); the dense records ``dopri5``.
5. Floquet multipliers = eigenvalues of the monodromy matrix ``M = d phi_T / d x`` (:func:`monodromy`),
   obtained from the variational equation ``dM/dt = J M`` integrated with the orbit, or by autograd
   through the solver; one multiplier is 1 (along the flow), the cycle is stable iff the others lie
   inside the unit circle.

Ground truths (tests): ``expm(A T)`` for a linear flow; for the 2-D FHRN ring with antisymmetric
``W* = s R_90`` the period ``2 pi/(gamma s)`` and the multipliers ``1, exp(-2 kappa r*^2 T)``
(docs/model.md §1, C 7-8); Van der Pol (mu = 1) period 6.6632868593 (Hairer, Norsett & Wanner, Solving
ODEs I, §II.10); Brusselator a = 1, b = 2.1 period 6.3221 (issue 19, scipy cross-check).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch
from scipy.interpolate import CubicHermiteSpline
from scipy.optimize import brentq

from fhrn_ode._errors import FHRNInputError, check_choice, check_int, check_real

from ._flow import (Budget, BudgetExceeded, FlatField, TangentField, _Guard, as_flat_field, as_states,
                    check_field_values, odeint, random_states)

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
    """Outcome of :func:`find_cycles`: the distinct cycles and what each trajectory did.

    Attributes:
        cycles: the distinct cycles. outcomes: per trajectory (module docstring, 3.). status: 'success', or
        'failed' when a budget ran out or the solver gave up (``message`` says which; it also says why each
        trajectory that shooting decided is 'not settled'). nfe: field evaluations.
        spacing: save spacing used (follows the field's time scale).
    """

    cycles: list[Cycle]
    outcomes: list[str]
    status: str = "success"
    message: str = ""
    nfe: int = 0
    spacing: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(cycles=[c.to_dict() for c in self.cycles], outcomes=self.outcomes, status=self.status,
                    message=self.message, nfe=self.nfe, spacing=self.spacing)


def monodromy(field, x0, T: float, *, method: str = "variational", dim: int | None = None, rtol: float = 1e-10,
              atol: float = 1e-12, max_nfe: int | None = None) -> np.ndarray:
    """``M = d phi_T(x) / d x`` at states ``(N, n)`` (or ``(n,)``) -> ``(N, n, n)`` (or ``(n, n)``).

    Args:
        field: ``nn.Module`` field (the field contract, docs/api.md). x0: the states. T: the time (> 0).
        method: 'variational' (``dM/dt = J(phi_t x) M``, ``M(0) = I``, all states and columns in one flat
            solve, with the field's own Jacobian or Jacobian-vector products) or 'autograd' (reverse-mode
            differentiation through the torchdiffeq solve, one backward pass per row of ``M``).
        dim: state size override. rtol, atol: solver tolerances. max_nfe: evaluation budget (None: none).

    Raises:
        FHRNInputError: bad method, ``T`` or states; a broken field; the budget ran out.
    """
    ff = as_flat_field(field, dim, x0)
    check_choice("method", method, ("variational", "autograd"))
    T = check_real("T", T, low=0.0, low_open=True)
    single_ = np.ndim(x0) == 1
    z = as_states(x0, ff.dim, "x0")
    check_field_values(ff, z, "x0")
    N, n = z.shape
    span = torch.tensor([0.0, T], dtype=torch.float64)
    budget = Budget(max_nfe, None, "monodromy")
    try:
        if method == "variational":
            M = _flow_and_monodromy(ff, z, T, rtol, atol, budget)[1].numpy()
        else:
            x = z.clone().requires_grad_(True)
            with torch.enable_grad():
                out = odeint(ff, x, span, rtol=rtol, atol=atol, budget=budget)[-1]
                rows = [torch.autograd.grad(out[:, i].sum(), x, retain_graph=i < n - 1)[0] for i in range(n)]
            M = torch.stack(rows, 1).detach().numpy()
    except BudgetExceeded as exc:
        raise FHRNInputError(str(exc)) from None
    return M[0] if single_ else M


#: Method of the solves whose result is their end state (transient, shooting, monodromy): dopri8, whose last
#: step ends on the end time (fhrn_ode/_dopri5.py); dense records keep dopri5 (the interior save times of
#: torchdiffeq's dense output are a 4th-order fit, too coarse for dopri8's longer steps).
_END_METHOD = "dopri8"


def _flow_and_monodromy(ff: FlatField, z: torch.Tensor, T: float, rtol: float, atol: float, budget: Budget,
                        n_samples: int = 2):
    """``(phi_T(z) (N, n), M (N, n, n), states (n_samples, N, n))`` from one flat solve of the state and its
    tangent matrix; ``states`` at ``n_samples`` equally spaced times of ``[0, T]`` (the solver's dense output:
    no extra steps)."""
    N, n = z.shape
    tan = TangentField(ff, n)
    I = torch.eye(n, dtype=torch.float64).expand(N, n, n)
    with torch.no_grad():
        u = odeint(tan, tan.pack(z, I), torch.linspace(0.0, T, max(2, n_samples), dtype=torch.float64),
                   method=_END_METHOD, rtol=rtol, atol=atol, budget=budget)
    zT, M = tan.unpack(u[-1])
    return zT.clone(), M.clone(), tan.unpack(u)[0].clone()


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


#: Shooting converged: residual and next Newton correction both <= ``SHOOT_TOL_FACTOR (rtol max(amp, |x|) + atol)``
#: (1e-6 of the orbit's size at rtol 1e-9); the correction rules out a collapsing orbit (module docstring, 4.).
SHOOT_TOL_FACTOR = 1e3
#: Orbit samples per shooting solve for the amplitude (dense output: no extra solver steps).
_SHOOT_SAMPLES = 33


def _amplitude(states: np.ndarray) -> float:
    """The size of an orbit from its samples ``(K, n)``: the norm of its extent ``max - min`` per coordinate."""
    return float(np.linalg.norm(states.max(0) - states.min(0)))


def _shoot(ff: FlatField, x: np.ndarray, T: float, p: np.ndarray, nrm: np.ndarray, n_iter: int, rtol: float,
           atol: float, budget: Budget):
    """Newton on ``phi_T(x) = x`` with the section as phase condition (convergence: :data:`SHOOT_TOL_FACTOR`);
    returns ``(x, T, M, converged, why)``, ``why`` saying how far from converged it stopped."""
    n = x.size
    why = "the orbit left the finite states"
    for k in range(n_iter + 1):
        xT, M, S = _flow_and_monodromy(ff, torch.as_tensor(x[None], dtype=torch.float64), T, rtol, atol, budget,
                                       _SHOOT_SAMPLES)
        with torch.no_grad():
            v = ff(torch.tensor(0.0), xT).numpy()[0]
        xT, M, amp = xT.numpy()[0], M.numpy()[0], _amplitude(S[:, 0].numpy())
        F = np.concatenate([xT - x, [nrm @ (x - p)]])
        A = np.zeros((n + 1, n + 1))
        A[:n, :n] = M - np.eye(n)
        A[:n, n] = v
        A[n, :n] = nrm
        step = np.linalg.lstsq(A, -F, rcond=None)[0]
        res, dx = float(np.linalg.norm(F)), float(np.linalg.norm(step[:n]))
        if not (np.isfinite(res) and np.isfinite(dx) and amp > 0):
            break
        eps = SHOOT_TOL_FACTOR * (rtol * max(amp, float(np.linalg.norm(x))) + atol)
        if res <= eps and dx <= eps:
            return x, T, M, True, ""
        why = (f"shooting did not converge in {k + 1} Newton steps: residual {res / amp:.2g} and next correction "
               f"{dx / amp:.2g} of the orbit's size {amp:.3g} (converged: both <= {eps / amp:.2g})")
        if k == n_iter:
            break
        x, T = x + step[:n], T + step[n]
        if not (np.all(np.isfinite(x)) and np.isfinite(T) and T > 0):
            why = "shooting left the finite states or reached a period <= 0"
            break
    return x, T, M, False, why


def _spacing(ff: FlatField, z: torch.Tensor, t_record: float, n_save: int) -> float:
    """Save spacing: ``t_record / (n_save - 1)``, at most ``2 pi / (40 rho)`` (module docstring, 1.)."""
    h = t_record / (n_save - 1)
    ok = torch.isfinite(z).all(-1)
    if bool(ok.any()):
        with torch.no_grad():
            J = ff.jacobian(z[ok])
        lam = torch.linalg.eigvals(J).abs()
        rho = float(lam[torch.isfinite(lam)].max()) if bool(torch.isfinite(lam).any()) else 0.0
        if rho > 0:
            h = min(h, 2 * np.pi / (40.0 * rho))
    return h


def _record(ff: FlatField, g, z, t_transient, t_record, t_max, n_save, tol_eq, rtol, atol, budget):
    """Transient, then chunks of saved states until every moving trajectory returned 4 times (or ``t_max``)."""
    with torch.no_grad():
        if t_transient > 0:
            z = odeint(g, z, torch.tensor([0.0, t_transient], dtype=torch.float64), method=_END_METHOD, rtol=rtol,
                       atol=atol, budget=budget)[-1]
        h = _spacing(ff, z, t_record, n_save)
        t = torch.linspace(0.0, h * (n_save - 1), n_save, dtype=torch.float64)
        parts, fparts, total = [], [], 0.0
        while True:
            Zc = odeint(g, z, t, rtol=rtol, atol=atol, budget=budget)  # (T, N, n)
            parts.append(Zc if not parts else Zc[1:])
            fparts.append(ff(torch.tensor(0.0), parts[-1].reshape(-1, ff.dim)).reshape(parts[-1].shape))
            z, total = Zc[-1], total + float(t[-1])
            Zn = torch.cat(parts).numpy()
            tn = np.linspace(0.0, total, Zn.shape[0])
            if total >= t_max or _enough(tn, Zn, torch.cat(fparts).numpy(), tol_eq):
                break
    return tn, Zn, torch.cat(fparts).numpy(), h


def find_cycles(field, y0=None, *, dim: int | None = None, n_init: int = 8, radius: float = 2.0,
                t_transient: float = 30.0, t_record: float = 30.0, t_max: float = 300.0, n_save: int = 3000,
                tol: float = 1e-4, tol_eq: float = 1e-6, max_norm: float = 1e3, n_newton: int = 6, rtol: float = 1e-9,
                atol: float = 1e-11, max_nfe: int | None = None, wall_s: float | None = None,
                seed: int = 0) -> CycleResult:
    """Detect limit cycles from trajectories and compute their periods and Floquet multipliers.

    Args:
        field: ``nn.Module`` field (the field contract, docs/api.md; flat states with memory).
        y0: initial states ``(N, n)``; default ``n_init`` uniform in the ball of ``radius`` (seeded).
        dim: state size override (default from ``y0`` or the field's ``dim``).
        t_transient: time discarded first. t_record: longest time recorded per chunk (shorter for a fast
            field, module docstring 1.); chunks are appended until every moving trajectory crossed its
            section 4 times or ``t_max`` is reached.
        n_save: saved states per chunk (the Hermite interpolant's knots).
        tol: relative agreement of return times, and of return points relative to the orbit's size, for closed
            returns (shooting must still converge, module docstring 3.-4.).
        tol_eq: ``|f|`` below which the trajectory has reached an equilibrium.
        max_norm: beyond it a trajectory counts as diverged.
        n_newton: shooting-Newton refinements of each cycle.
        rtol, atol: solver tolerances. max_nfe, wall_s: budget for the whole call (None: none).

    Returns:
        :class:`CycleResult` (``outcomes[i]`` in 'cycle', 'equilibrium', 'divergence', 'field error',
        'not settled', 'aperiodic'; ``message`` says why each trajectory that shooting decided is 'not settled').

    Raises:
        FHRNInputError: bad options or states, a broken field (wrong shape, non-finite at the starts).
    """
    ff = as_flat_field(field, dim, y0)
    t_transient = check_real("t_transient", t_transient, low=0.0)
    t_record = check_real("t_record", t_record, low=0.0, low_open=True)
    n_save = check_int("n_save", n_save, low=16)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    z = random_states(ff, n_init, radius, seed) if y0 is None else as_states(y0, ff.dim, "y0")
    check_field_values(ff, z)
    budget = Budget(max_nfe, wall_s, "find_cycles")
    t_max = max(check_real("t_max", t_max, low=0.0), t_record)
    try:
        tn, Z, F, h = _record(ff, _Guard(ff, max_norm), z, t_transient, t_record, t_max, n_save, tol_eq, rtol, atol,
                              budget)
    except (BudgetExceeded, AssertionError, RuntimeError) as exc:
        return CycleResult(cycles=[], outcomes=["not settled"] * z.shape[0], status="failed",
                           message=f"{exc}", nfe=budget.nfe)
    outcomes: list[str] = []
    cycles: list[Cycle] = []
    notes: list[str] = []
    try:
        for i in range(Z.shape[1]):
            out, cand = _classify(tn, Z[:, i], F[:, i], tol, tol_eq, max_norm)
            if cand is not None:
                out, why = _cycle_from(ff, cycles, cand, tol, n_newton, rtol, atol, budget, out)
                notes += [f"trajectory {i} not settled: {why}"] if why else []
            outcomes.append(out)
    except BudgetExceeded as exc:
        outcomes += ["not settled"] * (Z.shape[1] - len(outcomes))
        return CycleResult(cycles=cycles, outcomes=outcomes, status="failed", message="; ".join([str(exc)] + notes),
                           nfe=budget.nfe, spacing=h)
    return CycleResult(cycles=cycles, outcomes=outcomes, message="; ".join(notes), nfe=budget.nfe, spacing=h)


def _classify(tn, zi, fi, tol, tol_eq, max_norm):
    """One trajectory's outcome, and a cycle candidate ``(x, T0, p, nrm, amp)`` where it returns (``amp``: the
    orbit's size over its last return, :func:`_amplitude`; return points agree relative to it)."""
    if not np.all(np.isfinite(fi)) and np.all(np.isfinite(zi)):
        return "field error", None  # the guard froze a finite state where the field was not finite
    if not np.all(np.isfinite(zi)) or np.linalg.norm(zi[-1]) >= max_norm * (1 - 1e-9):
        return "divergence", None
    sp = np.linalg.norm(fi, axis=1)
    q = sp.size // 4
    if sp[-1] <= tol_eq or (sp[-1] <= 1e-3 * sp.max() and sp[-1] <= 0.5 * sp[-q:].max()):
        return "equilibrium", None  # at rest, or still decaying towards rest
    p = zi[0]
    nrm = fi[0] / np.linalg.norm(fi[0])
    tc, xc = _crossings(tn, zi, fi, p, nrm)
    if tc.size < 3:
        return "not settled", None
    periods = np.diff(tc)
    last = (tn >= tc[-2]) & (tn <= tc[-1])  # the last full return: the orbit's own size
    amp = _amplitude(np.concatenate([zi[last], xc[-2:]]))
    if not amp > 0:
        return "not settled", None
    cand = (xc[-1], float(periods[-1]), p, nrm, amp)
    if (periods.max() - periods.min()) <= tol * periods.mean() and \
            np.max(np.linalg.norm(xc - xc[-1], axis=1)) <= tol * amp:
        return "cycle", cand
    d = np.linalg.norm(np.diff(xc, axis=0), axis=1)
    if d.size >= 2 and d[-1] <= 0.9 * d[0]:
        return "contracting", cand  # still approaching: shooting decides (cycle or not settled)
    if d.size >= 3 and np.linalg.norm(xc[-1] - xc[0]) >= 0.9 * d.sum():
        return "contracting", cand  # a slow one-way drift (at a Hopf point it shrinks like r^3, algebraically)
    return "aperiodic", None


def _cycle_from(ff, cycles, cand, tol, n_newton, rtol, atol, budget, out) -> tuple[str, str]:
    """Refine a candidate by shooting and add it to ``cycles`` (or count it on a known one); its outcome and,
    for 'not settled', why."""
    x_last, T0, p, nrm, amp = cand
    known = [c for c in cycles if abs(c.period - T0) <= 10 * tol * c.period
             and np.min(np.linalg.norm(c.orbit - x_last, axis=1)) <= max(10 * tol * amp, c.spacing)]
    if known and out == "cycle":
        k = cycles.index(known[0])
        cycles[k] = _with_count(cycles[k], cycles[k].count + 1)
        return "cycle", ""
    x, T, M, converged, why = _shoot(ff, x_last, T0, p, nrm, n_newton if out == "cycle" else max(n_newton, 12),
                                     rtol, atol, budget)
    if not converged:  # a cycle is a zero shooting reaches, closed returns alone do not make one
        return "not settled", f"return points {'closed' if out == 'cycle' else 'still moving'}, but {why}"
    mu = floquet_multipliers(M)
    j = int(np.argmin(np.abs(mu - 1.0)))
    others = np.delete(mu, j)
    stable = bool(np.all(np.abs(others) < 1.0))
    if out == "contracting" and not stable:
        return "not settled", "return points still moving, but shooting reached an unstable cycle"
    for k, c in enumerate(cycles):  # a contracting approach that shot onto a known cycle
        if abs(c.period - T) <= 10 * tol * c.period and np.min(np.linalg.norm(c.orbit - x, axis=1)) <= c.spacing:
            cycles[k] = _with_count(c, c.count + 1)
            return "cycle", ""
    with torch.no_grad():
        orb = odeint(ff, torch.as_tensor(x[None]), torch.linspace(0.0, T, 200, dtype=torch.float64),
                     rtol=rtol, atol=atol, budget=budget)[:, 0].numpy()
    r = np.linalg.norm(orb[:, :ff.y_dim], axis=1)
    cycles.append(Cycle(period=float(T), x0=x, floquet_multipliers=mu, trivial_error=float(abs(mu[j] - 1.0)),
                        stable=stable, radius_mean=float(r[:-1].mean()), radius_min=float(r.min()),
                        radius_max=float(r.max()), count=1, orbit=orb))
    return "cycle", ""


def _enough(t: np.ndarray, Z: np.ndarray, F: np.ndarray, tol_eq: float) -> bool:
    """Has every finite, moving trajectory crossed its section at least 4 times?"""
    for i in range(Z.shape[1]):
        zi, fi = Z[:, i], F[:, i]
        if not np.all(np.isfinite(zi)) or not np.all(np.isfinite(fi)) or np.linalg.norm(fi[-1]) <= tol_eq \
                or np.linalg.norm(fi[0]) == 0:
            continue
        if _crossings(t, zi, fi, zi[0], fi[0] / np.linalg.norm(fi[0]))[0].size < 4:
            return False
    return True


def _with_count(c: Cycle, count: int) -> Cycle:
    from dataclasses import replace

    return replace(c, count=count)
