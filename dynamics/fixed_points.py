"""Fixed points and slow points of ANY field ``dz/dt = f(z)`` (an ``nn.Module`` with ``forward(t, z)``).

Method (as FixedPointFinder does for discrete RNNs, here for the ODE):

1. starts: states sampled along trajectories (:func:`~fhrn_ode.dynamics._flow.trajectory_samples`), or given;
2. damped Newton ``z <- z - a J(z)^+ f(z)`` FIRST, from the starts and their mirror images ``-z``, all rows in
   one batch: the field's Jacobian (its own where confirmed, else autograd), one batched
   ``torch.linalg.solve_ex`` (least squares where ``J`` is singular, so a singular ``J`` does not stop it),
   the first of ``a = 1, 1/2, ..., 2^-12`` that lowers ``|f|`` (two field calls at most per iteration, one for
   a small batch);
3. only for the starts Newton did not converge from: minimisation of the speed ``q(z) = 1/2 |f(z)|^2``
   (``scipy.optimize.minimize``, L-BFGS-B, on the separable sum, gradient by autograd), then Newton again
   from the end points and their mirrors;
4. a polished state with ``|f| <= tol`` is a fixed point; de-duplicated (within ``dedup_tol`` plus each
   root's own accuracy, so a degenerate root is one point); classified by the eigenvalues of ``J``
   (:func:`classify_equilibrium`). A minimum of ``q`` that Newton cannot bring to ``|f| <= tol``
   but with ``q <= slow_q`` is a *slow point* (a ghost of a fold, a bottleneck): reported separately,
   never as a fixed point.

For the FHRN field with memory the state is ``z = [y, vec(A)]`` (docs/model.md §1, S1); its fixed points
satisfy ``A = (eta/lam) y y^T`` for the Hebbian rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

from fhrn_ode._errors import check_int, check_real
from fhrn_ode.spectrum import abscissa_of_eigvals

from ._flow import SAMPLE_NFE, FlatField, as_flat_field, as_states, check_field_values, random_states, trajectory_samples

__all__ = ["FixedPoint", "SlowPoint", "FixedPointResult", "find_fixed_points", "classify_equilibrium",
           "hyperbolicity_tol", "newton_polish", "field_jacobian"]


@dataclass(frozen=True)
class FixedPoint:
    """One equilibrium ``f(x) = 0``.

    Attributes:
        x: the state ``(n,)``. residual: ``|f(x)|``. eigenvalues: of ``J(x)`` ``(n,)`` complex, by real part,
        largest first. kind: 'stable node', 'stable focus', 'saddle', 'unstable node', 'unstable focus' or
        'non-hyperbolic'. unstable_dim: number of eigenvalues with positive real part. stable: all real parts
        negative. eigenvalues_max_real: the spectral abscissa. count: starts that converged here.
    """

    x: np.ndarray
    residual: float
    eigenvalues: np.ndarray
    kind: str
    unstable_dim: int
    stable: bool
    eigenvalues_max_real: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return dict(x=self.x.tolist(), residual=self.residual, kind=self.kind,
                    eigenvalues_max_real=self.eigenvalues_max_real, unstable_dim=self.unstable_dim,
                    stable=self.stable, eigenvalues=[[float(v.real), float(v.imag)] for v in self.eigenvalues],
                    count=self.count)


@dataclass(frozen=True)
class SlowPoint:
    """A local minimum of ``q = 1/2 |f|^2`` with ``0 < q <= slow_q``: the flow is slow there, not at rest.

    Attributes: x ``(n,)``; q; speed ``|f(x)|``; count (starts that ended here).
    """

    x: np.ndarray
    q: float
    speed: float
    count: int

    def to_dict(self) -> dict[str, Any]:
        return dict(x=self.x.tolist(), q=self.q, speed=self.speed, count=self.count)


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of :func:`find_fixed_points` (``points`` sorted by ``|x|``)."""

    points: list[FixedPoint]
    slow_points: list[SlowPoint]
    n_starts: int
    dim: int
    tol: float
    slow_q: float
    starts: np.ndarray = dc_field(repr=False)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(points=[p.to_dict() for p in self.points], slow_points=[s.to_dict() for s in self.slow_points],
                    n_starts=self.n_starts, dim=self.dim, tol=self.tol, slow_q=self.slow_q, message=self.message)


