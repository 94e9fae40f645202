"""``fhrn-ode bench``: time our implementations against baselines measured in the same run."""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

from ._common import add_seed_arg, emit_json
from .._errors import FHRNInputError

#: The case modules to run; None: fhrn_ode.bench.harness.CASE_MODULES (imported only when bench runs).
CASE_MODULES: tuple[str, ...] | None = None


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
        from ._common import check_out_file

        check_out_file(plot, flag="--plot")  # unwritable: refused now, not after the benchmark ran
    if args.from_json is not None:
        rows = _read_rows(args.from_json)
        skipped = []
    else:
        from ..bench import harness
        from ..bench.harness import collect_cases, run_cases

        modules = harness.CASE_MODULES if CASE_MODULES is None else CASE_MODULES
        cases, skipped = collect_cases(args.quick, modules, seed=args.seed)
        rows = run_cases(cases, only=args.only, seed=args.seed)
    if plot is not None:
        from ..figures.bench import plot_bench_scaling
        from .._io import atomic_savefig, atomic_write_json

        if args.from_json is None:
            note = (f"{platform.node()}: {os.cpu_count()} CPUs, torch {torch_version()}, "
                    f"{time.strftime('%Y-%m-%d %H:%M')}")
        else:  # the rows do not record their machine: say where they come from, not where they are redrawn
            src = Path(args.from_json)
            note = f"redrawn from {src.name} (written {time.strftime('%Y-%m-%d %H:%M', time.localtime(src.stat().st_mtime))})"
        fig = plot_bench_scaling(rows, note=note)
        if args.from_json is None:
            atomic_write_json(plot.with_suffix(".json"), rows)
        atomic_savefig(fig, plot)
    failed = [r for r in rows if r.get("error")]
    if args.json:
        emit_json(rows)
    else:
        if skipped:
            print(f"(skipped, not present: {', '.join(skipped)})")
        from ..bench.harness import format_table

        print(format_table(rows) if rows else "no benchmark rows (check --only)")
    for r in failed:
        print(f"fhrn-ode bench: case {r['name']} failed: {r['error']}", file=sys.stderr)
    return 1 if failed else 0


def torch_version() -> str:
    import torch

    return torch.__version__


def _read_rows(path: str) -> list[dict]:
    from .._io import read_typed

    num = (float, type(None))
    spec = [{"name": str, "ours_s?": num, "baseline_s?": num, "speedup?": num, "max_abs_err?": num,
             "matmul_floor_s?": num, "t1?": num, "device?": str, "error?": (str, type(None))}]
    return read_typed(path, "`--from-json`", spec)  # a row of the wrong shape: one line naming row and key
