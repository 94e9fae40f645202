"""``fhrn-ode exponents``: Lyapunov spectrum (Benettin, QR) of the FHRN ODE or of the Lorenz system."""

from __future__ import annotations

import argparse

from ._dynamics import add_budget_arg, add_fhrn_args, add_field_args, add_output_args

_GRID = {"lorenz": ("sigma", "rho", "b"), "fhrn": ("gamma", "kappa", "beta", "leak", "theta")}


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
    g.add_argument("--grid", metavar="NAME=SPEC", default=None,
                   help="a family in ONE solve: NAME a parameter (lorenz: sigma, rho, b; fhrn: gamma, kappa, beta, "
                        "leak, theta), SPEC 'a:b:n' or 'v1,v2,...' as in integrate --grid; every value starts "
                        "from the same initial states")
    add_budget_arg(g)
    add_output_args(p, "runs/exponents")
    p.set_defaults(func=run)


def _family(args, field, W=None, params=None):
    """``(make_field, name, values)`` for ``--grid``."""
    from .._errors import FHRNInputError
    from ..batched import parse_grid

    name, sep, text = args.grid.partition("=")
    name = name.strip()
    if not sep or name not in _GRID[args.system]:
        raise FHRNInputError(f"`--grid` must be NAME=SPEC with NAME one of {', '.join(_GRID[args.system])} "
                             f"(system {args.system}); got {args.grid!r}")
    values = parse_grid(text, f"--grid {name}")
    if args.system == "lorenz":
        from ..dynamics.systems import LorenzField

        base = dict(sigma=field.sigma, rho=field.rho, b=field.b)
        return (lambda v: LorenzField(**{**base, name: v})), name, values
    from ..dynamics.bifurcation import fhrn_family

    for v in (values.min(), values.max()):
        params.replace(**{name: float(v)})  # validates the grid's range (e.g. kappa >= 0)
    return fhrn_family(W, params, name), name, values


def run(args: argparse.Namespace) -> int:
    import sys

    from .._io import atomic_write_json
    from ..dynamics.exponents import lyapunov_spectrum
    from ._common import check_out_dir, emit_json
    from ._dynamics import fhrn_field, header, save_figure, user_field

    from ._gates import gate_dynamics

    gate_dynamics(args, "exponents", d=3 if args.system == "lorenz" else None)
    out = check_out_dir(args.out)
    W = params = None
    dim = None
    uf = user_field(args)
    if uf is not None:
        if args.grid is not None:
            from .._errors import FHRNInputError

            raise FHRNInputError("`--grid` sweeps the FHRN field's or Lorenz's parameters; with --field run one "
                                 "value at a time (--param NAME=VALUE)")
        field, head, dim = uf[0], {"system": "field", **uf[1]}, uf[1]["dim"]
        gate_dynamics(args, "exponents", d=dim)
        radius = 2.0 if args.radius is None else args.radius
    elif args.system == "lorenz":
        from ..dynamics.systems import LorenzField

        field = LorenzField(args.sigma, args.rho, args.b)
        head = {"system": "lorenz", "lorenz": {"sigma": field.sigma, "rho": field.rho, "b": field.b},
                "exact_sum": field.trace}
        radius = 10.0 if args.radius is None else args.radius
    else:
        name, W, params, field = fhrn_field(args, slots=args.grid is None)
        gate_dynamics(args, "exponents", d=W.shape[0])
        head = {"system": "fhrn", **header(name, W, params, getattr(args, "_param_sources", None))}
        radius = 2.0 if args.radius is None else args.radius
    kw = dict(n_init=args.n_init, radius=radius, t_transient=args.t_transient, t1=args.t1, dt=args.dt, rtol=args.rtol,
              atol=args.atol, max_nfe=args.max_nfe, seed=args.seed, progress=not args.json and sys.stderr.isatty())
    if args.grid is not None:
        return _run_grid(args, out, field, W, params, head, kw)
    from .._errors import Interrupted

    try:
        spec = lyapunov_spectrum(field, **kw, **({} if dim is None else {"dim": dim}))
    except Interrupted as exc:  # keep the windows done (atomically), then the top-level handler exits 130/143
        if exc.result is None or not exc.result.n_windows or not len(exc.result.times):
            raise
        path = atomic_write_json(out / "exponents.json", {**exc.result.to_dict(), **head, "interrupted": True})
        raise Interrupted(exc.result, cause=exc, what=f"kept the exponents of the {len(exc.result.times)} "
                                                      f"windows done in {path}") from exc
    result = {**spec.to_dict(), **head}
    files = [atomic_write_json(out / "exponents.json", result)]
    if not args.no_plot:
        from ..figures.dynamics import plot_exponents

        files.append(save_figure(plot_exponents(spec), out / "exponents.png"))
    if args.json:
        emit_json(result)
        return 0 if spec.status == "success" else 1
    ex = ", ".join(f"{v:+.5g}" for v in spec.exponents)
    print(f"fhrn-ode exponents ({head['system'] if uf is None else args.field}): [{ex}]  sum {spec.sum:+.6g}  spread {spec.spread:.2g} "
          f"over the last {spec.n_windows} windows; {spec.per_init.shape[0]} initial states, t1 = {spec.t1:g}")
    if args.system == "lorenz":
        print(f"  exact sum -(sigma + 1 + b) = {field.trace:.6g}")
    if spec.status != "success":
        print(f"  stopped: {spec.message}")
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0 if spec.status == "success" else 1


def _run_grid(args, out, field, W, params, head, kw) -> int:
    """``--grid``: the whole family in one :func:`lyapunov_spectrum` call (no figure: one spectrum per value)."""
    from .._io import atomic_write_json
    from ..dynamics.exponents import lyapunov_spectrum
    from ._common import emit_json

    make_field, name, values = _family(args, field, W, params)
    fam = lyapunov_spectrum(make_field, values=values, **kw)
    result = {**fam.to_dict(), "grid": name, **head}
    f = atomic_write_json(out / "exponents.json", result)
    if args.json:
        emit_json(result)
        return 0 if fam.status == "success" else 1
    print(f"fhrn-ode exponents ({args.system}) over {name} ({values.size} values in one solve"
          f"{', stacked' if fam.stacked else ''}):")
    for v, m in zip(values, fam.members):
        print(f"  {name} = {v:<10.5g} [{', '.join(f'{e:+.5g}' for e in m.exponents)}]  sum {m.sum:+.6g}")
    if fam.status != "success":
        print(f"  stopped: {fam.message}")
    print(f"  wrote {f} (no figure with --grid)")
    return 0 if fam.status == "success" else 1
