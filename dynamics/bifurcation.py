"""Bifurcation sweeps of ANY one-parameter family of fields ``p -> f_p``.

Per parameter value: the attractor reached by each trajectory (:func:`~fhrn_ode.dynamics.cycles.find_cycles`:
'equilibrium', 'cycle', 'divergence', 'field error', 'not settled'; an 'aperiodic' one gets its two largest
Lyapunov exponents, :func:`~fhrn_ode.dynamics.exponents.lyapunov_spectrum`: 'chaos' when the largest exceeds
``chaos_tol``, 'quasi-periodic' only when BOTH lie within ``chaos_tol`` of 0 (a torus has two zero
exponents), else 'not settled': a negative largest exponent means the trajectory is still approaching
something, which is no verdict) and
all fixed points (:func:`~fhrn_ode.dynamics.fixed_points.find_fixed_points`, started also from the previous
value's points: continuation). Fixed points of consecutive values are joined into branches (nearest point).

Bifurcation points, never read off the grid:

* an eigenvalue crossing on a branch (its unstable dimension changes between two values): the real part
  ``h(p)`` of the crossing eigenvalue (the ``m``-th largest by real part, ``m`` the smaller unstable
  dimension) is followed by Newton continuation ``x*(p)`` and its root is found by ``scipy.optimize.brentq``;
  'hopf' when that eigenvalue is complex there, 'fold' when it is real (a fold, or under a symmetry a
  pitchfork / transcritical point: the kind names the eigenvalue, not the normal form). Each Hopf point
  carries its first Lyapunov coefficient ``l1`` and ``criticality`` (supercritical ``l1 < 0``, subcritical
  ``l1 > 0``, degenerate within tolerance), each fold its quadratic coefficient ``a`` of ``x' = mu + a x^2``
  (:mod:`~fhrn_ode.dynamics.normal_forms`, Kuznetsov's normalisation: ``r' = mu r - r^3`` has ``l1 = -1``);
* equilibria are classified with a zero-eigenvalue tolerance set by the residual Newton reached
  (:func:`~fhrn_ode.dynamics.fixed_points.hyperbolicity_tol`): a degenerate point is 'non-hyperbolic',
  never a saddle, and its ``stable`` is None (not decided by linearisation) unless an eigenvalue has a
  positive real part (:func:`_linear_stability`);
* a branch that ends inside the sweep (a saddle-node collision): its end is located by bisection on the
  existence of the continued point, kind 'fold', kept only when a zero eigenvalue is found there (else the
  branch was merely lost by the fixed-point finder between two grid values).

For the FHRN model (docs/model.md §1) :func:`fhrn_family` builds the family over gamma, kappa, beta, leak,
theta or the scale ``|W*|_2`` ('wr_scale').
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from scipy.optimize import brentq

from fhrn_ode._errors import FHRNInputError, Interrupted, check_choice, check_int, check_real
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import check_matrix
from fhrn_ode.params import FHRNParams
from fhrn_ode.spectrum import abscissa_of_eigvals

from ._flow import as_flat_field
from .cycles import find_cycles
from .exponents import lyapunov_spectrum
from .fixed_points import classify_equilibrium, field_jacobian, find_fixed_points, hyperbolicity_tol, newton_polish
from .normal_forms import fold_normal_form, hopf_normal_form

__all__ = ["BIFURCATION_PARAMS", "BifurcationPoint", "BifurcationDiagram", "bifurcation_sweep", "fhrn_family"]

#: Parameters :func:`fhrn_family` can sweep.
BIFURCATION_PARAMS = ("gamma", "kappa", "beta", "leak", "theta", "wr_scale")


@dataclass(frozen=True)
class BifurcationPoint:
    """A located bifurcation.

    Attributes:
        kind: 'hopf' or 'fold'. value: the parameter. x: the state ``(n,)``. eigenvalue: the critical one.
        method: 'brentq' (eigenvalue crossing) or 'bisection' (branch end).
        l1, criticality: Hopf points: first Lyapunov coefficient and 'supercritical' / 'subcritical' /
            'degenerate'; folds: criticality 'nondegenerate' / 'degenerate' (a cusp). None where the normal
            form could not be computed (``normal_form_message`` says why).
        a: folds: the quadratic coefficient of ``x' = mu + a x^2`` (None for Hopf points).
    """

    kind: str
    value: float
    x: np.ndarray
    eigenvalue: complex
    method: str
    l1: float | None = None
    criticality: str | None = None
    a: float | None = None
    normal_form_message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(kind=self.kind, value=self.value, x=self.x.tolist(),
                    eigenvalue=[float(self.eigenvalue.real), float(self.eigenvalue.imag)], method=self.method,
                    l1=self.l1, criticality=self.criticality, a=self.a, normal_form_message=self.normal_form_message)


@dataclass(frozen=True)
class BifurcationDiagram:
    """Outcome of :func:`bifurcation_sweep`.

    Attributes:
        param: the parameter name. values: ``(V,)``.
        attractors: per value, ``{outcome: count}`` over the trajectories. label: per value, the most
            frequent outcome.
        equilibria: per value, list of ``{"x", "norm", "kind", "unstable_dim", "stable", "eigenvalues_max_real"}``;
            ``stable`` is None where the linearisation does not decide (:func:`_linear_stability`).
        cycles: per value, list of ``{"period", "radius_min", "radius_max", "radius_mean", "stable", "max_nontrivial_multiplier"}``.
        largest_exponent: per value, the largest Lyapunov exponent (NaN where not computed).
        branches: list of ``{"values": [...], "norm": [...], "unstable_dim": [...]}`` (continued fixed points).
        bifurcations: located :class:`BifurcationPoint`s, by value.
    """

    param: str
    values: np.ndarray
    attractors: list[dict[str, int]]
    label: list[str]
    equilibria: list[list[dict[str, Any]]]
    cycles: list[list[dict[str, Any]]]
    largest_exponent: np.ndarray
    branches: list[dict[str, Any]]
    bifurcations: list[BifurcationPoint]

    def to_dict(self) -> dict[str, Any]:
        return dict(param=self.param, values=self.values.tolist(), attractors=self.attractors, label=self.label,
                    equilibria=self.equilibria, cycles=self.cycles,
                    largest_exponent=[None if not np.isfinite(v) else float(v) for v in self.largest_exponent],
                    branches=self.branches, bifurcations=[b.to_dict() for b in self.bifurcations])


def fhrn_family(W, params: FHRNParams | None, param: str) -> Callable[[float], FHRNField]:
    """``p -> FHRNField`` with ``param`` set to ``p`` ('wr_scale': ``W* |W*|_2``-normalised times ``p``)."""
    check_choice("param", param, BIFURCATION_PARAMS)
    Wn = check_matrix(W, "W")
    params = FHRNParams() if params is None else params
    if param == "wr_scale":
        nrm = float(np.linalg.norm(Wn, 2))
        if nrm == 0:
            raise FHRNInputError("`W` is zero: its scale cannot be swept")
        return lambda p: FHRNField(Wn / nrm * p, params)
    return lambda p: FHRNField(Wn, params.replace(**{param: float(p)}))


def _linear_stability(kind: str, unstable_dim: int) -> bool | None:
    """What the linearisation says about an equilibrium's stability (Lyapunov's indirect method).

    True for a hyperbolic point with no unstable eigenvalue; False when an eigenvalue has a positive real part
    (``unstable_dim > 0``, hyperbolic or not); None for a 'non-hyperbolic' point without one: a zero real part
    leaves the decision to the nonlinear terms (at a supercritical Hopf point the origin attracts like
    ``t^-1/2``, at a subcritical one it repels), which the linearisation does not see.
    """
    if unstable_dim > 0:
        return False
    return None if kind == "non-hyperbolic" else True


def _sorted_real(lam: np.ndarray) -> np.ndarray:
    return lam[np.argsort(-lam.real, kind="stable")]


def _eig(ff, x: np.ndarray, with_jacobian: bool = False):
    with torch.no_grad():
        J = field_jacobian(ff, torch.as_tensor(x[None])).detach()
    lam = _sorted_real(torch.linalg.eigvals(J)[0].numpy())
    return (lam, J[0].numpy()) if with_jacobian else lam


def _continue(make_field, p: float, x: np.ndarray, dim, tol: float) -> np.ndarray | None:
    """Newton from ``x`` at parameter ``p``; the root or None."""
    ff = as_flat_field(make_field(p), dim)
    z, r = newton_polish(ff, torch.as_tensor(x[None]), 50, tol=tol * 1e-3)
    return z[0].numpy() if float(r[0]) <= tol else None


def bifurcation_sweep(make_field: Callable[[float], Any], values, *, param: str = "p", dim: int | None = None,
                      n_init: int = 8, radius: float = 2.0, t_transient: float = 30.0, n_starts: int = 64,
                      chaos_tol: float = 0.01, exponents: bool = True, tol: float = 1e-10,
                      max_nfe: int | None = None, wall_s: float | None = None, normal_forms: bool = True,
                      seed: int = 0, progress: bool = False) -> BifurcationDiagram:
    """Sweep ``values`` of a one-parameter family (see the module docstring).

    Args:
        make_field: ``p -> nn.Module`` field (the field contract, docs/api.md). values: the grid ``(V,)``,
            increasing, V >= 2.
        param: the parameter's name (for the result). dim: state size override (default: the field's ``dim``).
        n_init, radius, t_transient: trajectories per value (uniform in the ball, seeded) and their transient.
        n_starts: fixed-point starts per value (plus the previous value's points).
        chaos_tol: largest exponent above which an aperiodic attractor is 'chaos'; also the tolerance of a
            zero exponent for 'quasi-periodic' (both of the two largest within it).
        exponents: compute the two largest exponents for aperiodic attractors (else they stay 'aperiodic').
        tol: fixed-point tolerance on ``|f|``.
        max_nfe, wall_s: budget of each value's trajectory runs (cycles and exponents); None: none. A value
            whose budget runs out is labelled 'not settled'.
        normal_forms: compute ``l1``/criticality of Hopf points and ``a`` of folds.
        progress: tqdm bar over the values.

    Raises:
        FHRNInputError: bad grid or options, a broken field.
    """
    vals = np.asarray(values, dtype=np.float64).ravel()
    if vals.size < 2 or not np.all(np.isfinite(vals)) or not np.all(np.diff(vals) > 0):
        raise FHRNInputError("`values` must be a finite, strictly increasing grid of at least 2 values")
    n_init = check_int("n_init", n_init, low=1)
    chaos_tol = check_real("chaos_tol", chaos_tol, low=0.0)
    from tqdm import tqdm

    attractors, labels, equilibria, cycles, lam1 = [], [], [], [], np.full(vals.size, np.nan)
    pts_per_value: list[list[np.ndarray]] = []
    udims: list[list[int]] = []
    prev: list[np.ndarray] = []
    for i, p in enumerate(tqdm(vals, desc=f"sweep {param}", unit="value", disable=not progress, leave=False)):
        try:
            one = _one_value(make_field, float(p), dim, prev, n_starts, radius, seed, tol, n_init, t_transient,
                             exponents, chaos_tol, max_nfe, wall_s)
        except KeyboardInterrupt as exc:  # never swallowed: raised with the values done
            part = BifurcationDiagram(param=param, values=vals[:i], attractors=attractors, label=labels,
                                      equilibria=equilibria, cycles=cycles, largest_exponent=lam1[:i], branches=[],
                                      bifurcations=[])
            raise Interrupted(part, cause=exc, what=f"{i} of {vals.size} values done") from exc
        eq, ud, pts, counts, cyc_rows, lam1[i] = one
        equilibria.append(eq)
        pts_per_value.append(pts)
        udims.append(ud)
        prev = pts
        attractors.append(counts)
        labels.append(max(counts, key=lambda k: (counts[k], k)))
        cycles.append(cyc_rows)
    branches = _branches(vals, pts_per_value, udims)
    bif = _locate(make_field, vals, branches, dim, tol)
    if normal_forms:
        bif = [_with_normal_form(make_field, dim, b) for b in bif]
    out_br = [dict(values=[float(vals[k]) for k, _ in b], norm=[float(np.linalg.norm(x)) for _, x in b],
                   unstable_dim=[u for u in _bud(b, pts_per_value, udims)]) for b in branches]
    return BifurcationDiagram(param=param, values=vals, attractors=attractors, label=labels, equilibria=equilibria,
                              cycles=cycles, largest_exponent=lam1, branches=out_br, bifurcations=bif)


def _one_value(make_field, p, dim, prev, n_starts, radius, seed, tol, n_init, t_transient, exponents, chaos_tol,
               max_nfe, wall_s):
    """One parameter value of :func:`bifurcation_sweep`: equilibria (classified), attractor counts, cycles and
    the largest exponent (NaN where not computed)."""
    ff = as_flat_field(make_field(p), dim)
    pts, res = _equilibria_at(ff, prev, n_starts, radius, seed, tol)
    eq, ud = [], []
    for x, r in zip(pts, res):
        lam, J = _eig(ff, x, with_jacobian=True)
        kind, u = classify_equilibrium(lam, hyperbolicity_tol(lam, r, float(np.linalg.norm(J, 2))))
        ud.append(u)
        eq.append(dict(x=x.tolist(), norm=float(np.linalg.norm(x[:ff.y_dim])), kind=kind, unstable_dim=u,
                       stable=_linear_stability(kind, u), eigenvalues_max_real=float(abscissa_of_eigvals(lam)),
                       residual=float(r)))
    cyc = find_cycles(ff, n_init=n_init, radius=radius, t_transient=t_transient, seed=seed, n_newton=3,
                      max_nfe=max_nfe, wall_s=wall_s)
    outs, lam1 = list(cyc.outcomes), np.nan
    if exponents and "aperiodic" in outs:
        outs, lam1 = _label_aperiodic(ff, outs, n_init, radius, seed, t_transient, chaos_tol, max_nfe, wall_s)
    counts: dict[str, int] = {}
    for o in outs:
        counts[o] = counts.get(o, 0) + 1
    rows = [dict(period=c.period, radius_min=c.radius_min, radius_max=c.radius_max, radius_mean=c.radius_mean,
                 stable=c.stable, max_nontrivial_multiplier=float(np.sort(np.abs(c.floquet_multipliers))[-2])
                 if c.floquet_multipliers.size > 1 else None, count=c.count) for c in cyc.cycles]
    return eq, ud, pts, counts, rows, lam1


def _equilibria_at(ff, prev, n_starts, radius, seed, tol) -> tuple[list[np.ndarray], list[float]]:
    """Fixed points at one value (finder plus Newton from the previous value's points) and their residuals."""
    fp = find_fixed_points(ff, n_starts=n_starts, radius=radius, seed=seed, tol=tol, n_minimise=100)
    pts, res = [q.x for q in fp.points], [q.residual for q in fp.points]
    if prev:  # continuation: polish last value's points here too
        z, r = newton_polish(ff, torch.as_tensor(np.stack(prev)), 50, tol=tol * 1e-3)
        for x, ri in zip(z.numpy(), r.numpy()):
            if ri <= tol and all(np.linalg.norm(x - y) > 1e-6 * max(1.0, np.linalg.norm(y)) for y in pts):
                pts.append(x)
                res.append(float(ri))
    return pts, res


def _label_aperiodic(ff, outs, n_init, radius, seed, t_transient, chaos_tol, max_nfe, wall_s):
    """'chaos' / 'quasi-periodic' / 'not settled' for the aperiodic trajectories from their two largest exponents."""
    from ._flow import random_states

    idx = [k for k, o in enumerate(outs) if o == "aperiodic"]
    z0 = random_states(ff, n_init, radius, seed)[idx]
    ls = lyapunov_spectrum(ff, z0, k=min(2, ff.dim), t_transient=t_transient, t1=50.0, dt=0.5, max_nfe=max_nfe,
                           wall_s=wall_s)
    if ls.status != "success" or not np.isfinite(ls.exponents[0]):
        return [("not settled" if o == "aperiodic" else o) for o in outs], float("nan")
    l1 = float(ls.exponents[0])
    l2 = float(ls.exponents[1]) if ls.exponents.size > 1 else float("nan")
    if l1 > chaos_tol:
        lab = "chaos"
    elif abs(l1) <= chaos_tol and abs(l2) <= chaos_tol:
        lab = "quasi-periodic"
    else:
        lab = "not settled"
    return [(lab if o == "aperiodic" else o) for o in outs], l1


def _with_normal_form(make_field, dim, b: BifurcationPoint) -> BifurcationPoint:
    """``b`` with ``l1``/criticality (Hopf) or ``a`` (fold) from :mod:`.normal_forms`."""
    from dataclasses import replace

    ff = as_flat_field(make_field(float(b.value)), dim)
    tt = torch.tensor(0.0, dtype=torch.float64)

    def f(z):
        return ff(tt, z)

    x = torch.as_tensor(b.x, dtype=torch.float64)
    try:
        if b.kind == "hopf":
            nf = hopf_normal_form(f, x, omega=abs(b.eigenvalue.imag))
            return replace(b, l1=nf.l1, criticality=nf.criticality, normal_form_message=nf.message)
        nf = fold_normal_form(f, x)
        return replace(b, a=nf.a, criticality=nf.criticality)
    except (FHRNInputError, RuntimeError) as exc:
        return replace(b, normal_form_message=f"normal form not computed: {exc}")


def _bud(branch, pts_per_value, udims):
    out = []
    for k, x in branch:
        j = next(j for j, y in enumerate(pts_per_value[k]) if y is x)
        out.append(udims[k][j])
    return out


def _branches(vals, pts_per_value, udims) -> list[list[tuple[int, np.ndarray]]]:
    """Join fixed points of consecutive values by nearest neighbour (mutually nearest, within a jump bound)."""
    open_: list[list[tuple[int, np.ndarray]]] = []
    done: list[list[tuple[int, np.ndarray]]] = []
    for k, pts in enumerate(pts_per_value):
        used = set()
        still = []
        for b in open_:
            kb, xb = b[-1]
            if kb != k - 1 or not pts:
                done.append(b)
                continue
            d = [np.linalg.norm(x - xb) for x in pts]
            j = int(np.argmin(d))
            others = [np.linalg.norm(y - xb) for y in pts_per_value[k - 1] if y is not xb]
            bound = 0.5 * min(others) if others else np.inf
            if j in used or d[j] > bound:
                done.append(b)
                continue
            used.add(j)
            b.append((k, pts[j]))
            still.append(b)
        for j, x in enumerate(pts):
            if j not in used:
                still.append([(k, x)])
        open_ = still
    return done + open_


def _locate(make_field, vals, branches, dim, tol) -> list[BifurcationPoint]:
    out: list[BifurcationPoint] = []
    for b in branches:
        for (k0, x0), (k1, x1) in zip(b[:-1], b[1:]):
            ff0, ff1 = as_flat_field(make_field(vals[k0]), dim), as_flat_field(make_field(vals[k1]), dim)
            l0, l1 = _eig(ff0, x0), _eig(ff1, x1)
            u0, u1 = int((l0.real > 0).sum()), int((l1.real > 0).sum())
            if u0 == u1:
                continue
            m = min(u0, u1)
            cache = {}

            def h(p, m=m, x0=x0, x1=x1, p0=vals[k0], p1=vals[k1]):
                w = (p - p0) / (p1 - p0)
                x = _continue(make_field, p, (1 - w) * x0 + w * x1, dim, tol)
                if x is None:
                    x = x0 if w < 0.5 else x1
                lam = _eig(as_flat_field(make_field(p), dim), x)
                cache[p] = (x, lam)
                return float(lam[m].real)

            try:
                pc = brentq(h, vals[k0], vals[k1], xtol=1e-12, rtol=1e-12)
            except ValueError:
                continue
            x, lam = cache.get(pc) or (None, None)
            if x is None:
                h(pc)
                x, lam = cache[pc]
            crit = lam[m]
            out.append(BifurcationPoint(kind="hopf" if abs(crit.imag) > 1e-6 else "fold", value=float(pc), x=x,
                                        eigenvalue=complex(crit), method="brentq"))
        k_end, x_end = b[-1]
        if k_end < vals.size - 1:  # the branch ends inside the sweep: bisection on existence
            out.append(_branch_end(make_field, vals[k_end], vals[k_end + 1], x_end, dim, tol, +1))
        k_beg, x_beg = b[0]
        if k_beg > 0:
            out.append(_branch_end(make_field, vals[k_beg], vals[k_beg - 1], x_beg, dim, tol, -1))
    out = [q for q in out if q is not None]
    out.sort(key=lambda q: q.value)
    merged: list[BifurcationPoint] = []
    for q in out:
        if merged and abs(q.value - merged[-1].value) <= 1e-6 * max(1.0, abs(q.value)) and q.kind == merged[-1].kind:
            continue
        merged.append(q)
    return merged


def _branch_end(make_field, p_in, p_out, x, dim, tol, sign, n_iter: int = 40) -> BifurcationPoint | None:
    """Bisection between ``p_in`` (point exists) and ``p_out`` (it does not), following the point."""
    for _ in range(n_iter):
        pm = 0.5 * (p_in + p_out)
        y = _continue(make_field, pm, x, dim, tol)
        # the same branch: a root no farther than half its distance from the origin (not a jump elsewhere)
        if y is not None and np.linalg.norm(y - x) <= 0.5 * max(np.linalg.norm(x), 1e-6):
            p_in, x = pm, y
        else:
            p_out = pm
    lam = _eig(as_flat_field(make_field(p_in), dim), x)
    crit = lam[int(np.argmin(np.abs(lam.real)))]
    if abs(crit) > 1e-3 * max(1.0, float(np.abs(lam).max())):
        return None  # no zero eigenvalue at the end: the branch was lost by the finder, not born or killed
    return BifurcationPoint(kind="fold", value=float(p_in), x=x, eigenvalue=complex(crit), method="bisection")
