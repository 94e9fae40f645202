"""Fold and Hopf curves in two parameters by the standard augmented systems (Kuznetsov 3rd ed. §10.2.3-10.2.4;
Govaerts ch. 4), continued by the same pseudo-arclength engine, with codim-2 points located on them.

Fold curve, unknowns ``(x, v, p, p2)``: ``f = 0``, ``f_x v = 0``, ``v0^T v = 1``.
Hopf curve, unknowns ``(x, v_r, v_i, w, p, p2)``: ``f = 0``, ``f_x v_r + w v_i = 0``, ``f_x v_i - w v_r = 0``,
``v_r0^T v_r + v_i0^T v_i = 1``, ``v_r0^T v_i - v_i0^T v_r = 0`` (``v0`` from the start point).

Test functions (sign changes, located by brentq on the arclength): on a Hopf curve, Bautin 'GH' ``l1``
(:func:`~fhrn_ode.dynamics.normal_forms.hopf_normal_form`), Bogdanov-Takens 'BT' ``w``, zero-Hopf 'ZH'
``det f_x`` (a real eigenvalue through 0 while ``w > 0``); on a fold curve, cusp 'CP' ``w^T B(v, v) w^T v / |w|^2``
(``w`` the left null vector; the product does not depend on its sign, and vanishes at BT too, where the
point is reported as BT only), 'BT' the product of the eigenvalues other than the fold's zero (a second
eigenvalue through 0), 'ZH' a complex pair through the axis.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jacfwd, jvp

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.spectrum import abscissa_of_eigvals

from ..normal_forms import hopf_normal_form, multilinear_forms
from ._arclength import Walker
from ._equilibria import _complex_crossing, _locate, stability_label
from ._problem import Branch, SpecialPoint
from ._system import DomainError, EquilibriumSystem

__all__ = ["codim2_curve"]

D = torch.float64


class _Curve:
    """The augmented system of a fold ('LP') or Hopf ('H') curve on ``u = (z, p, p2)``."""

    def __init__(self, sys: EquilibriumSystem, kind: str, v0: torch.Tensor) -> None:
        self.sys, self.kind, self.v0, self.n = sys, kind, v0, sys.n
        self.N = (2 * self.n + 1) if kind == "LP" else (3 * self.n + 2)  # equations = len(u) - 1

    def G(self, z, p, p2):
        n, sys = self.n, self.sys
        x = z[:n]
        if isinstance(p, torch.Tensor) or isinstance(p2, torch.Tensor):
            f = lambda y: sys._call(y, p, p2)  # noqa: E731
        else:  # build the module outside the jvp transforms (a constructor may read its tensors' data)
            ff = sys._flat(p, p2)
            f = lambda y: ff(sys.t, y)  # noqa: E731
        if self.kind == "LP":
            v = z[n:2 * n]
            return torch.cat([f(x), jvp(f, (x,), (v,))[1], (self.v0 @ v - 1).reshape(1)])
        vr, vi, w = z[n:2 * n], z[2 * n:3 * n], z[3 * n]
        ar, ai = jvp(f, (x,), (vr,))[1], jvp(f, (x,), (vi,))[1]
        r0, i0 = self.v0[:n], self.v0[n:]
        return torch.cat([f(x), ar + w * vi, ai - w * vr, (r0 @ vr + i0 @ vi - 1).reshape(1),
                          (r0 @ vi - i0 @ vr).reshape(1)])

    def H(self, u):
        m = len(u) - 2
        return self.G(u[:m], float(u[m]), float(u[m + 1]))

    def J(self, u):
        m = len(u) - 2
        z, p, p2 = u[:m], float(u[m]), float(u[m + 1])
        Jz = jacfwd(lambda zz: self.G(zz, p, p2))(z)
        dp = self.sys.param_derivative(lambda q, q2: self.G(z, q, q2), p, p2, 1)
        dp2 = self.sys.param_derivative(lambda q, q2: self.G(z, q, q2), p, p2, 2)
        return torch.cat([Jz, dp[:, None], dp2[:, None]], 1)


def _start_vector(sys, kind, start: SpecialPoint, p, p2):
    x = torch.tensor(start.x, dtype=D)
    A = sys.Fx(x, p, p2)
    if kind == "LP":
        v = torch.linalg.svd(A)[2][-1]
        return torch.cat([x, v]), v
    lam, V = torch.linalg.eig(A)
    w = float(start.data.get("omega", 0.0)) or float(lam.imag.abs().max())
    k = int(torch.argmin((lam - 1j * w).abs()))
    q = V[:, k] / torch.linalg.vector_norm(V[:, k])
    v0 = torch.cat([q.real, q.imag]).to(D)
    return torch.cat([x, v0, torch.tensor([float(lam[k].imag)], dtype=D)]), v0


class _Tests:
    """Per-point test functions and eigenvalues along a fold/Hopf curve."""

    def __init__(self, curve: _Curve, detect=("GH",)) -> None:
        self.c, self.detect = curve, detect
        self.eig, self.vals, self.l1 = [], [], []

    def values(self, u) -> dict:
        c, n = self.c, self.c.n
        m = len(u) - 2
        x, p, p2 = u[:n], float(u[m]), float(u[m + 1])
        A = c.sys.Fx(x, p, p2)
        lam = torch.linalg.eigvals(A).numpy()
        lam = lam[np.argsort(-lam.real, kind="stable")]
        f = lambda y: c.sys.F(y, p, p2)  # noqa: E731
        if c.kind == "H":
            w = float(u[3 * n])
            nf = hopf_normal_form(f, x, omega=abs(w)) if abs(w) > 0 and "GH" in self.detect else None
            return dict(lam=lam, GH=nf.l1 if nf else np.nan, BT=w, ZH=float(torch.linalg.det(A)))
        v = u[n:2 * n]
        lt, U = torch.linalg.eig(A.T)
        wl = U[:, int(lt.abs().argmin())].real
        wl = wl if float(wl @ v) >= 0 else -wl
        B, _ = multilinear_forms(f, x)
        # orientation-free tests: w.B(v,v) (w.v) / |w|^2 vanishes at a cusp and at BT (w.v = 0); the
        # product of the eigenvalues other than the fold's zero vanishes only at BT (a second zero)
        wv = float(wl @ v) / float(torch.linalg.vector_norm(wl))
        rest = np.delete(lam, int(np.argmin(np.abs(lam))))
        return dict(lam=lam, CP=float(wl @ B(v, v)) * wv / float(torch.linalg.vector_norm(wl)),
                    BT=float(np.real(np.prod(rest))))

    def __call__(self, u, t) -> None:
        d = self.values(u)
        self.eig.append(d.pop("lam"))
        self.vals.append(d)


def _codim2_points(curve, walker, walk, rec, opts) -> list[SpecialPoint]:
    out, n = [], curve.n
    for k in range(len(walk.u) - 1):
        uk, tk, ul = walk.u[k], walk.t[k], walk.u[k + 1]
        s1 = float(tk @ (ul - uk))
        a, b = rec.vals[k], rec.vals[k + 1]
        kinds = [key for key in a if key in opts.detect and np.sign(a[key]) != np.sign(b[key])
                 and np.isfinite(a[key]) and np.isfinite(b[key])]
        if curve.kind == "H" and "BT" in kinds and "ZH" in kinds:
            kinds.remove("ZH")  # at BT det f_x vanishes with w: one point, not two
        if curve.kind == "LP" and "BT" in kinds and "CP" in kinds:
            kinds.remove("CP")  # the cusp test w.B(v,v) (w.v) vanishes at BT too: one point, a BT
        if curve.kind == "LP" and "ZH" in opts.detect and _complex_crossing(rec.eig[k], rec.eig[k + 1], opts.eig_tol):
            kinds.append("ZH")
        for kind in kinds:
            if kind == "ZH" and curve.kind == "LP":
                psi = lambda u: _max_complex_real(_Tests(curve, opts.detect).values(u)["lam"], opts.eig_tol)  # noqa: E731
            else:
                psi = lambda u, kind=kind: _Tests(curve, opts.detect).values(u)[kind]  # noqa: E731
            try:
                u = _locate(walker, uk, tk, s1, psi, opts.locate_tol)
                msg = ""
            except (RuntimeError, ValueError, DomainError) as exc:
                u, msg = ul, f"detected, not located: {exc}"
            m = len(u) - 2
            out.append(SpecialPoint(kind, float(u[m]), u[:n].tolist(), k, p2=float(u[m + 1]),
                                    data={key: float(v) for key, v in _Tests(curve, opts.detect).values(u).items() if key != "lam"},
                                    message=msg))
    return out


def _max_complex_real(lam, tol):
    cx = lam[np.abs(lam.imag) > tol * (1 + np.abs(lam))]
    return float(abscissa_of_eigvals(cx)) if len(cx) else np.nan


def codim2_curve(problem, start: SpecialPoint, opts) -> Branch:
    """Continue the fold ('LP') or Hopf ('H') point ``start`` in ``(param, param2)`` (module docstring).

    Raises:
        FHRNInputError: the problem has no ``param2``/``p2_0``, or ``start`` is not an 'LP' or 'H' point.
    """
    if problem.param2 is None:
        raise FHRNInputError("a two-parameter curve needs `param2` (and `p2_0`) in the ContinuationProblem")
    if start.kind not in ("LP", "H"):
        raise FHRNInputError(f"`start` must be an 'LP' or 'H' point for a two-parameter curve; got {start.kind!r}")
    sys = EquilibriumSystem(problem)
    p, p2 = start.p, problem.p2_0
    z0, v0 = _start_vector(sys, start.kind, start, p, p2)
    curve = _Curve(sys, start.kind, v0)
    m = len(z0)
    walker = Walker(curve.H, curve.J, opts, [(m, opts.p_min, opts.p_max, "p"), (m + 1, opts.p2_min, opts.p2_max, "p2")])
    u0 = torch.cat([z0, torch.tensor([p, p2], dtype=D)])
    e = torch.zeros(m + 2, dtype=D)
    e[m + 1] = 1.0
    u0, _ = walker.correct(u0, e)  # the start polished at fixed p2
    if u0 is None:
        return Branch("fold" if start.kind == "LP" else "hopf", problem.param, np.zeros(0), np.zeros((0, sys.n)),
                      np.zeros((0, sys.n), complex), [], [], "failed",
                      f"the {start.kind} point is not a solution of its augmented system at p2 = {p2:g}", {},
                      param2=problem.param2, p2=np.zeros(0))
    t0 = torch.linalg.svd(walker.J(u0))[2][-1]
    t0 = t0 if float(t0[m + 1]) >= 0 else -t0
    walks, recs = [], []
    for sgn in {"both": (-1, 1), "forward": (1,), "backward": (-1,)}[opts.direction]:
        rec = _Tests(curve, opts.detect)
        walks.append(walker.walk(u0, sgn * t0, on_point=rec))
        recs.append(rec)
    return _assemble(curve, walker, walks, recs, opts, problem)


def _assemble(curve, walker, walks, recs, opts, problem) -> Branch:
    n = curve.n
    us, eig, vals, special, offset = [], [], [], [], 0
    for j, (w, r) in enumerate(zip(walks, recs)):
        sp = _codim2_points(curve, walker, w, r, opts)
        if j == 0 and len(walks) > 1:
            us, eig, vals = w.u[::-1], r.eig[::-1], r.vals[::-1]
            for s in sp:
                s.index = len(w.u) - 2 - s.index
            offset = len(w.u) - 1
        else:
            skip = 1 if len(walks) > 1 else 0
            us, eig, vals = us + w.u[skip:], eig + r.eig[skip:], vals + r.vals[skip:]
            for s in sp:
                s.index += offset
        special += sp
    U = torch.stack(us).numpy()
    m = U.shape[1] - 2
    ends = {("backward" if j == 0 and len(walks) > 1 else "forward"): w.end for j, w in enumerate(walks)}
    status = "stopped" if any(w.failed for w in walks) else "success"
    data = {key: np.array([v[key] for v in vals]) for key in vals[0]} if vals else {}
    if curve.kind == "H":
        data["omega"] = U[:, 3 * n]
        data["l1"] = data.pop("GH")
    special.sort(key=lambda s: s.index)
    return Branch("fold" if curve.kind == "LP" else "hopf", problem.param, U[:, m], U[:, :n], np.array(eig),
                  [stability_label(e, opts.eig_tol) for e in eig], special, status,
                  "; ".join(f"{k}: {v}" for k, v in ends.items()), ends, param2=problem.param2, p2=U[:, m + 1],
                  data=data)
