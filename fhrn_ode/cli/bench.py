"""``fhrn-ode bench``: time our implementations against baselines measured in the same run."""

from __future__ import annotations

import sys

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
    add_seed_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.seed < 0:
        raise FHRNInputError(f"`--seed` must be >= 0, got {args.seed}")
    if args.only is not None and not args.only.strip():
        raise FHRNInputError("`--only` must be a non-empty substring")
    from ..bench import harness
    from ..bench.harness import collect_cases, format_table, run_cases

    modules = harness.CASE_MODULES if CASE_MODULES is None else CASE_MODULES
    cases, skipped = collect_cases(args.quick, modules, seed=args.seed)
    rows = run_cases(cases, only=args.only, seed=args.seed)
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
