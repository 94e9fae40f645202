"""Benchmark: the dynamics tools against the twenty lines of scipy a researcher would write (issue 20).

Every row times ours and its baseline in the same run, interleaved (:func:`~.harness.interleaved`),
best of ``k``. Rows:

* ``exponents/lorenz_n8/vs_scipy_loop``: all three Lyapunov exponents of Lorenz (sigma 10, rho 28,
  b 8/3), 8 starts, transient 10, averaging 50, QR every 0.5, rtol 1e-8 / atol 1e-10, no alignment
  phase. Ours: :func:`fhrn_ode.dynamics.lyapunov_spectrum` with its default method (dopri8, key
  ``method``). Baseline (:func:`scipy_benettin`): a Python loop over the starts, ``solve_ivp`` (RK45) on
  the state for the transient, then per window on the state + tangent system ``(x, Q)`` with the
  analytic Jacobian, ``numpy.linalg.qr`` every ``dt``. The same loop with scipy's 8th-order DOP853 (the
  like-for-like order) gives the row ``.../vs_scipy_dop853_loop``.
* ``exponents/l96_n1/vs_scipy_loop``: the same for Lorenz-96 (N = 40, F = 8; ours
  :class:`~fhrn_ode.dynamics.systems.Lorenz96Field`, scipy :class:`Lorenz96Numpy`), one
  start (transient 5, averaging 20). ``per_time_unit_s`` = time / (transient + averaging).
* ``exponents/lorenz_rho32/vs_separate``: 32 values of rho in [24, 40] x 4 starts in one family call
  (``lyapunov_spectrum(make_field, y0, values=...)``, fhrn_ode.dynamics' family API) against 32
  separate calls (timed on ``n_sep`` of them, scaled); a row with ``skipped`` when the installed
  dynamics package has no ``values=``.
* ``fixed_points/lorenz/vs_scipy_root`` and ``fixed_points/lorenz_n128/vs_scipy_root``:
  :func:`fhrn_ode.dynamics.find_fixed_points` from 16 (128) given starts ``15 randn`` against
  ``scipy.optimize.root`` (hybr, analytic Jacobian) from each of the same starts, best of 7 (quick: 3).

Accuracy: for exponents ``max_abs_err`` is ``|sum of our exponents - tr J|`` (exact: Lorenz
``-(sigma + 1 + b)``, Lorenz-96 ``-N``) and ``baseline_sum_err`` the same for scipy; ``max_diff``
the largest difference between our mean exponents and scipy's. For fixed points ``max_abs_err`` is
the largest distance of a found point to the nearest exact equilibrium (origin and
``(+-sqrt(b(rho-1)), +-sqrt(b(rho-1)), rho-1)``), ``n_found``/``baseline_n_found`` the distinct points;
``ours_cpu_s``/``baseline_cpu_s``/``cpu_speedup`` the same comparison on CPU time (best of k, in turns).
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.optimize import root

from .harness import interleaved, make_row
from ..dynamics import find_fixed_points, lyapunov_spectrum
from ..dynamics.systems import Lorenz96Field, LorenzField, lorenz_jacobian

__all__ = ["Lorenz96Numpy", "cases", "exponents_l96_case", "exponents_lorenz_case", "fixed_points_case", "rho_family_case",
           "scipy_benettin"]


class Lorenz96Numpy:
    """The scipy baseline's Lorenz-96 in numpy (ours is :class:`fhrn_ode.dynamics.systems.Lorenz96Field`):
    ``dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F`` (cyclic) and its closed-form Jacobian; tr J = -N."""

    def __init__(self, n: int = 40, forcing: float = 8.0) -> None:
        self.dim, self.forcing = int(n), float(forcing)

    def rhs(self, x: np.ndarray) -> np.ndarray:
        return (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + self.forcing

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        n = self.dim
        i = np.arange(n)
        J = -np.eye(n)
        J[i, (i + 1) % n] += x[(i - 1) % n]
        J[i, (i - 2) % n] -= x[(i - 1) % n]
        J[i, (i - 1) % n] += x[(i + 1) % n] - x[(i - 2) % n]
        return J


def _lorenz_numpy(sigma=10.0, rho=28.0, b=8.0 / 3.0):
    def rhs(x):
        return np.array([sigma * (x[1] - x[0]), x[0] * (rho - x[2]) - x[1], x[0] * x[1] - b * x[2]])

    return rhs, lambda x: lorenz_jacobian(x, sigma, rho, b)


def scipy_benettin(rhs, jac, x0: np.ndarray, t_transient: float, t1: float, dt: float, rtol: float,
                   atol: float, method: str = "RK45") -> np.ndarray:
    """Exponents ``(N, n)`` of each start ``x0`` ``(N, n)`` by the plain scipy Benettin loop (the baseline),
    ``solve_ivp`` with ``method`` (RK45, or DOP853 for the like-for-like row)."""
    n = x0.shape[1]
    m = int(round(t1 / dt))

    def tangent(t, s):
        x, Q = s[:n], s[n:].reshape(n, n)
        return np.concatenate([rhs(x), (jac(x) @ Q).ravel()])

    out = []
    for x in x0:
        if t_transient > 0:
            x = solve_ivp(lambda t, y: rhs(y), (0.0, t_transient), x, method=method, rtol=rtol, atol=atol).y[:, -1]
        Q, logs = np.eye(n), np.zeros(n)
        for _ in range(m):
            s = solve_ivp(tangent, (0.0, dt), np.concatenate([x, Q.ravel()]), method=method, rtol=rtol,
                          atol=atol).y[:, -1]
            x = s[:n]
            Q, R = np.linalg.qr(s[n:].reshape(n, n))
            logs += np.log(np.abs(np.diag(R)))
        out.append(logs / (m * dt))
    return np.asarray(out)


def _exponent_row(name, field, rhs, jac, x0, trace, t_transient, t1, dt, k, extra):
    """Rows ``name`` (vs the RK45 loop, the issue's baseline) and ``name`` with ``vs_scipy_dop853_loop``."""
    kw = dict(t_transient=t_transient, t1=t1, dt=dt, t_align=0.0, rtol=1e-8, atol=1e-10)
    x0n = x0.numpy()
    method = inspect.signature(lyapunov_spectrum).parameters["method"].default
    (t_ours, spec), (t_base, ex), (t_853, ex853) = interleaved(
        [lambda: lyapunov_spectrum(field, x0, **kw),
         lambda: scipy_benettin(rhs, jac, x0n, t_transient, t1, dt, 1e-8, 1e-10),
         lambda: scipy_benettin(rhs, jac, x0n, t_transient, t1, dt, 1e-8, 1e-10, method="DOP853")], k=k, warmup=0)
    rows = []
    for row_name, what, t_b, e in ((name, "RK45", t_base, ex),
                                   (name.replace("vs_scipy_loop", "vs_scipy_dop853_loop"), "DOP853", t_853, ex853)):
        base_mean = np.sort(e, 1)[:, ::-1].mean(0)
        rows.append(make_row(
            row_name, t_ours, f"python loop over starts: solve_ivp {what} on (x, Q) with the analytic Jacobian, "
            "numpy QR every dt", t_b, abs(float(spec.sum) - trace),
            baseline_sum_err=abs(float(base_mean.sum()) - trace),
            max_diff=float(np.abs(np.asarray(spec.exponents) - base_mean[:len(spec.exponents)]).max()),
            largest=float(spec.exponents[0]), baseline_largest=float(base_mean[0]), n_init=int(x0.shape[0]),
            t_transient=t_transient, t1=t1, dt=dt, rtol=1e-8, atol=1e-10, repeats=k, method=method,
            baseline_method=what, nfe=int(spec.nfe), torch_threads=torch.get_num_threads(), **extra))
    return rows


def _lorenz_starts(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.tensor([1.0, 1.0, 20.0], dtype=torch.float64) + 5.0 * torch.randn(n, 3, dtype=torch.float64,
                                                                                   generator=g)


def exponents_lorenz_case(n: int = 8, t_transient: float = 10.0, t1: float = 50.0, k: int = 1,
                          seed: int = 0) -> list[dict]:
    """Row ``exponents/lorenz_n{n}/vs_scipy_loop``."""
    L = LorenzField()
    rhs, jac = _lorenz_numpy()
    return _exponent_row(f"exponents/lorenz_n{n}/vs_scipy_loop", L, rhs, jac, _lorenz_starts(n, seed), L.trace,
                         t_transient, t1, 0.5, k, {})


def exponents_l96_case(n_dim: int = 40, t_transient: float = 5.0, t1: float = 20.0, k: int = 1,
                       seed: int = 0) -> list[dict]:
    """Row ``exponents/l96_n1/vs_scipy_loop`` (one start of Lorenz-96 with ``n_dim`` sites)."""
    L, Ln = Lorenz96Field(n_dim, 8.0), Lorenz96Numpy(n_dim, 8.0)
    g = torch.Generator().manual_seed(seed)
    x0 = (8.0 + 0.01 * torch.randn(1, n_dim, dtype=torch.float64, generator=g))
    rows = _exponent_row("exponents/l96_n1/vs_scipy_loop", L, Ln.rhs, Ln.jacobian, x0, -float(n_dim),
                         t_transient, t1, 0.5, k, {"n_dim": n_dim, "forcing": 8.0})
    for row in rows:
        row["per_time_unit_s"] = row["ours_s"] / (t_transient + t1)
        row["baseline_per_time_unit_s"] = row["baseline_s"] / (t_transient + t1)
    return rows


def rho_family_case(P: int = 32, n: int = 4, t_transient: float = 5.0, t1: float = 20.0, n_sep: int = 4, k: int = 1,
                    seed: int = 0) -> list[dict]:
    """Row ``exponents/lorenz_rho{P}/vs_separate``: one family call against ``P`` separate calls."""
    name = f"exponents/lorenz_rho{P}/vs_separate"
    if "values" not in inspect.signature(lyapunov_spectrum).parameters:
        return [dict(name=name, ours_s=None, baseline="separate lyapunov_spectrum calls", baseline_s=None,
                     speedup=None, max_abs_err=None, skipped="lyapunov_spectrum has no values= (family API) here")]
    rhos = np.linspace(24.0, 40.0, P)
    sep = np.unique(np.linspace(0, P - 1, min(n_sep, P)).round().astype(int))
    x0 = _lorenz_starts(n, seed)
    kw = dict(t_transient=t_transient, t1=t1, dt=0.5, t_align=0.0, rtol=1e-8, atol=1e-10)
    (t_fam, fam), (t_sep, singles) = interleaved(
        [lambda: lyapunov_spectrum(lambda r: LorenzField(rho=float(r)), x0, values=rhos, **kw),
         lambda: [lyapunov_spectrum(LorenzField(rho=float(rhos[i])), x0, **kw) for i in sep]], k=k, warmup=0)
    diff = max(float(np.abs(np.asarray(fam.exponents)[i] - s.exponents).max()) for i, s in zip(sep, singles))
    trace = LorenzField().trace
    err = float(np.abs(np.asarray(fam.exponents).sum(1) - trace).max())
    return [make_row(name, t_fam, f"{P} separate lyapunov_spectrum calls ({len(sep)} timed, x{P / len(sep):g})",
                     t_sep * P / len(sep), err, max_diff_vs_separate=diff, P=P, n_init=n, t_transient=t_transient,
                     t1=t1, dt=0.5, separate_scale=P / len(sep), repeats=k)]


def fixed_points_case(n_starts: int = 16, k: int = 3, seed: int = 0, tag: str = "lorenz") -> list[dict]:
    """Row ``fixed_points/{tag}/vs_scipy_root`` (``lorenz``: 16 starts; ``lorenz_n128``: 128)."""
    L = LorenzField()
    rhs, jac = _lorenz_numpy()
    g = torch.Generator().manual_seed(seed)
    z0 = 15.0 * torch.randn(n_starts, 3, dtype=torch.float64, generator=g)
    z0n = z0.numpy()
    c = np.sqrt(L.b * (L.rho - 1.0))
    exact = np.array([[0.0, 0.0, 0.0], [c, c, L.rho - 1.0], [-c, -c, L.rho - 1.0]])

    def scipy_roots():
        sols = [root(rhs, z, jac=jac, method="hybr", tol=1e-12) for z in z0n]
        return np.array([s.x for s in sols if s.success])

    (t_ours, res), (t_base, xs) = interleaved([lambda: find_fixed_points(L, starts=z0), scipy_roots], k=k)
    (c_ours, _), (c_base, _) = interleaved([lambda: find_fixed_points(L, starts=z0), scipy_roots], k=k, warmup=0,
                                           clock=time.process_time)
    ours = np.array([p.x for p in res.points]).reshape(-1, 3)

    def dist(pts):
        return float(np.linalg.norm(pts[:, None, :] - exact[None], axis=-1).min(1).max()) if len(pts) else float("nan")

    n_base = len({tuple(np.round(x, 6)) for x in xs})
    return [make_row(f"fixed_points/{tag}/vs_scipy_root", t_ours, "scipy.optimize.root (hybr, analytic Jacobian) "
                     "from each start", t_base, dist(ours), baseline_max_abs_err=dist(xs), n_found=len(ours),
                     baseline_n_found=n_base, n_starts=n_starts, repeats=k, torch_threads=torch.get_num_threads(),
                     ours_cpu_s=c_ours, baseline_cpu_s=c_base, cpu_speedup=c_base / c_ours)]


def cases(quick: bool, seed: int = 0) -> list:
    """Five cases; ``quick``: short windows, few starts (seconds)."""
    if quick:
        specs = [("lorenz_n8", lambda: exponents_lorenz_case(2, 1.0, 2.0, 1, seed)),
                 ("l96_n1", lambda: exponents_l96_case(10, 0.5, 1.0, 1, seed)),
                 ("lorenz_rho32", lambda: rho_family_case(4, 2, 0.5, 1.0, 2, 1, seed)),
                 ("fixed_points", lambda: fixed_points_case(16, 3, seed)),
                 ("fixed_points_n128", lambda: fixed_points_case(128, 3, seed, "lorenz_n128"))]
    else:
        specs = [("lorenz_n8", lambda: exponents_lorenz_case(8, 10.0, 50.0, 1, seed)),
                 ("l96_n1", lambda: exponents_l96_case(40, 5.0, 20.0, 1, seed)),
                 ("lorenz_rho32", lambda: rho_family_case(32, 4, 5.0, 20.0, 4, 1, seed)),
                 ("fixed_points", lambda: fixed_points_case(16, 7, seed)),
                 ("fixed_points_n128", lambda: fixed_points_case(128, 7, seed, "lorenz_n128"))]
    out = []
    for label, fn in specs:
        fn.bench_name = label
        out.append(fn)
    return out
