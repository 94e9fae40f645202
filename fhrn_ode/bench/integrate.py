"""Benchmark: batched integration with :func:`fhrn_ode.integrate` against scipy (docs/model.md §1, C 7-8).

Problem: the ring attractor (``W*`` antisymmetric, default :class:`FHRNParams`: leak 1, gamma 1,
kappa 10, theta 1, no gain, no memory), ``N`` initial states with radii in ``(0, 2]``
(:func:`initial_conditions`), saved on ``linspace(0, t1, n_points)``, dopri5 / RK45 at the same
``rtol``/``atol`` (1e-7 / 1e-9, the integrate defaults). Rows (same run, best of ``k``):

* ``vs_loop``: one ``scipy.integrate.solve_ivp`` (RK45) call per initial state, timed on an evenly
  spaced subset of ``n_loop`` states and scaled linearly by ``N / n_loop`` (key ``loop_scale``);
* ``vs_vectorised``: ONE ``solve_ivp`` (RK45) call on the stacked ``N * d`` system (vectorised numpy
  right-hand side), the fastest plain-scipy way; ours and this baseline are timed interleaved
  (:func:`~.harness.interleaved`), so a change of machine load hits both alike;
* ``vs_torchdiffeq``: torchdiffeq's own dopri5 through the same :func:`integrate` (before the
  stage-major re-layout of ``fhrn_ode/_dopri5.py``);
* ``vs_diffrax`` / ``vs_torchode``: the peers of :mod:`fhrn_ode.bench._peers` (the ``bench`` extra);
  a missing peer gives a row with ``skipped`` (why) and null ``baseline_s``. diffrax rows carry
  ``compile_s`` (the jit compile, measured separately and never part of ``baseline_s``).

Every row carries ``matmul_floor_s``: ``nfe`` times one float64 ``(N, d) @ (d, d)`` product (best
of 20, same run), the time the field's products alone take; at d = 192 every solver sits on it.

Accuracy: ``max_abs_err`` is the max over saved times and components of ``|y - y_ref|`` on
``n_ref`` states, with ``y_ref`` from ``solve_ivp`` DOP853 at rtol 1e-12 / atol 1e-14;
``baseline_max_abs_err`` is the same for the baseline. The batched solvers (ours and the vectorised
scipy call) use one step size for the whole batch (error norm over all states), the loop controls
each trajectory on its own: the errors are reported, not equalised.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

import numpy as np
import torch
from scipy.integrate import solve_ivp

from ._peers import diffrax_solver, peer_status, torchode_solver
from .harness import best_of, interleaved, make_row
from ..integration import initial_conditions, integrate
from ..operators import make_operator
from ..params import FHRNParams

__all__ = ["cases", "integrate_case"]

_integrate_mod = importlib.import_module("fhrn_ode.solver")  # the solver core holds the fast-path switch


@contextmanager
def _plain_torchdiffeq():
    old = _integrate_mod._STAGE_MAJOR_DOPRI5
    _integrate_mod._STAGE_MAJOR_DOPRI5 = False
    try:
        yield
    finally:
        _integrate_mod._STAGE_MAJOR_DOPRI5 = old


def _numpy_fields(W: np.ndarray, p: FHRNParams, n: int):
    d = W.shape[0]
    M = -p.leak * np.eye(d) + p.gamma * W
    MT = np.ascontiguousarray(M.T)
    c = np.asarray(p.drive_vector(d), dtype=np.float64)
    th2, kap = p.theta * p.theta, p.kappa

    def f_one(t, y):  # C 7-8 for one state
        return M @ y - kap * (y @ y - th2) * y + c

    def f_stacked(t, z):  # the same for all N states stacked into one vector
        Y = z.reshape(n, d)
        r2 = np.einsum("ij,ij->i", Y, Y)[:, None]
        return (Y @ MT - kap * (r2 - th2) * Y + c).ravel()

    return f_one, f_stacked


def _peer_rows(tag: str, W: np.ndarray, p: FHRNParams, y0n: np.ndarray, tt: np.ndarray, rtol: float, atol: float,
               k: int, t_ours: float, err_ours: float, ref: np.ndarray, ref_idx: np.ndarray, common: dict) -> list[dict]:
    """Rows ``vs_diffrax`` and ``vs_torchode`` (or one note row per missing peer)."""
    status = peer_status()
    d = W.shape[0]
    H = -p.leak * np.eye(d) + p.gamma * W + p.kappa * p.theta * p.theta * np.eye(d)
    rows = []
    for peer, why in status.items():
        name = f"{tag}/vs_{peer}"
        if why is not None:
            rows.append(dict(name=name, ours_s=t_ours, baseline=f"{peer}: skipped", baseline_s=None, speedup=None,
                             max_abs_err=err_ours, skipped=why, **common))
            continue
        if peer == "diffrax":
            run, compile_s = diffrax_solver(H, p.kappa, y0n, tt, rtol, atol)
            t_peer, (ys, nfe) = best_of(run, k)
            rows.append(make_row(name, t_ours, "diffrax Dopri5 + PIDController, jax.jit, float64, one state for the "
                                 "batch (compile time in compile_s, not in baseline_s)", t_peer, err_ours,
                                 baseline_max_abs_err=float(np.abs(ys[:, ref_idx] - ref).max()), baseline_nfev=nfe,
                                 compile_s=compile_s, **common))
        else:
            run = torchode_solver(H, p.kappa, y0n, tt, rtol, atol)
            t_peer, (ys, nfe) = best_of(run, min(2, k))
            rows.append(make_row(name, t_ours, "torchode Dopri5 + IntegralController, eager, a step size per "
                                 "trajectory", t_peer, err_ours,
                                 baseline_max_abs_err=float(np.abs(ys[:, ref_idx] - ref).max()), baseline_nfev=nfe,
                                 **common))
    return rows


def integrate_case(d: int, n: int, *, t1: float = 20.0, n_points: int = 401, n_loop: int = 32, n_ref: int = 8,
                   rtol: float = 1e-7, atol: float = 1e-9, k: int = 3, seed: int = 0,
                   torchdiffeq_row: bool = True, loop_row: bool = True, peers: bool = False) -> list[dict]:
    """Rows ``integrate/d{d}_n{n}/vs_vectorised`` (+ ``vs_loop``, ``vs_torchdiffeq``, ``vs_diffrax``, ``vs_torchode``)."""
    p = FHRNParams()
    W = make_operator("antisym", d, seed=seed)
    y0 = initial_conditions(n, d, 2.0, seed=seed)
    y0n = y0.numpy()
    tt = np.linspace(0.0, t1, n_points)
    f_one, f_stacked = _numpy_fields(W, p, n)
    n_loop = max(1, min(n_loop, n))
    loop_idx = np.unique(np.linspace(0, n - 1, n_loop).round().astype(int))
    ref_idx = loop_idx[np.unique(np.linspace(0, len(loop_idx) - 1, min(n_ref, len(loop_idx))).round().astype(int))]
    tag = f"integrate/d{d}_n{n}"

    def ours():
        return integrate(W, y0, params=p, t1=t1, n_points=n_points, rtol=rtol, atol=atol)

    def loop():
        return [solve_ivp(f_one, (0.0, t1), y0n[i], method="RK45", t_eval=tt, rtol=rtol, atol=atol) for i in loop_idx]

    def vectorised():
        return solve_ivp(f_stacked, (0.0, t1), y0n.ravel(), method="RK45", t_eval=tt, rtol=rtol, atol=atol)

    # ours and the stacked scipy call in turns (a change of machine load hits both alike)
    (t_ours, res), (t_vec, sol_vec) = interleaved([ours, vectorised], k=k)
    if res.status != "success":
        raise RuntimeError(f"integrate did not succeed: {res.message}")

    ref = np.stack([solve_ivp(f_one, (0.0, t1), y0n[i], method="DOP853", t_eval=tt, rtol=1e-12, atol=1e-14).y.T
                    for i in ref_idx], axis=1)  # (T, n_ref, d)
    err_ours = float(np.abs(res.y.numpy()[:, ref_idx] - ref).max())
    Yvec = sol_vec.y.T.reshape(n_points, n, d)
    err_vec = float(np.abs(Yvec[:, ref_idx] - ref).max())

    Yt, Wt = y0.clone(), torch.as_tensor(W.T.copy())
    t_mm, _ = best_of(lambda: torch.mm(Yt, Wt), 20)
    common = dict(d=d, n=n, t1=t1, matmul_floor_s=t_mm * int(res.nfe), n_points=n_points, rtol=rtol, atol=atol, method="dopri5", nfe=int(res.nfe),
                  n_ref=len(ref_idx), reference="solve_ivp DOP853 rtol 1e-12 atol 1e-14",
                  torch_threads=torch.get_num_threads(), repeats=k, device="cpu")
    rows = []
    if loop_row:
        t_loop, sols = best_of(loop, min(2, k), warmup=0)  # the loop runs for seconds: best of 2
        scale = n / len(loop_idx)
        pos = {int(i): j for j, i in enumerate(loop_idx)}
        err_loop = float(max(np.abs(sols[pos[int(i)]].y.T - ref[:, m]).max() for m, i in enumerate(ref_idx)))
        loop_nfev = int(sum(s.nfev for s in sols) * scale)
        rows.append(make_row(f"{tag}/vs_loop", t_ours, f"solve_ivp RK45 loop ({len(loop_idx)} of {n} timed, x{scale:g})",
                             t_loop * scale, err_ours, baseline_max_abs_err=err_loop, loop_scale=scale,
                             baseline_nfev=loop_nfev, **common))
    rows.append(make_row(f"{tag}/vs_vectorised", t_ours, "one solve_ivp RK45 call on the stacked system", t_vec, err_ours,
                         baseline_max_abs_err=err_vec, baseline_nfev=int(sol_vec.nfev), **common))
    if torchdiffeq_row:
        with _plain_torchdiffeq():
            t_td, res_td = best_of(ours, min(2, k), warmup=0)
        err_td = float(np.abs(res_td.y.numpy()[:, ref_idx] - ref).max())
        rows.append(make_row(f"{tag}/vs_torchdiffeq", t_ours, "torchdiffeq dopri5 (plain odeint)", t_td, err_ours,
                             baseline_max_abs_err=err_td, baseline_nfev=int(res_td.nfe), **common))
    if peers:
        rows.extend(_peer_rows(tag, W, p, y0n, tt, rtol, atol, k, t_ours, err_ours, ref, ref_idx, common))
    return rows


#: Full-run sizes (d, N): the issue-12 table (N = 8, 512, 4096 at d = 2; N = 256 at d = 192) plus the
#: scaling lines of docs/performance.md (seconds vs N at d = 2, vs d at N = 256). All at t1 = 20.
FULL_SIZES: tuple[tuple[int, int], ...] = ((2, 8), (2, 64), (2, 256), (2, 512), (2, 4096),
                                           (16, 256), (64, 256), (192, 256))
#: Sizes that also get the (slow) per-state scipy loop and the plain-torchdiffeq rows.
_FULL_EXTRA_ROWS = {(2, 8), (2, 4096), (192, 256)}


def cases(quick: bool, seed: int = 0) -> list:
    """The sizes of :data:`FULL_SIZES` (three small ones with ``quick``), each one case."""
    if quick:
        sizes = [(2, 8), (2, 512), (64, 64)]
        kw = dict(t1=10.0, n_points=101, n_ref=4, k=2, seed=seed, n_loop=8)
        extra = {(2, 8)}
    else:
        sizes = list(FULL_SIZES)
        kw = dict(t1=20.0, n_points=401, n_ref=8, k=5, seed=seed, n_loop=32)
        extra = _FULL_EXTRA_ROWS

    out = []
    for d, n in sizes:
        def run(d=d, n=n, more=(d, n) in extra):
            return integrate_case(d, n, torchdiffeq_row=more, loop_row=more, peers=True, **kw)

        run.bench_name = f"d{d}_n{n}"
        out.append(run)
    return out
