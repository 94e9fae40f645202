"""Argument groups and helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._errors import FHRNInputError
from .._io import to_jsonable
from ..params import MEMORY_KINDS, FHRNParams

_DEFAULTS = FHRNParams()

#: ``--memory`` values: the FHRNParams memory kinds plus ``fast-weights`` (alias of ``hebbian``) and ``slots``
#: (the attractor-slot field :class:`fhrn_ode.slots.SlotFHRNField`; FHRNParams.memory is then ``'none'``).
MEMORY_FLAGS = MEMORY_KINDS + ("fast-weights", "slots")
MEMORY_ALIASES = {"fast-weights": "hebbian", "slots": "none"}


def add_model_args(p: argparse.ArgumentParser, *, memory: bool = True) -> None:
    """Add the FHRN model parameters (``FHRNParams``) as options."""
    g = p.add_argument_group("model (docs/model.md §1)")
    g.add_argument("--gamma", type=float, default=_DEFAULTS.gamma, help="reentry gain gamma >= 0 (default %(default)s)")
    g.add_argument("--kappa", type=float, default=_DEFAULTS.kappa, help="homeostatic strength kappa >= 0 (default %(default)s)")
    g.add_argument("--theta", type=float, default=_DEFAULTS.theta, help="homeostatic set-point radius (default %(default)s)")
    g.add_argument("--leak", type=float, default=_DEFAULTS.leak, help="leak rate >= 0 (default %(default)s)")
    g.add_argument("--beta", type=float, default=_DEFAULTS.beta, help="gain modulation g(|y|) = 1/(1+beta(|y|^2-1)); 0 = off (default %(default)s)")
    g.add_argument("--drive", type=str, default="0", help="constant drive c: a scalar (c = value * ones) or d comma-separated numbers (default 0)")
    if memory:
        g.add_argument("--memory", choices=MEMORY_FLAGS, default=_DEFAULTS.memory,
                       help="memory rule: none; fast-weights (= hebbian, A with Phi = eta y y^T); input (Phi = eta y x^T); "
                            "slots (attractor slots m_k, docs/companions.md) (default %(default)s)")
        g.add_argument("--lam", type=float, default=_DEFAULTS.lam, help="decay rate of A or of the slots (default %(default)s)")
        g.add_argument("--eta", type=float, default=_DEFAULTS.eta, help="plasticity rate of A or of the slots (default %(default)s)")
        g.add_argument("--slots", type=int, default=4, help="number of slots K with --memory slots (default %(default)s)")
        g.add_argument("--slot-readout", type=float, default=1.0,
                       help="feedback scale rho of the slot readout rho sum_k s_k m_k (default %(default)s)")


def add_operator_args(p: argparse.ArgumentParser, *, extra: str = "") -> None:
    """Add ``--wr``, ``--dim`` and ``--wr-scale`` (the reentry operator W*)."""
    from ..operators import OPERATOR_KINDS

    p.add_argument("--wr", default="antisym",
                   help=f"reentry operator W*: one of {', '.join(OPERATOR_KINDS)}, or a matrix file "
                        f"(.npy, .npz key W, .safetensors key W, .csv/.txt){extra} (default %(default)s)")
    p.add_argument("--dim", type=int, default=None, help="state dimension d (default 2, or the file's size)")
    p.add_argument("--wr-scale", type=float, default=1.0,
                   help="spectral norm |W*|_2 of a built-in operator (default %(default)s)")


def parse_drive(text: str) -> float | tuple[float, ...]:
    try:
        parts = [float(v) for v in str(text).split(",") if v.strip() != ""]
    except ValueError:
        raise FHRNInputError(f"`--drive` must be a number or comma-separated numbers, got {text!r}") from None
    if not parts:
        raise FHRNInputError(f"`--drive` must be a number or comma-separated numbers, got {text!r}")
    return parts[0] if len(parts) == 1 and "," not in str(text) else tuple(parts)


def params_from_args(args: argparse.Namespace) -> FHRNParams:
    kw: dict[str, Any] = dict(gamma=args.gamma, kappa=args.kappa, theta=args.theta, leak=args.leak,
                              beta=args.beta, drive=parse_drive(args.drive))
    for name in ("memory", "lam", "eta"):
        if hasattr(args, name):
            kw[name] = getattr(args, name)
    if "memory" in kw:
        kw["memory"] = MEMORY_ALIASES.get(kw["memory"], kw["memory"])
    return FHRNParams(**kw)


def uses_slots(args: argparse.Namespace) -> bool:
    """True when ``--memory slots`` was chosen (the field is then built by :func:`field_from_args`)."""
    return getattr(args, "memory", None) == "slots"


def field_from_args(W, args: argparse.Namespace):
    """The field the model flags select: :class:`~fhrn_ode.slots.SlotFHRNField` for ``--memory slots``, else
    :class:`~fhrn_ode.field.FHRNField` (state ``y`` or ``(y, A)``)."""
    params = params_from_args(args)
    if uses_slots(args):
        from .._errors import check_int
        from ..slots import SlotFHRNField

        return SlotFHRNField(W, params, check_int("--slots", args.slots, low=1, high=10000),
                             readout=args.slot_readout)
    from ..field import FHRNField

    return FHRNField(W, params)


@contextmanager
def flag_names(**flags: str):
    """Re-raise a library :class:`FHRNInputError` with Python argument names replaced by CLI flags.

    ``with flag_names(n="--n-init"):`` turns "`n` must be >= 1" into "`--n-init` must be >= 1" (the
    library names its arguments; the CLI speaks its flags).
    """
    try:
        yield
    except FHRNInputError as exc:
        msg = str(exc)
        for name, flag in flags.items():
            msg = re.sub(rf"`{re.escape(name)}(?=[` \[(])", f"`{flag}", msg)
        raise FHRNInputError(msg) from None


def add_seed_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed for every random draw (default %(default)s)")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as the only thing on stdout (strict JSON)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def check_out_dir(path: str | Path) -> Path:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise FHRNInputError(f"`--out` {str(p)!r} exists and is not a directory")
    return p
