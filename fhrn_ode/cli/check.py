"""``fhrn-ode check``: stable-region check of trained models' W* (docs/model.md §5), one checkpoint or a gain sweep."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import check_out_dir, emit_json
from .linearize import add_context_args
from .metrics import warn_unfinished
from .._errors import FHRNInputError, check_int
from .._names import SCOPES
from .._threads import add_threads_arg


def register(sub) -> None:
    p = sub.add_parser("check", help="is the trained W* inside the stable region? (exact and small gain)",
                       description="At each context's operating point the loop's own linearization: "
                                   "rho(-I + gamma W*) (exact; J_H already holds the normalisation), r_e = gamma "
                                   "|W*|_2 (small gain), log-norm, non-normality; the paper's criterion "
                                   "rho(-I + gamma g(|y|) W*) alongside as paper_criterion; per layer and per gain "
                                   "for a sweep folder (one checkpoint per sub-folder). Contexts are nested: the "
                                   "first 32 of --contexts 128 are those of --contexts 32 (same --seed).")
    p.add_argument("ckpt", nargs="?", default=None,
                   help="checkpoint folder, a sweep folder of checkpoint folders, or `reference` (default: the bundled "
                        "reference model)")
    p.add_argument("--scope", choices=SCOPES, default="layer", help="what H is (see `fhrn-ode linearize`; default %(default)s)")
    add_context_args(p, 32)
    p.add_argument("--out", default=None, help="folder for check.json and the figures (default: none written)")
    add_threads_arg(p, default="1")  # many small eigen-problems: 1 thread is faster even on an idle machine
    p.add_argument("--json", action="store_true", help="print the result as JSON (and nothing else)")
    p.add_argument("--no-plot", action="store_true", help="with --out: write check.json only, no figures")
    p.set_defaults(func=run)


def _is_ckpt(p: Path) -> bool:
    return p.is_dir() and (p / "config.json").is_file()


def check_one(ckpt: Path, contexts: int, seq_len, seed: int, scope: str = "layer") -> tuple[dict, object]:
    """``(check.json object, per-context ContextChecks)`` of one checkpoint."""
    from ..analysis.trained import check_trained, operator_split
    from ..linearize import linearize_checkpoint

    lin = linearize_checkpoint(ckpt, contexts=contexts, seq_len=seq_len, seed=seed, scope=scope)
    chk = check_trained(lin.W_star, lin.gamma, lin.beta, lin.radius, lin.layer)
    res = chk.to_dict()
    res["checkpoint"] = str(ckpt)
    res.update(warn_unfinished("check", ckpt))
    res["scope"] = scope
    res["w_r_split"] = [operator_split(W) for W in lin.W_r]
    return res, chk.contexts


def _display_name(ckpt: Path) -> str:
    """``"reference"`` for the bundled model (not its site-packages path), else the path as given."""
    from ..discrete.checkpoint import reference_model_path

    try:
        if Path(ckpt).resolve() == reference_model_path().resolve():
            return "reference"
    except OSError:  # pragma: no cover - an unreadable path: say it as given
        pass
    return str(ckpt)


def _paper_text(pc: dict) -> str:
    return (f"paper criterion {pc['operator']} (counts g twice): stable at {100 * pc['fraction_stable']:.1f}%, "
            f"max spectral abscissa {pc['spectral_abscissa']:.4g}, max r_e {pc['r_e']:.4g}")


def _text(r: dict) -> str:
    lines = [f"fhrn-ode check {_display_name(Path(r['checkpoint']))}: gamma={r['gamma']:g} beta={r['beta']:g}  "
             f"{'STABLE' if r['stable'] else 'NOT stable'} ({r['operator']}, the loop's linearization at h): "
             f"stable at {100 * r['fraction_stable']:.1f}% of {r['n_contexts']} contexts; max spectral abscissa "
             f"{r['spectral_abscissa']:.4g} (median {r['spectral_abscissa_median']:.4g}), max r_e {r['r_e']:.4g}"]
    for lc in r["per_layer"]:
        lines.append(f"  {lc['verdict']}  [median r_e {lc['r_e_median']:.3g}, median |y| {lc['radius_median']:.3g}, "
                     f"mean W*: antisym {100 * lc['antisym_fraction']:.1f}% / sym {100 * lc['sym_fraction']:.1f}% "
                     f"of |W*|_F^2, henrici {lc['henrici_median']:.3f}]")
        lines.append(f"    {_paper_text(lc['paper_criterion'])}")
    lines.append(f"  all layers, {_paper_text(r['paper_criterion'])}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from .._io import atomic_savefig, atomic_write_json
    from ..linearize import resolve_checkpoint

    check_int("--contexts", args.contexts, low=1, high=10000)
    out = None if args.out is None else check_out_dir(args.out)
    target = resolve_checkpoint(args.ckpt)
    if _is_ckpt(target) or target.is_file():
        pairs = [check_one(target, args.contexts, args.seq_len, args.seed, args.scope)]
        results = [pairs[0][0]]
        obj = results[0]
    elif target.is_dir():
        subs = sorted(d for d in target.iterdir() if _is_ckpt(d))
        seeds = {}
        if (target / "manifest.json").is_file():  # a `fhrn-ode sweep` folder: the model set of sweep-report
            from ..sweep import finished_results

            recs = [r for r, _ in finished_results(target, "train")]
            subs = [target / r.folder for r in recs]
            seeds = {str(target / r.folder): r.task.seed for r in recs}
        if not subs:
            raise FHRNInputError(f"{str(target)!r} is neither a checkpoint (config.json) nor a sweep folder of them")
        from .._progress import Progress

        pairs, bad = [], []
        with Progress(len(subs), "check", unit="model") as bar:
            for d in subs:
                try:
                    pairs.append(check_one(d, args.contexts, args.seq_len, args.seed, args.scope))
                except FHRNInputError as exc:  # keep the models already checked; flag this one
                    bad.append({"checkpoint": str(d), "error": str(exc)})
                bar.update(1)
        if not pairs:
            raise FHRNInputError(f"no model of {str(target)!r} could be checked: {bad[0]['error']}")
        for r, _ in pairs:
            r["seed"] = seeds.get(r["checkpoint"])
        pairs.sort(key=lambda rc: (rc[0]["gamma"], rc[0]["seed"] is None, rc[0]["seed"]))
        results = [r for r, _ in pairs]
        from ..analysis.trained import sweep_stability

        obj = {"sweep": str(target), "stable": all(r["stable"] for r in results),
               "per_gain": sweep_stability(results),
               "spectral_abscissa": max(r["spectral_abscissa"] for r in results),
               "r_e": max(r["r_e"] for r in results),
               "fraction_stable": float(np.mean([r["fraction_stable"] for r in results])),
               "models": results, "unreadable": bad}
    else:
        raise FHRNInputError(f"checkpoint {str(target)!r} does not exist")
    files = []
    if out is not None:
        from ..figures.trained import plot_gain_margin, plot_stability_map

        files.append(atomic_write_json(out / "check.json", obj))
        import matplotlib.pyplot as plt

        figs = () if args.no_plot else (("stability_map", plot_stability_map(results, [c for _, c in pairs])),
                                        ("gain_margin", plot_gain_margin(results)))
        for name, fig in figs:
            for ext in ("png", "pdf"):
                files.append(atomic_savefig(fig, out / f"{name}.{ext}", dpi=200, bbox_inches="tight"))
            plt.close(fig)
    bad = obj.get("unreadable", []) if "models" in obj else []
    if args.json:
        emit_json(obj)
    else:
        print("\n".join(_text(r) for r in results))
        for g in obj.get("per_gain", []) if isinstance(obj, dict) else []:
            sem = "" if g["fraction_stable_sem"] is None else f" ± {100 * g['fraction_stable_sem']:.1f}"
            print(f"  gamma={g['gamma']:g}: {100 * g['fraction_stable_mean']:.1f}{sem}% of contexts stable over "
                  f"{g['n']} seed(s); seeds with unstable contexts: {g['seeds_leaving'] or 'none'}")
        if files:
            print("  wrote " + ", ".join(str(f) for f in files))
    if bad:  # the others are reported above; each bad one gets its line, and the exit code says it
        import sys

        for b in bad:
            print(f"fhrn-ode check: error: {b['checkpoint']} not checked: {b['error']}", file=sys.stderr)
        return 1
    return 0
