"""``fhrn-ode integrate --memory slots``: the attractor-slot field (docs/companions.md), same outputs as integrate.

Writes ``trajectory.npz`` (``t, y, M, y0, W``; ``M`` is ``(T, N, K, d)``) and ``summary.json`` with the keys of
``integrate`` plus ``memory`` (rule, slots, readout, final slot norms and similarities). ``spectral_abscissa_final``
is that of ``d(dy/dt)/dy`` with the slots held fixed (as ``A`` is held fixed for the fast weights). The
initial slots are ``N(0, 0.5^2)`` per entry, drawn with ``--seed``. Integrated by :func:`fhrn_ode.integrate`
(generic-field path) through :func:`fhrn_ode.slots.integrate_slots`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ._common import check_out_dir, emit_json, field_from_args, resolve_wr_args


def run_slots(args: argparse.Namespace) -> int:
    from .._io import atomic_save_npz, atomic_savefig, atomic_write_json
    from ..energy import lyapunov_V
    from ..integration import initial_conditions
    from ..solver import FIXED_SOLVERS
    from ..operators import operator_info
    from ..slots import integrate_slots, slot_similarity
    from ..spectrum import spectral_abscissa

    out = check_out_dir(args.out)
    op = resolve_wr_args(args)
    name, W = op.name, op.W
    d = W.shape[0]
    fld = field_from_args(W, args, op)
    y0 = np.asarray(initial_conditions(args.n_init, d, args.init_radius, seed=args.seed))
    M0 = np.random.default_rng(args.seed).normal(scale=0.5, size=(y0.shape[0], fld.n_slots, d))
    r0 = max(1.0, float(np.abs(y0).max()))
    if args.method not in FIXED_SOLVERS:  # --rtol/--atol not given: the command's documented 1e-7 / 1e-9
        args.rtol = 1e-7 if args.rtol is None else args.rtol
        args.atol = 1e-9 if args.atol is None else args.atol
    run = integrate_slots(fld, y0, M0, t1=args.t1, n_points=args.n_points, method=args.method, rtol=args.rtol,
                          atol=args.atol, max_norm=100.0 * r0)
    yf, Mf = torch.as_tensor(run.y[-1]), torch.as_tensor(run.M[-1])
    J = torch.func.vmap(torch.func.jacrev(fld.velocity, argnums=0))(yf, Mf)
    rho = np.atleast_1d(spectral_abscissa(J.numpy()))
    p = fld.params
    summary = {
        "status": run.status,
        "message": run.message,
        "t_final": float(run.t[-1]),
        "t_diverged": run.t_diverged,
        "final_norm": np.linalg.norm(run.y[-1], axis=-1).tolist(),
        "V_final": lyapunov_V(yf, p.theta).tolist(),
        "spectral_abscissa_final": rho.tolist(),
        "operator": {k: v for k, v in operator_info(W, name).to_dict().items() if k != "dim"},
        "dim": int(d),
        "n_init": int(y0.shape[0]),
        "params": dict(p.to_dict(), memory="slots"),
        "solver": {"method": args.method, "rtol": args.rtol, "atol": args.atol, "nfe": run.nfe},
        "memory": {"rule": "slots", "n_slots": fld.n_slots, "readout": fld.readout,
                   "final_slot_norms": np.linalg.norm(run.M[-1], axis=-1).tolist(),
                   "final_similarity": slot_similarity(Mf, yf, fld.eps).tolist()},
    }
    files = [atomic_save_npz(out / "trajectory.npz", t=run.t, y=run.y, M=run.M, y0=y0, W=W),
             atomic_write_json(out / "summary.json", summary)]
    if not args.no_plot:
        import matplotlib.pyplot as plt

        from ..figures.trajectories import plot_trajectories

        fig = plot_trajectories(run.y, ring_radius=None, title=f"W* = {Path(name).name}, d = {d}, "
                                                               f"{fld.n_slots} slots ({run.status})")
        files.append(atomic_savefig(fig, out / "phase.png"))
        plt.close(fig)
    if args.json:
        emit_json(summary)
    else:
        norms = np.asarray(summary["final_norm"])
        print(f"fhrn-ode integrate: {run.status} (memory: {fld.n_slots} attractor slots, readout {fld.readout:g})\n"
              f"  final |y| over {len(norms)} trajectories at t={summary['t_final']:.4g}: min {norms.min():.6f}  "
              f"max {norms.max():.6f}\n  wrote {', '.join(str(f) for f in files)}")
    return 1 if run.status == "failed" else 0
