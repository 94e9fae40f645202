"""``fhrn-ode sweep``: a grid of training (or ODE) tasks on a process pool or Ray, resumable (docs/sweeps.md)."""

from __future__ import annotations

import argparse
import signal
import sys

from ._common import add_seed_arg, emit_json
from .._errors import FHRNInputError


def _floats(flag: str, text: str) -> list[float]:
    try:
        vals = [float(v) for v in str(text).split(",") if v.strip() != ""]
    except ValueError:
        raise FHRNInputError(f"`{flag}` must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise FHRNInputError(f"`{flag}` must list at least one number, got {text!r}")
    return vals


def _ints(flag: str, text: str) -> list[int]:
    vals = _floats(flag, text)
    if any(v != int(v) for v in vals):
        raise FHRNInputError(f"`{flag}` must be comma-separated integers, got {text!r}")
    return [int(v) for v in vals]


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid (gamma x seed x preset, or ODE parameters) on a pool or on Ray",
                       description="Every task writes its result atomically into DIR/tasks/<key>/ (a train task: "
                                   "the model + metrics.json + result.json); DIR/manifest.json lists every task "
                                   "with its status. Run it again to finish an interrupted sweep: finished tasks "
                                   "are never recomputed. One line per finished task with an ETA on stderr.")
    p.add_argument("--task", choices=("train", "ode"), default="train",
                   help="train: one Tiny-GPT per (gamma, seed, preset); ode: integrate the continuous FHRN per "
                        "(gamma, seed, kappa, theta, leak, beta) (default %(default)s)")
    p.add_argument("--gamma", required=True, help="comma-separated gains, e.g. 0,0.05,0.1")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default %(default)s)")
    p.add_argument("--preset", default="quick",
                   help="train: comma-separated presets among tiny, quick, paper (default %(default)s)")
    p.add_argument("--steps", type=int, default=None, help="train: override the preset's optimizer steps")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: process pool on this machine; ray: a Ray cluster (default %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="tasks at the same time (default %(default)s)")
    p.add_argument("--address", default=None,
                   help="ray: address of an existing cluster (e.g. auto, ray://host:10001); default: start a "
                        "local one with --workers CPUs")
    p.add_argument("--retries", type=int, default=2,
                   help="extra tries of a task that raised, then it is reported failed (default %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per task (default %(default)s)")
    o = p.add_argument_group("ode tasks (--task ode; docs/model.md §1)")
    o.add_argument("--kappa", default="10", help="comma-separated kappa values (default %(default)s)")
    o.add_argument("--theta", default="1", help="comma-separated theta values (default %(default)s)")
    o.add_argument("--leak", default="1", help="comma-separated leak rates (default %(default)s)")
    o.add_argument("--beta", default="0", help="comma-separated beta values (default %(default)s)")
    o.add_argument("--wr", default="antisym", help="built-in operator kind W* (default %(default)s)")
    o.add_argument("--dim", type=int, default=2, help="state dimension (default %(default)s)")
    o.add_argument("--t1", type=float, default=20.0, help="final time (default %(default)s)")
    p.add_argument("--out", required=True, help="the sweep folder DIR")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print the manifest as JSON only")
    p.set_defaults(func=run)


def build_tasks(args: argparse.Namespace) -> list:
    from .._errors import check_int
    from ..sweep import ode_grid, train_grid

    gammas = _floats("--gamma", args.gamma)
    seeds = _ints("--seeds", args.seeds)
    if args.task == "train":
        for flag in ("kappa", "theta", "leak", "beta"):
            if getattr(args, flag) != _DEFAULTS[flag]:
                raise FHRNInputError(f"`--{flag}` needs --task ode")
        presets = [s.strip() for s in args.preset.split(",") if s.strip()]
        steps = None if args.steps is None else check_int("steps", args.steps, low=1)
        return train_grid(gammas, seeds, presets, steps=steps, metrics_seed=check_int("seed", args.seed, low=0))
    if args.steps is not None or args.preset != "quick":
        raise FHRNInputError("`--steps` and `--preset` need --task train")
    return ode_grid(gammas, seeds, kappa=_floats("--kappa", args.kappa), theta=_floats("--theta", args.theta),
                    leak=_floats("--leak", args.leak), beta=_floats("--beta", args.beta), operator=[args.wr],
                    dim=[check_int("dim", args.dim, low=1)], t1=[args.t1])


_DEFAULTS = {"kappa": "10", "theta": "1", "leak": "1", "beta": "0"}


def _sigterm(signum, frame):  # noqa: ARG001 - signal API
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..sweep import run_sweep

    tasks = build_tasks(args)
    old = signal.signal(signal.SIGTERM, _sigterm)  # SIGTERM stops like Ctrl-C: workers stopped, manifest written
    try:
        m = run_sweep(tasks, args.out, engine=args.engine, workers=args.workers, address=args.address,
                      retries=args.retries, threads=args.threads, progress=not args.quiet)
    finally:
        signal.signal(signal.SIGTERM, old)
    d = m.to_dict()
    if args.json:
        emit_json(d)
    else:
        c = d["counts"]
        print(f"fhrn-ode sweep: {c['done']} done, {c['failed']} failed, {c['pending']} pending; "
              f"manifest {m.path}")
        for t in d["tasks"]:
            if t["status"] == "failed":
                print(f"  FAILED {t['key']} after {t['attempts']} attempts: {t['error'].splitlines()[0]}")
    return 1 if d["counts"]["failed"] else 0
