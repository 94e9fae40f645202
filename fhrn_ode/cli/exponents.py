"""``fhrn-ode exponents``: Lyapunov spectrum (Benettin, QR) of the FHRN ODE or of the Lorenz system."""

from __future__ import annotations

import argparse

from ._dynamics import add_fhrn_args, add_field_args, add_output_args


def register(sub) -> None:
    p = sub.add_parser("exponents", help="Lyapunov spectrum by Benettin's QR method, batched over initial states",
                       description="All Lyapunov exponents (largest first) with a convergence estimate (docs/dynamics.md).")
    p.add_argument("--system", choices=("fhrn", "lorenz"), default="fhrn", help="the field (default %(default)s)")
    add_fhrn_args(p)
    add_field_args(p)
    lz = p.add_argument_group("lorenz (with --system lorenz)")
    lz.add_argument("--sigma", type=float, default=10.0, help="(default %(default)s)")
    lz.add_argument("--rho", type=float, default=28.0, help="(default %(default)s)")
    lz.add_argument("--b", type=float, default=8.0 / 3.0, help="(default 8/3)")
    g = p.add_argument_group("Benettin")
    g.add_argument("--t1", type=float, default=100.0, help="averaging time (default %(default)s)")
    g.add_argument("--dt", type=float, default=0.5, help="re-orthonormalisation interval (default %(default)s)")
    g.add_argument("--t-transient", type=float, default=10.0, help="time discarded first (default %(default)s)")
    g.add_argument("--n-init", type=int, default=8, help="initial states, integrated together (default %(default)s)")
    g.add_argument("--radius", type=float, default=None, help="initial states in the ball of radius R (default 2, Lorenz 10)")
    g.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default %(default)s)")
    g.add_argument("--atol", type=float, default=1e-8, help="absolute tolerance (default %(default)s)")
    add_output_args(p, "runs/exponents")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from .._io import atomic_write_json
    from ..dynamics.exponents import lyapunov_spectrum
    from ._common import check_out_dir, emit_json
    from ._dynamics import field_and_header, save_figure, user_field

    out = check_out_dir(args.out)
    dim = None
    uf = user_field(args)
    if uf is not None:
        field, head, dim = uf[0], {"system": "field", **uf[1]}, uf[1]["dim"]
        radius = 2.0 if args.radius is None else args.radius
    elif args.system == "lorenz":
        from ..dynamics.systems import LorenzField

        field = LorenzField(args.sigma, args.rho, args.b)
        head = {"system": "lorenz", "lorenz": {"sigma": field.sigma, "rho": field.rho, "b": field.b},
                "exact_sum": field.trace}
        radius = 10.0 if args.radius is None else args.radius
    else:
        field, head, _ = field_and_header(args)
        head = {"system": "fhrn", **head}
        radius = 2.0 if args.radius is None else args.radius
    spec = lyapunov_spectrum(field, dim=dim, n_init=args.n_init, radius=radius, t_transient=args.t_transient, t1=args.t1,
                             dt=args.dt, rtol=args.rtol, atol=args.atol, seed=args.seed,
                             progress=not args.json and sys.stderr.isatty())
    result = {**spec.to_dict(), **head}
    files = [atomic_write_json(out / "exponents.json", result)]
    if not args.no_plot:
        from ..figures.dynamics import plot_exponents

        files.append(save_figure(plot_exponents(spec), out / "exponents.png"))
    if args.json:
        emit_json(result)
        return 0
    ex = ", ".join(f"{v:+.5g}" for v in spec.exponents)
    print(f"fhrn-ode exponents ({head['system'] if uf is None else args.field}): [{ex}]  sum {spec.sum:+.6g}  spread {spec.spread:.2g} "
          f"over the last {spec.n_windows} windows; {spec.per_init.shape[0]} initial states, t1 = {spec.t1:g}")
    if args.system == "lorenz":
        print(f"  exact sum -(sigma + 1 + b) = {field.trace:.6g}")
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0
