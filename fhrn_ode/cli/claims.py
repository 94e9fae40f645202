"""``fhrn-ode claims``: every claim of the continuous paper checked by a computation."""

from __future__ import annotations

import argparse

from ._common import check_out_dir, emit_json


def register(sub) -> None:
    p = sub.add_parser("claims", help="the claims report (Markdown + JSON + figure)",
                       description="Check each claim of the continuous paper by a computation and write "
                                   "claims.md, claims.json and claims.png/.pdf.")
    p.add_argument("--out", default="runs/claims", help="output folder (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="coarser grids (seconds faster; same verdicts)")
    p.add_argument("--json", action="store_true", help="print claims.json on stdout (and nothing else)")
    p.add_argument("--no-plot", action="store_true", help="do not draw or write claims.png/.pdf")
    p.add_argument("--no-progress", action="store_true", help="no progress bar / progress lines on stderr")
    p.add_argument("--seed", type=int, default=0, help="torch/numpy seed (the checks use fixed operator seeds) (default %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = check_out_dir(args.out)
    import torch

    from .._io import atomic_savefig, atomic_write_json, atomic_write_text
    from ..analysis.claims import check_claims
    from ..figures.claims import plot_claims

    torch.manual_seed(args.seed)
    from .._progress import Progress
    from ..analysis.claims import n_claim_checks

    with Progress(n_claim_checks(), "claims", unit="check", enabled=not args.no_progress) as bar:
        report = check_claims(quick=args.quick, progress=bar.update)
    files = [atomic_write_text(out / "claims.md", report.to_markdown()),
             atomic_write_json(out / "claims.json", report.to_dict())]
    if not args.no_plot:
        import matplotlib.pyplot as plt

        fig = plot_claims(report)
        files += [atomic_savefig(fig, out / "claims.png"), atomic_savefig(fig, out / "claims.pdf")]
        plt.close(fig)
    if args.json:
        emit_json(report.to_dict())
        return 0
    print(f"fhrn-ode claims: {len(report.claims)} claims: " + ", ".join(f"{v} {k}" for k, v in report.counts.items()))
    for c in report.claims:
        print(f"  {c.verdict.replace('_', ' '):>24}  {c.id}: {c.finding}")
    print(f"  symbolic checks: {report.symbolic['counts']}")
    print("  wrote " + ", ".join(str(f) for f in files))
    return 0
