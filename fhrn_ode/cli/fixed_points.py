"""``fhrn-ode fixed-points``: fixed points and slow points of the FHRN ODE, classified by their eigenvalues."""

from __future__ import annotations

import argparse

from ._dynamics import add_budget_arg, add_fhrn_args, add_field_args, add_output_args


def register(sub) -> None:
    p = sub.add_parser("fixed-points", help="fixed points and slow points of the FHRN ODE (with or without memory)",
                       description="Minimise q = |f|^2/2 from many starts, Newton-polish with the autograd Jacobian, "
                                   "de-duplicate and classify by eigenvalues (docs/dynamics.md).")
    add_fhrn_args(p)
    add_field_args(p)
    g = p.add_argument_group("search")
    g.add_argument("--n-starts", type=int, default=64, help="starting states (default %(default)s)")
    g.add_argument("--radius", type=float, default=2.0, help="starts lie in the ball |y| <= R (default %(default)s)")
    g.add_argument("--tol", type=float, default=1e-10, help="|f| below which a point is fixed (default %(default)s)")
    g.add_argument("--slow-q", type=float, default=1e-4, help="q below which a non-root minimum is a slow point (default %(default)s)")
    add_budget_arg(g, 20000, "sampling the starts along trajectories (past it, the computed prefix is sampled)")
    add_output_args(p, "runs/fixed_points")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._io import atomic_write_json
    from ..dynamics.fixed_points import find_fixed_points
    from ._common import check_out_dir, emit_json
    from ._dynamics import field_and_header, save_figure

    from ._gates import gate_dynamics

    gate_dynamics(args, "fixed-points")
    out = check_out_dir(args.out)
    field, head, dim = field_and_header(args)
    gate_dynamics(args, "fixed-points", d=head.get("dim"))
    res = find_fixed_points(field, dim=dim, n_starts=args.n_starts, radius=args.radius, tol=args.tol,
                            slow_q=args.slow_q, max_nfe=args.max_nfe, seed=args.seed)
    result = {**res.to_dict(), **head}
    files = [atomic_write_json(out / "fixed_points.json", result)]
    if not args.no_plot:
        from ..figures.dynamics import plot_fixed_points

        lim = max([1.6] + [1.2 * abs(v) for q in res.points for v in q.x[:2]])
        flat2 = res.dim == 2 and not getattr(field, "has_memory", False)
        files.append(save_figure(plot_fixed_points(res, field if flat2 else None, lim=lim), out / "fixed_points.png"))
    if args.json:
        emit_json(result)
        return 0
    print(f"fhrn-ode fixed-points: {_n(len(res.points), 'fixed point')}, {_n(len(res.slow_points), 'slow point')} "
          f"from {res.n_starts} starts (state dimension {res.dim})")
    for q in res.points:
        x = ", ".join(f"{v:.5g}" for v in q.x[:4]) + (", ..." if q.x.size > 4 else "")
        print(f"  {q.kind:15s} unstable dim {q.unstable_dim}  max Re lambda {q.eigenvalues_max_real:+.5g}  "
              f"|f| {q.residual:.1e}  x = [{x}]")
    for s in res.slow_points:
        print(f"  slow point      q {s.q:.3g}  x = [{', '.join(f'{v:.5g}' for v in s.x[:4])}]")
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0


def _n(k: int, noun: str) -> str:
    """``"1 fixed point"``, ``"2 fixed points"``."""
    return f"{k} {noun}{'' if k == 1 else 's'}"
