"""Benchmark: Lyapunov spectrum of the Lorenz system, batched over initial states, vs a plain numpy/scipy loop.

Problem: Lorenz (sigma 10, rho 28, b 8/3), ``N`` initial states on the attractor (256; 32 with ``quick``),
all three exponents by Benettin's QR method, re-orthonormalisation every 0.5 over ``t1`` (10; 2 with
``quick``), rtol 1e-6, atol 1e-8. Ours: :func:`fhrn_ode.dynamics.exponents.lyapunov_spectrum` (the solver
core's dopri5 on all trajectories and tangent spaces at once, ``J Q`` with ``LorenzField``'s closed-form
Jacobian, confirmed by the field contract). Baseline:
the textbook loop, one initial state at a time: ``scipy.integrate.solve_ivp`` (RK45, same tolerances) on
the 12-dimensional system ``(x, Q)`` with the closed-form Jacobian, ``numpy.linalg.qr`` per window; timed
on ``n_loop`` states and scaled by ``N / n_loop`` (key ``loop_scale``). ``max_abs_err``: the error of our
exponent sum against the exact ``-(sigma + 1 + b)``; ``baseline_sum_err`` the same for the loop;
``max_diff_vs_loop``: largest difference of the exponents of the states both computed.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .harness import best_of, make_row
from ..dynamics._flow import odeint
from ..dynamics.exponents import lyapunov_spectrum
from ..dynamics.systems import LorenzField, lorenz_jacobian

__all__ = ["cases", "exponents_case", "benettin_loop"]


def _rhs(t, s):
    x, Q = s[:3], s[3:].reshape(3, 3)
    f = np.array([10.0 * (x[1] - x[0]), x[0] * (28.0 - x[2]) - x[1], x[0] * x[1] - 8.0 / 3.0 * x[2]])
    return np.concatenate([f, (lorenz_jacobian(x) @ Q).ravel()])


def benettin_loop(x0: np.ndarray, t1: float, dt: float, rtol: float, atol: float) -> np.ndarray:
    """Exponents ``(N, 3)`` of each state by the plain numpy/scipy Benettin loop (the baseline)."""
    out = []
    m = int(round(t1 / dt))
    for x in x0:
        Q = np.eye(3)
        logs = np.zeros(3)
        for _ in range(m):
            sol = solve_ivp(_rhs, (0.0, dt), np.concatenate([x, Q.ravel()]), rtol=rtol, atol=atol)
            s = sol.y[:, -1]
            x = s[:3]
            Q, R = np.linalg.qr(s[3:].reshape(3, 3))
            logs += np.log(np.abs(np.diag(R)))
        out.append(logs / (m * dt))
    return np.asarray(out)


def exponents_case(N: int, t1: float, n_loop: int, k: int, seed: int = 0) -> list[dict]:
    L = LorenzField()
    g = torch.Generator().manual_seed(seed)
    z = 10.0 * torch.randn(N, 3, dtype=torch.float64, generator=g)
    with torch.no_grad():  # onto the attractor first (not timed)
        x0 = odeint(L, z, torch.tensor([0.0, 10.0], dtype=torch.float64), rtol=1e-6, atol=1e-8)[-1]
    kw = dict(t_transient=0.0, t1=t1, dt=0.5, t_align=0.0, rtol=1e-6, atol=1e-8)
    ours_s, spec = best_of(lambda: lyapunov_spectrum(L, x0, **kw), k=k)
    loop_s, ex_loop = best_of(lambda: benettin_loop(x0[:n_loop].numpy(), t1, 0.5, 1e-6, 1e-8), k=1, warmup=0)
    ours_sum = spec.per_init.sum(1)
    return [make_row(f"exponents/lorenz_n{N}/vs_numpy_scipy_loop", ours_s,
                     "per-state scipy solve_ivp (RK45) + numpy QR Benettin loop", loop_s * N / n_loop,
                     float(np.abs(ours_sum - L.trace).max()), loop_scale=N / n_loop, n_loop=n_loop, n_init=N, t1=t1,
                     dt=0.5, rtol=1e-6, baseline_sum_err=float(np.abs(ex_loop.sum(1) - L.trace).max()),
                     max_diff_vs_loop=float(np.abs(np.sort(spec.per_init[:n_loop], 1) - np.sort(ex_loop, 1)).max()),
                     largest_mean=float(spec.exponents[0]))]


def cases(quick: bool = False, seed: int = 0) -> list:
    N, t1, n_loop, k = (32, 2.0, 2, 1) if quick else (256, 10.0, 4, 2)
    return [lambda: exponents_case(N, t1, n_loop, k, seed=seed)]
