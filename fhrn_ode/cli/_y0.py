"""``fhrn-ode integrate --y0``: explicit initial states instead of ``--n-init``/``--init-radius``.

``--y0`` is inline text, ``'x1,x2;x1,x2'`` (a ``;`` between states, a ``,`` between coordinates), or an
array file: ``.npy``, ``.npz`` (array ``y0``), ``.csv``/``.txt`` (one state per row) through the project's
one array loader (:func:`fhrn_ode._loaders.load_arrays`), or ``.json`` (a list of states, or an object with
the key ``y0``). A 1-D array is one state. Every failure is one :class:`~fhrn_ode._errors.FHRNInputError`
naming ``--y0`` (exit 2): unreadable file, not numbers, ragged rows, a shape that does not match the
operator's size, non-finite values, or ``--n-init``/``--init-radius``/``--grid``/``--memory slots`` given
with it. ``fhrn-ode explore`` writes its clicked states this way so the exported command reproduces them.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from .._errors import FHRNInputError

__all__ = ["FILE_SUFFIXES", "N_INIT", "INIT_RADIUS", "add_y0_arg", "parse_y0", "apply_y0", "check_y0_dim",
           "format_y0"]

#: File suffixes ``--y0`` reads (anything else is parsed as inline text).
FILE_SUFFIXES = (".npy", ".npz", ".csv", ".txt", ".json")
#: The defaults of ``--n-init`` and ``--init-radius`` when ``--y0`` is not given.
N_INIT, INIT_RADIUS = 8, 2.0
_FLAG = "--y0"


def add_y0_arg(group) -> None:
    """Add ``--y0`` to an argparse group (``--n-init``/``--init-radius`` must default to None)."""
    group.add_argument(_FLAG, default=None, metavar="STATES|FILE",
                       help="initial states instead of --n-init/--init-radius: inline 'x,y;x,y' (';' between "
                            "states) or a .npy, .npz (array y0), .csv/.txt (a state per row) or .json file")


def _inline(text: str) -> list[list[float]]:
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    if not rows:
        raise FHRNInputError(f"`{_FLAG}` is empty; give states as 'x,y;x,y' or a file ({', '.join(FILE_SUFFIXES)})")
    out = []
    for r in rows:
        try:
            out.append([float(v) for v in r.replace(",", " ").split()])
        except ValueError:
            raise FHRNInputError(f"`{_FLAG}` {text!r}: state {r.strip()!r} is not comma-separated numbers "
                                 f"(inline form 'x,y;x,y', or a file {', '.join(FILE_SUFFIXES)})") from None
    return out


def _json_file(p: Path) -> object:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FHRNInputError(f"`{_FLAG}` file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FHRNInputError(f"`{_FLAG}` file {str(p)!r} cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    except json.JSONDecodeError as exc:
        raise FHRNInputError(f"`{_FLAG}` file {str(p)!r} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict):
        if "y0" not in data:
            raise FHRNInputError(f"`{_FLAG}` file {str(p)!r} is a JSON object without the key 'y0'")
        data = data["y0"]
    return data


def parse_y0(text: str):
    """The initial states ``(N, d)`` (float64 numpy) of a ``--y0`` value.

    Raises:
        FHRNInputError: see the module docstring (the message names ``--y0``).
    """
    import numpy as np

    from .._loaders import load_arrays

    suffix = Path(text).suffix.lower()
    if suffix in FILE_SUFFIXES:
        if suffix == ".json":
            raw = _json_file(Path(text))
        else:
            raw = load_arrays(text, {"y0": None}, name=_FLAG, finite=False)["y0"]
        where = f"`{_FLAG}` file {text!r}"
    else:
        raw, where = _inline(text), f"`{_FLAG}` {text!r}"
    try:
        y0 = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise FHRNInputError(f"{where} must be a table of numbers (N states of d coordinates each), "
                             "with the same d in every state") from None
    if y0.ndim == 1:
        y0 = y0[None]
    if y0.ndim != 2 or y0.size == 0:
        raise FHRNInputError(f"{where} must hold N states of d coordinates (shape (N, d)), got shape {y0.shape}")
    if not np.all(np.isfinite(y0)):
        raise FHRNInputError(f"{where} must be finite; it has {int(y0.size - np.isfinite(y0).sum())} NaN/inf entries")
    return y0


def apply_y0(args: argparse.Namespace):
    """Read ``args.y0`` (None: fill in the ``--n-init``/``--init-radius`` defaults and return None) and set
    ``args.n_init`` to its number of states, so the size checks see the real batch.

    Raises:
        FHRNInputError: a bad ``--y0``, or ``--y0`` with ``--n-init``, ``--init-radius``, ``--grid`` or
            ``--memory slots``.
    """
    if getattr(args, "y0", None) is None:
        args.n_init = N_INIT if args.n_init is None else args.n_init
        args.init_radius = INIT_RADIUS if args.init_radius is None else args.init_radius
        return None
    given = [f for f, v in (("--n-init", args.n_init), ("--init-radius", args.init_radius)) if v is not None]
    if getattr(args, "grid", None):
        given.append("--grid")
    if getattr(args, "memory", None) == "slots":
        given.append("--memory slots")
    if given:
        raise FHRNInputError(f"`{_FLAG}` gives the initial states itself; drop {' and '.join(given)} "
                             f"(or drop {_FLAG})")
    y0 = parse_y0(args.y0)
    args.n_init, args.init_radius = int(y0.shape[0]), INIT_RADIUS
    return y0


def check_y0_dim(y0, d: int):
    """``y0`` as a float64 tensor, once its state size is checked against the operator's ``d``.

    Raises:
        FHRNInputError: ``y0.shape[1] != d``.
    """
    import torch

    if y0.shape[1] != d:
        raise FHRNInputError(f"`{_FLAG}` states have {y0.shape[1]} coordinates but the operator W* is {d} x {d}; "
                             f"give states of {d} numbers (shape (N, {d})), got shape {tuple(y0.shape)}")
    return torch.as_tensor(y0, dtype=torch.float64)


def format_y0(states) -> str:
    """Inline ``--y0`` text of states ``(N, d)`` that :func:`parse_y0` reads back bit for bit (``repr`` floats)."""
    rows = [[float(v) for v in s] for s in states]
    for r in rows:
        if not all(math.isfinite(v) for v in r):
            raise FHRNInputError(f"`{_FLAG}` states must be finite, got {r}")
    return ";".join(",".join(repr(v) for v in r) for r in rows)