def field_jacobian(ff: FlatField, z: torch.Tensor, t: float = 0.0) -> torch.Tensor:
    """Jacobian ``df/dz`` at states ``(N, n)`` -> ``(N, n, n)``: the field's own where the contract confirmed
    it, else autograd (``vmap(jacrev)``)."""
    return as_flat_field(ff).jacobian(z, t)


def hyperbolicity_tol(eigenvalues, residual: float = 0.0, jac_norm: float | None = None) -> float:
    """Tolerance on ``|Re lambda|`` under which an eigenvalue counts as zero, for a root with residual ``|f|``.

    ``max(1e-9 max(1, |J|), 10 sqrt(|f| max(1, |J|)))``: the first term is the eigenvalues' own round-off
    (backward error ~ eps |J|, so a stiff Jacobian with eigenvalues -1e7 and -1 keeps its -1); near a fold ``f ~ a dx^2`` and the critical
    eigenvalue ``lambda ~ 2 a dx``, so a root found to residual ``|f|`` cannot tell an eigenvalue below
    ``~2 sqrt(a |f|)`` from zero (Newton converges only linearly to a degenerate root).
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).ravel()
    big = max(1.0, float(np.abs(lam).max(initial=0.0)))
    jn = big if jac_norm is None else max(1.0, float(jac_norm))
    return max(1e-9 * jn, 10.0 * float(np.sqrt(max(float(residual), 0.0) * jn)))


def classify_equilibrium(eigenvalues, tol: float | None = None) -> tuple[str, int]:
    """Kind and unstable dimension of an equilibrium from the eigenvalues of its Jacobian.

    ``tol`` (default ``1e-7 max(1, max |lambda|)``; :func:`hyperbolicity_tol` for a root with a known
    residual) decides what counts as a zero real part (then 'non-hyperbolic', never a saddle or a node)
    and as a non-zero imaginary part (focus rather than node).
    """
    lam = np.asarray(eigenvalues, dtype=np.complex128).ravel()
    tol = 1e-7 * max(1.0, float(np.abs(lam).max(initial=0.0))) if tol is None else float(tol)
    re = lam.real
    k = int((re > tol).sum())
    if np.any(np.abs(re) <= tol):
        return "non-hyperbolic", k
    complex_ = bool(np.any(np.abs(lam.imag) > tol))
    if k == 0:
        return ("stable focus" if complex_ else "stable node"), 0
    if k == lam.size:
        return ("unstable focus" if complex_ else "unstable node"), k
    return "saddle", k


def _newton_step(J: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """The Newton step ``-J^{-1} F`` for a batch ``J (N, n, n)``, ``F (N, n)`` -> ``(N, n)``: one batched
    ``torch.linalg.solve_ex`` (LU), and the least-squares ``-J^+ F`` (``torch.linalg.lstsq``, gelsd) for the rows
    where ``J`` is singular (LU reports it) or the solve is not finite. Rows with a non-finite ``J`` or ``F``
    get a zero step."""
    step, info = torch.linalg.solve_ex(J, -F.unsqueeze(-1))  # one batched LU for all rows
    if bool(torch.isfinite(step).all()):  # an exactly singular U (info > 0) divides by zero: never finite
        return step.squeeze(-1)
    ok = torch.isfinite(J).flatten(1).all(-1) & torch.isfinite(F).all(-1)
    J = torch.where(ok[:, None, None], J, torch.zeros_like(J))
    rhs = -torch.where(ok[:, None], F, torch.zeros_like(F)).unsqueeze(-1)
    step = torch.where(ok[:, None, None], step, torch.zeros_like(step))
    sing = (info != 0) | ~ok | ~torch.isfinite(step).flatten(1).all(-1)
    step[sing] = torch.linalg.lstsq(J[sing], rhs[sing], driver="gelsd").solution  # singular J: least squares
    return step.squeeze(-1)


#: The step sizes of the backtracking line search: ``a = 2^-k``, ``k = 0 .. 12`` (``k = 0``: the full step).
_STEPS = 0.5 ** torch.arange(0, 13, dtype=torch.float64)
_SHORT_STEPS = _STEPS[1:]
_STEPS_COL = _STEPS[:, None, None]  # (13, 1, 1): broadcasts against states (N, n)

#: Up to this many state entries in the batch (``N n``), the line search tries all 13 step sizes of every row in
#: ONE field call: for a small batch a field call costs about what one row does, so this saves the second call
#: and the ~25 small ops that pick the rows needing shorter steps (same choice, same result: Lorenz from 16
#: starts, 96 entries, 3.7 -> 3.3 ms); above it the 13-fold field work costs more than it saves (Lorenz from
#: 128 starts, 768 entries, was 8% slower fused).
_FUSED_MAX = 256


def _line_search_fused(f, tt: torch.Tensor, z, step, F, r, active):
    """:func:`_line_search` for a small batch: all 13 step sizes of every row in one field call."""
    zt = z + _STEPS_COL.to(z.dtype) * step  # (13, N, n); a = 1: z + step exactly
    Fk = f(tt, zt.reshape(-1, z.shape[1])).reshape(zt.shape)
    rk = torch.linalg.vector_norm(Fk, dim=-1)  # (13, N)
    ok = (rk < r) & active  # a NaN or inf |f| is never smaller
    better = ok.any(0)
    k = torch.argmax(ok.to(torch.int8), 0)  # first accepted step size per row (0: the full step)
    cols = torch.arange(z.shape[0])
    col = better.unsqueeze(1)
    z, F, r = torch.where(col, zt[k, cols], z), torch.where(col, Fk[k, cols], F), torch.where(better, rk[k, cols], r)
    return z, F, r, better


def _line_search(f, tt: torch.Tensor, z, step, F, r, active):
    """Backtracking ``z + a step``, ``a = 1, 1/2, ..., 2^-12``, on the ``active`` rows: each takes the first ``a``
    with ``|f| < r`` (finite). The full step for every row in one field call ``f(tt, z)``; the 12 shorter ones for
    the rows that need them in a second call (the same choice as halving one at a time); a batch of at most
    ``_FUSED_MAX`` entries tries all 13 in one call (:func:`_line_search_fused`).
    Returns ``(z, F, r, moved)``."""
    if z.numel() <= _FUSED_MAX:
        return _line_search_fused(f, tt, z, step, F, r, active)
    trial = z + step
    Ft = f(tt, trial)
    rt = torch.linalg.vector_norm(Ft, dim=-1)
    better = active & (rt < r)  # a NaN or inf |f| is never smaller
    n_act, n_better = int(active.sum()), int(better.sum())
    if n_better == z.shape[0]:  # every row takes the full step (the common case far from the roots)
        return trial, Ft, rt, better
    col = better.unsqueeze(1)
    z, F, r = torch.where(col, trial, z), torch.where(col, Ft, F), torch.where(better, rt, r)
    if n_better < n_act:
        idx = torch.nonzero(active & ~better).squeeze(1)
        zt = z[idx].unsqueeze(0) + _SHORT_STEPS.to(z.dtype)[:, None, None] * step[idx].unsqueeze(0)  # (K, m, n)
        Fk = f(tt, zt.reshape(-1, z.shape[1])).reshape(zt.shape)
        rk = torch.linalg.vector_norm(Fk, dim=-1)  # (K, m)
        ok = rk < r[idx].unsqueeze(0)
        has = ok.any(0)
        k = torch.argmax(ok.to(torch.int8), 0)  # first accepted step size per row
        cols = torch.arange(idx.numel())
        sel = idx[has]
        z[sel], F[sel], r[sel] = zt[k, cols][has], Fk[k, cols][has], rk[k, cols][has]
        better = better.clone()
        better[sel] = True
    return z, F, r, better


def _newton(ff: FlatField, z: torch.Tensor, n_iter: int, tol: float, t: float = 0.0, F: torch.Tensor | None = None):
    """Damped Newton on states ``(N, n)`` (see :func:`newton_polish`; ``F``: ``f(z)`` when known); returns
    ``(z, f(z), |f(z)|)``.

    A row stops when ``|f| <= tol`` or when no step size decreases ``|f|`` (it would compute the same step
    again: the round-off floor, or a point Newton cannot leave). All rows ride in every batched call (a small
    batch costs what one row does); the stopped ones are masked."""
    ff = as_flat_field(ff)
    f = ff.batch_call()
    tt = torch.tensor(float(t), dtype=torch.float64)
    with torch.no_grad():
        z = z.clone()
        F = f(tt, z) if F is None else F
        r = torch.linalg.vector_norm(F, dim=-1)
        active = r > tol
        n_act = int(active.sum())
        for _ in range(int(n_iter)):
            if n_act == 0:
                break
            step = _newton_step(ff.jacobian(z, t), F)
            z, F, r, moved = _line_search(f, tt, z, step, F, r, active)
            active = moved & (r > tol)
            n_act = int(active.sum())
    return z, F, r


def newton_polish(ff: FlatField, z: torch.Tensor, n_iter: int = 30, tol: float = 1e-12,
                  t: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Damped Newton ``z <- z - a J^+ f`` on states ``(N, n)``; returns ``(z, |f(z)|)``.

    ``J^{-1} f`` by one batched ``torch.linalg.solve_ex`` (the least-squares ``J^+ f``, ``torch.linalg.lstsq``
    gelsd, for rows where ``J`` is singular); the step ``a = 1, 1/2, ..., 2^-12`` is the first that decreases
    ``|f|`` (all rows' full steps in one field call, the shorter ones in a second); rows below ``tol``, or
    where no step decreases ``|f|``, stop moving.
    """
    z, _, r = _newton(ff, z, n_iter, tol, t)
    return z, r


