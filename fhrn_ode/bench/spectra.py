"""Benchmark: spectral abscissae of many Jacobians (``fhrn_ode.analysis.spectra``; C 10-11).

Rows (same run, best of ``k``; see :mod:`fhrn_ode.bench.harness` for the row keys):

* ``spectra/map2d_n{N}/vs_numpy_loop`` and ``/vs_torch_batched``: the whole map (Jacobians + spectra) of rho
  over an ``N x N`` grid of the 2-D ring system (antisymmetric W, default params). Ours:
  :func:`spectral_map` (closed-form planar Jacobian entries + closed-form 2x2 abscissa, torch elementwise);
  baselines: batched ``FHRNField.jacobian`` then ``numpy.linalg.eigvals`` per point (the loop is timed on an
  evenly spaced subset of ``n_loop`` points and scaled by ``N^2 / n_loop``, key ``loop_scale``), or then one
  batched ``torch.linalg.eigvals`` call. ``max_abs_err``: max |rho_ours - rho_numpy| over all points.
* ``spectra/eig2x2_n{N}/vs_torch_batched``: the eigenvalue stage alone on the same Jacobians
  (:func:`spectral_abscissa_2x2`, numpy) against batched ``torch.linalg.eigvals``.
* ``spectra/eig_d192_b{B}/vs_torch_batched``: eigenvalues of ``B`` random Gaussian 192x192 Jacobians
  (``-I + W/sqrt(d)`` style), ours :func:`batched_eigvals` (chunks in a thread pool) vs one batched
  ``torch.linalg.eigvals``; ``max_abs_err``: max |rho_ours - rho_baseline|. Extra keys: ``gflops`` at the
  ``10 d^3`` flop count of an eigenvalue-only QR algorithm per matrix, ``matmul_gflops`` of a 192 float64
  matmul measured in the same run (2 d^3 flops per product), ``threads``.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from .harness import best_of, make_row
from ..field import FHRNField
from ..operators import make_operator
from ..params import FHRNParams

__all__ = ["cases"]


def _map_case(n: int, n_loop: int, k: int):
    def map2d():
        from ..analysis.spectra import spectral_abscissa_2x2, spectral_map

        f = FHRNField(make_operator("antisym", 2), FHRNParams())
        ax = np.linspace(-2.0, 2.0, n)
        Y1, Y2 = np.meshgrid(ax, ax)
        pts = torch.as_tensor(np.stack([Y1.ravel(), Y2.ravel()], -1))

        def jac():
            with torch.no_grad():
                return f.jacobian(pts)

        Jt = jac()
        J = Jt.numpy()
        rho_np = np.linalg.eigvals(J).real.max(-1).reshape(n, n)  # reference on every point
        # whole map: Jacobians + spectra, for ours and both baselines
        t_ours, m = best_of(lambda: spectral_map(f, extent=2.0, n=n), k=k)
        err = float(np.max(np.abs(m.spectral_abscissa - rho_np)))
        idx = np.linspace(0, J.shape[0] - 1, min(n_loop, J.shape[0])).astype(int)
        scale = J.shape[0] / idx.size
        t_j, _ = best_of(jac, k=k)
        t_loop_sub, rho_loop = best_of(lambda: np.array([np.linalg.eigvals(J[i]).real.max() for i in idx]), k=1)
        t_torch, lam_t = best_of(lambda: torch.linalg.eigvals(jac()), k=k)
        # eigenvalue stage only, on the same Jacobians
        t_cf, rho_cf = best_of(lambda: spectral_abscissa_2x2(J), k=k)
        t_te, _ = best_of(lambda: torch.linalg.eigvals(Jt), k=k)
        base_err_t = float(np.max(np.abs(lam_t.real.amax(-1).numpy().reshape(n, n) - rho_np)))
        return [
            make_row(f"spectra/map2d_n{n}/vs_numpy_loop", t_ours,
                     "FHRNField.jacobian (batched) + numpy.linalg.eigvals per point (loop)", t_j + t_loop_sub * scale,
                     err, points=n * n, loop_scale=scale),
            make_row(f"spectra/map2d_n{n}/vs_torch_batched", t_ours,
                     "FHRNField.jacobian + torch.linalg.eigvals, batched", t_torch, err, points=n * n,
                     baseline_max_abs_err=base_err_t),
            make_row(f"spectra/eig2x2_n{n}/vs_torch_batched", t_cf,
                     "torch.linalg.eigvals, batched, same Jacobians", t_te,
                     float(np.max(np.abs(rho_cf.reshape(n, n) - rho_np))), points=n * n),
        ]

    map2d.bench_name = f"map2d_n{n}"
    return map2d


def _eig_case(b: int, d: int, k: int, seed: int):
    def eig():
        from ..analysis.spectra import batched_eigvals

        rng = np.random.default_rng(seed)
        J = -np.eye(d) + rng.standard_normal((b, d, d)) / np.sqrt(d)
        Jt = torch.from_numpy(J)
        t_base, lam_b = best_of(lambda: torch.linalg.eigvals(Jt), k=k)
        t_ours, lam = best_of(lambda: batched_eigvals(J), k=k)
        A = torch.from_numpy(rng.standard_normal((d, d)))
        reps = 200
        t_mm, _ = best_of(lambda: [A @ A for _ in range(reps)], k=3)
        err = float(np.max(np.abs(lam.real.max(-1) - lam_b.real.amax(-1).numpy())))
        flops = 10.0 * d ** 3 * b
        return [make_row(f"spectra/eig_d{d}_b{b}/vs_torch_batched", t_ours,
                         "torch.linalg.eigvals, one batched call", t_base, err, gflops=flops / t_ours / 1e9,
                         baseline_gflops=flops / t_base / 1e9, matmul_gflops=2.0 * d ** 3 * reps / t_mm / 1e9,
                         threads=len(os.sched_getaffinity(0)), batch=b, dim=d)]

    eig.bench_name = f"eig_d{d}_b{b}"
    return eig


def cases(quick: bool, seed: int = 0) -> list:
    if quick:
        return [_map_case(100, 500, 2), _eig_case(64, 192, 1, seed)]
    return [_map_case(400, 2000, 3), _eig_case(1000, 192, 2, seed)]
