"""``fhrn-ode stability``: small-gain versus exact stability of ``J = -I + gamma g(|y|) W`` (Fig. 4)."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg, emit_json
from .._names import OPERATOR_KINDS


def register(sub) -> None:
    p = sub.add_parser("stability", help="small-gain boundary and, for a W, the exact stability check",
                       description="Print |W_r|_crit = 1/(gamma g(R)) (small gain); with --wr also r_e, "
                                   "rho(-I + gamma g W) and both verdicts.")
    p.add_argument("--gamma", type=float, required=True, help="reentry gain gamma >= 0")
    p.add_argument("--beta", type=float, required=True, help="gain modulation beta >= 0 (g = 1/(1+beta(R^2-1)))")
    p.add_argument("--radius", type=float, required=True, help="activity norm |y| = R >= 0 where g is evaluated")
    p.add_argument("--wr", default=None, help=f"operator: one of {', '.join(OPERATOR_KINDS)} or a matrix file")
    p.add_argument("--dim", type=int, default=None, help="dimension of a built-in operator (default 2)")
    p.add_argument("--wr-scale", type=float, default=1.0, help="|W|_2 of a built-in operator (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    from .._errors import FHRNInputError, check_real
    from ..analysis.stability import check_operator, gain_np, wr_crit_small_gain

    gamma = check_real("gamma", args.gamma, low=0.0)
    beta = check_real("beta", args.beta, low=0.0)
    radius = check_real("radius", args.radius, low=0.0)
    g = float(gain_np(radius, beta))
    if not math.isfinite(g):
        raise FHRNInputError(f"`--radius` {radius:g} sits on the gain pole of g (beta={beta:g}); choose another radius")
    out = dict(gamma=gamma, beta=beta, radius=radius, gain=g,
               wr_norm_critical_small_gain=float(wr_crit_small_gain(gamma, beta, radius)))
    if args.wr is not None:
        from .._errors import check_int
        from .._limits import check_cost, dense_cost, largest_fitting
        from .integrate import resolve_wr

        if args.dim is not None:
            d = check_int("--dim", args.dim, low=1)
            check_cost("--dim", d, dense_cost(d), what="O(d^3) eigenvalues and norms",
                       largest=largest_fitting(dense_cost, 1, d))
        name, W = resolve_wr(args.wr, args.dim, args.seed, args.wr_scale)
        d = W.shape[0]
        check_cost("--dim" if args.dim is not None else "the operator size d", d, dense_cost(d),
                   what="O(d^3) eigenvalues and norms", largest=largest_fitting(dense_cost, 1, d))
        c = check_operator(W, gamma, beta, radius)
        out.update(wr=name, dim=int(W.shape[0]), wr_norm=c.wr_norm, r_e=c.r_e, spectral_abscissa=c.spectral_abscissa,
                   stable=bool(c.stable), stable_small_gain=bool(c.stable_small_gain),
                   wr_norm_critical_exact=c.wr_norm_critical_exact)
    if args.json:
        emit_json(out)
    else:
        for k, v in out.items():
            print(f"{k}: {v:.6g}" if isinstance(v, float) else f"{k}: {v}")
    return 0