def _starts(ff: FlatField, starts, n_starts, radius, t_sample, seed, max_nfe) -> tuple[torch.Tensor, str]:
    """The given starts, or the default mix (find_fixed_points' docstring), and the sampling message."""
    if starts is not None:
        return as_states(starts, ff.dim, "starts"), ""
    n = check_int("n_starts", n_starts, low=2)
    zr = random_states(ff, n // 2, radius, seed + 2)
    shrink = 10.0 ** -np.random.default_rng(seed + 3).uniform(0.0, 2.0, (n // 2, 1))
    shrink[::2] = 1.0  # half uniform in the ball, half with log-uniform radii
    zr = zr * torch.as_tensor(shrink)
    zs, message = trajectory_samples(ff, n - n // 2, radius=radius, t1=t_sample, seed=seed,
                                     max_nfe=check_int("max_nfe", max_nfe, low=1))
    return torch.cat([zs, zr]), message


#: A converged root is known to about this many Newton steps at it (a root of multiplicity m, where Newton
#: converges only linearly, lies m steps away): the radius within which two roots are the same root.
_ROOT_STEPS = 10.0


def _classified(ff: FlatField, zn: torch.Tensor, Fn: torch.Tensor, rn: torch.Tensor, conv: torch.Tensor,
                dedup_tol: float) -> list[FixedPoint]:
    """De-duplicated converged roots, classified with the tolerance their residual allows.

    Two roots are the same when they are closer than ``dedup_tol max(1, |x|)`` plus both roots' own accuracy,
    ``_ROOT_STEPS`` Newton steps ``|J^+ f|`` at each (nil for a simple root; for a degenerate one, such as 0 for
    ``x' = -x^3``, the many points Newton stops at within its slow approach are one root)."""
    idx = np.flatnonzero(conv.numpy())  # the row selections in numpy (exact copies; cheaper for few rows)
    if idx.size == 0:
        return []
    zc_np, rc_np = zn.numpy()[idx], rn.numpy()[idx]
    with torch.no_grad():
        Jc = ff.jacobian(torch.from_numpy(zc_np)).detach()
        acc = (_ROOT_STEPS * _newton_step(Jc, torch.from_numpy(Fn.numpy()[idx])).norm(dim=-1)).numpy()
    reps, counts = _dedup(zc_np, np.argsort(rc_np, kind="stable"), dedup_tol, acc)
    JX = torch.from_numpy(Jc.numpy()[reps])
    lam = torch.linalg.eigvals(JX).numpy()
    jn = torch.linalg.matrix_norm(JX, ord=2).numpy()
    points: list[FixedPoint] = []
    for k, i in enumerate(reps):
        ev = lam[k][np.argsort(-lam[k].real, kind="stable")]
        kind, udim = classify_equilibrium(ev, hyperbolicity_tol(ev, rc_np[i], jn[k]))
        ab = float(abscissa_of_eigvals(ev))
        points.append(FixedPoint(x=zc_np[i].copy(), residual=float(rc_np[i]), eigenvalues=ev, kind=kind,
                                 unstable_dim=udim, stable=bool(ab < 0 and kind != "non-hyperbolic"),
                                 eigenvalues_max_real=ab, count=counts[k]))
    return points


def _dedup(z: np.ndarray, order: np.ndarray, tol: float, acc: np.ndarray | None = None) -> tuple[list[int], list[int]]:
    """Greedy clusters in the given order: representatives and their member counts. Each point joins the first
    representative ``j`` it is close to, ``|z_i - z_j| <= tol max(1, |z_j|) + acc_i + acc_j`` (``acc``: each
    point's own accuracy, default 0), else it becomes one; one vectorised pass per representative."""
    order = np.asarray(order, dtype=np.int64)
    zo = z[order]
    acco = np.zeros(order.size) if acc is None else np.asarray(acc, dtype=np.float64)[order]
    owner = np.full(order.size, -1)
    reps: list[int] = []
    counts: list[int] = []
    for pos in range(order.size):
        if owner[pos] >= 0:
            continue
        zj = zo[pos]
        hit = (owner < 0) & (np.linalg.norm(zo - zj, axis=1) <= tol * max(1.0, float(np.linalg.norm(zj)))
                             + acco + acco[pos])
        hit[pos] = True
        owner[hit] = len(reps)
        reps.append(int(order[pos]))
        counts.append(int(hit.sum()))
    return reps, counts


def _descend(ff: FlatField, z0: torch.Tensor, n_minimise: int) -> tuple[torch.Tensor, torch.Tensor]:
    """L-BFGS-B (scipy) on ``sum_i q(z_i)``, ``q = 1/2 |f|^2`` (separable: each start's own descent), gradient by
    autograd; returns the end points ``(N, n)`` (a start whose descent went non-finite: the start) and their q."""
    tt = torch.tensor(0.0, dtype=torch.float64)

    def fun(v: np.ndarray):
        zz = torch.as_tensor(v.reshape(z0.shape)).requires_grad_(True)
        q = 0.5 * (ff(tt, zz) ** 2).sum(-1)
        q = torch.where(torch.isfinite(q), q, torch.zeros_like(q))
        (g,) = torch.autograd.grad(q.sum(), zz)
        return float(q.sum().detach()), g.numpy().ravel().astype(np.float64)

    z_np = minimize(fun, z0.numpy().ravel().copy(), jac=True, method="L-BFGS-B",
                    options=dict(maxiter=n_minimise, ftol=0.0, gtol=1e-14)).x
    za = torch.as_tensor(z_np.reshape(z0.shape))
    with torch.no_grad():
        qa = 0.5 * (ff(tt, za) ** 2).sum(-1)
    bad = ~torch.isfinite(qa)
    return torch.where(bad[:, None], z0, za), qa


def _slow_points(za: np.ndarray, qa: np.ndarray, conv_a: np.ndarray, points: list[FixedPoint], slow_q: float,
                 dedup_tol: float) -> list[SlowPoint]:
    """Minima of ``q`` with ``q <= slow_q`` that Newton did not turn into roots, away from every fixed point."""
    slow = ~conv_a & np.isfinite(qa) & (qa <= slow_q)
    if not slow.any():
        return []
    idx = np.nonzero(slow)[0]
    reps, counts = _dedup(za, idx[np.argsort(qa[idx], kind="stable")], max(dedup_tol, 1e-3))
    near_fp = [any(np.linalg.norm(za[i] - p.x) <= 1e-3 * max(1.0, np.linalg.norm(p.x)) for p in points) for i in reps]
    return [SlowPoint(x=za[i].copy(), q=float(qa[i]), speed=float(np.sqrt(2 * qa[i])), count=c)
            for i, c, near in zip(reps, counts, near_fp) if not near]


def find_fixed_points(field, starts=None, *, dim: int | None = None, n_starts: int = 64, radius: float = 2.0,
                      t_sample: float = 10.0, n_minimise: int = 200, n_newton: int = 40, max_nfe: int = SAMPLE_NFE,
                      tol: float = 1e-10, slow_q: float = 1e-4, dedup_tol: float = 1e-6,
                      seed: int = 0) -> FixedPointResult:
    """Fixed points and slow points of ``field`` (see the module docstring for the method).

    Args:
        field: an ``nn.Module`` with ``forward(t, z)`` accepting states ``(n,)`` (the FHRN field, with or
            without memory, :class:`~fhrn_ode.dynamics.systems.LorenzField`, ...). It is evaluated at t = 0.
        starts: starting states ``(N, n)`` (flat: ``[y, vec(A)]`` with memory); default: ``n_starts``
            states, half sampled along trajectories started in the ball of ``radius`` and run to
            ``t_sample`` (they find the attractors), a quarter uniform in that ball and a quarter with
            log-uniform radii in ``[radius/100, radius]`` (repellers, saddles, small-scale structure).
        dim: size of the ``y`` state when ``field`` has no ``dim`` attribute.
        n_minimise: L-BFGS iterations on ``sum q`` for the starts Newton did not converge from (0: Newton only).
        n_newton: Newton iterations.
        tol: a polished state with ``|f| <= tol`` is a fixed point.
        slow_q: a non-converged minimum of ``q`` with ``q <= slow_q`` is a slow point.
        dedup_tol: relative distance under which two points are the same (plus each root's own accuracy).
        max_nfe: field evaluations the start sampling may spend (a stiff field would take millions); past it
            the trajectories' computed prefix is sampled and ``message`` says so (the result is not a failure:
            these are only starts).
        seed: seed of the starts.

    Returns:
        :class:`FixedPointResult`.

    Raises:
        FHRNInputError: a bad field, start array or option.
    """
    ff = as_flat_field(field, dim, starts)
    n_minimise = check_int("n_minimise", n_minimise, low=0)
    n_newton = check_int("n_newton", n_newton, low=0)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    slow_q = check_real("slow_q", slow_q, low=0.0)
    dedup_tol = check_real("dedup_tol", dedup_tol, low=0.0, low_open=True)
    z0, message = _starts(ff, starts, n_starts, radius, t_sample, seed, max_nfe)
    N = z0.shape[0]
    # 2. Newton from the starts and their mirror images -z (odd fields, such as FHRN without drive, have their
    # roots in +- pairs; for others these are just more starts), all rows in one batch; the first evaluation
    # also checks the field at the starts
    zz = torch.cat([z0, -z0])
    with torch.no_grad():
        F0 = ff.batch_call()(ff._t0, zz)
    check_field_values(ff, z0, "the starts", f=F0[:N] if isinstance(F0, torch.Tensor) else F0)
    zn, Fn, rn = _newton(ff, zz, n_newton, tol * 1e-3, F=F0)
    conv = torch.isfinite(rn) & (rn <= tol)
    # 3. the starts Newton did not converge from descend q (L-BFGS), then Newton again from the end points +-za
    za = qa = None
    need = ~conv[:N]
    if n_minimise > 0 and bool(need.any()):
        za, qa = _descend(ff, z0[need], n_minimise)
        zm, Fm, rm = _newton(ff, torch.cat([za, -za]), n_newton, tol * 1e-3)
        zn, Fn, rn = torch.cat([zn, zm]), torch.cat([Fn, Fm]), torch.cat([rn, rm])
        conv = torch.isfinite(rn) & (rn <= tol)
    points = _classified(ff, zn, Fn, rn, conv, dedup_tol)
    # 4. slow points: small q where Newton found no root
    slow_points = [] if za is None else _slow_points(za.numpy(), qa.numpy(), conv[2 * N:2 * N + za.shape[0]].numpy(),
                                                     points, slow_q, dedup_tol)
    points.sort(key=lambda p: (round(float(np.linalg.norm(p.x)), 9), tuple(np.round(p.x, 9))))
    return FixedPointResult(points=points, slow_points=slow_points, n_starts=int(N), dim=ff.dim,
                            tol=tol, slow_q=slow_q, starts=z0.numpy(), message=message)
