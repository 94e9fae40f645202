"""``fhrn-ode sweep``: a grid of training (or ODE) tasks on a process pool or Ray, resumable (docs/sweeps.md)."""

from __future__ import annotations

import argparse

from ._common import ListArg, emit_json
from .._errors import FHRNInputError


#: Most tasks one sweep command may list (the product of its value lists).
MAX_TASKS = 1_000_000


def _floats(flag: str, text: str) -> list[float]:
    from ._common import MAX_MAGNITUDE

    try:
        vals = [float(v) for v in str(text).split(",") if v.strip() != ""]
    except ValueError:
        raise FHRNInputError(f"`{flag}` must be comma-separated numbers, got {text!r}") from None
    if not vals:
        raise FHRNInputError(f"`{flag}` must list at least one number, got {text!r}")
    for v in vals:
        if not abs(v) <= MAX_MAGNITUDE:
            raise FHRNInputError(f"`{flag}` entries must be finite with |value| <= {MAX_MAGNITUDE:g}, got {v:g}")
    return vals


def _ints(flag: str, text: str) -> list[int]:
    """Comma-separated integers, parsed as integers (never through a float: 9007199254740993 stays exact)."""
    parts = [v.strip() for v in str(text).split(",") if v.strip() != ""]
    try:
        vals = [int(v) for v in parts]
    except ValueError:
        raise FHRNInputError(f"`{flag}` must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise FHRNInputError(f"`{flag}` must list at least one integer, got {text!r}")
    for v in vals:
        if not 0 <= v < 2 ** 63:
            raise FHRNInputError(f"`{flag}` entries must be integers in [0, 2^63), got {v}")
    return vals


def _check_sizes(args: argparse.Namespace) -> None:
    """``--workers``, ``--threads``, ``--dim``, ``--t1`` and ``--retries`` within reach, before anything runs."""
    import os

    from .._errors import check_int, check_real
    from .._limits import check_sizes, integrate_cost

    cpus = os.cpu_count() or 1
    check_int("--threads", args.threads, low=1, high=max(cpus, 1))
    check_int("--workers", args.workers, low=1, high=256 if args.engine == "local" else 100_000)
    check_int("--retries", args.retries, low=0, high=100)
    if args.task == "ode":
        check_real("--t1", args.t1, low=0.0, high=1e9, low_open=True)
        dim = check_int("--dim", args.dim, low=1)
        check_sizes(lambda d: integrate_cost(d, 8, 2), [("--dim", dim, 1)],
                    what="O(d^3) eigenvalues of the final Jacobians, per task")


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid (gamma x seed x preset, or ODE parameters) on a pool or on Ray",
                       description="Every task writes its result atomically into DIR/tasks/<key>/ (a train task: "
                                   "the model + metrics.json + result.json); DIR/manifest.json lists every task "
                                   "with its status. Run it again to finish an interrupted sweep: finished tasks "
                                   "are never recomputed. One line per finished task with an ETA on stderr.")
    p.add_argument("--task", choices=("train", "ode"), default="train",
                   help="train: one Tiny-GPT per (gamma, seed, preset); ode: integrate the continuous FHRN per "
                        "(gamma, seed, kappa, theta, leak, beta) (default %(default)s)")
    p.add_argument("--gamma", required=True, action=ListArg, join=True, help="gains, e.g. 0,0.05,0.1 or 0 0.05 0.1")
    p.add_argument("--seeds", default="0", action=ListArg, join=True, help="seeds, commas or spaces (default %(default)s)")
    p.add_argument("--preset", default="quick", action=ListArg, join=True,
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
    o.add_argument("--kappa", default="10", action=ListArg, join=True, help="comma-separated kappa values (default %(default)s)")
    o.add_argument("--theta", default="1", action=ListArg, join=True, help="comma-separated theta values (default %(default)s)")
    o.add_argument("--leak", default="1", action=ListArg, join=True, help="comma-separated leak rates (default %(default)s)")
    o.add_argument("--beta", default="0", action=ListArg, join=True, help="comma-separated beta values (default %(default)s)")
    o.add_argument("--wr", default="antisym", help="built-in operator kind W* (default %(default)s)")
    o.add_argument("--dim", type=int, default=2, help="state dimension (default %(default)s)")
    o.add_argument("--t1", type=float, default=20.0, help="final time (default %(default)s)")
    p.add_argument("--out", required=True, help="the sweep folder DIR")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--dry-run", action="store_true",
                   help="write DIR/manifest.json (finished task folders count as done) and run nothing")
    p.add_argument("--seed", type=int, default=0,
                   help="train: seed of the random byte inputs of the reentry metrics (default %(default)s; the "
                        "training seeds are --seeds)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON only")
    p.set_defaults(func=run)


