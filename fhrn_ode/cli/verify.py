"""``fhrn-ode verify``: the sympy checks of the paper's identities and inequalities."""

from __future__ import annotations

import argparse
import textwrap

from ._common import emit_json


def register(sub) -> None:
    p = sub.add_parser("verify", help="symbolic (sympy) checks of the paper's equations",
                       description="Derive the Jacobian, dV/dt and the Oja derivation with sympy and check every "
                                   "printed identity or inequality: holds / holds under conditions / does not hold.")
    p.add_argument("--json", action="store_true", help="print the report as JSON (and nothing else)")
    p.add_argument("--seed", type=int, default=0, help="accepted for uniformity; the checks are exact (default %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.symbolic import verify_all

    report = verify_all()
    if args.json:
        emit_json(report.to_dict())
        return 0
    print(f"fhrn-ode verify: {len(report.checks)} checks: " + ", ".join(f"{v} {k}" for k, v in report.counts.items()))
    for c in report.checks:
        cond = f" [if {c.condition}]" if c.condition else ""
        print(f"\n{c.verdict.upper():>24}  {c.id} ({c.ref}){cond}\n" + textwrap.indent(
            textwrap.fill(f"claim: {c.statement}", 100) + "\n" + textwrap.fill(f"why: {c.evidence}", 100), " " * 26))
    return 0
