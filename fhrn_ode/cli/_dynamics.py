"""Shared pieces of the dynamics commands (fixed-points, exponents, cycles, bifurcation)."""

from __future__ import annotations

import argparse

from ._common import add_model_args, add_operator_args, add_seed_arg


def add_fhrn_args(p: argparse.ArgumentParser) -> None:
    """``--wr`` (resolved as ``integrate`` does, trained W* included), model flags and ``--seed``."""
    add_operator_args(p, extra=", or a trained W*: CKPT[:layer[:context]], reference[:layer], a linearize .npz")
    add_model_args(p)
    add_seed_arg(p)


def add_output_args(p: argparse.ArgumentParser, out: str, plot: bool = True) -> None:
    o = p.add_argument_group("output")
    o.add_argument("--out", default=out, help="output folder (default %(default)s)")
    o.add_argument("--json", action="store_true", help="print the result JSON to stdout (and nothing else)")
    if plot:
        o.add_argument("--no-plot", action="store_true", help="do not write the figure")


def fhrn_field(args: argparse.Namespace, *, slots: bool = True):
    """``(name, W, params, FHRNField)`` from the parsed flags (imports torch). With ``--memory slots`` the field is
    the flat attractor-slot field (``SlotFHRNField(...).flat()``, docs/companions.md); ``slots=False`` refuses it."""
    from ..field import FHRNField
    from .integrate import resolve_wr
    from ._common import field_from_args, params_from_args, uses_slots

    params = params_from_args(args)
    name, W = resolve_wr(args.wr, args.dim, args.seed, args.wr_scale)
    if uses_slots(args):
        if not slots:
            from .._errors import FHRNInputError

            raise FHRNInputError("`--memory` slots is not supported by this command (integrate, fixed-points, "
                                 "cycles and exponents take it)")
        return name, W, params, field_from_args(W, args).flat()
    return name, W, params, FHRNField(W, params)


def header(name, W, params) -> dict:
    from ..operators import operator_info

    info = operator_info(W, name).to_dict()
    return {"operator": {k: v for k, v in info.items() if k != "dim"}, "dim": int(W.shape[0]), "params": params.to_dict()}


def save_figure(fig, path):
    import matplotlib.pyplot as plt

    from .._io import atomic_savefig

    out = atomic_savefig(fig, path)
    plt.close(fig)
    return out
