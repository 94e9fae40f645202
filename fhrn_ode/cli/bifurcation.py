"""``fhrn-ode bifurcation``: sweep one FHRN parameter; attractor per value, Hopf / fold points, diagram."""

from __future__ import annotations

import argparse

from ._dynamics import add_budget_arg, add_fhrn_args, add_field_args, add_output_args

_PARAMS = ("gamma", "kappa", "beta", "leak", "theta", "wr_scale")


def register(sub) -> None:
    p = sub.add_parser("bifurcation", help="bifurcation sweep over gamma, kappa, beta, leak, theta or the W* scale",
                       description="Attractor type per value, continued fixed points, Hopf and fold points refined "
                                   "by brentq or bisection, and a bifurcation diagram (docs/dynamics.md).")
    p.add_argument("--param", required=True, action="append", metavar="NAME[=VALUE]",
                   help=f"the swept parameter ({', '.join(_PARAMS)}; with --field: a keyword of its constructor); "
                        f"with --field, repeated NAME=VALUE set the constructor's other arguments")
    p.add_argument("--range", required=True, metavar="A:B:N", help="N values evenly spaced in [A, B] (N >= 2)")
    add_fhrn_args(p)
    add_field_args(p, param=False)
    g = p.add_argument_group("sweep")
    g.add_argument("--n-init", type=int, default=4, help="trajectories per value (default %(default)s)")
    g.add_argument("--n-starts", type=int, default=64, help="fixed-point starts per value (default %(default)s)")
    g.add_argument("--radius", type=float, default=2.0, help="initial states in the ball |y| <= R (default %(default)s)")
    g.add_argument("--t-transient", type=float, default=30.0, help="transient per trajectory (default %(default)s)")
    g.add_argument("--no-exponents", action="store_true", help="do not compute the largest exponent of aperiodic attractors")
    add_budget_arg(g, what="each value's trajectories (cycles and exponents; a value past it is 'not settled')")
    add_output_args(p, "runs/bifurcation")
    p.set_defaults(func=run)


def parse_range(text: str) -> list[float]:
    from .._errors import FHRNInputError

    parts = str(text).split(":")
    try:
        a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        raise FHRNInputError(f"`--range` must be A:B:N (two numbers and an integer), got {text!r}") from None
    if not (n >= 2 and b > a):
        raise FHRNInputError(f"`--range` needs B > A and N >= 2, got {text!r}")
    from ._common import MAX_MAGNITUDE
    from ._gates import check_range_count

    if not max(abs(a), abs(b)) <= MAX_MAGNITUDE:
        raise FHRNInputError(f"`--range` {text!r}: A and B must be finite with |value| <= {MAX_MAGNITUDE:g}")
    check_range_count(text, n)
    import numpy as np

    return np.linspace(a, b, n).tolist()


def _equilibria_text(eqs: list[dict], most: int = 4) -> str:
    """``|y| 0 stable focus, ...`` for one value (a None ``stable``: 'stability not decided by linearisation')."""
    words = [f"|y| {e['norm']:.4g} {e['kind']}" + (", stability not decided by linearisation" if e["stable"] is None
                                                      else "") for e in eqs[:most]]
    more = f" (+{len(eqs) - most} more)" if len(eqs) > most else ""
    return ("; ".join(words) or "none found") + more


def run(args: argparse.Namespace) -> int:
    import sys

    from .._io import atomic_write_json
    from ..dynamics.bifurcation import bifurcation_sweep
    from ._common import check_out_dir, emit_json
    from ._dynamics import save_figure, sweep_family

    from ._gates import gate_dynamics

    values = parse_range(args.range)
    gate_dynamics(args, "bifurcation", n_values=len(values))
    out = check_out_dir(args.out)
    args.param, family, head, dim = sweep_family(args, _PARAMS, values)
    gate_dynamics(args, "bifurcation", d=head.get("dim"), n_values=len(values))
    from .._errors import Interrupted

    try:
        d = bifurcation_sweep(family, values, param=args.param, dim=dim, n_init=args.n_init,
                              radius=args.radius, t_transient=args.t_transient, n_starts=args.n_starts,
                              exponents=not args.no_exponents, max_nfe=args.max_nfe, seed=args.seed,
                              progress=not args.json and sys.stderr.isatty())
    except Interrupted as exc:  # keep the values done (atomically), then the top-level handler exits 130/143
        if exc.result is None or not len(exc.result.values):
            raise
        path = atomic_write_json(out / "bifurcation.json", {**exc.result.to_dict(), **head, "interrupted": True})
        raise Interrupted(exc.result, cause=exc, what=f"kept the {len(exc.result.values)} of {len(values)} "
                                                      f"values done in {path}") from exc
    result = {**d.to_dict(), **head}
    files = [atomic_write_json(out / "bifurcation.json", result)]
    if not args.no_plot:
        from ..figures.dynamics import plot_bifurcation

        files.append(save_figure(plot_bifurcation(d), out / "bifurcation.png"))
    if args.json:
        emit_json(result)
        return 0
    print(f"fhrn-ode bifurcation: {args.param} over {len(values)} values in [{values[0]:g}, {values[-1]:g}]")
    for v, lab, att, eqs in zip(d.values, d.label, d.attractors, d.equilibria):
        print(f"  {args.param} = {v:<10.5g} {lab:15s} {att}; equilibria: {_equilibria_text(eqs)}")
    for b in d.bifurcations:
        nf = (f"; l1 {b.l1:+.4g}, {b.criticality}" if b.kind == "hopf" and b.l1 is not None else
              f"; a {b.a:+.4g}" if b.a is not None else "")
        print(f"  {b.kind:5s} at {args.param} = {b.value:.10g} ({b.method}); critical eigenvalue "
              f"{b.eigenvalue.real:+.3g}{b.eigenvalue.imag:+.3g}i{nf}")
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0
