"""Limit-cycle branches from a Hopf point by single shooting (Kuznetsov 3rd ed. §10.3.1; Seydel, *Practical
Bifurcation and Stability Analysis*, §7.3), continued by the pseudo-arclength engine.

Unknowns ``u = (x, T, p)``; equations ``phi_T(x; p) - x = 0`` and the phase condition
``f(x_ref)^T (x - x_ref) = 0`` (``x_ref``: the previous point). The Jacobian is
``[[M - I, f(phi_T(x)), d phi_T / dp], [f(x_ref)^T, 0, 0]]`` with the monodromy ``M`` from the variational
by reverse-mode autograd through the solve, ``d phi_T/dp`` by a central difference. Every
integration goes through :func:`fhrn_ode.solver.solve` on the single state ``(n,)``.

Start: at the Hopf point ``(x_H, 2 pi / w, p_H)`` the cycles leave along ``Re q`` (``q`` the critical
eigenvector); the first point is corrected on the hyperplane ``Re q^T (x - x_H) = ds``.
Along the branch: period, amplitude (half the largest peak-to-peak range of a component over one period),
Floquet multipliers (eigenvalues of ``M``); 'LPC' where the tangent's ``p`` component changes sign, 'PD'
where ``det(M + I)`` does, 'NS' where a complex pair of multipliers crosses the unit circle.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import brentq

from fhrn_ode.solver import solve

from ._arclength import Walker
from ._problem import Branch, SpecialPoint
from ._system import DomainError, EquilibriumSystem

__all__ = ["cycle_branch", "Shooting"]

D = torch.float64
RTOL, ATOL = 1e-9, 1e-11
NEWTON_TOL = 1e-7  # the shooting residual carries the integration error: Newton stops at this |u| update


class Shooting:
    """The shooting system of a problem on ``u = (x, T, p)``."""

    def __init__(self, sys: EquilibriumSystem, x_ref: torch.Tensor, f_ref: torch.Tensor) -> None:
        self.sys, self.n = sys, sys.n
        self.x_ref, self.f_ref = x_ref, f_ref

    def flow(self, x, T, p, n_save: int = 2):
        ff = self.sys._flat(p)
        sol = solve(lambda t, y: ff(t, y), x, torch.linspace(0.0, float(T), n_save, dtype=D), rtol=RTOL, atol=ATOL)
        if sol.status != "success":
            raise DomainError(f"the flow failed at p = {p:.6g}: {sol.message}")
        return sol.y

    def monodromy(self, x, T, p):
        """``(phi_T(x), M)``: ``M = d phi_T / dx`` by reverse-mode autograd through the solve (one backward
        pass per row; the field runs as plain torch, which is much faster than a torch.func variational RHS)."""
        ff = self.sys._flat(p)
        with torch.enable_grad():
            x0 = x.detach().clone().requires_grad_(True)
            sol = solve(lambda t, y: ff(t, y), x0, torch.tensor([0.0, float(T)], dtype=D), rtol=RTOL, atol=ATOL)
            if sol.status != "success":
                raise DomainError(f"the flow failed at p = {p:.6g}: {sol.message}")
            end = sol.y[-1]
            rows = [torch.autograd.grad(end[i], x0, retain_graph=i < self.n - 1)[0] for i in range(self.n)]
        return end.detach(), torch.stack(rows)

    def H(self, u):
        n = self.n
        x, T, p = u[:n], float(u[n]), float(u[n + 1])
        end = self.flow(x, T, p)[-1]
        return torch.cat([end - x, (self.f_ref @ (x - self.x_ref)).reshape(1)])

    def J(self, u):
        n = self.n
        x, T, p = u[:n], float(u[n]), float(u[n + 1])
        end, M = self.monodromy(x, T, p)
        h = 1e-6 * (1 + abs(p))
        dp = (self.flow(x, T, p + h)[-1] - self.flow(x, T, p - h)[-1]) / (2 * h)
        top = torch.cat([M - torch.eye(n, dtype=D), self.sys.F(end, p)[:, None], dp[:, None]], 1)
        return torch.cat([top, torch.cat([self.f_ref, torch.zeros(2, dtype=D)])[None]], 0)

    def describe(self, u, J=None) -> dict:
        """Period, amplitude and Floquet multipliers (by modulus, largest first) at ``u`` (``J``: the shooting
        Jacobian there, if known: ``M = J[:n, :n] + I``)."""
        n = self.n
        x, T, p = u[:n], float(u[n]), float(u[n + 1])
        Y = self.flow(x, T, p, n_save=201)
        M = self.monodromy(x, T, p)[1] if J is None else J[:n, :n] + torch.eye(n, dtype=D)
        mu = torch.linalg.eigvals(M).numpy()
        return dict(period=T, amplitude=float(((Y.max(0).values - Y.min(0).values) / 2).max()),
                    multipliers=mu[np.argsort(-np.abs(mu), kind="stable")])


def _nontrivial(mu: np.ndarray) -> np.ndarray:
    """The multipliers without the one closest to 1 (the trivial one of an autonomous flow)."""
    return np.delete(mu, int(np.argmin(np.abs(mu - 1))))


class _Rec:
    def __init__(self, shoot: Shooting, walker) -> None:
        self.s, self.w, self.d, self.tp = shoot, walker, [], []

    def __call__(self, u, t) -> None:
        n = self.s.n
        last = self.w.last_J
        self.d.append(self.s.describe(u, last[1] if last is not None and torch.equal(last[0], u) else None))
        self.s.x_ref, self.s.f_ref = u[:n].clone(), self.s.sys.F(u[:n], float(u[n + 1]))
        self.tp.append(float(t[n + 1]))


def _ns_count(mu, tol=1e-9):
    nt = _nontrivial(mu)
    return int(np.sum((np.abs(nt.imag) > tol) & (np.abs(nt) > 1)))


def _cycle_points(shoot, walker, walk, rec, opts) -> list[SpecialPoint]:
    out, n = [], shoot.n
    for k in range(len(walk.u) - 1):
        uk, tk, ul = walk.u[k], walk.t[k], walk.u[k + 1]
        s1 = float(tk @ (ul - uk))
        ma, mb = rec.d[k]["multipliers"], rec.d[k + 1]["multipliers"]
        tests = []
        if "LPC" in opts.detect and np.sign(rec.tp[k]) != np.sign(rec.tp[k + 1]):
            tests.append(("LPC", lambda u, tk=tk: float(walker.tangent(u, tk)[n + 1])))
        pd = [float(np.real(np.prod(_nontrivial(m) + 1))) for m in (ma, mb)]
        if "PD" in opts.detect and np.sign(pd[0]) != np.sign(pd[1]):
            tests.append(("PD", lambda u: float(np.real(np.prod(_nontrivial(shoot.describe(u)["multipliers"]) + 1)))))
        if "NS" in opts.detect and _ns_count(ma) != _ns_count(mb):
            tests.append(("NS", lambda u: float(np.max(np.abs(_nontrivial(shoot.describe(u)["multipliers"]))) - 1)))
        for kind, psi in tests:
            msg = ""
            try:
                s = brentq(lambda s: psi(_corrected(walker, uk, tk, s)), 0.0, s1, xtol=max(opts.locate_tol, 1e-10))
                u = _corrected(walker, uk, tk, s)
            except (RuntimeError, ValueError, DomainError) as exc:
                u, msg = ul, f"detected, not located: {exc}"
            d = shoot.describe(u)
            out.append(SpecialPoint(kind, float(u[n + 1]), u[:n].tolist(), k, message=msg,
                                    eigenvalues=[[float(z.real), float(z.imag)] for z in d["multipliers"]],
                                    data=dict(period=d["period"], amplitude=d["amplitude"])))
    return out


def _corrected(walker, uk, tk, s):
    u, _ = walker.correct(uk + s * tk, tk)
    if u is None:
        raise RuntimeError("corrector failed while locating")
    return u


def cycle_branch(problem, hopf: SpecialPoint, opts) -> Branch:
    """The limit cycles born at the Hopf point ``hopf`` (module docstring); one direction, away from it."""
    sys = EquilibriumSystem(problem)
    n, p = sys.n, hopf.p
    xh = torch.tensor(hopf.x, dtype=D)
    lam, V = torch.linalg.eig(sys.Fx(xh, p))
    w = float(hopf.data.get("omega") or lam.imag.abs().max())
    q = V[:, int(torch.argmin((lam - 1j * w).abs()))]
    e = q.real / torch.linalg.vector_norm(q.real)
    x1 = xh + opts.ds * e
    shoot = Shooting(sys, x1, sys.F(x1, p))
    opts = opts.replace(tol=max(opts.tol, NEWTON_TOL), max_newton=max(opts.max_newton, 20))
    walker = Walker(shoot.H, shoot.J, opts, [(n + 1, opts.p_min, opts.p_max, "p")], chord=True)
    t0 = torch.cat([e, torch.zeros(2, dtype=D)])
    u_h = torch.cat([xh, torch.tensor([2 * math.pi / w, p], dtype=D)])
    try:
        u1, _ = walker.correct(u_h + opts.ds * t0, t0)
    except DomainError as exc:
        u1, why = None, str(exc)
    else:
        why = "the first cycle next to the Hopf point was not corrected (try a smaller ds)"
    if u1 is None:
        return Branch("cycles", problem.param, np.zeros(0), np.zeros((0, n)), np.zeros((0, n), complex), [], [],
                      "failed", why, {})
    rec = _Rec(shoot, walker)
    walk = walker.walk(u1, walker.tangent(u1, t0), on_point=rec)
    U = torch.stack(walk.u).numpy()
    mult = np.array([d["multipliers"] for d in rec.d])
    stab = []
    for m in mult:
        nt = np.abs(_nontrivial(m))
        stab.append("neutral" if np.any(np.abs(nt - 1) <= 1e-6) else ("stable" if np.all(nt < 1) else "unstable"))
    special = _cycle_points(shoot, walker, walk, rec, opts)
    return Branch("cycles", problem.param, U[:, n + 1], U[:, :n], mult, stab, special,
                  "stopped" if walk.failed else "success", f"forward: {walk.end}", {"forward": walk.end},
                  data=dict(period=U[:, n], amplitude=np.array([d["amplitude"] for d in rec.d])))
