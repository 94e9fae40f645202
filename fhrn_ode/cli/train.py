"""``fhrn-ode train``: train the FH-RL Tiny-GPT at one gain, or the whole gain sweep (docs/model.md §3)."""

from __future__ import annotations

import argparse
import sys

from ._common import add_seed_arg, emit_json


def register(sub) -> None:
    p = sub.add_parser("train", help="train the discrete FH-RL Tiny-GPT (one gain or the gamma sweep)",
                       description="Train Tiny-GPT + FH-RL on bytes. Writes model.safetensors, config.json, "
                                   "metrics.json and train_state.* into --out (per gain: --out/gamma_0.10/ "
                                   "with --sweep).")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--gamma", type=float, help="reentry gain gamma >= 0 of one run")
    mode.add_argument("--sweep", action="store_true", help="train every gain of --gammas, one folder each")
    p.add_argument("--gammas", type=float, nargs="+", default=None,
                   help="gains of --sweep (default 0 .05 .10 .15 .20 .25 .30)")
    p.add_argument("--preset", default="quick", choices=("tiny", "quick", "paper"),
                   help="model size + schedule (default %(default)s; see the README section on fhrn-ode train)")
    p.add_argument("--steps", type=int, default=None, help="override the preset's optimizer steps")
    p.add_argument("--data", default=None, help="train on this file's bytes (default: synthetic corpus)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-fhrl", action="store_true",
                   help="remove the FH-RL layer: the plain pre-LN GPT baseline (GPTConfig(fhrl=False))")
    p.add_argument("--resume", action="store_true", help="continue the run(s) in --out from the last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default %(default)s: far faster on a shared 2-core machine)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the result(s) as JSON only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import FHRNInputError, check_int, check_real
    from ..discrete.training import SWEEP_GAMMAS, preset, sweep, train

    from ._common import check_out_dir

    seed = check_int("--seed", args.seed, low=0)
    check_out_dir(args.out)  # writable, and locked: a second `train` into the same folder is refused
    import torch

    torch.set_num_threads(check_int("threads", args.threads, low=1))
    if args.steps is not None:
        check_int("steps", args.steps, low=1)
    if args.gammas is not None and not args.sweep:
        raise FHRNInputError("`--gammas` needs --sweep")
    cfg, opt = preset(args.preset, steps=args.steps, seed=seed, fhrl=False if args.no_fhrl else None)
    progress = not args.no_progress and sys.stderr.isatty()
    if args.sweep:
        gammas = tuple(check_real("gammas", g, low=0.0) for g in (args.gammas or SWEEP_GAMMAS))
        results = sweep(cfg, opt, args.out, gammas=gammas, data=args.data, resume=args.resume, progress=progress)
    else:
        g = check_real("gamma", args.gamma, low=0.0)
        from dataclasses import replace
        results = [train(replace(cfg, gamma=g), opt, args.out, data=args.data, resume=args.resume,
                         progress=progress)]
    rows = [dict(out=r.out_dir, step=r.step, train_loss=r.train_loss, val_loss=r.val_loss,
                 unigram_nats=r.unigram_nats, beats_unigram=bool(r.val_loss < r.unigram_nats),
                 seconds=r.seconds, n_params=r.n_params) for r in results]
    if args.json:
        emit_json(rows if args.sweep else rows[0])
    else:
        for r in rows:
            print(f"{r['out']}: step {r['step']}  val {r['val_loss']:.4f} nats/byte  "
                  f"(unigram {r['unigram_nats']:.4f})  {r['seconds']:.1f}s")
    return 0
