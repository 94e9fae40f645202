"""Shared pieces of the dynamics commands (fixed-points, exponents, cycles, bifurcation)."""

from __future__ import annotations

import argparse

from ._common import add_model_args, add_operator_args, add_seed_arg


def add_fhrn_args(p: argparse.ArgumentParser) -> None:
    """``--wr`` (resolved as ``integrate`` does, trained W* included), model flags and ``--seed``."""
    add_operator_args(p, extra=", or a trained W*: CKPT[:layer[:context]], reference[:layer], a linearize .npz")
    add_model_args(p)
    add_seed_arg(p)


#: Default ``--max-nfe`` of cycles, exponents and bifurcation (field evaluations per call; per value for bifurcation).
DEFAULT_MAX_NFE = 1_000_000


def add_budget_arg(g, default: int = DEFAULT_MAX_NFE, what: str = "the whole run") -> None:
    """``--max-nfe``: the evaluation budget (a stiff field ends with a message naming it instead of hanging)."""
    g.add_argument("--max-nfe", type=int, default=default, metavar="N",
                   help=f"most field evaluations for {what}; past it the run stops with a message naming the "
                        "budget (default %(default)s)")


def add_output_args(p: argparse.ArgumentParser, out: str, plot: bool = True) -> None:
    o = p.add_argument_group("output")
    o.add_argument("--out", default=out, help="output folder (default %(default)s)")
    o.add_argument("--json", action="store_true", help="print the result JSON to stdout (and nothing else)")
    if plot:
        o.add_argument("--no-plot", action="store_true", help="do not write the figure")


def fhrn_field(args: argparse.Namespace, *, slots: bool = True):
    """``(name, W, params, field)`` from the parsed flags (imports torch).

    ``--wr`` is resolved as in ``integrate``: a trained W* brings its gamma and beta as defaults (flags
    given still win); :func:`header` reports where each value came from (``param_sources``). With
    ``--memory slots`` the field is the flat attractor-slot field (``SlotFHRNField(...).flat()``,
    docs/companions.md); ``slots=False`` refuses it.
    """
    from ..field import FHRNField
    from ._common import field_from_args, param_sources, params_from_args, resolve_wr_args, uses_slots

    op = resolve_wr_args(args)
    params = params_from_args(args, op)
    args._param_sources = param_sources(args, op)
    if uses_slots(args):
        if not slots:
            from .._errors import FHRNInputError

            raise FHRNInputError("`--memory` slots is not supported by this command (integrate, fixed-points, "
                                 "cycles and exponents take it)")
        return op.name, op.W, params, field_from_args(op.W, args, op).flat()
    return op.name, op.W, params, FHRNField(op.W, params)


def header(name, W, params, sources: dict | None = None) -> dict:
    from ..operators import operator_info

    info = operator_info(W, name).to_dict()
    out = {"operator": {k: v for k, v in info.items() if k != "dim"}, "dim": int(W.shape[0]), "params": params.to_dict()}
    if sources is not None:
        out["param_sources"] = sources
    return out


def save_figure(fig, path):
    import matplotlib.pyplot as plt

    from .._io import atomic_savefig

    out = atomic_savefig(fig, path)
    plt.close(fig)
    return out
