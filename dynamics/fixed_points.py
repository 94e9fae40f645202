"""Fixed points and slow points of ANY field ``dz/dt = f(z)`` (an ``nn.Module`` with ``forward(t, z)``).

Method (as FixedPointFinder does for discrete RNNs, here for the ODE):

1. starts: states sampled along trajectories (:func:`~fhrn_ode.dynamics._flow.trajectory_samples`), or given;
2. minimisation of the speed ``q(z) = 1/2 |f(z)|^2`` from all starts at once: ``scipy.optimize.minimize``
   (L-BFGS-B) on the separable sum, gradient by autograd;
3. damped Newton polish ``z <- z - a J(z)^+ f(z)`` (from the minimiser's end points, the starts and their mirror images ``-z``) with the field's Jacobian (its own where confirmed, else ``vmap(jacrev(f))``; all starts in one batched ``torch.linalg.solve_ex``, least squares where J is singular)
   (least squares, so a singular ``J`` does not stop it; ``a`` halves until ``|f|`` decreases);
4. a polished state with ``|f| <= tol`` is a fixed point; de-duplicated; classified by the eigenvalues
   of ``J`` (:func:`classify_equilibrium`). A minimum of ``q`` that Newton cannot bring to ``|f| <= tol``
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


def newton_polish(ff: FlatField, z: torch.Tensor, n_iter: int = 30, tol: float = 1e-12,
                  t: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Damped Newton ``z <- z - a J^+ f`` on states ``(N, n)``; returns ``(z, |f(z)|)``.

    ``J^{-1} f`` by one batched ``torch.linalg.solve_ex`` (the least-squares ``J^+ f``, ``torch.linalg.lstsq``
    gelsd, for rows where ``J`` is singular), and the step ``a`` halves
    (up to 12 times) until ``|f|`` decreases; rows already below ``tol`` stop moving.
    """
    ff = as_flat_field(ff)
    tt = torch.tensor(float(t), dtype=torch.float64)

    def fv(x):
        return ff(tt, x)

    with torch.no_grad():
        z = z.clone()
        r = fv(z).norm(dim=-1)
    for _ in range(int(n_iter)):
        active = r > tol
        if not bool(active.any()):
            break
        with torch.no_grad():
            J = field_jacobian(ff, z, t).detach()
            F = fv(z)
            ok = torch.isfinite(J).flatten(1).all(-1) & torch.isfinite(F).all(-1)
            J = torch.where(ok[:, None, None], J, torch.zeros_like(J))
            rhs = -torch.where(ok[:, None], F, torch.zeros_like(F)).unsqueeze(-1)
            step, info = torch.linalg.solve_ex(J, rhs)  # one batched LU for all starts
            sing = (info != 0) | ~torch.isfinite(step).flatten(1).all(-1)
            if bool(sing.any()):  # singular J: the least-squares step (gelsd) for those rows only
                step[sing] = torch.linalg.lstsq(J[sing], rhs[sing], driver="gelsd").solution
            step = step.squeeze(-1)
            accepted = torch.zeros_like(active)
            a = torch.ones_like(r)
            for _ in range(13):
                trial = z + a[:, None] * step
                rt = fv(trial).norm(dim=-1)
                better = active & ~accepted & torch.isfinite(rt) & (rt < r)
                z = torch.where(better[:, None], trial, z)
                r = torch.where(better, rt, r)
                accepted = accepted | better
                if bool((accepted | ~active).all()):
                    break
                a = torch.where(accepted, a, a * 0.5)
    return z, r


