"""``fhrn-ode halting``: does the ODE verdict predict the trained reentry loop? (docs/companions.md, docs/model.md §5-6)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import ListArg, check_out_dir, emit_json
from .linearize import add_context_args


def register(sub) -> None:
    p = sub.add_parser("halting", help="fixed-point halting of the trained reentry loop vs the ODE verdict",
                       description="At fixed contexts, iterate x_{k+1} = h + gamma W_r H(x_k) until "
                                   "|x_{k+1} - x_k| < tol; record iterations, convergence, contraction rate and "
                                   "the largest |mu| of gamma W_r J_H at the fixed point, and compare with the "
                                   "ODE verdict rho(-I + gamma g W*) < 0 (the `check` verdict).")
    p.add_argument("ckpt", nargs="?", default="reference",
                   help="checkpoint folder, 'reference' (the bundled model), or a sweep folder of checkpoints "
                        "(what `fhrn-ode train --sweep` writes) (default %(default)s)")
    add_context_args(p, 32)
    p.add_argument("--gammas", action=ListArg, item=float, default=None,
                   help="loop (and judge the ODE) at these gains with the trained weights (a what-if; default: "
                        "each model's own gamma)")
    p.add_argument("--layer", type=int, default=None, help="only this FH-RL layer (default: all)")
    p.add_argument("--tol", type=float, default=1e-10, help="halting tolerance on |x_{k+1} - x_k|_2 (default %(default)s)")
    p.add_argument("--max-iter", type=int, default=500, help="most loop iterations per context (default %(default)s)")
    p.add_argument("--out", default=None, help="folder for halting.json and halting.png (default: none written)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (and nothing else)")
    p.add_argument("--no-plot", action="store_true", help="with --out: do not draw or write halting.png")
    p.set_defaults(func=run)


def _is_ckpt(p: Path) -> bool:
    return p.is_dir() and (p / "config.json").is_file()


def _targets(spec: str) -> tuple[list, bool]:
    from .._errors import FHRNInputError
    from ..linearize import resolve_checkpoint

    if spec == "reference":
        return [resolve_checkpoint(None)], False
    p = Path(spec)
    if _is_ckpt(p):
        return [p], False
    if p.is_dir():
        subs = sorted(d for d in p.iterdir() if _is_ckpt(d))
        if subs:
            return subs, True
        raise FHRNInputError(f"`ckpt` {spec!r} is neither a checkpoint (config.json) nor a sweep folder of them")
    raise FHRNInputError(f"`ckpt` {spec!r} does not exist")


def run(args: argparse.Namespace) -> int:
    from .._errors import check_int, check_real

    check_int("--contexts", args.contexts, low=1, high=10000)
    check_int("--max-iter", args.max_iter, low=1, high=10**6)
    check_real("--tol", args.tol, low=0.0, low_open=True)
    gammas = None if args.gammas is None else [check_real("--gammas", g, low=0.0) for g in args.gammas]
    out = None if args.out is None else check_out_dir(args.out)
    targets, is_sweep = _targets(args.ckpt)
    from tqdm import tqdm

    from ..analysis.halting import halting_checkpoint, halting_table

    layers = None if args.layer is None else (args.layer,)
    results, models = [], []
    for ck in tqdm(targets, desc="halting", unit="model", disable=not sys.stderr.isatty() or len(targets) == 1):
        rs = halting_checkpoint(ck, gammas=gammas, contexts=args.contexts, layers=layers, seq_len=args.seq_len,
                                seed=args.seed, tol=args.tol, max_iter=args.max_iter)
        for r in rs:
            d = r.to_dict()
            d["checkpoint"] = str(ck)
            models.append(d)
        results.extend(rs)
    table = halting_table(results)
    if len(models) == 1:
        obj = models[0]
    else:
        n = [len(m["contexts"]) for m in models]
        obj = {"sweep" if is_sweep else "checkpoint": str(args.ckpt), "table": table, "models": models,
               "contexts": [c for m in models for c in m["contexts"]],
               "agreement": float(sum(m["agreement"] * k for m, k in zip(models, n)) / sum(n))}
    obj["table"] = table
    files = []
    if out is not None:
        from .._io import atomic_write_json
        from ..figures.companions import plot_halting
        from ._dynamics import save_figure

        files.append(atomic_write_json(out / "halting.json", obj))
        if not args.no_plot:
            files.append(save_figure(plot_halting(results), out / "halting.png"))
    if args.json:
        emit_json(obj)
        return 0
    print("fhrn-ode halting: loop x <- h + gamma W_r H(x) at fixed contexts vs the ODE verdict rho(-I + gamma g W*) < 0")
    print(f"  {'gamma':>6} {'trained':>7} {'n':>4} {'conv':>6} {'ode':>6} {'agree':>6} {'ode_only':>8} "
          f"{'iters':>6} {'rate':>8} {'|mu|max':>8}")
    for s in table:
        print(f"  {s['gamma']:6.3g} {s['trained_gamma']:7.3g} {s['n_contexts']:4d} {s['fraction_converged']:6.2f} "
              f"{s['fraction_ode_stable']:6.2f} {s['agreement']:6.2f} {s['ode_only']:8d} {s['iterations_median']:6.0f} "
              f"{s['rate_median']:8.3g} {s['multiplier_max_abs_max']:8.3g}")
    if files:
        print("  wrote " + ", ".join(str(f) for f in files))
    return 0
