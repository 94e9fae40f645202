"""``fhrn-ode figures``: the continuous paper's Figs. 2-4 (PNG + PDF) and manifest.json."""

from __future__ import annotations

import argparse

from ._common import add_seed_arg, check_out_dir, emit_json

PANELS = ("fig2a", "fig2b", "fig2c", "fig2d", "fig3a", "fig3b", "fig4a", "fig4b", "fig4_exact")


def register(sub) -> None:
    p = sub.add_parser("figures", help="reproduce the continuous paper's Figs. 2-4",
                       description="Write fig2a..fig4b as PNG + PDF and manifest.json (parameters, captions, "
                                   "key numbers). Parameter values are our choice: the paper gives none.")
    p.add_argument("--only", default=None, help=f"comma-separated panels among {','.join(PANELS)} (default all)")
    p.add_argument("--out", default="runs/figures", help="output folder (default %(default)s)")
    p.add_argument("--resolution", type=int, default=60, help="grid points per axis, >= 8 (default %(default)s)")
    add_seed_arg(p)
    p.add_argument("--json", action="store_true", help="print manifest.json to stdout (and nothing else)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar / progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .._errors import FHRNInputError, check_int
    from ..figures.paper import make_figures

    from .._limits import check_sizes, figures_cost

    res = check_int("--resolution", args.resolution, low=8)
    check_int("--seed", args.seed, low=0)
    check_sizes(figures_cost, [("--resolution", res, 8)], what="the panels' grids")
    out = check_out_dir(args.out)
    only = None
    if args.only is not None:
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        if not only:
            raise FHRNInputError(f"`--only` must name panels among {','.join(PANELS)}, got {args.only!r}")
    manifest = make_figures(out, only=only, resolution=res, seed=args.seed, progress=not args.no_progress)
    if args.json:
        emit_json(manifest)
    else:
        for name, m in manifest["figures"].items():
            print(f"{name}: {', '.join(str(out / f) for f in m['files'])}")
        print(f"manifest: {out / 'manifest.json'}")
    return 0
