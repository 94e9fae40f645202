"""``fhrn-ode metrics`` / ``fhrn-ode sweep-report``: reentry metrics of trained FH-RL models (docs/model.md §4)."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg, emit_json


def register(sub) -> None:
    p = sub.add_parser("metrics", help="IRR, ESRI, RDP and W_r statistics of one trained FH-RL Tiny-GPT",
                       description="Load a checkpoint folder (model.safetensors + config.json) and compute "
                                   "the reentry metrics on seeded random bytes with frozen weights.")
    p.add_argument("checkpoint", help="checkpoint folder (or its model.safetensors), or `reference` (the bundled model)")
    p.add_argument("--n-seq", type=int, default=32, help="random byte sequences (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    p.set_defaults(func=run_metrics)

    q = sub.add_parser("sweep-report", help="metrics vs gamma of a trained sweep, beside the paper's claims",
                       description="For every SWEEP_DIR/gamma_*/ checkpoint: IRR, ESRI, RDP, W_r stats; a "
                                   "table, a claim-by-claim comparison with the paper and (with --out) "
                                   "sweep_report.json + sweep.png/.pdf.")
    q.add_argument("sweep_dir", nargs="?", default=None,
                   help="folder written by `fhrn-ode train --sweep` or `fhrn-ode sweep` (many seeds: mean ± SE, "
                        "Welch tests), or a bundle of gamma_*.json (default: the bundled quick-preset sweep)")
    q.add_argument("--out", default=None, help="write sweep_report.json and sweep.png/.pdf here")
    q.add_argument("--n-seq", type=int, default=32, help="random byte sequences per model (default %(default)s)")
    add_seed_arg(q)
    q.add_argument("--json", action="store_true", help="print the report as JSON only")
    from .sweep import add_seed_report_args

    add_seed_report_args(q)
    q.set_defaults(func=run_sweep_report)


def warn_unfinished(command: str, ckpt) -> dict:
    """``{"finished", "step", "steps_total"}`` of the run in ``ckpt``; a warning line on stderr if it is unfinished."""
    import sys

    from ..discrete.training import run_progress

    st = run_progress(ckpt)
    if st["finished"] is False:
        print(f"fhrn-ode {command}: warning: {str(ckpt)!r} holds an unfinished run (step {st['step']} of "
              f"{st['steps']}); continue it with `fhrn-ode train --resume --out {ckpt}`", file=sys.stderr)
    return {"finished": st["finished"], "step": st["step"], "steps_total": st["steps"]}


def run_metrics(args: argparse.Namespace) -> int:
    from .._errors import check_int
    from ..analysis.metrics import model_metrics
    from ..discrete.checkpoint import load_checkpoint

    from .._limits import check_sizes, model_eval_cost
    from ..discrete.checkpoint import read_config

    seed = check_int("--seed", args.seed, low=0)
    n_seq = check_int("--n-seq", args.n_seq, low=1)
    from ..linearize import resolve_checkpoint

    ckpt = resolve_checkpoint(args.checkpoint)
    c = read_config(ckpt)
    check_sizes(lambda n: model_eval_cost(n, c.context, c.d, c.n_layer, c.rank), [("--n-seq", n_seq, 1)],
                what="the model's forward passes")
    model, cfg = load_checkpoint(ckpt)
    res = model_metrics(model, n_seq=n_seq, seed=seed).to_dict()
    res["checkpoint"] = str(ckpt)
    res.update(warn_unfinished("metrics", ckpt))
    if args.json:
        emit_json(res)
        return 0
    print(f"gamma={res['gamma']:g}  IRR={res['irr']:.4g}  ESRI={res['esri']:.4g}  "
          f"RDP f={res['rdp_frequency']:.3f} (strength {res['rdp_strength']:.2f})  "
          f"|W_r|_2={res['wr_spectral_norm']:.3g}  eff.rank={res['wr_effective_rank']:.1f}  "
          f"antisym={res['wr_antisymmetric_fraction']:.3f}")
    for i, lay in enumerate(res["layers"]):
        print(f"  layer {i}: IRR={lay['irr']:.4g}  ESRI={lay['esri']:.4g}  RDP f={lay['rdp_frequency']:.3f}  "
              f"|W_r|_2={lay['wr_spectral_norm']:.3g}")
    return 0


def run_sweep_report(args: argparse.Namespace) -> int:
    from ._common import check_out_dir
    from .._errors import check_int
    from .._io import atomic_savefig, atomic_write_json
    from ..analysis.sweeps import sweep_report

    from .sweep import is_seed_sweep, run_seed_report

    if args.sweep_dir is None or args.bundled is not None or is_seed_sweep(args.sweep_dir):
        return run_seed_report(args)
    seed = check_int("--seed", args.seed, low=0)
    n_seq = check_int("--n-seq", args.n_seq, low=1)
    from pathlib import Path

    from .._limits import check_sizes, model_eval_cost
    from ..discrete.checkpoint import read_config

    for sub in sorted(Path(args.sweep_dir).glob("gamma_*")):
        if (sub / "config.json").is_file():
            c = read_config(sub)
            check_sizes(lambda n: model_eval_cost(n, c.context, c.d, c.n_layer, c.rank), [("--n-seq", n_seq, 1)],
                        what="the models' forward passes")
    out = check_out_dir(args.out) if args.out is not None else None
    rep = sweep_report(args.sweep_dir, n_seq=n_seq, seed=seed)
    if out is not None:
        from ..figures.sweep import plot_sweep

        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "sweep_report.json", rep.to_dict())
        fig = plot_sweep(rep.rows)
        for ext in ("png", "pdf"):
            atomic_savefig(fig, out / f"sweep.{ext}", dpi=200, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        emit_json(rep.to_dict())
        return 0
    hdr = f"{'gamma':>6} {'val':>7} {'unigram':>7} {'IRR':>9} {'ESRI':>7} {'RDP f':>6} {'str':>6} {'|Wr|2':>6} {'erank':>6} {'antisym':>7}"
    print(hdr)
    for r in rep.rows:
        vl = "   n/a" if r["val_loss"] is None else f"{r['val_loss']:7.3f}"
        ub = "   n/a" if r["unigram_nats"] is None else f"{r['unigram_nats']:7.3f}"
        print(f"{r['gamma']:6.2f} {vl} {ub} {r['irr']:9.3g} {r['esri']:7.3g} {r['rdp_frequency']:6.3f} "
              f"{r['rdp_strength']:6.2f} {r['wr_spectral_norm']:6.3g} {r['wr_effective_rank']:6.1f} "
              f"{r['wr_antisymmetric_fraction']:7.3f}")
    print("\npaper claim vs ours:")
    word = {True: "AGREE", False: "DISAGREE", None: "n/a"}
    for c in rep.comparison:
        print(f"  [{word[c['agree']]}] {c['paper']}: {c['ours']}")
    if out is not None:
        print(f"wrote {out / 'sweep_report.json'}, {out / 'sweep.png'} and {out / 'sweep.pdf'}")
    return 0