def build_tasks(args: argparse.Namespace) -> list:
    from .._errors import check_int
    from ..sweep import ode_grid, train_grid

    _check_sizes(args)
    gammas = _floats("--gamma", args.gamma)
    seeds = _ints("--seeds", args.seeds)
    n = len(gammas) * len(seeds)
    if args.task == "ode":
        for flag in ("kappa", "theta", "leak", "beta"):
            n *= len(_floats(f"--{flag}", getattr(args, flag)))
    else:
        n *= len([s for s in args.preset.split(",") if s.strip()])
    if n > MAX_TASKS:
        raise FHRNInputError(f"the grid (--gamma x --seeds x ...) has {n} tasks; at most {MAX_TASKS} per sweep")
    if args.task == "train":
        for flag in ("kappa", "theta", "leak", "beta"):
            if getattr(args, flag) != _DEFAULTS[flag]:
                raise FHRNInputError(f"`--{flag}` needs --task ode")
        presets = [s.strip() for s in args.preset.split(",") if s.strip()]
        steps = None if args.steps is None else check_int("steps", args.steps, low=1)
        return train_grid(gammas, seeds, presets, steps=steps, metrics_seed=check_int("seed", args.seed, low=0))
    if args.steps is not None or args.preset != "quick":
        raise FHRNInputError("`--steps` and `--preset` need --task train")
    if args.seed != 0:
        raise FHRNInputError("`--seed` (the seed of a train task's metric inputs) needs --task train; "
                             "ODE tasks are seeded by --seeds")
    return ode_grid(gammas, seeds, kappa=_floats("--kappa", args.kappa), theta=_floats("--theta", args.theta),
                    leak=_floats("--leak", args.leak), beta=_floats("--beta", args.beta), operator=[args.wr],
                    dim=[check_int("dim", args.dim, low=1)], t1=[args.t1])


_DEFAULTS = {"kappa": "10", "theta": "1", "leak": "1", "beta": "0"}


def run(args: argparse.Namespace) -> int:
    from ..sweep import run_sweep

    tasks = build_tasks(args)
    # SIGINT/SIGTERM: the runner stops its workers, writes the manifest and raises
    # fhrn_ode._errors.Interrupted whose message says what is done and pending; main exits 130/143.
    m = run_sweep(tasks, args.out, engine=args.engine, workers=args.workers, address=args.address,
                  retries=args.retries, threads=args.threads, progress=not args.quiet,
                  dry_run=args.dry_run)
    keys = {t.key for t in tasks}
    mine = [r for r in m.records if r.key in keys]  # records of earlier, other grids never fail this run
    c = {s: sum(r.status == s for r in mine) for s in ("done", "failed", "pending", "running")}
    if args.json:
        emit_json(m.to_dict())
    else:
        other = len(m.records) - len(mine)
        print(f"fhrn-ode sweep: {c['done']} done, {c['failed']} failed, {c['pending']} pending; manifest {m.path}"
              + (f" (and {other} tasks of earlier grids)" if other else ""))
        for r in mine:
            if r.status == "failed":
                print(f"  FAILED {r.key} after {r.attempts} attempts: {(r.error or 'no error recorded').splitlines()[0]}")
    return 1 if c["failed"] else 0


