"""Benchmark: a whole gamma sweep in ONE :func:`fhrn_ode.integrate_sweep` call vs one integrate call per value.

Problem (issue 12): the ring field (antisymmetric ``W*``, default parameters) with the gain on
(``beta = 0.3``, so gamma matters through ``g``), ``P`` values of gamma in [0, 1] x ``N`` initial states
(d = 2), t1 = 20, 401 saved times, dopri5 rtol 1e-7 / atol 1e-9. Row ``sweep/gamma{P}_n{N}/vs_separate``:
ours = the batched call (group error control: every set meets its own call's criterion), baseline
= ``P`` separate :func:`fhrn_ode.integrate` calls (timed on ``n_sep`` evenly spaced values, scaled by
``P / n_sep``: key ``separate_scale``). ``max_abs_err`` = max difference between the batched
trajectories and the separate calls that were run (the goal: <= 1e-6).
"""

from __future__ import annotations

import numpy as np

from .harness import best_of, make_row
from ..batched import integrate_sweep
from ..integration import initial_conditions, integrate
from ..operators import make_operator
from ..params import FHRNParams

__all__ = ["cases", "sweep_case"]


def sweep_case(P: int, n: int, *, n_sep: int = 8, t1: float = 20.0, n_points: int = 401, k: int = 3,
               seed: int = 0, beta: float = 0.3) -> list[dict]:
    W = make_operator("antisym", 2, seed=seed)
    y0 = initial_conditions(n, 2, 2.0, seed=seed)
    gammas = np.linspace(0.0, 1.0, P)
    sep_idx = np.unique(np.linspace(0, P - 1, min(n_sep, P)).round().astype(int))

    def batched():
        return integrate_sweep(W, y0, gamma=gammas, beta=beta, t1=t1, n_points=n_points)

    def separate():
        return [integrate(W, y0, params=FHRNParams(gamma=float(gammas[i]), beta=beta), t1=t1, n_points=n_points)
                for i in sep_idx]

    t_b, res = best_of(batched, k)
    t_s, sols = best_of(separate, min(2, k), warmup=0)
    scale = P / len(sep_idx)
    err = max(float((res.y[:, i] - s.y).abs().max()) for i, s in zip(sep_idx, sols))
    return [make_row(f"sweep/gamma{P}_n{n}/vs_separate", t_b,
                     f"{P} separate integrate calls ({len(sep_idx)} timed, x{scale:g})", t_s * scale, err,
                     P=P, n=n, d=2, t1=t1, n_points=n_points, beta=beta, nfe=int(res.nfe),
                     baseline_nfe=int(sum(s.nfe for s in sols) * scale), separate_scale=scale,
                     error_control=res.error_control, status=res.status, repeats=k)]


def cases(quick: bool, seed: int = 0) -> list:
    def run():
        if quick:
            return sweep_case(16, 16, n_sep=4, t1=10.0, n_points=101, k=2, seed=seed)
        return sweep_case(64, 64, n_sep=8, seed=seed)

    run.bench_name = "gamma64_n64" if not quick else "gamma16_n16"
    return [run]
