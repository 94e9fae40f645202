"""``fhrn-ode slots``: the attractor-slot memory's regimes, fixed points and stability (docs/companions.md)."""

from __future__ import annotations

import argparse

from ._common import ListArg, add_seed_arg, check_out_dir, emit_json


def register(sub) -> None:
    p = sub.add_parser("slots", help="attractor-slot memory: stable slots, unused-slot decay, too many slots, heavy decay",
                       description="Runs the four regime experiments of the slot note on the symmetric test operator "
                                   "diag(0.5 .. -0.4) with closed forms beside the integrated / Newton-polished "
                                   "numbers (docs/companions.md).")
    p.add_argument("--dim", type=int, default=4, help="state dimension d >= 2 (default %(default)s)")
    p.add_argument("--slots", type=int, default=4, help="slots K of the stable-slot run (default %(default)s)")
    p.add_argument("--gamma", type=float, default=1.0, help="reentry gain (default %(default)s)")
    p.add_argument("--kappa", type=float, default=2.0, help="homeostatic strength (default %(default)s)")
    p.add_argument("--lam", type=float, default=1.0, help="slot decay rate (default %(default)s)")
    p.add_argument("--eta", type=float, default=0.3, help="slot plasticity rate (default %(default)s)")
    p.add_argument("--ks", action=ListArg, item=int, default=[0, 1, 2, 4, 6, 8],
                   help="slot counts of the too-many-slots sweep (default %(default)s)")
    p.add_argument("--lams", action=ListArg, item=float, default=[1.0, 3.0, 10.0, 30.0, 100.0],
                   help="decay rates of the heavy-decay sweep (default %(default)s)")
    p.add_argument("--t1", type=float, default=40.0, help="integration time (default %(default)s)")
    p.add_argument("--out", default=None, help="folder for slots.json and slots.png (default: none written)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON (and nothing else)")
    p.set_defaults(func=run)


def reg_params(args):
    from ..params import FHRNParams

    return FHRNParams(gamma=args.gamma, kappa=args.kappa, leak=1.0, lam=args.lam, eta=args.eta)


def run(args: argparse.Namespace) -> int:
    from .._errors import FHRNInputError, check_int, check_real
    from ..analysis.slots import slot_regimes

    d = check_int("--dim", args.dim, low=2, high=64)
    K = check_int("--slots", args.slots, low=1, high=64)
    seed = check_int("--seed", args.seed, low=0)
    check_real("--t1", args.t1, low=0.0, low_open=True)
    check_real("--lam", args.lam, low=0.0, low_open=True)
    ks = [check_int("--ks", k, low=0, high=256) for k in args.ks]
    lams = [check_real("--lams", v, low=0.0, low_open=True) for v in args.lams]
    out = None if args.out is None else check_out_dir(args.out)
    try:
        reg = slot_regimes(d=d, n_slots=K, gamma=args.gamma, kappa=args.kappa, lam=args.lam, eta=args.eta,
                           ks=tuple(ks), lams=tuple(lams), t1=args.t1, seed=seed)
    except FHRNInputError as exc:
        raise FHRNInputError(str(exc).replace("`", "`--", 1)) from None
    from ..analysis.slots import rotation_drag

    drag = rotation_drag(reg_params(args), ks=tuple(ks), t1=args.t1 * 1.5)
    obj = reg.to_dict()
    obj["rotation_drag"] = drag.to_dict()
    files = []
    if out is not None:
        from .._io import atomic_write_json
        from ..figures.companions import plot_slots
        from ._dynamics import save_figure

        files.append(atomic_write_json(out / "slots.json", obj))
        files.append(save_figure(plot_slots(reg), out / "slots.png"))
    if args.json:
        emit_json(obj)
        return 0
    fp = reg.fixed_point
    print("fhrn-ode slots: attractor-slot memory on diag(0.5 .. -0.4)")
    if fp is not None:
        print(f"  stable slots: {fp.n_aligned} of {K} aligned, |y| = {float((fp.y ** 2).sum() ** 0.5):.6f} "
              f"(closed form {reg.radius_closed_form:.6f}), spectral abscissa of y + aligned slots "
              f"{fp.spectral_abscissa_active:.4g}")
    print(f"  unused slots {reg.unused.tolist()}: max relative deviation from e^(-lam t) {reg.unused_decay_error:.2e}")
    print("  K, |y|, closed form, spectral abscissa (kappa > 0), growth rate (kappa = 0):")
    for k, r, rc, a, g in zip(reg.ks, reg.radius_vs_k, reg.radius_vs_k_closed_form, reg.abscissa_vs_k,
                              reg.growth_no_homeostasis):
        print(f"    {int(k):3d} {r:9.6f} {rc:9.6f} {a:9.4g} {g:9.4g}")
    print(f"  K_crit without homeostasis = {reg.k_critical:.4g}")
    print("  heavy decay: lam, max |y_slots - y_memory-free|: " +
          ", ".join(f"{l:g}: {v:.3g}" for l, v in zip(reg.lams, reg.deviation_vs_lam)))
    print("  rotating ring W* = [[0,-1],[1,0]]: K, omega (closed form), |y| (closed form): " +
          "; ".join(f"{int(k)}: {w:.4f} ({wc:.4f}), {r:.4f} ({rc:.4f})" for k, w, wc, r, rc in
                    zip(drag.ks, drag.omega, drag.omega_closed_form, drag.radius, drag.radius_closed_form)))
    if files:
        print("  wrote " + ", ".join(str(f) for f in files))
    return 0
