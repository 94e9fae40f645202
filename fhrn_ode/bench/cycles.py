"""Benchmark: limit cycles against the scipy loop a researcher would write (issue 20).

Row ``cycles/vdp/vs_scipy_loop``: the Van der Pol cycle (mu = 1) from ``n`` starts. Ours:
:func:`fhrn_ode.dynamics.find_cycles` (all starts in one batched solve, Poincare return map, shooting
refinement, Floquet multipliers from the variational equation). Baseline (:func:`scipy_cycles`): a Python loop
over the starts, ``solve_ivp`` (RK45) through the transient, then ``solve_ivp`` with an event on the section
``v = 0`` (downward) for the return times, and ``solve_ivp`` on the state + variational system (analytic
Jacobian) over the last period for the monodromy matrix and its eigenvalues. Same tolerances (rtol 1e-9,
atol 1e-11), same transient and record time.

Accuracy: ``max_abs_err`` is ``|T - 6.6632868593|`` (Hairer, Norsett & Wanner, Solving ODEs I, §II.10) for
ours, ``baseline_err`` the same for scipy; ``multiplier``/``baseline_multiplier`` the non-trivial Floquet
multiplier of each.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.integrate import solve_ivp
from .harness import interleaved, make_row
from ..dynamics import find_cycles
from ..examples.van_der_pol import VanDerPol  # the user-field example: one home for the Van der Pol module

__all__ = ["VDP_PERIOD", "VanDerPol", "cases", "scipy_cycles", "vdp_case"]

#: Period of the Van der Pol cycle at mu = 1 (Hairer, Norsett & Wanner, Solving ODEs I, §II.10).
VDP_PERIOD = 6.6632868593


def _vdp_numpy(mu: float):
    def rhs(t, y):
        return [y[1], mu * (1 - y[0] * y[0]) * y[1] - y[0]]

    def jac(y):
        return np.array([[0.0, 1.0], [-2.0 * mu * y[0] * y[1] - 1.0, mu * (1 - y[0] * y[0])]])

    return rhs, jac


def scipy_cycles(y0: np.ndarray, mu: float, t_transient: float, t_record: float, rtol: float,
                 atol: float) -> list[tuple[float, np.ndarray]]:
    """``(period, Floquet multipliers)`` per start by the plain scipy loop (the baseline; module docstring)."""
    rhs, jac = _vdp_numpy(mu)

    def section(t, y):
        return y[1]

    section.direction = -1.0

    def variational(t, s):
        M = s[2:].reshape(2, 2)
        return np.concatenate([rhs(t, s[:2]), (jac(s[:2]) @ M).ravel()])

    out = []
    for y in y0:
        x = solve_ivp(rhs, (0.0, t_transient), y, rtol=rtol, atol=atol).y[:, -1]
        sol = solve_ivp(rhs, (0.0, t_record), x, events=section, rtol=rtol, atol=atol)
        te, ye = sol.t_events[0], sol.y_events[0]
        if te.size < 2:
            out.append((float("nan"), np.full(2, np.nan)))
            continue
        T = float(te[-1] - te[-2])
        s = solve_ivp(variational, (0.0, T), np.concatenate([ye[-2], np.eye(2).ravel()]), rtol=rtol,
                      atol=atol).y[:, -1]
        mu_ = np.linalg.eigvals(s[2:].reshape(2, 2))
        out.append((T, mu_[np.argsort(-np.abs(mu_))]))
    return out


def vdp_case(n: int = 4, t_transient: float = 20.0, t_record: float = 30.0, k: int = 1, seed: int = 0) -> list[dict]:
    """Row ``cycles/vdp/vs_scipy_loop``."""
    rng = np.random.default_rng(seed)
    y0 = rng.uniform(-2.0, 2.0, (n, 2))
    kw = dict(rtol=1e-9, atol=1e-11)
    (t_ours, res), (t_base, base) = interleaved(
        [lambda: find_cycles(VanDerPol(), y0, t_transient=t_transient, t_record=t_record, **kw),
         lambda: scipy_cycles(y0, 1.0, t_transient, t_record, **kw)], k=k, warmup=0)
    T = res.cycles[0].period if res.cycles else float("nan")
    mult = float(np.abs(res.cycles[0].floquet_multipliers[1])) if res.cycles else float("nan")
    bT = np.array([b[0] for b in base])
    return [make_row("cycles/vdp/vs_scipy_loop", t_ours, "python loop over starts: solve_ivp RK45 transient, "
                     "events on v = 0 for the period, variational solve for the monodromy", t_base,
                     abs(T - VDP_PERIOD), baseline_err=float(np.nanmax(np.abs(bT - VDP_PERIOD))),
                     multiplier=mult, baseline_multiplier=float(np.abs(base[0][1][1])), outcomes=res.outcomes,
                     n_cycles=len(res.cycles), nfe=res.nfe, n_init=n, t_transient=t_transient, t_record=t_record,
                     rtol=1e-9, atol=1e-11, repeats=k, torch_threads=torch.get_num_threads())]


def cases(quick: bool, seed: int = 0) -> list:
    """One case; ``quick``: two starts, short windows."""
    if quick:
        def vdp():
            return vdp_case(2, 10.0, 30.0, 1, seed)
    else:
        def vdp():
            return vdp_case(4, 20.0, 30.0, 1, seed)

    vdp.bench_name = "vdp"
    return [vdp]
