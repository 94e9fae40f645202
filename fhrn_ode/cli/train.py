"""``fhrn-ode train``: train the FH-RL Tiny-GPT at one gain, or the whole gain sweep (docs/model.md §3)."""

from __future__ import annotations

import argparse
import sys

from ._common import ListArg, emit_json


def register(sub) -> None:
    p = sub.add_parser("train", help="train the discrete FH-RL Tiny-GPT (one gain or the gamma sweep)",
                       description="Train Tiny-GPT + FH-RL on bytes. Writes model.safetensors, config.json, "
                                   "metrics.json and train_state.* into --out (per gain: --out/gamma_0.10/ "
                                   "with --sweep). `--resume --out DIR` alone continues the run (or sweep) in "
                                   "DIR with its stored settings; Ctrl-C/SIGTERM saves the current step first.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--gamma", type=float, help="reentry gain gamma >= 0 of one run")
    mode.add_argument("--sweep", action="store_true", help="train every gain of --gammas, one folder each")
    p.add_argument("--gammas", action=ListArg, item=float, default=None,
                   help="gains of --sweep (default 0 .05 .10 .15 .20 .25 .30)")
    p.add_argument("--preset", default=None, choices=("tiny", "quick", "paper"),
                   help="model size + schedule (default quick; on --resume: the stored run's)")
    p.add_argument("--steps", type=int, default=None, help="override the preset's optimizer steps")
    p.add_argument("--data", default=None, help="train on this file's bytes (default: synthetic corpus)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-fhrl", action="store_true",
                   help="remove the FH-RL layer: the plain pre-LN GPT baseline (GPTConfig(fhrl=False))")
    p.add_argument("--resume", action="store_true",
                   help="continue the run(s) in --out from the last checkpoint; alone, with the stored settings "
                        "(any flag given must match them)")
    p.add_argument("--checkpoint-seconds", type=float, default=60.0,
                   help="also save the state every this many seconds of wall time (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar / progress lines on stderr")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default %(default)s: far faster on a shared 2-core machine)")
    p.add_argument("--seed", type=int, default=None, help="seed of init, noise and batches (default 0; on --resume: "
                                                          "the stored run's)")
    p.add_argument("--json", action="store_true", help="print the result(s) as JSON only")
    p.set_defaults(func=run)


def _command(preset: str, args, gamma: float | None, seed: int) -> str:
    parts = ["fhrn-ode", "train", "--preset", preset]
    parts += ["--sweep"] if gamma is None else ["--gamma", f"{gamma:g}"]
    if gamma is None and args.gammas:
        parts += ["--gammas", *(f"{g:g}" for g in args.gammas)]
    parts += ["--seed", str(seed)]
    if args.steps is not None:
        parts += ["--steps", str(args.steps)]
    if args.data is not None:
        parts += ["--data", str(args.data)]
    if args.no_fhrl:
        parts.append("--no-fhrl")
    return " ".join(parts + ["--out", str(args.out)])


def _resume_settings(args):
    """``(cfg, opt, run, gammas or None)`` of the run or sweep stored in ``--out`` (``--resume`` without --gamma/--sweep)."""
    from pathlib import Path

    from .._errors import FHRNInputError
    from ..discrete._train_state import STATE_JSON
    from ..discrete.training import SWEEP_JSON, stored_run, stored_sweep

    out = Path(args.out)
    if (out / STATE_JSON).is_file():
        cfg, opt, run = stored_run(out)
        return cfg, opt, run, None
    if (out / SWEEP_JSON).is_file():
        return stored_sweep(out)
    raise FHRNInputError(f"`--resume`: {str(out)!r} holds no run to continue (no train_state.json or sweep.json); "
                         f"start one with --gamma G or --sweep")


