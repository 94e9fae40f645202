"""Shared pieces of the dynamics commands (fixed-points, exponents, cycles, bifurcation, continue).

A user's own field: :func:`add_field_args` adds ``--field MODULE:CLASS | FILE.py:CLASS`` and repeated
``--param NAME=VALUE``; :func:`user_field` builds it (``fhrn_ode._loaders.build_user_field``: this imports
and runs the user's code) and refuses the FHRN model flags next to it (they would be ignored).
"""

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


FIELD_HELP = ("your own field instead of the FHRN field: an nn.Module class with forward(t, y) (and a `dim` "
              "attribute, or give --dim), as MODULE:CLASS (importable) or FILE.py:CLASS; this IMPORTS AND RUNS "
              "that code. Constructor arguments: --param NAME=VALUE (repeatable; Python literals)")
PARAM_HELP = "a constructor argument of the --field class, NAME=VALUE (repeatable; the value is a Python literal)"

#: FHRN model flags that have no meaning with ``--field`` (refused, not ignored).
_FHRN_ONLY = ("gamma", "kappa", "theta", "leak", "beta", "drive", "memory", "lam", "eta", "wr_scale")


def add_field_args(p: argparse.ArgumentParser, *, param: bool = True) -> None:
    """``--field SPEC`` and (``param=True``) repeated ``--param NAME=VALUE`` for a user's own field."""
    g = p.add_argument_group("your own field (imports and runs your code)")
    g.add_argument("--field", default=None, metavar="MODULE:CLASS|FILE.py:CLASS", help=FIELD_HELP)
    if param:
        g.add_argument("--param", action="append", default=None, metavar="NAME=VALUE", dest="field_param",
                       help=PARAM_HELP)


def user_field(args: argparse.Namespace, params=None):
    """``(field, header)`` for ``--field`` (None when it is not given).

    Args:
        args: parsed flags with ``field`` (and ``field_param``, the ``--param`` strings).
        params: constructor keywords to use instead of ``--param`` (bifurcation adds the swept one).

    Returns:
        ``None``, or ``(module, header)`` with ``header = {"field": spec, "field_params": {...}, "dim": n}``.

    Raises:
        FHRNInputError: FHRN model flags or a non-default ``--wr`` given with ``--field``, or whatever
            :func:`fhrn_ode._loaders.build_user_field` refuses.
    """
    spec = getattr(args, "field", None)
    if spec is None:
        if getattr(args, "field_param", None):
            from .._errors import FHRNInputError

            raise FHRNInputError("`--param` NAME=VALUE sets a constructor argument of a --field class; give --field")
        return None
    _refuse_fhrn_flags(args)
    from .._loaders import build_user_field, parse_field_params

    kw = parse_field_params(getattr(args, "field_param", None)) if params is None else params
    field = build_user_field(spec, kw)
    dim = getattr(args, "dim", None) or getattr(field, "dim", None)
    return field, {"field": str(spec), "field_params": kw, "dim": None if dim is None else int(dim)}


def field_and_header(args: argparse.Namespace, *, slots: bool = True) -> tuple:
    """``(field, header, dim)``: the ``--field`` class or the FHRN field of the flags (:func:`fhrn_field`),
    its JSON header, and the ``dim`` to hand the tools (the user's ``--dim`` for ``--field``, else None)."""
    uf = user_field(args)
    if uf is not None:
        return uf[0], uf[1], uf[1]["dim"]
    name, W, params, field = fhrn_field(args, slots=slots)
    return field, header(name, W, params, getattr(args, "_param_sources", None)), None


def sweep_family(args: argparse.Namespace, fhrn_params: tuple, values: list) -> tuple:
    """``(swept name, make_field, header, dim)`` for ``bifurcation``: ``--param`` holds the swept NAME
    (one of ``fhrn_params`` for the FHRN field, any constructor keyword with ``--field``) and, with
    ``--field``, NAME=VALUE constructor arguments.

    Raises:
        FHRNInputError: no or several swept names, an unknown FHRN parameter, NAME=VALUE without
            ``--field``, or a range value the FHRN parameters refuse.
    """
    import difflib

    from .._errors import FHRNInputError
    from .._loaders import parse_field_params

    items = list(args.param or [])
    swept = [i for i in items if "=" not in i]
    fixed = [i for i in items if "=" in i]
    if len(swept) != 1:
        raise FHRNInputError(f"`--param` must name exactly one swept parameter (a NAME without =), got "
                             f"{swept or 'none'}")
    name = swept[0]
    if args.field is not None:
        kw = parse_field_params(fixed)
        first = user_field(args, {**kw, name: values[0]})  # builds once: import and constructor checked now
        head = {**first[1], "field_params": kw}
        return name, (lambda p: user_field(args, {**kw, name: float(p)})[0]), head, first[1]["dim"]
    if fixed:
        raise FHRNInputError(f"`--param` {fixed[0]}: NAME=VALUE sets a constructor argument of a --field class; "
                             f"give --field")
    if name not in fhrn_params:
        close = difflib.get_close_matches(name, fhrn_params, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise FHRNInputError(f"`--param` {name!r} is not an FHRN parameter (choose from {', '.join(fhrn_params)})"
                             f"{hint}")
    from ..dynamics.bifurcation import fhrn_family

    n, W, params, _ = fhrn_field(args, slots=False)
    if name != "wr_scale":
        for v in (values[0], values[-1]):  # the range's ends must be allowed values (e.g. kappa >= 0)
            try:
                params.replace(**{name: v})
            except FHRNInputError as exc:  # the user typed --range, not --<param>: name it
                raise FHRNInputError(f"`--range` {args.range!r} reaches {name} = {v:g}, which is not allowed "
                                     f"({str(exc).replace('`', '')})") from None
    return name, fhrn_family(W, params, name), header(n, W, params, getattr(args, "_param_sources", None)), None


def _refuse_fhrn_flags(args: argparse.Namespace) -> None:
    from .._errors import FHRNInputError

    given = [f"--{n.replace('_', '-')}" for n in _FHRN_ONLY if getattr(args, n, None) is not None]
    if getattr(args, "wr", "antisym") != "antisym":
        given.insert(0, "--wr")
    if getattr(args, "system", "fhrn") != "fhrn":
        given.insert(0, "--system")
    if given:
        raise FHRNInputError(f"{', '.join(given)} set(s) the FHRN field; with --field your class is the field "
                             f"(pass its arguments with --param NAME=VALUE)")


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
