"""``fhrn-ode lyapunov``: V(y(t)), dV/dt and |y(t)| for a family of initial radii (Fig. 3; C 13-14)."""

from __future__ import annotations

import argparse


from ._common import (add_model_args, add_operator_args, add_seed_arg, check_out_dir, emit_json, param_sources,
                      params_from_args, resolve_wr_args, sources_note)


def register(sub) -> None:
    p = sub.add_parser("lyapunov", help="Lyapunov traces and a report of where dV/dt > 0",
                       description="Integrate from initial radii (random directions) and trace the paper's "
                                   "V = (|y|^2 - theta^2)^2/4 (C 13), dV/dt (C 14, autograd) and |y(t)|.")
    add_operator_args(p)
    add_model_args(p, memory=False)
    p.add_argument("--radii", default="0.2,0.5,0.8,0.97,1.3,1.7,2.2",
                   help="comma-separated initial radii > 0 (default %(default)s)")
    p.add_argument("--t1", type=float, default=5.0, help="final time (default %(default)s)")
    p.add_argument("--n-points", type=int, default=201, help="saved times (default %(default)s)")
    p.add_argument("--tol", type=float, default=1e-12, help="a violation is dV/dt > tol (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--out", default="runs/lyapunov", help="output folder (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print report.json to stdout only")
    p.add_argument("--no-plot", action="store_true", help="do not draw or write the figure(s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import FHRNInputError, check_int, check_real
    from .._limits import check_sizes, lyapunov_cost
    from ..params import ring_radius

    try:
        radii = [float(v) for v in args.radii.split(",") if v.strip()]
    except ValueError:
        raise FHRNInputError(f"`--radii` must be comma-separated numbers > 0, got {args.radii!r}") from None
    for r in radii:
        check_real("--radii", r, low=0.0, low_open=True, high=1e6)
    tol = check_real("--tol", args.tol, low=0.0)
    n_points = check_int("--n-points", args.n_points, low=2)
    d0 = 2 if args.dim is None else check_int("--dim", args.dim, low=1)
    sizes = [("--dim", d0, 1), ("--radii (count)", len(radii), 1), ("--n-points", n_points, 2)]
    check_sizes(lyapunov_cost, sizes, what="the traces")
    out = check_out_dir(args.out)
    from .._io import atomic_save_npz, atomic_savefig, atomic_write_json
    from ..analysis.lyapunov import lyapunov_traces

    op = resolve_wr_args(args)
    name, W = op.name, op.W
    sizes[0] = ("--dim" if args.dim is not None else "the operator size d", W.shape[0], 1)
    check_sizes(lyapunov_cost, sizes, what="the traces")
    params = params_from_args(args, op)
    L = lyapunov_traces(W, radii, params=params, t1=args.t1, n_points=args.n_points, seed=args.seed, tol=tol)
    files = [atomic_save_npz(out / "lyapunov.npz", t=L.t, y=L.y, radius=L.radius, V=L.V, dVdt=L.dVdt,
                             dVdt_exact=L.dVdt_exact, init_radii=L.init_radii, W=W)]
    r_star = ring_radius(params.kappa, params.theta, params.leak)
    if not args.no_plot:
        import matplotlib.pyplot as plt

        from ..figures.maps import plot_lyapunov_traces

        fig = plot_lyapunov_traces(L, theta=params.theta, ring_radius=r_star if r_star > 0 else None, tol=tol)
        files.append(atomic_savefig(fig, out / "lyapunov.png"))
        plt.close(fig)
    rep = dict(wr=name, dim=int(W.shape[0]), params=params.to_dict(),
               param_sources=param_sources(args, op), wr_source=op.to_dict(), status=L.status, init_radii=L.init_radii,
               final_radius=L.radius[-1], ring_radius=ring_radius(params.kappa, params.theta, params.leak),
               V_final=L.V[-1], violations=L.violations.to_dict(),
               files=[str(f) for f in files] + [str(out / "report.json")])
    files.append(atomic_write_json(out / "report.json", rep))
    if args.json:
        emit_json(rep)
    else:
        v = L.violations
        print(f"{L.status}: {v.count} samples with dV/dt > {tol:g} ({100 * v.fraction:.1f}%), max {v.max:.4g}"
              f"{sources_note(params, rep['param_sources'])}; wrote {', '.join(str(f) for f in files)}")
    return 0 if L.status != "failed" else 1
