"""``fhrn-ode bench``: time our implementations against baselines measured in the same run."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from ..bench.harness import CASE_MODULES, collect_cases, format_table, run_cases
from ._common import add_seed_arg, emit_json
from .._errors import FHRNInputError


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark our code against baselines (speedups and errors)",
                       description="Run the benchmark cases (fhrn_ode/bench/*.py): each times ours against a "
                                   "baseline measured in the same run (best of k after a warm-up) and reports "
                                   "the speedup and an accuracy figure.")
    p.add_argument("--quick", action="store_true", help="small problem sizes (seconds instead of minutes)")
    p.add_argument("--only", metavar="SUBSTR", default=None,
                   help="run only the cases whose label (e.g. integrate/d2_n4096) contains SUBSTR; "
                        "if no label does, keep only the rows whose name contains it")
    p.add_argument("--json", action="store_true",
                   help="print only a JSON list of rows {name, ours_s, baseline, baseline_s, speedup, max_abs_err, ...}")
    p.add_argument("--plot", metavar="PNG", default=None,
                   help="also draw the scaling figure (seconds vs N and vs d, log-log) from this run's rows into "
                        "PNG, and write the rows as JSON next to it (PNG with the suffix .json)")
    p.add_argument("--from-json", metavar="JSON", dest="from_json", default=None,
                   help="with --plot: draw from the rows of an earlier run (a JSON file written by --plot or "
                        "--json) instead of running the cases")
    add_seed_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.seed < 0:
        raise FHRNInputError(f"`--seed` must be >= 0, got {args.seed}")
    if args.only is not None and not args.only.strip():
        raise FHRNInputError("`--only` must be a non-empty substring")
    if args.from_json is not None and args.plot is None:
        raise FHRNInputError("`--from-json` only applies with `--plot`")
    plot = None
    if args.plot is not None:
        plot = Path(args.plot)
        if plot.suffix.lower() != ".png":
            raise FHRNInputError(f"`--plot` must name a .png file, got {args.plot!r}")
        if plot.exists() and plot.is_dir():
            raise FHRNInputError(f"`--plot` {args.plot!r} is a directory")
        if not plot.parent.is_dir():
            raise FHRNInputError(f"`--plot`: the folder {str(plot.parent)!r} does not exist")
    if args.from_json is not None:
        rows = _read_rows(args.from_json)
        skipped = []
    else:
        cases, skipped = collect_cases(args.quick, CASE_MODULES, seed=args.seed)
        rows = run_cases(cases, only=args.only, seed=args.seed)
    if plot is not None:
        from ..figures.bench import plot_bench_scaling
        from .._io import atomic_savefig, atomic_write_json

        fig = plot_bench_scaling(rows, note=f"{platform.node()}: {os.cpu_count()} CPUs, torch "
                                            f"{torch_version()}, {time.strftime('%Y-%m-%d %H:%M')}")
        if args.from_json is None:
            atomic_write_json(plot.with_suffix(".json"), rows)
        atomic_savefig(fig, plot)
    failed = [r for r in rows if r.get("error")]
    if args.json:
        emit_json(rows)
    else:
        if skipped:
            print(f"(skipped, not present: {', '.join(skipped)})")
        print(format_table(rows) if rows else "no benchmark rows (check --only)")
    for r in failed:
        print(f"fhrn-ode bench: case {r['name']} failed: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def torch_version() -> str:
    import torch

    return torch.__version__


def _read_rows(path: str) -> list[dict]:
    try:
        rows = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FHRNInputError(f"`--from-json` {path!r} cannot be read as JSON: {type(exc).__name__}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise FHRNInputError(f"`--from-json` {path!r} is not a list of bench rows")
    return rows