def _dedup(z: np.ndarray, order: np.ndarray, tol: float) -> tuple[list[int], list[int]]:
    """Greedy clusters in the given order: representatives and their member counts."""
    reps: list[int] = []
    counts: list[int] = []
    for i in order:
        for k, j in enumerate(reps):
            if np.linalg.norm(z[i] - z[j]) <= tol * max(1.0, np.linalg.norm(z[j])):
                counts[k] += 1
                break
        else:
            reps.append(int(i))
            counts.append(1)
    return reps, counts


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
        n_minimise: L-BFGS iterations on ``sum q`` (0: Newton only). n_newton: Newton iterations.
        tol: a polished state with ``|f| <= tol`` is a fixed point.
        slow_q: a non-converged minimum of ``q`` with ``q <= slow_q`` is a slow point.
        dedup_tol: relative distance under which two points are the same.
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
    if starts is None:
        n = check_int("n_starts", n_starts, low=2)
        zr = random_states(ff, n // 2, radius, seed + 2)
        shrink = 10.0 ** -np.random.default_rng(seed + 3).uniform(0.0, 2.0, (n // 2, 1))
        shrink[::2] = 1.0  # half uniform in the ball, half with log-uniform radii
        zr = zr * torch.as_tensor(shrink)
        zs, message = trajectory_samples(ff, n - n // 2, radius=radius, t1=t_sample, seed=seed,
                                         max_nfe=check_int("max_nfe", max_nfe, low=1))
        z0 = torch.cat([zs, zr])
    else:
        z0 = as_states(starts, ff.dim, "starts")
        message = ""
    check_field_values(ff, z0, "the starts")
    fv, tt = ff, torch.tensor(0.0, dtype=torch.float64)
    # 2. minimise sum_i q(z_i) with L-BFGS (scipy); the sum is separable, so this is every start's own descent
    z_np = z0.numpy().ravel().copy()

    def fun(v: np.ndarray):
        zz = torch.as_tensor(v.reshape(z0.shape)).requires_grad_(True)
        q = 0.5 * (fv(tt, zz) ** 2).sum(-1)
        q = torch.where(torch.isfinite(q), q, torch.zeros_like(q))
        (g,) = torch.autograd.grad(q.sum(), zz)
        return float(q.sum().detach()), g.numpy().ravel().astype(np.float64)

    if n_minimise > 0:
        z_np = minimize(fun, z_np, jac=True, method="L-BFGS-B",
                        options=dict(maxiter=n_minimise, ftol=0.0, gtol=1e-14)).x
    za = torch.as_tensor(z_np.reshape(z0.shape))
    with torch.no_grad():
        qa = 0.5 * (fv(tt, za) ** 2).sum(-1)
    bad = ~torch.isfinite(qa)
    za = torch.where(bad[:, None], z0, za)  # a start the descent threw away is polished from where it began
    # 3. Newton polish, from the minimiser's end points and from the starts themselves (Newton alone reaches the
    # roots whose basins the descent leaves), and from the mirrored starts -z (odd fields,
    # such as FHRN without drive, have their roots in +- pairs; for others these are just more starts)
    # (without a descent, za is z0: polished once)
    zn, rn = newton_polish(ff, torch.cat([za, -z0] if n_minimise == 0 else [za, z0, -z0, -za]), n_newton,
                           tol=tol * 1e-3)
    zn_np, rn_np = zn.numpy(), rn.numpy()
    conv = np.isfinite(rn_np) & (rn_np <= tol)
    conv_a = conv[: za.shape[0]]
    points: list[FixedPoint] = []
    if conv.any():
        idx = np.nonzero(conv)[0]
        reps, counts = _dedup(zn_np, idx[np.argsort(rn_np[idx], kind="stable")], dedup_tol)
        X = torch.as_tensor(zn_np[reps])
        with torch.no_grad():
            JX = field_jacobian(ff, X).detach()
        lam = torch.linalg.eigvals(JX).numpy()
        jn = torch.linalg.matrix_norm(JX, ord=2).numpy()
        for k, i in enumerate(reps):
            ev = lam[k][np.argsort(-lam[k].real, kind="stable")]
            kind, udim = classify_equilibrium(ev, hyperbolicity_tol(ev, rn_np[i], jn[k]))
            points.append(FixedPoint(x=zn_np[i].copy(), residual=float(rn_np[i]), eigenvalues=ev, kind=kind,
                                     unstable_dim=udim, stable=bool(abscissa_of_eigvals(ev) < 0 and kind != "non-hyperbolic"),
                                     eigenvalues_max_real=float(abscissa_of_eigvals(ev)), count=counts[k]))
    # 4. slow points: small q where Newton found no root
    qa_np = qa.numpy()
    slow = ~conv_a & np.isfinite(qa_np) & (qa_np <= slow_q)
    slow_points: list[SlowPoint] = []
    if slow.any():
        idx = np.nonzero(slow)[0]
        za_np = za.numpy()
        reps, counts = _dedup(za_np, idx[np.argsort(qa_np[idx], kind="stable")], max(dedup_tol, 1e-3))
        near_fp = [any(np.linalg.norm(za_np[i] - p.x) <= 1e-3 * max(1.0, np.linalg.norm(p.x)) for p in points)
                   for i in reps]
        slow_points = [SlowPoint(x=za_np[i].copy(), q=float(qa_np[i]), speed=float(np.sqrt(2 * qa_np[i])), count=c)
                       for i, c, near in zip(reps, counts, near_fp) if not near]
    points.sort(key=lambda p: (round(float(np.linalg.norm(p.x)), 9), tuple(np.round(p.x, 9))))
    return FixedPointResult(points=points, slow_points=slow_points, n_starts=int(z0.shape[0]), dim=ff.dim,
                            tol=tol, slow_q=slow_q, starts=z0.numpy(), message=message)
