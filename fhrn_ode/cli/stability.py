"""``fhrn-ode stability``: small-gain versus exact stability of ``J = -I + gamma g(|y|) W`` (Fig. 4)."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg, emit_json


def register(sub) -> None:
    from .._wr import WR_HELP

    p = sub.add_parser("stability", help="small-gain boundary and, for a W, the exact stability check",
                       description="Print |W_r|_crit = 1/(gamma g(R)) (small gain); with --wr also r_e, "
                                   "rho(-I + gamma g W) and both verdicts. A trained --wr supplies gamma, beta "
                                   "and R (the median |y| at its linearization points) unless given.")
    p.add_argument("--gamma", type=float, default=None,
                   help="reentry gain gamma >= 0 (required, unless a trained --wr supplies it)")
    p.add_argument("--beta", type=float, default=None,
                   help="gain modulation beta >= 0 (g = 1/(1+beta(R^2-1)); required unless a trained --wr supplies it)")
    p.add_argument("--radius", type=float, default=None,
                   help="activity norm |y| = R >= 0 where g is evaluated (required unless a trained --wr supplies it)")
    p.add_argument("--wr", default=None, help=WR_HELP)
    p.add_argument("--dim", type=int, default=None, help="dimension of a built-in operator (default 2)")
    p.add_argument("--wr-scale", type=float, default=None,
                   help="|W|_2 of a built-in operator (default 1; an error with any other --wr)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    from ._common import resolve_wr_args
    from .._errors import FHRNInputError, check_real
    from ..analysis.stability import check_operator, gain_np, wr_crit_small_gain

    op = resolve_wr_args(args) if args.wr is not None else None
    trained = {"gamma": op.gamma, "beta": op.beta, "radius": op.radius} if op is not None and op.trained else {}
    vals, sources = {}, {}
    for name in ("gamma", "beta", "radius"):
        given = getattr(args, name)
        if given is not None:
            vals[name], sources[name] = given, "flag"
        elif trained.get(name) is not None:
            vals[name], sources[name] = trained[name], "checkpoint"
        else:
            raise FHRNInputError(f"`--{name}` is required (unless --wr names a trained model: CKPT, reference or a "
                                 f"linearize .npz, which supplies it)")
    gamma = check_real("gamma", vals["gamma"], low=0.0)
    beta = check_real("beta", vals["beta"], low=0.0)
    radius = check_real("radius", vals["radius"], low=0.0)
    g = float(gain_np(radius, beta))
    if not math.isfinite(g):
        raise FHRNInputError(f"`--radius` {radius:g} sits on the gain pole of g (beta={beta:g}); choose another radius")
    out = dict(gamma=gamma, beta=beta, radius=radius, gain=g,
               wr_norm_critical_small_gain=float(wr_crit_small_gain(gamma, beta, radius)))
    if op is not None:
        W = op.W
        c = check_operator(W, gamma, beta, radius)
        out.update(wr=op.name, dim=int(W.shape[0]), wr_norm=c.wr_norm, r_e=c.r_e, spectral_abscissa=c.spectral_abscissa,
                   stable=bool(c.stable), stable_small_gain=bool(c.stable_small_gain),
                   wr_norm_critical_exact=c.wr_norm_critical_exact)
    out["param_sources"] = sources
    if op is not None:
        out["wr_source"] = op.to_dict()
    if args.json:
        emit_json(out)
    else:
        for k, v in out.items():
            if isinstance(v, dict):
                v = ", ".join(f"{a}={b}" for a, b in v.items() if b is not None)
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    return 0
