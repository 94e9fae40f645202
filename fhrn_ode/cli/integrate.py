"""``fhrn-ode integrate``: integrate the FHRN ODE and write trajectory, summary and phase plot."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import (add_model_args, add_operator_args, add_seed_arg, check_out_dir, emit_json, flag_names,
                      param_sources, params_from_args, resolve_wr_args)
from .._names import SOLVERS
from ..params import FHRNParams, ring_radius

def register(sub) -> None:
    p = sub.add_parser("integrate", help="integrate the FHRN neural ODE (ring attractor by default)",
                       description="Integrate dy/dt = -leak y + gamma g W* y + A y + g_h(y) + c (C 7-9) on torchdiffeq.")
    add_operator_args(p)
    add_model_args(p)
    g = p.add_argument_group("integration")
    g.add_argument("--t1", type=float, default=20.0, help="final time (default %(default)s)")
    g.add_argument("--n-points", type=int, default=401, help="saved time points (default %(default)s)")
    g.add_argument("--n-init", type=int, default=8, help="number of initial conditions N (default %(default)s)")
    g.add_argument("--init-radius", type=float, default=2.0,
                   help="initial radii are evenly spaced in (0, R], directions random (default %(default)s)")
    g.add_argument("--method", choices=SOLVERS, default="dopri5", help="torchdiffeq method (default %(default)s)")
    g.add_argument("--rtol", type=float, default=1e-7, help="relative tolerance (default %(default)s)")
    g.add_argument("--atol", type=float, default=1e-9, help="absolute tolerance (default %(default)s)")
    add_seed_arg(p)
    o = p.add_argument_group("output")
    o.add_argument("--out", default="runs/integrate", help="output folder (default %(default)s)")
    o.add_argument("--json", action="store_true", help="print summary.json to stdout (and nothing else)")
    o.add_argument("--no-plot", action="store_true", help="do not write phase.png")
    p.set_defaults(func=run)


def summarize(res: "IntegrationResult", name: str, W: "np.ndarray") -> dict[str, Any]:
    """The ``summary.json`` object (keys documented in the README)."""
    import numpy as np

    from ..energy import lyapunov_V
    from ..field import FHRNField
    from ..operators import operator_info
    from ..spectrum import spectral_abscissa

    p = res.params
    yf = res.y[-1].detach()
    Af = None if res.A is None else res.A[-1].detach()
    field = FHRNField(W, p)
    rho = spectral_abscissa(field.jacobian(yf, Af))
    info = operator_info(W, name)
    return {
        "status": res.status,
        "message": res.message,
        "t_final": res.t_final,
        "t_diverged": res.t_diverged,
        "final_norm": yf.norm(dim=-1).tolist(),
        "V_final": lyapunov_V(yf, p.theta).tolist(),
        "spectral_abscissa_final": np.atleast_1d(rho).tolist(),
        "operator": {k: v for k, v in info.to_dict().items() if k != "dim"},
        "dim": int(W.shape[0]),
        "n_init": int(res.y0.shape[0]),
        "params": p.to_dict(),
        "solver": res.solver_dict(),
    }


def _params_line(p: dict, sources: dict | None) -> str:
    def v(k, fmt="{:g}"):
        val = fmt.format(p[k]) if fmt else str(p[k])
        src = (sources or {}).get(k)
        return f"{k}={val}" + (f" ({src})" if src and src != "default" else "")

    return " ".join([v("gamma"), v("kappa"), v("theta"), v("leak"), v("beta"), v("memory", None), v("drive", None)])


def _text_summary(s: dict[str, Any], out: Path, files: list[Path]) -> str:
    import numpy as np

    p = s["params"]
    op = s["operator"]
    norms = np.asarray(s["final_norm"])
    rho = np.asarray(s["spectral_abscissa_final"])
    lines = [
        f"fhrn-ode integrate: {s['status']} - {s['message']}",
        f"  operator  {op['name']} (d={s['dim']}): |W|_2={op['norm2']:.4g}  rho(W)={op['spectral_abscissa']:.4g}  "
        f"|W_a|={op['antisym_norm']:.4g}  |W_s|={op['sym_norm']:.4g}",
        f"  params    {_params_line(p, s.get('param_sources'))}",
        f"  final |y| over {len(norms)} trajectories at t={s['t_final']:.4g}: min {norms.min():.6f}  "
        f"median {np.median(norms):.6f}  max {norms.max():.6f}",
        f"  V = (|y|^2 - theta^2)^2/4 at the end: max {max(s['V_final']):.3g}",
        f"  rho(J) at the final states: min {rho.min():.4g}  max {rho.max():.4g}",
    ]
    if op["sym_norm"] < 1e-12 and p["beta"] == 0 and p["memory"] == "none" and not np.any(p["drive"]):
        r = ring_radius(p["kappa"], p["theta"], p["leak"])
        if r > 0:
            lines.append(f"  antisymmetric W*: the ring radius is sqrt(theta^2 - leak/kappa) = {r:.6f} "
                         f"(max deviation {np.abs(norms - r).max():.2e})")
        else:
            lines.append("  antisymmetric W* below threshold (kappa theta^2 <= leak): the origin attracts, no ring")
    lines.append(f"  wrote {', '.join(str(f) for f in files)}")
    return "\n".join(lines)


def check_sizes(args: argparse.Namespace, d: int | None = None) -> None:
    """Refuse ``--dim``/``--n-init``/``--n-points`` and magnitudes out of reach, before any work (docs/failure-modes.md)."""
    from .._errors import check_int, check_real
    from .._limits import check_sizes as check, integrate_cost

    n_init = check_int("--n-init", args.n_init, low=1)
    n_points = check_int("--n-points", args.n_points, low=2)
    check_real("--init-radius", args.init_radius, low=0.0, high=1e6, low_open=True)
    check_real("--t1", args.t1, low=0.0, high=1e9, low_open=True)
    if d is None:
        d = 2 if args.dim is None else check_int("--dim", args.dim, low=1)
    mem = getattr(args, "memory", None) not in (None, "none")
    check(lambda dd, ni, npt: integrate_cost(dd, ni, npt, memory=mem),
          [("--dim" if args.dim is not None else "the operator size d", d, 1), ("--n-init", n_init, 1),
           ("--n-points", n_points, 2)], what="O(d^3) eigenvalues of the final Jacobians")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "memory", None) == "slots":  # attractor-slot field (docs/companions.md)
        from ._slots_run import run_slots

        return run_slots(args)
    check_sizes(args)
    out = check_out_dir(args.out)
    op = resolve_wr_args(args)
    name, W = op.name, op.W
    params: FHRNParams = params_from_args(args, op)
    d = W.shape[0]
    check_sizes(args, d)
    from .._io import atomic_save_npz, atomic_savefig, atomic_write_json
    from ..integration import initial_conditions, integrate

    with flag_names(n="--n-init", radius="--init-radius"):
        y0 = initial_conditions(args.n_init, d, args.init_radius, seed=args.seed)
    res = integrate(W, y0, params=params, t1=args.t1, n_points=args.n_points, method=args.method,
                    rtol=args.rtol, atol=args.atol)
    summary = summarize(res, name, W)
    summary["param_sources"] = param_sources(args, op)
    summary["wr_source"] = op.to_dict()
    files = [atomic_save_npz(out / "trajectory.npz", t=res.t, y=res.y, y0=res.y0, W=W)]
    files.append(atomic_write_json(out / "summary.json", summary))
    if not args.no_plot:
        from ..figures.trajectories import plot_trajectories

        r = ring_radius(params.kappa, params.theta, params.leak) if d == 2 else None
        fig = plot_trajectories(res.y.detach().numpy(), ring_radius=r or None,
                                title=f"W* = {Path(name).name}, d = {d} ({res.status})")
        files.append(atomic_savefig(fig, out / "phase.png"))
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        emit_json(summary)
    else:
        print(_text_summary(summary, out, files))
    return 1 if res.status == "failed" else 0
