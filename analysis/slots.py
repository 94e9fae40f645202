"""Attractor-slot memory: fixed points, stability and the regimes of the slot note (docs/companions.md).

The field is :class:`fhrn_ode.slots.SlotFHRNField`. Fixed points: ``scipy.optimize.root`` on the flat
state ``[y, vec M]`` with the ``torch.func.jacrev`` Jacobian, started from the end of an integration;
stability from the eigenvalues of that Jacobian (``rho < 0``). Closed forms (module docstring of
``fhrn_ode.slots``): aligned slots ``m_k = (eta/lam) y``, radius ``|y|^2 = theta^2 + (gamma w - leak +
rho n_a eta/lam)/kappa``, unused slots (``s_k <= 0`` throughout) decay exactly as ``e^{-lam t}``, and without
homeostasis (``kappa = 0``) the state diverges iff ``gamma w - leak + rho n_a eta/lam > 0``, i.e. beyond
``K_crit = (leak - gamma w) lam / (rho eta)`` aligned slots.

Pure functions returning dataclasses; no plotting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.params import FHRNParams
from fhrn_ode.slots import SlotFHRNField, integrate_slots, slot_similarity
from fhrn_ode.spectrum import spectral_abscissa

__all__ = ["SlotFixedPoint", "SlotRegimes", "slot_fixed_point", "aligned_radius", "aligned_abscissa",
           "growth_rate_no_homeostasis", "critical_slot_count", "RotationDrag", "rotating_slot_state", "rotation_drag",
           "slot_regimes", "regime_operator"]


@dataclass(frozen=True)
class SlotFixedPoint:
    """An equilibrium ``(y, M)`` of the slot field with its Jacobian spectrum."""

    y: np.ndarray
    M: np.ndarray
    residual: float
    eigenvalues: np.ndarray = field(repr=False)
    spectral_abscissa: float = 0.0
    stable: bool = False
    similarity: np.ndarray = field(default=None, repr=False)  # s_k
    n_aligned: int = 0  # slots with s_k > 0.999
    spectral_abscissa_active: float = float("nan")  # y + the aligned slots only (zero slots removed)

    def to_dict(self) -> dict:
        return dict(y=self.y, residual=self.residual, spectral_abscissa=self.spectral_abscissa, stable=self.stable,
                    spectral_abscissa_active=self.spectral_abscissa_active,
                    similarity=self.similarity, slot_norms=np.linalg.norm(self.M, axis=-1), n_aligned=self.n_aligned)


def slot_fixed_point(fld: SlotFHRNField, y0, M0, *, tol: float = 1e-9) -> SlotFixedPoint | None:
    """Newton polish (scipy ``root``, autograd Jacobian) of ``f(y, M) = 0`` from ``(y0, M0)``; None if it fails."""
    from scipy.optimize import root
    from torch.func import jacrev

    f = fld.flat_field()
    d, K = fld.dim, fld.n_slots
    x0 = np.concatenate([np.ravel(y0), np.ravel(M0)]).astype(np.float64)

    def G(x):
        return f(torch.as_tensor(x)).numpy()

    def dG(x):
        return jacrev(f)(torch.as_tensor(x)).numpy()

    sol = root(G, x0, jac=dG, method="hybr", options={"xtol": 1e-13})
    r = float(np.linalg.norm(G(sol.x)))
    if not (np.all(np.isfinite(sol.x)) and r < tol):
        return None
    Jx = dG(sol.x)
    lam = np.linalg.eigvals(Jx)
    y, M = sol.x[:d], sol.x[d:].reshape(K, d)
    s = slot_similarity(torch.as_tensor(M), torch.as_tensor(y), fld.eps).numpy()
    a = float(spectral_abscissa(Jx))
    act = s > 0.999
    a_act = float("nan")
    if act.any():
        sub = SlotFHRNField(fld.W.numpy(), fld.params, int(act.sum()), readout=fld.readout, eps=fld.eps)
        xs = torch.as_tensor(np.concatenate([y, M[act].ravel()]))
        a_act = float(spectral_abscissa(jacrev(sub.flat_field())(xs).numpy()))
    return SlotFixedPoint(y, M, r, lam, a, a < 0, s, int(act.sum()), a_act)


def aligned_radius(params: FHRNParams, w: float, n_aligned: int, readout: float = 1.0) -> float:
    """``|y|`` at the equilibrium with ``n_aligned`` aligned slots along an eigenvector of ``W*`` (eigenvalue
    ``w``), ``beta = 0``: ``sqrt(theta^2 + (gamma w - leak + rho n_a eta/lam)/kappa)`` (NaN if none exists)."""
    p = params
    if p.kappa <= 0:
        return float("nan")
    r2 = p.theta ** 2 + (p.gamma * w - p.leak + readout * n_aligned * p.eta / p.lam) / p.kappa
    return float(np.sqrt(r2)) if r2 > 0 else float("nan")


def critical_slot_count(params: FHRNParams, w: float, readout: float = 1.0) -> float:
    """``K_crit = (leak - gamma w) lam / (rho eta)``: without homeostasis more aligned slots than this diverge."""
    p = params
    if readout * p.eta == 0:
        return float("inf")
    return (p.leak - p.gamma * w) * p.lam / (readout * p.eta)


def aligned_abscissa(params: FHRNParams, w_eigs, n_aligned: int, readout: float = 1.0) -> float:
    """Spectral abscissa of the equilibrium with ``n_aligned`` (>= 1) slots aligned with ``y`` along the top
    eigenvector of a SYMMETRIC ``W*`` (eigenvalues ``w_eigs``, top ``w_1``), ``beta = 0``, ``kappa > 0``.

    Derivation (docs/companions.md): the perturbations split into (i) the radial pair ``(r, a)`` with
    ``[[-rho n eta/lam - 2 kappa r^2, rho n], [eta, -lam]]`` (``a`` = common slot amplitude), (ii) per other
    eigen-direction ``i`` the pair ``[[gamma (w_i - w_1) - rho n eta/lam, rho n], [eta, -lam]]`` (the slots'
    common tilt), (iii) differences between slots and slot tilts off ``y``: ``-lam``. Both 2x2 blocks have
    negative trace and positive determinant (``2 kappa r^2 lam`` and ``gamma lam (w_1 - w_i)``), so the
    equilibrium is stable for every ``n``; the slow mode of (ii) tends to 0 like ``1/n``.
    """
    p = params
    w = np.sort(np.asarray(w_eigs, dtype=float))[::-1]
    n, rho = int(n_aligned), float(readout)
    r = aligned_radius(p, float(w[0]), n, rho)
    c = rho * n * p.eta / p.lam
    blocks = [np.array([[-c - 2 * p.kappa * r * r, rho * n], [p.eta, -p.lam]])]
    blocks += [np.array([[p.gamma * (wi - w[0]) - c, rho * n], [p.eta, -p.lam]]) for wi in w[1:]]
    vals = [float(spectral_abscissa(B)) for B in blocks] + [-p.lam]
    return float(max(vals))


def growth_rate_no_homeostasis(params: FHRNParams, w: float, n_aligned: int, readout: float = 1.0) -> float:
    """``kappa = 0``: exponential growth rate of ``|y|`` with ``n`` slots tracking ``y`` along an eigenvector with
    eigenvalue ``w``: the top eigenvalue of ``[[gamma w - leak, rho n], [eta, -lam]]`` (> 0 iff ``n > K_crit``)."""
    p = params
    B = np.array([[p.gamma * w - p.leak, readout * n_aligned], [p.eta, -p.lam]])
    return float(spectral_abscissa(B))


@dataclass(frozen=True)
class RotationDrag:
    """Slots on the rotating 2-D ring (``W* = [[0, -1], [1, 0]]``): rotation rate and radius vs slot count."""

    ks: np.ndarray
    omega: np.ndarray  # measured angular velocity over the second half of the run
    omega_closed_form: np.ndarray
    radius: np.ndarray
    radius_closed_form: np.ndarray

    def to_dict(self) -> dict:
        return dict(k=self.ks, omega=self.omega, omega_closed_form=self.omega_closed_form, radius=self.radius,
                    radius_closed_form=self.radius_closed_form)


def rotating_slot_state(params: FHRNParams, n_slots: int, readout: float = 1.0) -> tuple[float, float]:
    """``(omega, r)`` of the steadily rotating state with ``n`` identical slots for ``W* = [[0, -1], [1, 0]]``, ``beta = 0``.

    In the frame rotating with ``y = r e_1`` the slots are constant, ``m = eta s r (lam, -omega)/(lam^2 + omega^2)``
    with ``s = lam / sqrt(lam^2 + omega^2)``: they lag the state by ``atan(omega/lam)`` and their readout pulls it
    back. The tangential balance gives ``omega (1 + rho n eta lam^2 / (lam^2 + omega^2)^2) = gamma`` (root by
    ``scipy.optimize.brentq`` in ``(0, gamma]``; unique where the left side is increasing, as for the defaults), the radial one
    ``r^2 = theta^2 + (rho n eta lam^3 / (lam^2 + omega^2)^2 - leak) / kappa``. ``omega > 0`` for every ``n``: an
    aligned slot exerts no torque, so the drag slows the rotation (like ``1/n``) but never stops or reverses it.
    """
    from scipy.optimize import brentq

    p, c = params, readout * n_slots * params.eta * params.lam ** 2
    if p.gamma == 0:
        om = 0.0
    else:
        om = brentq(lambda w: w * (1 + c / (p.lam ** 2 + w * w) ** 2) - p.gamma, 0.0, p.gamma, xtol=1e-14)
    r2 = p.theta ** 2 + (readout * n_slots * p.eta * p.lam ** 3 / (p.lam ** 2 + om * om) ** 2 - p.leak) / p.kappa
    return float(om), float(np.sqrt(r2)) if r2 > 0 else float("nan")


def rotation_drag(params: FHRNParams | None = None, ks=(0, 1, 2, 4, 8, 16), *, t1: float = 60.0) -> RotationDrag:
    """Integrate the rotating ring with ``K`` slots (evenly spread, small) and measure ``omega`` and ``|y|``."""
    p = FHRNParams(gamma=1.0, kappa=2.0, leak=1.0, lam=1.0, eta=0.3) if params is None else params
    W = np.array([[0.0, -1.0], [1.0, 0.0]])
    om, rad, om_cf, rad_cf = [], [], [], []
    for K in ks:
        Kk = max(int(K), 1)
        f = SlotFHRNField(W, p, Kk, readout=1.0 if K > 0 else 0.0)
        ang = np.linspace(0, 2 * np.pi, Kk, endpoint=False)
        M0 = 0.1 * np.stack([np.cos(ang), np.sin(ang)], -1)[None]
        r = integrate_slots(f, np.array([[1.0, 0.0]]), M0, t1=t1, n_points=601)
        th = np.unwrap(np.arctan2(r.y[:, 0, 1], r.y[:, 0, 0]))
        h = len(th) // 2
        om.append(float((th[-1] - th[h]) / (r.t[-1] - r.t[h])))
        rad.append(float(np.linalg.norm(r.y[-1, 0])))
        w, rr = rotating_slot_state(p, int(K))
        om_cf.append(w)
        rad_cf.append(rr)
    return RotationDrag(np.asarray(ks), np.asarray(om), np.asarray(om_cf), np.asarray(rad), np.asarray(rad_cf))


def regime_operator(d: int = 4) -> np.ndarray:
    """The symmetric test operator of :func:`slot_regimes`: ``diag(0.5, 0.2, -0.1, -0.4, ...)`` (top eigenvalue 0.5,
    so ``y`` settles on an isolated fixed point along ``e_1`` rather than a ring)."""
    return np.diag(np.linspace(0.5, -0.4, d))


@dataclass(frozen=True)
class SlotRegimes:
    """The four regimes of the slot note as far as the continuous model reproduces them (docs/companions.md)."""

    # (a) stable slots: one run with K slots from random starts
    t: np.ndarray
    slot_norms: np.ndarray  # (T, K)
    slot_similarity: np.ndarray  # (T, K)
    fixed_point: SlotFixedPoint | None
    radius_closed_form: float
    # (b) unused slots: max relative deviation of |m_k(t)| from |m_k(0)| e^{-lam t} for slots with s_k <= 0 throughout
    # (over the times where the prediction exceeds 1e-6, above the solver's absolute tolerance)
    unused: np.ndarray  # slot indices
    unused_decay_error: float
    # (c) too many slots: final |y| vs K, with and without homeostasis
    ks: np.ndarray
    radius_vs_k: np.ndarray
    radius_vs_k_closed_form: np.ndarray
    abscissa_vs_k: np.ndarray
    abscissa_vs_k_closed_form: np.ndarray
    growth_no_homeostasis: np.ndarray  # measured growth rate of |y| per K (kappa = 0)
    growth_no_homeostasis_closed_form: np.ndarray
    diverged_no_homeostasis: np.ndarray  # bool per K (kappa = 0): measured growth rate > 0
    k_critical: float
    # (d) heavy decay: max_t |y_slots - y_free| vs lam
    lams: np.ndarray
    deviation_vs_lam: np.ndarray
    params: dict

    def to_dict(self) -> dict:
        return dict(stable_slots=dict(fixed_point=None if self.fixed_point is None else self.fixed_point.to_dict(),
                                      radius_closed_form=self.radius_closed_form,
                                      final_slot_norms=self.slot_norms[-1], final_similarity=self.slot_similarity[-1]),
                    unused_slots=dict(indices=self.unused, decay_error=self.unused_decay_error),
                    too_many_slots=dict(k=self.ks, radius=self.radius_vs_k, radius_closed_form=self.radius_vs_k_closed_form,
                                        spectral_abscissa=self.abscissa_vs_k,
                                        spectral_abscissa_closed_form=self.abscissa_vs_k_closed_form,
                                        growth_rate_without_homeostasis=self.growth_no_homeostasis,
                                        growth_rate_without_homeostasis_closed_form=self.growth_no_homeostasis_closed_form,
                                        diverged_without_homeostasis=self.diverged_no_homeostasis,
                                        k_critical_without_homeostasis=self.k_critical),
                    heavy_decay=dict(lam=self.lams, max_deviation_from_memory_free=self.deviation_vs_lam),
                    params=self.params)


def slot_regimes(*, d: int = 4, n_slots: int = 4, gamma: float = 1.0, kappa: float = 2.0, leak: float = 1.0,
                 lam: float = 1.0, eta: float = 0.3, ks=(0, 1, 2, 4, 6, 8), lams=(1.0, 3.0, 10.0, 30.0, 100.0),
                 t1: float = 40.0, seed: int = 0) -> SlotRegimes:
    """Run the four regime experiments on :func:`regime_operator` (``d``) with the given parameters."""
    from fhrn_ode import integrate

    if d < 2:
        raise FHRNInputError(f"`d` must be >= 2, got {d}")
    W = regime_operator(d)
    w = float(W[0, 0])
    p = FHRNParams(gamma=gamma, kappa=kappa, leak=leak, lam=lam, eta=eta)
    rng = np.random.default_rng(seed)
    y0 = rng.normal(size=(1, d))
    y0[0, 0] = abs(y0[0, 0]) + 0.5
    M0 = rng.normal(size=(1, n_slots, d)) * 0.5
    # (a) + (b)
    fld = SlotFHRNField(W, p, n_slots)
    run = integrate_slots(fld, y0, M0, t1=t1, n_points=401)
    yt, Mt = torch.as_tensor(run.y[:, 0]), torch.as_tensor(run.M[:, 0])
    norms = np.linalg.norm(run.M[:, 0], axis=-1)
    sims = slot_similarity(Mt, yt, fld.eps).numpy()
    fp = slot_fixed_point(fld, run.y[-1, 0], run.M[-1, 0])
    n_a = fp.n_aligned if fp is not None else int(np.sum(sims[-1] > 0.999))
    # unused: s_k <= 0 at every saved time where |m_k| > 1e-6 (below that the slot is at the solver's noise level,
    # where the regularised cosine is stiff: rate ~ eta |y| / eps)
    alive = norms > 1e-6
    unused = np.flatnonzero(np.all((sims <= 0) | ~alive, axis=0) & alive[0])
    err = 0.0
    if unused.size:
        pred = norms[0, unused][None] * np.exp(-lam * run.t)[:, None]
        ok = pred > 1e-6  # above the solver's absolute tolerance
        err = float(np.max(np.abs(norms[:, unused] - pred)[ok] / pred[ok]))
    # (c) all slots start aligned with y0 (so every slot is used)
    rad, rad_cf, absc, absc_cf, gr, gr_cf = [], [], [], [], [], []
    yk0 = np.zeros((1, d))
    yk0[0, 0] = 1.0
    p0 = p.replace(kappa=0.0)
    nt = 41
    for K in ks:
        if K == 0:
            rad.append(float(np.linalg.norm(np.asarray(integrate(W, yk0, params=p, t1=t1, n_points=11).y)[-1, 0])))
            absc.append(float("nan"))
            absc_cf.append(float("nan"))
            y0k = np.asarray(integrate(W, yk0, params=p0, t1=t1, n_points=nt, max_norm=1e12).y)[:, 0]
        else:
            fk = SlotFHRNField(W, p, K)
            Mk0 = np.repeat(0.1 * yk0[:, None], K, 1)
            rk = integrate_slots(fk, yk0, Mk0, t1=t1, n_points=11)
            rad.append(float(np.linalg.norm(rk.y[-1, 0])))
            fpk = slot_fixed_point(fk, rk.y[-1, 0], rk.M[-1, 0])
            absc.append(float("nan") if fpk is None else fpk.spectral_abscissa)
            absc_cf.append(aligned_abscissa(p, np.diag(W), K))
            y0k = integrate_slots(SlotFHRNField(W, p0, K), yk0, Mk0, t1=t1, n_points=nt, max_norm=1e12).y[:, 0]
        nr = np.log(np.linalg.norm(y0k, axis=-1))  # NaN after a run stopped at max_norm (fast growth)
        last = int(np.flatnonzero(np.isfinite(nr))[-1])
        h = min(len(nr) // 2, last // 2)  # growth rate over the second half of the finite part (transient gone)
        gr.append(float((nr[last] - nr[h]) / (t1 * (last - h) / (nt - 1))))
        gr_cf.append(growth_rate_no_homeostasis(p, w, K))
        rad_cf.append(aligned_radius(p, w, K))
    # (d) heavy decay: slots vs the memory-free field (fhrn_ode.integrate), same y0
    ref = integrate(W, y0, params=p, t1=t1, n_points=201)
    dev = []
    for L in lams:
        fl = SlotFHRNField(W, p.replace(lam=float(L)), n_slots)
        rl = integrate_slots(fl, y0, M0, t1=t1, n_points=201)
        dev.append(float(np.max(np.linalg.norm(rl.y[:, 0] - np.asarray(ref.y)[:, 0], axis=-1))))
    return SlotRegimes(t=run.t, slot_norms=norms, slot_similarity=sims, fixed_point=fp,
                       radius_closed_form=aligned_radius(p, w, n_a), unused=unused, unused_decay_error=err,
                       ks=np.asarray(ks), radius_vs_k=np.asarray(rad), radius_vs_k_closed_form=np.asarray(rad_cf),
                       abscissa_vs_k=np.asarray(absc), abscissa_vs_k_closed_form=np.asarray(absc_cf),
                       growth_no_homeostasis=np.asarray(gr), growth_no_homeostasis_closed_form=np.asarray(gr_cf),
                       diverged_no_homeostasis=np.asarray(gr) > 0,
                       k_critical=critical_slot_count(p, w), lams=np.asarray(lams, dtype=float),
                       deviation_vs_lam=np.asarray(dev), params=dict(p.to_dict(), d=d, n_slots=n_slots, seed=seed))
