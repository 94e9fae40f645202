"""``fhrn-ode linearize``: J_H and W* = J_H W_r of a trained checkpoint over many contexts (docs/model.md §5).

Its ``.npz`` is one of the ``--wr`` forms of the ODE commands (:func:`fhrn_ode._wr.resolve_wr`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ._common import flag_names, add_seed_arg, emit_json
from .._errors import FHRNInputError, check_int
from .._io import atomic_save_npz
from ..linearize import JAC_METHODS, SCOPES, linearize_checkpoint, resolve_checkpoint


def add_context_args(p: argparse.ArgumentParser, default_contexts: int) -> None:
    p.add_argument("--contexts", type=int, default=default_contexts,
                   help="contexts (sequence, position) per layer, from random bytes (default %(default)s)")
    p.add_argument("--seq-len", type=int, default=None, help="length of the random byte sequences (default: the model's context)")
    add_seed_arg(p)


def register(sub) -> None:
    p = sub.add_parser("linearize", help="effective reentry operator W* = J_H W_r of a trained checkpoint",
                       description="J_H = dy_t/dx_t at x_t = h_t with the fast-weight state and noise held fixed "
                                   "(C 3-5), W* = J_H W_r, for every FH-RL layer over many contexts.")
    p.add_argument("ckpt", nargs="?", default=None, help="checkpoint folder, or `reference` (default: the bundled reference model)")
    p.add_argument("--layer", type=int, default=None, help="only this FH-RL layer (default: all)")
    p.add_argument("--scope", choices=SCOPES, default="layer", help="what H is (default %(default)s; see README)")
    p.add_argument("--method", choices=JAC_METHODS, default="jacrev", help="torch.func mode (default %(default)s)")
    add_context_args(p, 64)
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (and nothing else)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.is_dir():
        raise FHRNInputError(f"`--out` {str(out)!r} is a directory; give a .npz file name")
    check_int("--contexts", args.contexts, low=1, high=10000)
    ckpt = resolve_checkpoint(args.ckpt)
    with flag_names(layers="--layer", seq_len="--seq-len"):
        lin = linearize_checkpoint(ckpt, layers=None if args.layer is None else (args.layer,), contexts=args.contexts,
                                   seq_len=args.seq_len, seed=args.seed, scope=args.scope, method=args.method)
    atomic_save_npz(out, **lin.arrays(), checkpoint=np.str_(str(ckpt)))
    err = np.abs(lin.W_star - lin.J_H @ lin.W_r[np.searchsorted(np.asarray(lin.layers), lin.layer)]).max()
    summary = {"checkpoint": str(ckpt), "out": str(out), "scope": lin.scope, "method": lin.method,
               "layers": list(lin.layers), "n_contexts": int(lin.layer.size), "dim": int(lin.W_star.shape[-1]),
               "gamma": lin.gamma, "beta": lin.beta, "seed": lin.seed,
               "radius_median": float(np.median(lin.radius)),
               "w_star_norm2_median": float(np.median(np.linalg.svd(lin.W_star, compute_uv=False)[:, 0])),
               "j_h_norm2_median": float(np.median(np.linalg.svd(lin.J_H, compute_uv=False)[:, 0])),
               "w_star_minus_jh_wr_max": float(err)}
    if args.json:
        emit_json(summary)
    else:
        print(f"fhrn-ode linearize: {summary['n_contexts']} contexts over layers {summary['layers']} of {ckpt} "
              f"(gamma={lin.gamma:g}, beta={lin.beta:g})\n"
              f"  median |y| {summary['radius_median']:.4g}, median |J_H|_2 {summary['j_h_norm2_median']:.4g}, "
              f"median |W*|_2 {summary['w_star_norm2_median']:.4g}\n  wrote {out}")
    return 0
