"""``fhrn-ode saliency``: the sequential-retrieval saliency map Z_{t+1} = kappa (1 - 1/Z_t) (docs/companions.md)."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg, check_out_dir, emit_json


def register(sub) -> None:
    p = sub.add_parser("saliency", help="the saliency map Z <- kappa (1 - 1/Z): fixed points, critical gain, escape",
                       description="Closed-form fixed points Z± = (kappa ± sqrt(kappa^2 - 4 kappa))/2 (real iff "
                                   "kappa >= 4), multipliers kappa/Z^2, regime, escape time (first Z_t <= 0; exact "
                                   "and iterated), the claimed period T = log Z+, and the orbit from --z0.")
    p.add_argument("--kappa", type=float, required=True, help="gain kappa > 0 (critical value 4)")
    p.add_argument("--z0", type=float, default=10.0, help="initial saliency Z_0 (default %(default)s)")
    p.add_argument("--steps", type=int, default=60, help="orbit length (default %(default)s)")
    p.add_argument("--out", default=None,
                   help="folder for saliency.json, cobweb.png and bifurcation.png (default: none written)")
    add_seed_arg(p)  # the map is deterministic; accepted for a uniform interface
    p.add_argument("--json", action="store_true", help="print the result as JSON (and nothing else)")
    p.add_argument("--no-plot", action="store_true", help="with --out: do not draw or write the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import check_int
    from ..analysis.saliency import saliency_report

    check_int("--seed", args.seed, low=0)
    from .._errors import check_real
    from ._common import MAX_MAGNITUDE

    check_real("--kappa", args.kappa, high=MAX_MAGNITUDE)  # beyond it the escape-time arithmetic overflows
    out = None if args.out is None else check_out_dir(args.out)
    try:
        rep = saliency_report(args.kappa, args.z0, args.steps)
    except Exception as exc:  # map the library's argument names onto the flags
        from .._errors import FHRNInputError

        if isinstance(exc, FHRNInputError):
            raise FHRNInputError(str(exc).replace("`kappa`", "`--kappa`").replace("`z0`", "`--z0`")
                                 .replace("`n`", "`--steps`")) from None
        raise
    obj = rep.to_dict()
    files = []
    if out is not None:
        import matplotlib.pyplot as plt
        import numpy as np

        from .._io import atomic_savefig, atomic_write_json
        from ..analysis.saliency import bifurcation_data, escape_scan, saliency_report
        from ..figures.companions import plot_saliency

        files.append(atomic_write_json(out / "saliency.json", obj))
        # the cobweb's right panel: a below-threshold orbit (kappa = 3.8) from the same start, computed here
        below = None if args.no_plot else saliency_report(3.8, rep.z0 if rep.z0 > 0 else 10.0, 60)
        figs = () if args.no_plot else plot_saliency(rep, bifurcation_data(np.linspace(0.5, 10.0, 400), z0=10.0),
                                                     escape_scan(4.0 - np.logspace(-4, np.log10(3.5), 60), z0=10.0),
                                                     below=below)
        for name, fig in zip(("cobweb.png", "bifurcation.png"), figs):
            files.append(atomic_savefig(fig, out / name))
            plt.close(fig)
    if args.json:
        emit_json(obj)
        return 0
    fp = ", ".join(f"{z:.6g} (mu {m:.4g}, {'stable' if s else 'unstable'})"
                   for z, m, s in zip(rep.fixed_points, rep.multipliers, rep.stable)) or "none (kappa < 4)"
    print(f"fhrn-ode saliency: kappa = {rep.kappa:g} (kappa_c = {rep.kappa_critical:g}), regime {rep.regime}")
    print(f"  fixed points: {fp}")
    print(f"  escape time from Z0 = {rep.z0:g}: {rep.escape_time:g} (closed form {rep.escape_time_closed_form:g})")
    if rep.asymptotic_period is not None:
        print(f"  claimed period T = log Z+ = {rep.asymptotic_period:.6g}; |log Z_n - log Z+| = "
              f"{rep.log_orbit_error if rep.log_orbit_error is not None else float('nan'):.3g} after {len(rep.orbit) - 1} steps")
    if files:
        print("  wrote " + ", ".join(str(f) for f in files))
    return 0
