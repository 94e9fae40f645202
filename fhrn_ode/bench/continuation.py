"""Benchmark: continuation and basins (docs/continuation.md) against grid and per-point baselines, same run.

* ``continuation/brusselator_400/vs_bifurcation_sweep``: a 400-point equilibrium branch of the Brusselator
  (``a = 1``, ``b`` in [1, 3], fixed step 0.005) with its Hopf point located, against
  :func:`fhrn_ode.dynamics.bifurcation_sweep` on 400 values of ``b`` (timed on ``n_grid`` values and
  scaled by ``400 / n_grid``, key ``grid_scale``: the sweep integrates trajectories at every value).
  ``max_abs_err``: ``|b_H - 2|`` of ours; ``baseline_err`` the sweep's.
* ``basins/bistable_200x200/vs_scipy_loop``: the 200 x 200 basin image of ``x' = x - x^3, y' = -y`` (one
  batched solve) against ``scipy.integrate.solve_ivp`` per point (timed on ``n_loop`` points, scaled,
  key ``loop_scale``). ``max_abs_err``: fraction of those points whose label differs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .harness import best_of, make_row

__all__ = ["cases"]


class _Brusselator(nn.Module):
    dim = 2

    def __init__(self, b, a=1.0):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, t, v):
        x, y = v[..., 0], v[..., 1]
        return torch.stack([self.a - (self.b + 1) * x + x * x * y, self.b * x - x * x * y], -1)


class _Bistable(nn.Module):
    dim = 2

    def forward(self, t, v):
        return torch.stack([v[..., 0] - v[..., 0] ** 3, -v[..., 1]], -1)


def branch_case(n_points: int, n_grid: int) -> list[dict]:
    from ..dynamics.bifurcation import bifurcation_sweep
    from ..dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation

    step = 2.0 / n_points
    pr = ContinuationProblem(x0=[1.0, 1.0], p0=1.0, make_field=_Brusselator, param="b")
    opts = ContinuationOptions(ds=step, ds_min=step / 64, ds_max=step, max_steps=n_points, p_max=3.0,
                               direction="forward")
    ours_s, br = best_of(lambda: continuation(pr, opts), k=1, warmup=0)
    hs = br.points("H")
    err = abs(hs[0].p - 2.0) if hs else float("nan")
    base_s, d = best_of(lambda: bifurcation_sweep(_Brusselator, np.linspace(1.0, 3.0, n_grid), param="b", dim=2,
                                                  exponents=False, n_init=2, n_starts=8), k=1, warmup=0)
    hb = [b.value for b in d.bifurcations if b.kind == "hopf"]
    return [make_row(f"continuation/brusselator_{n_points}/vs_bifurcation_sweep", ours_s,
                     f"bifurcation_sweep on {n_points} values of b (timed on {n_grid}, scaled)",
                     base_s * n_points / n_grid, err, points=len(br), grid_scale=n_points / n_grid,
                     baseline_err=abs(hb[0] - 2.0) if hb else None)]


def basins_case(n: int, n_loop: int, seed: int = 0) -> list[dict]:
    from scipy.integrate import solve_ivp

    from ..dynamics.continuation import basins

    ours_s, b = best_of(lambda: basins(_Bistable(), (-1, 1), (-1, 1), n=(n, n), t1=30.0), k=1)
    X, Y = np.meshgrid(b.xs, b.ys)
    rng = np.random.default_rng(seed)
    idx = rng.choice(n * n, n_loop, replace=False)

    def loop():
        out = []
        for i in idx:
            s = solve_ivp(lambda t, v: [v[0] - v[0] ** 3, -v[1]], (0, 30.0), [X.flat[i], Y.flat[i]], rtol=1e-7,
                          atol=1e-9)
            out.append(np.sign(s.y[0, -1]))
        return np.array(out)
    loop_s, signs = best_of(loop, k=1, warmup=0)
    right = [k for k, a in enumerate(b.attractors) if a["state"][0] > 0]
    ours_sign = np.where(np.isin(b.labels.flat[idx], right), 1.0, -1.0)
    return [make_row(f"basins/bistable_{n}x{n}/vs_scipy_loop", ours_s, "scipy solve_ivp per point (scaled)",
                     loop_s * n * n / n_loop, float(np.mean(ours_sign != signs)), loop_scale=n * n / n_loop,
                     n_loop=n_loop)]


def cases(quick: bool, seed: int = 0) -> list:
    """Zero-argument callables returning rows (quick: 100 points / 8 grid values, a 60 x 60 image)."""
    if quick:
        return [lambda: branch_case(100, 4), lambda: basins_case(60, 100, seed)]
    return [lambda: branch_case(400, 16), lambda: basins_case(200, 400, seed)]