def _holds_run(out) -> bool:
    from pathlib import Path

    from ..discrete._train_state import STATE_JSON
    from ..discrete.training import SWEEP_JSON

    return (Path(out) / STATE_JSON).is_file() or (Path(out) / SWEEP_JSON).is_file()


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .._errors import FHRNInputError, check_int, check_real
    from ..discrete.training import SWEEP_GAMMAS, TrainingInterrupted, preset, sweep, train

    import torch

    torch.set_num_threads(check_int("threads", args.threads, low=1))
    ckpt_s = check_real("checkpoint-seconds", args.checkpoint_seconds, low=0.0, low_open=True)
    if args.steps is not None:
        check_int("steps", args.steps, low=1)
    if args.gammas is not None and not args.sweep and not args.resume:
        raise FHRNInputError("`--gammas` needs --sweep")
    seed = None if args.seed is None else check_int("--seed", args.seed, low=0)
    from ._common import check_out_dir

    check_out_dir(args.out)  # writable, and locked: a second `train` into the same folder is refused
    stored = _resume_settings(args) if args.resume and _holds_run(args.out) else None
    if stored is None and args.gamma is None and not args.sweep:
        if args.resume:
            _resume_settings(args)  # raises: nothing to resume
        raise FHRNInputError("one of --gamma G or --sweep is required (or --resume to continue the run in --out)")
    if stored is not None:
        cfg, opt, run_info, gammas = stored
        if args.sweep and gammas is None:
            raise FHRNInputError(f"cannot resume {args.out!r}: it holds a single run (gamma={cfg.gamma:g}), not a "
                                 f"sweep; drop --sweep")
        if args.gamma is not None and gammas is not None:
            raise FHRNInputError(f"cannot resume {args.out!r}: it holds a sweep over gammas {list(gammas)}, not a "
                                 f"single run; drop --gamma (or pass --sweep)")
        data = run_info.get("data")
        if args.data is not None and str(args.data) != str(data):
            raise FHRNInputError(f"cannot resume {args.out!r}: the stored run differs from the requested one "
                                 f"(data: stored {data!r}, given {args.data!r})")
        name = args.preset or run_info.get("preset")
        if args.preset is not None:
            cfg, opt = preset(args.preset, gamma=cfg.gamma, seed=cfg.seed, fhrl=cfg.fhrl)
        if args.gamma is not None:
            cfg = replace(cfg, gamma=check_real("gamma", args.gamma, low=0.0))
        if seed is not None:
            cfg, opt = replace(cfg, seed=seed), replace(opt, seed=seed)
        if args.no_fhrl:
            cfg = replace(cfg, fhrl=False)
        if args.steps is not None:
            opt = replace(opt, steps=args.steps)
        if args.gammas is not None and gammas is not None:
            gammas = tuple(check_real("gammas", g, low=0.0) for g in args.gammas)
        run_info = dict(run_info, preset=name)
        is_sweep = gammas is not None
    else:
        name = args.preset or "quick"
        seed = 0 if seed is None else seed
        cfg, opt = preset(name, steps=args.steps, seed=seed, fhrl=False if args.no_fhrl else None)
        data = args.data
        is_sweep = bool(args.sweep)
        gammas = tuple(check_real("gammas", g, low=0.0) for g in (args.gammas or SWEEP_GAMMAS)) if is_sweep else None
        g = None if is_sweep else check_real("gamma", args.gamma, low=0.0)
        if g is not None:
            cfg = replace(cfg, gamma=g)
        run_info = {"preset": name, "command": _command(name, args, g, seed), "threads": args.threads}
    progress = not args.no_progress
    try:
        if is_sweep:
            results = sweep(cfg, opt, args.out, gammas=gammas, data=data, resume=args.resume, progress=progress,
                            checkpoint_seconds=ckpt_s, run_info=run_info)
        else:
            results = [train(cfg, opt, args.out, data=data, resume=args.resume, progress=progress,
                             checkpoint_seconds=ckpt_s, run_info=run_info)]
    except TrainingInterrupted as exc:
        print(f"fhrn-ode train: interrupted: {exc}", file=sys.stderr)
        return exc.exit_code
    rows = [dict(out=r.out_dir, step=r.step, train_loss=r.train_loss, val_loss=r.val_loss,
                 unigram_nats=r.unigram_nats, beats_unigram=bool(r.val_loss < r.unigram_nats),
                 seconds=r.seconds, n_params=r.n_params) for r in results]
    if args.json:
        emit_json(rows if is_sweep else rows[0])
    else:
        for r in rows:
            print(f"{r['out']}: step {r['step']}  val {r['val_loss']:.4f} nats/byte  "
                  f"(unigram {r['unigram_nats']:.4f})  {r['seconds']:.1f}s")
    return 0