# ---- `fhrn-ode sweep-report` on a `fhrn-ode sweep` folder or a bundle (registered in cli/metrics.py) ----

def add_seed_report_args(q) -> None:
    """Options of ``sweep-report`` for multi-seed sweeps."""
    q.add_argument("--bundle", default=None,
                   help="also write the small per-gain result files (gamma_*.json, no models) into this folder")
    q.add_argument("--check", default=None,
                   help="check.json of `fhrn-ode check SWEEP --out` (per-gain stability: a panel and stability.json)")
    q.add_argument("--delta", type=float, default=0.01,
                   help="validation-loss difference (nats) to resolve, for the seeds-needed estimate (default %(default)s)")
    q.add_argument("--bundled", default=None, choices=("quick", "paper"),
                   help="report the sweep bundled with fhrn-ode for this preset (default without SWEEP_DIR: quick)")
    q.add_argument("--preset", default=None,
                   help="report only this preset's tasks (required when the folder mixes presets)")


def is_seed_sweep(path) -> bool:
    """A ``fhrn-ode sweep`` folder (manifest.json / tasks/) or a bundle (gamma_*.json)."""
    from pathlib import Path

    p = Path(path)
    return (p / "manifest.json").is_file() or (p / "tasks").is_dir() or any(p.glob("gamma_*.json"))


#: Shape of the per-gain stability rows (``check.json`` of ``fhrn-ode check SWEEP``, ``stability.json``).
STABILITY_SPEC = {"per_gain": [{"gamma": float, "n": int, "fraction_stable_mean": float,
                                "fraction_stable_sem": (float, type(None)), "spectral_abscissa_values": [float],
                                "seeds_leaving": list}]}


def _load_stability(args, folder):
    from pathlib import Path

    from .._io import read_typed
    from ..sweep import STABILITY_NAME

    path = Path(args.check) if args.check else Path(folder) / STABILITY_NAME
    if args.check is None and not path.exists():
        return None
    try:
        return read_typed(path, "`--check`" if args.check else "stability", STABILITY_SPEC)["per_gain"]
    except FHRNInputError as exc:
        if "per_gain" not in str(exc):
            raise
        raise FHRNInputError(f"{exc} (write one with `fhrn-ode check SWEEP --out DIR` on a `fhrn-ode sweep` "
                             f"folder)") from None


def run_seed_report(args: argparse.Namespace) -> int:
    from ._common import check_out_dir
    from .._errors import check_real
    from .._io import atomic_savefig, atomic_write_json
    from ..analysis.sweeps import load_seed_results, seed_sweep_report
    from ..sweep import bundled_sweep_path, write_bundle

    bundled = getattr(args, "bundled", None)
    if bundled is not None and args.sweep_dir is not None:
        raise FHRNInputError(f"give either a sweep folder ({args.sweep_dir!r}) or --bundled {bundled}, not both")
    folder = args.sweep_dir if args.sweep_dir is not None else bundled_sweep_path(bundled or "quick")
    delta = check_real("--delta", args.delta, low=1e-9, high=1e3)
    out = check_out_dir(args.out) if args.out is not None else None
    bundle = check_out_dir(args.bundle, flag="--bundle") if args.bundle is not None else None
    if _ode_only(folder):
        return _ode_report(args, folder)
    stability = _load_stability(args, folder)
    rep = seed_sweep_report(load_seed_results(folder), delta=delta, preset=args.preset)
    obj = {**rep.to_dict(), "stability": stability, "source": str(folder)}
    written = []
    if bundle is not None:
        written += write_bundle(folder, bundle, stability=stability)
    if out is not None:
        from ..figures.sweep import plot_seed_sweep

        written.append(atomic_write_json(out / "sweep_report.json", obj))
        fig = plot_seed_sweep(rep.rows, stability, paired=rep.paired)
        written.append(atomic_savefig(fig, out / "sweep.png", dpi=120))
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        emit_json(obj)
        return 0
    print(seed_report_text(obj))
    if written:
        print("wrote " + ", ".join(str(w) for w in written))
    return 0


