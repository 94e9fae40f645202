"""Equilibrium branches: pseudo-arclength continuation, detection and location of LP/H/BP, switching.

Test functions between consecutive points (Kuznetsov 3rd ed. §10.2.2; Govaerts, *Numerical Methods for
Bifurcations of Dynamical Equilibria*, ch. 3): fold ``psi_LP = t_p`` (the parameter component of the unit
tangent); branch point ``psi_BP = det [F_x F_p; t^T]``; Hopf: the number of complex eigenvalues with
positive real part changes by two. Each sign change is located by ``scipy.optimize.brentq`` on the
arclength ``s`` between the two points (each evaluation a corrected point on the branch); the continuous
test function is ``t_p`` (LP), the bordered determinant with the fixed tangent of the interval (BP), and the
real part of the crossing eigenvalue followed by continuity (H).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import brentq

from ..normal_forms import fold_normal_form, hopf_normal_form
from ._arclength import Walk, Walker
from ._problem import Branch, SpecialPoint
from ._system import DomainError, EquilibriumSystem

__all__ = ["equilibrium_branch", "switch_branch", "newton_start", "stability_label"]

D = torch.float64


def _walker(sys: EquilibriumSystem, opts) -> Walker:
    n = sys.n

    def H(u):
        return sys.F(u[:n], float(u[n]))

    def J(u):
        x, p = u[:n], float(u[n])
        return torch.cat([sys.Fx(x, p), sys.Fp(x, p)[:, None]], 1)
    return Walker(H, J, opts, [(n, opts.p_min, opts.p_max, "p")])


def newton_start(sys: EquilibriumSystem, x0: torch.Tensor, p0: float, opts) -> tuple[torch.Tensor | None, str]:
    """Newton on ``f(x; p0) = 0`` from ``x0``: ``(x, '')`` or ``(None, reason)``."""
    x = x0.clone()
    try:
        r0 = float(torch.linalg.vector_norm(sys.F(x, p0)))
        for _ in range(4 * opts.max_newton):
            f = sys.F(x, p0)
            if float(torch.linalg.vector_norm(f)) <= opts.tol:
                return x, ""
            dx = torch.linalg.lstsq(sys.Fx(x, p0), f[:, None]).solution[:, 0]
            x = x - dx
    except DomainError as exc:
        return None, f"the start is outside the field's domain: {exc}"
    res = float(torch.linalg.vector_norm(sys.F(x, p0))) if bool(torch.isfinite(x).all()) else float("nan")
    return None, (f"the start is not an equilibrium: |f(x0)| = {r0:.3g} at p0 = {p0:g} and Newton reached only "
                  f"{res:.3g} (tol {opts.tol:g})")


def stability_label(lam: np.ndarray, eig_tol: float) -> str:
    """'stable' / 'unstable' / 'neutral' from eigenvalues (``|Re| <= eig_tol (1 + |lambda|)`` is neutral)."""
    k = int(np.argmax(lam.real))
    if abs(lam[k].real) <= eig_tol * (1 + abs(lam[k])):
        return "neutral"
    return "stable" if lam[k].real < 0 else "unstable"


class _Record:
    """Per-point data of one walk: eigenvalues, fold/BP test functions."""

    def __init__(self, sys, walker) -> None:
        self.sys, self.walker = sys, walker
        self.eig, self.tp, self.det = [], [], []

    def __call__(self, u, t) -> None:
        n = self.sys.n
        Jx = self.sys.Fx(u[:n], float(u[n]))
        lam = torch.linalg.eigvals(Jx).numpy()
        self.eig.append(lam[np.argsort(-lam.real, kind="stable")])
        self.tp.append(float(t[n]))
        self.det.append(float(torch.linalg.det(torch.cat([self.walker.J(u), t[None]], 0))))


def _on_branch(walker, uk, tk, s):
    u, _ = walker.correct(uk + s * tk, tk)
    if u is None:
        raise RuntimeError("corrector failed while locating")
    return u


def _locate(walker, uk, tk, s1, psi, xtol):
    """brentq on ``s`` in ``[0, s1]``: the corrected point where ``psi(u) = 0``."""
    g = lambda s: psi(_on_branch(walker, uk, tk, s))  # noqa: E731
    s = brentq(g, 0.0, s1, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=200)
    return _on_branch(walker, uk, tk, s)


def _complex_crossing(la: np.ndarray, lb: np.ndarray, eig_tol: float):
    """The eigenvalue pair (Im > 0) whose real part changes sign from ``la`` to ``lb``, as (a, b) or None."""
    for a in la[la.imag > eig_tol * (1 + np.abs(la))]:
        b = lb[np.argmin(np.abs(lb - a))]
        if np.sign(a.real) != np.sign(b.real) and b.imag > 0:
            return a, b
    return None


def _special(sys, walker, walk, rec, opts) -> list[SpecialPoint]:
    n, out = sys.n, []
    for k in range(len(walk.u) - 1):
        uk, tk, ul = walk.u[k], walk.t[k], walk.u[k + 1]
        s1 = float(tk @ (ul - uk))
        found = []
        if "LP" in opts.detect and np.sign(rec.tp[k]) != np.sign(rec.tp[k + 1]):
            found.append(("LP", lambda u, tk=tk: float(walker.tangent(u, tk)[n])))
        elif "BP" in opts.detect and np.sign(rec.det[k]) != np.sign(rec.det[k + 1]):
            found.append(("BP", lambda u, tk=tk: float(torch.linalg.det(torch.cat([walker.J(u), tk[None]], 0)))))
        pair = _complex_crossing(rec.eig[k], rec.eig[k + 1], opts.eig_tol) if "H" in opts.detect else None
        if pair is not None:
            a, b = pair

            def re_of(u, a=a, b=b, s1=s1, uk=uk, tk=tk):
                lam = torch.linalg.eigvals(sys.Fx(u[:n], float(u[n]))).numpy()
                guess = a + (b - a) * float(tk @ (u - uk)) / s1
                return float(lam[np.argmin(np.abs(lam - guess))].real)
            found.append(("H", re_of))
        for kind, psi in found:
            try:
                u = _locate(walker, uk, tk, s1, psi, opts.locate_tol)
            except (RuntimeError, ValueError, DomainError) as exc:
                out.append(SpecialPoint(kind, float(ul[n]), ul[:n].tolist(), k, message=f"detected, not located: {exc}"))
                continue
            x, p = u[:n].tolist(), float(u[n])
            if any(o.kind == kind and abs(o.p - p) + max(abs(a - b) for a, b in zip(o.x, x)) <= 1e-9 * (1 + abs(p))
                   for o in out):
                continue  # a point that fell exactly on the special point is seen from both intervals
            out.append(_describe(sys, walker, kind, u, tk, k, opts))
    return out


def _describe(sys, walker, kind, u, tk, k, opts) -> SpecialPoint:
    n = sys.n
    x, p = u[:n], float(u[n])
    lam = torch.linalg.eigvals(sys.Fx(x, p)).numpy()
    lam = lam[np.argsort(-lam.real, kind="stable")]
    sp = SpecialPoint(kind, p, x.tolist(), k, eigenvalues=[[float(z.real), float(z.imag)] for z in lam],
                      tangent=(tk if kind == "BP" else walker.tangent(u, tk)).tolist(),
                      data=dict(residual=float(torch.linalg.vector_norm(sys.F(x, p)))))
    f = lambda z: sys.F(z, p)  # noqa: E731
    try:
        if kind == "LP" and opts.normal_forms:
            sp.normal_form = fold_normal_form(f, x).to_dict()
        elif kind == "H":
            w = float(np.abs(lam.imag[np.argmin(np.abs(lam.real))]))
            sp.data["omega"] = w
            sp.data["period"] = 2 * np.pi / w
            if opts.normal_forms:
                sp.normal_form = hopf_normal_form(f, x, omega=w).to_dict()
    except Exception as exc:  # noqa: BLE001 - a coefficient that cannot be computed is reported, not fatal
        sp.message = f"normal form not computed: {exc}"
    return sp


def _merge(sys, opts, walks, recs, specials, kind="equilibria", param="p", p_mode="") -> Branch:
    """Walks in order (first reversed, without its start when a second follows) into one Branch."""
    n = sys.n
    us, eigs, special, offset = [], [], [], 0
    for j, (w, r, sp) in enumerate(zip(walks, recs, specials)):
        if j == 0 and len(walks) > 1:
            m = len(w.u)
            us += w.u[::-1]
            eigs += r.eig[::-1]
            for s in sp:
                s.index = m - 2 - s.index
            special += sp
            offset = m - 1
        else:
            skip = 1 if len(walks) > 1 else 0
            us += w.u[skip:]
            eigs += r.eig[skip:]
            for s in sp:
                s.index += offset
            special += sp
    U = torch.stack(us).numpy() if us else np.zeros((0, n + 1))
    ends = {("backward" if j == 0 and len(walks) > 1 else "forward"): w.end for j, w in enumerate(walks)}
    failed = [e for w, e in zip(walks, ends.values()) if w.failed or e.startswith(("parameter", "the field"))]
    status = "stopped" if failed else "success"
    msg = "; ".join(f"{k}: {v}" for k, v in ends.items()) + (f"; F_p by {p_mode}" if p_mode else "")
    special.sort(key=lambda s: s.index)
    return Branch(kind, param, U[:, n], U[:, :n], np.array(eigs), [stability_label(e, opts.eig_tol) for e in eigs],
                  special, status, msg, ends)


def equilibrium_branch(problem, opts) -> Branch:
    """Continue the equilibria of ``problem`` from ``(x0, p0)`` in ``opts.direction`` (docs/continuation.md)."""
    sys = EquilibriumSystem(problem)
    n = sys.n
    x, why = newton_start(sys, problem.x0, problem.p0, opts)
    if x is None:
        return Branch("equilibria", problem.param, np.zeros(0), np.zeros((0, n)), np.zeros((0, n), complex), [],
                      [], "failed", why, {})
    walker = _walker(sys, opts)
    u0 = torch.cat([x, torch.tensor([problem.p0], dtype=D)])
    t0 = torch.linalg.svd(walker.J(u0))[2][-1]
    t0 = t0 if float(t0[n]) > 0 or float(t0[n]) == 0 and float(t0[int(t0.abs().argmax())]) > 0 else -t0
    signs = {"both": (-1, 1), "forward": (1,), "backward": (-1,)}[opts.direction]
    walks, recs, specials = [], [], []
    for sgn in signs:
        rec = _Record(sys, walker)
        w = walker.walk(u0, sgn * t0, on_point=rec,
                        partial=lambda w_, rec=rec: _merge(sys, opts, [w_], [rec], [[]], param=problem.param))
        walks.append(w)
        recs.append(rec)
        specials.append(_special(sys, walker, w, rec, opts))
    return _merge(sys, opts, walks, recs, specials, param=problem.param, p_mode=sys.p_mode)


def switch_branch(problem, bp: SpecialPoint, opts) -> Branch:
    """The other branch through a branch point ``bp``: both sides of it, the BP in the middle.

    The null space of ``[F_x F_p]`` at the BP is two-dimensional (SVD); the predictor leaves along its
    direction orthogonal to the BP's tangent, the corrector keeps that direction's hyperplane.
    """
    sys = EquilibriumSystem(problem)
    walker = _walker(sys, opts)
    u_bp = torch.tensor(list(bp.x) + [bp.p], dtype=D)
    V = torch.linalg.svd(walker.J(u_bp))[2][-2:]
    t1 = torch.tensor(bp.tangent, dtype=D) if bp.tangent else V[-1]
    cand = V - (V @ t1)[:, None] * t1[None]
    t2 = cand[int(torch.linalg.vector_norm(cand, dim=1).argmax())]
    t2 = t2 / torch.linalg.vector_norm(t2)
    walks, recs, specials = [], [], []
    for sgn in (-1, 1):
        u1, _ = walker.correct(u_bp + sgn * opts.ds * t2, sgn * t2)
        rec = _Record(sys, walker)
        if u1 is None:
            walks.append(Walk(u=[u_bp], t=[sgn * t2], end="branch switching: first step not corrected", failed=True))
            rec(u_bp, sgn * t2)
            recs.append(rec)
            specials.append([])
            continue
        rec(u_bp, sgn * t2)
        w = walker.walk(u1, walker.tangent(u1, sgn * t2), on_point=rec)
        w.u.insert(0, u_bp)
        w.t.insert(0, sgn * t2)
        sp = _special(sys, walker, w, rec, opts)
        walks.append(w)
        recs.append(rec)
        specials.append([s for s in sp if s.index > 0])
    return _merge(sys, opts, walks, recs, specials, param=problem.param, p_mode=sys.p_mode)
