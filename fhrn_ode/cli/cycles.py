"""``fhrn-ode cycles``: limit cycles of the FHRN ODE (Poincare return map), periods and Floquet multipliers."""

from __future__ import annotations

import argparse

from ._dynamics import add_budget_arg, add_fhrn_args, add_field_args, add_output_args


def register(sub) -> None:
    p = sub.add_parser("cycles", help="limit cycles: period and Floquet multipliers (monodromy by the variational equation)",
                       description="Detect cycles from trajectories on a Poincare section, refine by shooting and "
                                   "compute the Floquet multipliers (docs/dynamics.md).")
    add_fhrn_args(p)
    add_field_args(p)
    g = p.add_argument_group("trajectories")
    g.add_argument("--n-init", type=int, default=8, help="initial states (default %(default)s)")
    g.add_argument("--radius", type=float, default=2.0, help="initial states in the ball |y| <= R (default %(default)s)")
    g.add_argument("--t-transient", type=float, default=30.0, help="time discarded first (default %(default)s)")
    g.add_argument("--t-record", type=float, default=30.0, help="time recorded per chunk (default %(default)s)")
    g.add_argument("--t-max", type=float, default=300.0, help="longest record (default %(default)s)")
    add_budget_arg(g)
    add_output_args(p, "runs/cycles", plot=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._io import atomic_write_json
    from ..dynamics.cycles import find_cycles
    from ._common import check_out_dir, emit_json
    from ._dynamics import field_and_header

    from ._gates import gate_dynamics

    gate_dynamics(args, "cycles")
    out = check_out_dir(args.out)
    field, head, dim = field_and_header(args)
    gate_dynamics(args, "cycles", d=head.get("dim"))
    res = find_cycles(field, dim=dim, n_init=args.n_init, radius=args.radius, t_transient=args.t_transient,
                      t_record=args.t_record, t_max=args.t_max, max_nfe=args.max_nfe, seed=args.seed)
    result = {**res.to_dict(), **head}
    f = atomic_write_json(out / "cycles.json", result)
    if args.json:
        emit_json(result)
        return 0 if res.status == "success" else 1
    counts = {o: res.outcomes.count(o) for o in dict.fromkeys(res.outcomes)}
    print(f"fhrn-ode cycles: {len(res.cycles)} cycle{'' if len(res.cycles) == 1 else 's'}; trajectories: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for c in res.cycles:
        mu = ", ".join(f"{abs(m):.4g}" for m in c.floquet_multipliers)
        print(f"  period {c.period:.8g}  |y| {c.radius_min:.5g}..{c.radius_max:.5g}  |Floquet multipliers| {mu}  "
              f"{'stable' if c.stable else 'unstable'}")
    if res.status != "success":
        print(f"  stopped: {res.message}")
    elif res.message:  # why shooting left trajectories 'not settled'
        print(f"  {res.message}")
    print(f"  wrote {f}")
    return 0 if res.status == "success" else 1