def _ode_only(folder) -> bool:
    """An ODE sweep: finished ODE tasks and no train task nor bundle file."""
    from pathlib import Path

    from ..analysis.ode_sweeps import load_ode_results

    root = Path(folder)
    if not root.is_dir() or any(root.glob("gamma_*.json")):
        return False
    return bool(load_ode_results(root)) and not any(
        '"kind": "train"' in p.read_text(errors="replace")[:400] for p in root.glob("tasks/*/result.json"))


def _ode_report(args: argparse.Namespace, folder) -> int:
    """``sweep-report`` of an ODE sweep: the per-parameter-set table (``analysis.ode_sweeps``)."""
    from .._io import atomic_write_json
    from ..analysis.ode_sweeps import load_ode_results, ode_sweep_table
    from ._common import check_out_dir

    for flag, v in (("--check", args.check), ("--bundle", args.bundle)):
        if v is not None:
            raise FHRNInputError(f"`{flag}` applies to a sweep of train tasks; {str(folder)!r} is an ODE sweep")
    rows = ode_sweep_table(load_ode_results(folder))
    obj = {"kind": "ode", "source": str(folder), "rows": rows}
    written = []
    if args.out is not None:
        written.append(atomic_write_json(check_out_dir(args.out) / "sweep_report.json", obj))
    if args.json:
        emit_json(obj)
        return 0
    lines = [f"ODE sweep {folder}: {len(rows)} parameter set(s), mean ± SE over seeds",
             "| operator | d | gamma | kappa | theta | leak | beta | t1 | seeds | status | final |y| | "
             "max abscissa at the end | mean nfe |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        sem = "" if r["final_radius_mean_sem"] is None else f" ± {r['final_radius_mean_sem']:.2g}"
        rad = "n/a" if r["final_radius_mean_mean"] is None else f"{r['final_radius_mean_mean']:.4g}{sem}"
        rho = "n/a" if r["spectral_abscissa_final_max"] is None else f"{r['spectral_abscissa_final_max']:.3g}"
        st = ", ".join(f"{k} {v}" for k, v in r["statuses"].items())
        lines.append(f"| {r['operator']} | {r['dim']} | {r['gamma']:g} | {r['kappa']:g} | {r['theta']:g} | "
                     f"{r['leak']:g} | {r['beta']:g} | {r['t1']:g} | {r['n']} | {st} | {rad} | {rho} | "
                     f"{r['nfe_mean']:.0f} |")
    print("\n".join(lines))
    if written:
        print("wrote " + ", ".join(str(w) for w in written))
    return 0


def seed_report_text(obj: dict) -> str:
    """The table, the seed budget, the tests and the claims of a seed-sweep report (markdown-friendly)."""
    def pm(r, k, f=".4f"):
        m, s = r[f"{k}_mean"], r[f"{k}_sem"]
        return "n/a" if m is None else (f"{m:{f}} ± {s:{f}}" if s is not None else f"{m:{f}}")

    lines = ["| gamma | seeds | val loss (nats/byte) | IRR | ESRI | RDP peak f | RDP strength | |W_r|_2 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in obj["rows"]:
        lines.append(f"| {r['gamma']:.2f} | {r['n']} | {pm(r, 'val_loss')} | {pm(r, 'irr', '.3f')} | "
                     f"{pm(r, 'esri', '.4f')} | {pm(r, 'rdp_frequency', '.3f')} | {pm(r, 'rdp_strength', '.2f')} | "
                     f"{pm(r, 'wr_spectral_norm', '.2f')} |")
    v = obj["variance"]
    if v["pooled_std"] is not None:
        lines.append(f"\nseed-to-seed std of the val loss: {v['pooled_std']:.4f} nats (pooled, {v['pooled_dof']} dof; "
                     f"at gamma=0: {v['std_at_gamma0'] if v['std_at_gamma0'] is None else round(v['std_at_gamma0'], 4)} "
                     f"over {v['n_at_gamma0']} seeds); seeds per gain to resolve {v['delta']} nats "
                     f"(alpha {v['alpha']}, power {v['power']}): {v['seeds_needed']} (one comparison), "
                     f"{v['seeds_needed_bonferroni']} (Bonferroni over {v['comparisons']} gains)")
    lines.append("\nWelch t-tests of the val loss against gamma = 0 (diff = mean(gamma) - mean(0); Bonferroni-corrected p):")
    def test_line(t: dict, groups: str) -> str:
        p = "n/a (needs >= 2 seeds)" if t["p"] is None else f"p = {t['p']:.3g}, p_bonf = {t['p_bonferroni']:.3g}"
        se = "" if t["diff_sem"] is None else f" ± {t['diff_sem']:.4f}"
        diff = "n/a" if t["diff"] is None else f"{t['diff']:+.4f}{se} nats"
        return f"  gamma={t['gamma']}: diff {diff} ({groups}): {p}"

    lines += [test_line(t, f"n={t['n']} vs {t['n0']}") for t in obj["tests"]]
    if obj.get("paired"):
        if v.get("seed_effect_std") is not None:
            lines.append(f"\nthe seed is a block (same init and batch order at every gain): seed effect std "
                         f"{v['seed_effect_std']:.4f} nats vs residual std {v['residual_std']:.4f} over "
                         f"{v['n_complete_seeds']} seeds with every gain")
        if v.get("paired_std") is not None:
            lines.append(f"std of the per-seed differences from gamma = 0: {v['paired_std']:.4f} nats ({v['paired_dof']} dof); "
                         f"seeds to resolve {v['delta']} nats paired: {v['seeds_needed_paired']} (one comparison), "
                         f"{v['seeds_needed_paired_bonferroni']} (Bonferroni)")
        lines.append("paired t-tests (per seed: val loss at gamma minus val loss at 0; band: mean over 0.10-0.20):")
        lines += [test_line(t, f"{t['n']} seeds") for t in obj["paired"]]
    if obj.get("friedman"):
        f = obj["friedman"]
        lines.append(f"Friedman test of no difference between the {len(f['gammas'])} gains ({len(f['seeds'])} seeds): "
                     f"chi2 = {f['statistic']:.3g}, p = {f['p']:.3g}; mean rank (1 = lowest loss) "
                     + ", ".join(f"{g:g}: {r:.2f}" for g, r in zip(f["gammas"], f["mean_rank"])))
    if obj.get("stability"):
        op = obj["stability"][0].get("operator", "-I + gamma g(|y|) W*")  # rows before the operator key: the paper's
        lines.append(f"\nstability under {op} (fraction of contexts stable, mean ± SE over seeds):")
        for g in obj["stability"]:
            s = "" if g["fraction_stable_sem"] is None else f" ± {100 * g['fraction_stable_sem']:.1f}"
            lines.append(f"  gamma={g['gamma']:g}: {100 * g['fraction_stable_mean']:.1f}{s}% over {g['n']} seeds; "
                         f"max spectral abscissa {max(g['spectral_abscissa_values']):.3g}; seeds leaving the stable "
                         f"region: {g['seeds_leaving'] or 'none'}")
    word = {True: "AGREE", False: "DISAGREE", None: "NOT RESOLVED"}
    lines.append("\npaper claim vs ours:")
    lines += [f"  [{word[c['agree']]}] {c['paper']}: {c['ours']}" for c in obj["comparison"]]
    return "\n".join(lines)
