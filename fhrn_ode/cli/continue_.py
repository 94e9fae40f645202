"""``fhrn-ode continue``: numerical continuation of equilibria (and cycles, and fold/Hopf curves) in one or two
parameters of the FHRN field or of ``--field MODULE:CLASS`` (docs/continuation.md)."""

from __future__ import annotations

import argparse

from ._dynamics import FIELD_HELP, add_fhrn_args, add_output_args

_FHRN_PARAMS = ("gamma", "kappa", "beta", "leak", "theta")


def register(sub) -> None:
    p = sub.add_parser("continue", help="continue equilibria, limit cycles and fold/Hopf curves (pseudo-arclength)",
                       description="Pseudo-arclength continuation from an equilibrium: folds (LP), Hopf (H) and "
                                   "branch points (BP) located with their normal-form coefficients; --cycles "
                                   "continues the limit cycles of each Hopf point, --param2 the fold/Hopf curves "
                                   "in two parameters (docs/continuation.md).")
    p.add_argument("--param", action="append", required=True, metavar="NAME|NAME=VALUE",
                   help="the continued parameter NAME (FHRN: gamma, kappa, beta, leak, theta; with --field an "
                        "attribute of the module); NAME=VALUE sets a --field constructor argument (repeatable)")
    p.add_argument("--start", type=float, default=None, help="start value of the parameter (default: its value)")
    p.add_argument("--x0", default=None, help="start state, comma-separated (default: zeros)")
    p.add_argument("--param2", default=None, help="second parameter: continue every LP/H point as a curve")
    p.add_argument("--start2", type=float, default=None, help="value of --param2 (default: its value)")
    p.add_argument("--range", default=None, metavar="A:B", help="window of the parameter (default -inf:inf; "
                                                                 "FHRN parameters stop at 0)")
    p.add_argument("--range2", default=None, metavar="A:B", help="window of --param2 (required with --param2)")
    p.add_argument("--ds", type=float, default=0.01, help="first step (default %(default)s)")
    p.add_argument("--ds-max", type=float, default=0.1, help="largest step (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=400, help="steps per direction (default %(default)s)")
    p.add_argument("--cycles", action="store_true", help="continue the limit cycles born at each Hopf point")
    p.add_argument("--field", default=None, metavar="MODULE:CLASS|FILE.py:CLASS", help=FIELD_HELP)
    add_fhrn_args(p)
    add_output_args(p, "runs/continue")
    p.set_defaults(func=run)


def _window(text, flag):
    import math

    from .._errors import FHRNInputError

    if text is None:
        return -math.inf, math.inf
    try:
        a, b = (float(v) for v in str(text).split(":"))
    except ValueError:
        raise FHRNInputError(f"`{flag}` must be A:B (two numbers), got {text!r}") from None
    if not a < b:
        raise FHRNInputError(f"`{flag}` needs A < B, got {text!r}")
    return a, b


def _problem(args):
    """``(ContinuationProblem, header)`` for the FHRN field or ``--field``."""
    from .._errors import FHRNInputError
    from ..dynamics.continuation import ContinuationProblem
    from .._loaders import build_user_field, parse_field_params

    names = [s for s in args.param if "=" not in s]
    kw = [s for s in args.param if "=" in s]
    if len(names) != 1:
        raise FHRNInputError(f"`--param` must name exactly one continued parameter (NAME without =), got {names or 'none'}")
    name = names[0]
    if args.field is not None:
        kwargs = parse_field_params(kw)
        field = build_user_field(args.field, kwargs)
        dim = getattr(field, "dim", None) or getattr(args, "dim", None)  # --dim: the operator flag's size
        if dim is None:
            raise FHRNInputError(f"`--dim` is needed: {type(field).__name__} has no `dim` attribute")
        x0 = _x0(args.x0, int(dim))
        p0 = args.start if args.start is not None else _attr(field, name, "--param")
        p20 = None if args.param2 is None else (args.start2 if args.start2 is not None else _attr(field, args.param2, "--param2"))
        pr = ContinuationProblem(x0=x0, p0=p0, field=field, param=name, param2=args.param2, p2_0=p20, dim=dim)
        return pr, {"field": args.field, "field_params": kwargs, "dim": int(dim)}
    if kw:
        raise FHRNInputError(f"`--param` {kw[0]}: NAME=VALUE sets a constructor argument of a --field class; give --field")
    for n_, flag in ((name, "--param"), (args.param2, "--param2")):
        if n_ is not None and n_ not in _FHRN_PARAMS:
            raise FHRNInputError(f"`{flag}` {n_!r} is not an FHRN parameter; allowed: {', '.join(_FHRN_PARAMS)}")
    from ..field import FHRNField
    from ._dynamics import fhrn_field, header

    label, W, params, _ = fhrn_field(args, slots=False)
    if params.memory != "none":
        raise FHRNInputError("`--memory` must be none for continue (the state is y only)")
    p0 = args.start if args.start is not None else getattr(params, name)
    params.replace(**{name: p0})  # validates the start (e.g. kappa >= 0)
    if args.param2 is None:
        mk = lambda p: FHRNField(W, params.replace(**{name: float(p)}))  # noqa: E731
        p20 = None
    else:
        p20 = args.start2 if args.start2 is not None else getattr(params, args.param2)
        mk = lambda p, q: FHRNField(W, params.replace(**{name: float(p), args.param2: float(q)}))  # noqa: E731
    pr = ContinuationProblem(x0=_x0(args.x0, W.shape[0]), p0=p0, make_field=mk, param=name, param2=args.param2,
                             p2_0=p20)
    return pr, header(label, W, params, getattr(args, "_param_sources", None))


def _attr(field, name, flag):
    from .._errors import FHRNInputError

    if not hasattr(field, name):
        raise FHRNInputError(f"`{flag}` {name!r}: {type(field).__name__} has no attribute {name!r}")
    return float(getattr(field, name))


def _x0(text, n):
    import torch

    from .._errors import FHRNInputError

    if text is None:
        return torch.zeros(n, dtype=torch.float64)
    try:
        v = [float(s) for s in str(text).replace(" ", ",").split(",") if s]
    except ValueError:
        raise FHRNInputError(f"`--x0` must be {n} comma-separated numbers, got {text!r}") from None
    if len(v) != n:
        raise FHRNInputError(f"`--x0` must have {n} entries (the state size), got {len(v)}")
    return torch.tensor(v, dtype=torch.float64)


def run(args: argparse.Namespace) -> int:
    import math

    from .._errors import FHRNInputError
    from .._io import atomic_write_json
    from ..dynamics.continuation import ContinuationOptions, continuation
    from ._common import check_out_dir, emit_json
    from ._dynamics import save_figure

    out = check_out_dir(args.out)
    lo, hi = _window(args.range, "--range")
    lo2, hi2 = _window(args.range2, "--range2")
    if args.param2 is not None and math.isinf(lo2 - hi2):
        raise FHRNInputError("`--range2` A:B is needed with --param2 (a curve in two parameters needs a window)")
    if args.param2 is None and args.range2 is not None:
        raise FHRNInputError("`--range2` applies to --param2; give --param2")
    pr, head = _problem(args)
    if args.field is None:  # every FHRN parameter is >= 0
        lo, lo2 = max(lo, 0.0), max(lo2, 0.0)
    opts = ContinuationOptions(ds=args.ds, ds_max=max(args.ds_max, args.ds), max_steps=args.max_steps, p_min=lo,
                               p_max=hi, p2_min=lo2, p2_max=hi2)
    eq = continuation(pr, opts)
    branches = [eq]
    for sp in eq.special:
        if args.param2 is not None and sp.kind in ("LP", "H"):
            branches.append(continuation(pr, opts, start=sp, branch="codim2"))
        if args.cycles and sp.kind == "H":
            branches.append(continuation(pr, opts.replace(ds=min(args.ds, 0.02)), start=sp, branch="cycles"))
    result = {**head, "param": pr.param, "param2": pr.param2, "seed": args.seed, "options": opts.to_dict(),
              "branches": [b.to_dict() for b in branches]}
    files = [atomic_write_json(out / "continuation.json", result)]
    if not args.no_plot:
        from ..figures.continuation import plot_branches

        files.append(save_figure(plot_branches(branches), out / "continuation.png"))
    if args.json:
        emit_json(result)
        return 0
    print(f"fhrn-ode continue: {pr.param} from {pr.p0:g}; {len(eq)} points, {eq.status}: {eq.message}")
    for b in branches:
        for sp in b.special:
            nf = sp.normal_form
            coef = (f" l1 = {nf['l1']:.6g} ({nf['criticality']})" if "l1" in nf else
                    f" a = {nf['a']:.6g}" if "a" in nf else "")
            where = f"{pr.param} = {sp.p:.10g}" + (f", {pr.param2} = {sp.p2:.10g}" if sp.p2 is not None else "")
            print(f"  {b.kind:10s} {sp.kind:4s} at {where}{coef}")
        if b is not eq:
            print(f"  {b.kind} branch: {len(b)} points, {b.status}: {b.message}")
    print(f"  wrote {', '.join(str(f) for f in files)}")
    return 0
