"""Argument groups and helpers shared by the sub-commands.

Everything here is light (no torch/numpy at import time): the parser is built from it.

Output folders (docs/failure-modes.md, "Output folders"): every command that writes a folder calls
:func:`prepare_out_dir` *before* it computes anything. It refuses, with one line naming the flag, a
path that is a file, a dangling symbolic link, under a file, or not writable (``/proc/...``); it
creates the folder, proves it can write there, and takes an exclusive lock on it
(``.fhrn-ode.lock``, ``fcntl.flock``) so that a second command writing into the same folder is refused
with the holder's pid and command. The rule for existing contents, the same for every command: the
files a command writes are replaced atomically, every other file in the folder is kept; ``train``
additionally refuses a folder that already holds a run unless ``--resume`` is given. The lock file
is removed at exit, and a folder the run created is removed again if the command failed and left it
empty.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._errors import FHRNInputError
from .._lock import LOCK_NAME as _LOCK_NAME
from ..params import MEMORY_KINDS, FHRNParams

_DEFAULTS = FHRNParams()

#: ``--memory`` values: the FHRNParams memory kinds plus ``fast-weights`` (alias of ``hebbian``) and ``slots``
#: (the attractor-slot field :class:`fhrn_ode.slots.SlotFHRNField`; FHRNParams.memory is then ``'none'``).
MEMORY_FLAGS = MEMORY_KINDS + ("fast-weights", "slots")
MEMORY_ALIASES = {"fast-weights": "hebbian", "slots": "none"}


#: The options of :func:`add_model_args` that a trained ``--wr`` (CKPT, reference, LIN.npz) supplies.
TRAINED_PARAMS = ("gamma", "beta")


def add_model_args(p: argparse.ArgumentParser, *, memory: bool = True) -> None:
    """Add the FHRN model parameters (``FHRNParams``) as options.

    Every default is None here (so :func:`params_from_args` knows what the user gave); the
    documented defaults are ``FHRNParams()``'s, or a trained ``--wr``'s gamma and beta.
    """
    d = _DEFAULTS
    g = p.add_argument_group("model (docs/model.md §1)")
    g.add_argument("--gamma", type=float, default=None,
                   help=f"reentry gain gamma >= 0 (default {d.gamma:g}; with a trained --wr: the model's)")
    g.add_argument("--kappa", type=float, default=None, help=f"homeostatic strength kappa >= 0 (default {d.kappa:g})")
    g.add_argument("--theta", type=float, default=None, help=f"homeostatic set-point radius (default {d.theta:g})")
    g.add_argument("--leak", type=float, default=None, help=f"leak rate >= 0 (default {d.leak:g})")
    g.add_argument("--beta", type=float, default=None,
                   help=f"gain modulation g(|y|) = 1/(1+beta(|y|^2-1)); 0 = off (default {d.beta:g}; with a "
                        f"trained --wr: the model's)")
    g.add_argument("--drive", type=str, default=None, help="constant drive c: a scalar (c = value * ones) or d comma-separated numbers (default 0)")
    if memory:
        g.add_argument("--memory", choices=MEMORY_FLAGS, default=None,
                       help="memory rule: none; fast-weights (= hebbian, A with Phi = eta y y^T); input (Phi = eta y x^T); "
                            f"slots (attractor slots m_k, docs/companions.md) (default {d.memory})")
        g.add_argument("--lam", type=float, default=None, help=f"decay rate of A or of the slots (default {d.lam:g})")
        g.add_argument("--eta", type=float, default=None, help=f"plasticity rate of A or of the slots (default {d.eta:g})")
        g.add_argument("--slots", type=int, default=4, help="number of slots K with --memory slots (default %(default)s)")
        g.add_argument("--slot-readout", type=float, default=1.0,
                       help="feedback scale rho of the slot readout rho sum_k s_k m_k (default %(default)s)")


def add_operator_args(p: argparse.ArgumentParser, *, extra: str = "") -> None:
    """Add ``--wr``, ``--dim`` and ``--wr-scale`` (the reentry operator W*; :func:`fhrn_ode._wr.resolve_wr`)."""
    from .._wr import WR_HELP

    p.add_argument("--wr", default="antisym", help=f"{WR_HELP}{extra} (default %(default)s)")
    p.add_argument("--dim", type=int, default=None, help="state dimension d (default 2, or the matrix's size)")
    p.add_argument("--wr-scale", type=float, default=None,
                   help="spectral norm |W*|_2 of a built-in operator (default 1; an error with any other --wr)")


def resolve_wr_args(args: argparse.Namespace, contexts: int = 32):
    """``--wr`` / ``--dim`` / ``--wr-scale`` / ``--seed`` -> :class:`fhrn_ode._wr.WrOperator`."""
    from .._wr import resolve_wr

    with flag_names(spec="--wr", kind="--wr", path="--wr", layers="--wr layer", dim="--dim", scale="--wr-scale"):
        return resolve_wr(args.wr, args.dim, seed=args.seed, scale=args.wr_scale, contexts=contexts)


def sources_note(params: FHRNParams, sources: dict) -> str:
    """``" [from the checkpoint: gamma=0.1, beta=0.5]"`` for the values a trained ``--wr`` supplied (else "")."""
    got = [f"{k}={getattr(params, k):g}" for k, v in sources.items() if v == "checkpoint"]
    return f" [from the checkpoint: {', '.join(got)}]" if got else ""


def parse_drive(text: str) -> float | tuple[float, ...]:
    try:
        parts = [float(v) for v in str(text).split(",") if v.strip() != ""]
    except ValueError:
        raise FHRNInputError(f"`--drive` must be a number or comma-separated numbers, got {text!r}") from None
    if not parts:
        raise FHRNInputError(f"`--drive` must be a number or comma-separated numbers, got {text!r}")
    for v in parts:
        if not abs(v) <= 1e6:
            raise FHRNInputError(f"`--drive` entries must be finite with |c| <= 1e6, got {v:g}")
    return parts[0] if len(parts) == 1 and "," not in str(text) else tuple(parts)


#: Largest magnitude accepted for a model parameter or drive flag (beyond it, downstream values overflow).
MAX_MAGNITUDE = 1e6


def params_from_args(args: argparse.Namespace, trained=None) -> FHRNParams:
    """``FHRNParams`` from the options; unset ones from ``trained`` (a trained :class:`WrOperator`: gamma, beta)
    or the defaults. :func:`param_sources` says which is which. ``--memory fast-weights`` is ``hebbian``;
    ``--memory slots`` gives ``memory='none'`` (the slot field is built by :func:`field_from_args`)."""
    from .._errors import check_real

    for name in ("gamma", "kappa", "theta", "leak", "beta", "lam", "eta", "wr_scale"):
        v = getattr(args, name, None)
        if isinstance(v, float) and abs(v) > MAX_MAGNITUDE and v == v:
            check_real(f"--{name.replace('_', '-')}", v, high=MAX_MAGNITUDE)
    kw: dict[str, Any] = {}
    for name, src in param_sources(args, trained).items():
        if src == "flag":
            v = getattr(args, name)
            kw[name] = parse_drive(v) if name == "drive" else v
        elif src == "checkpoint":
            kw[name] = getattr(trained, name)
    if "memory" in kw:
        kw["memory"] = MEMORY_ALIASES.get(kw["memory"], kw["memory"])
    return FHRNParams(**kw)


def param_sources(args: argparse.Namespace, trained=None) -> dict[str, str]:
    """Where each model parameter comes from: ``"flag"`` (given), ``"checkpoint"`` (a trained ``--wr``), ``"default"``."""
    names = [n for n in ("gamma", "kappa", "theta", "leak", "beta", "drive", "memory", "lam", "eta") if hasattr(args, n)]
    out = {}
    for n in names:
        if getattr(args, n) is not None:
            out[n] = "flag"
        elif trained is not None and getattr(trained, "trained", False) and n in TRAINED_PARAMS:
            out[n] = "checkpoint"
        else:
            out[n] = "default"
    return out


def uses_slots(args: argparse.Namespace) -> bool:
    """True when ``--memory slots`` was chosen (the field is then built by :func:`field_from_args`)."""
    return getattr(args, "memory", None) == "slots"


def field_from_args(W, args: argparse.Namespace, trained=None):
    """The field the model flags select: :class:`~fhrn_ode.slots.SlotFHRNField` for ``--memory slots``, else
    :class:`~fhrn_ode.field.FHRNField` (state ``y`` or ``(y, A)``); ``trained`` as in :func:`params_from_args`."""
    params = params_from_args(args, trained)
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


class ListArg(argparse.Action):
    """One list syntax for every list option: values separated by spaces, commas or both
    (``--gammas 0 .05``, ``--gammas 0,.05``, ``--gammas 0, .05`` -> ``[0.0, 0.05]``).

    ``add_argument(..., action=ListArg, item=float)`` stores a list of ``item(value)``;
    ``join=True`` stores the comma-joined string instead (for options parsed later from ``"a,b"``).
    """

    def __init__(self, option_strings, dest, item=float, join: bool = False, **kwargs) -> None:
        kwargs.setdefault("nargs", "+")
        super().__init__(option_strings, dest, **kwargs)
        self.item, self.join = item, join

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parts = [p.strip() for v in values for p in str(v).split(",") if p.strip()]
        if not parts:
            parser.error(f"argument {option_string}: expected at least one value")
        if self.join:
            setattr(namespace, self.dest, ",".join(parts))
            return
        try:
            setattr(namespace, self.dest, [self.item(p) for p in parts])
        except ValueError:
            kind = "integers" if self.item is int else "numbers"
            parser.error(f"argument {option_string}: expected {kind} separated by spaces or commas, got "
                         f"{' '.join(map(str, values))!r}")


def add_seed_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed for every random draw (default %(default)s)")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as the only thing on stdout (strict JSON)."""
    from .._io import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


#: Lock file name inside a locked output folder (the one lock: :mod:`fhrn_ode._lock`).
LOCK_NAME = _LOCK_NAME

_HELD: list[Path] = []  # folders this process locked through prepare_out_dir
_CREATED: list[Path] = []  # folders this process created (outermost last)


def _refuse(flag: str, p: Path, why: str) -> FHRNInputError:
    return FHRNInputError(f"`{flag}` {str(p)!r} {why}")


def _check_writable_path(p: Path, flag: str) -> None:
    if p.is_symlink() and not p.exists():
        raise _refuse(flag, p, f"is a dangling symbolic link (to {os.readlink(p)!r})")
    if p.exists() and not p.is_dir():
        raise _refuse(flag, p, "exists and is not a directory")
    anc = p
    while not anc.exists():
        if anc.is_symlink():
            raise _refuse(flag, p, f"goes through a dangling symbolic link {str(anc)!r}")
        if anc.parent == anc:
            break
        anc = anc.parent
    if anc != p and not anc.is_dir():
        raise _refuse(flag, p, f"cannot be created: {str(anc)!r} is a file, not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise _refuse(flag, p, f"cannot be written: no write permission in {str(anc)!r}")


def check_out_dir(path: str | Path, *, flag: str = "--out", lock: bool = True) -> Path:
    """Same as :func:`prepare_out_dir` (kept under its old name for the commands that call it)."""
    return prepare_out_dir(path, flag=flag, lock=lock)


def prepare_out_dir(path: str | Path, *, flag: str = "--out", lock: bool = True) -> Path:
    """Check, create, probe and lock an output folder before any computation (module docstring).

    Args:
        path: the folder.
        flag: the user's flag, for the message.
        lock: take the folder's exclusive lock (released by :func:`release_out_dirs`, i.e. by ``main``).

    Returns:
        ``Path(path)``.

    Raises:
        FHRNInputError: the folder cannot be created or written, or another process holds its lock.
    """
    p = Path(path)
    if str(path).strip() == "":
        raise FHRNInputError(f"`{flag}` must be a folder path, got {str(path)!r}")
    _check_writable_path(p, flag)
    missing = []
    anc = p
    while not anc.exists() and anc.parent != anc:
        missing.append(anc)
        anc = anc.parent
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(flag, p, f"cannot be created ({exc.strerror or exc})") from None
    _CREATED.extend(reversed(missing))  # innermost first when released in reverse
    try:
        import tempfile

        fd, probe = tempfile.mkstemp(prefix=".fhrn-ode-probe.", dir=p)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        release_out_dirs(failed=True)
        raise _refuse(flag, p, f"cannot be written ({exc.strerror or exc})") from None
    if lock and not any(q.resolve() == p.resolve() for q in _HELD):
        _lock(p, flag)
    return p


def check_out_file(path: str | Path, *, flag: str = "--out") -> Path:
    """For a command that writes one file: refuse a dangling symlink, a folder, a parent that is a file
    or not writable; create the parent folder and probe a write there, before computing."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise _refuse(flag, p, f"is a dangling symbolic link (to {os.readlink(p)!r})")
    if p.is_dir():
        raise _refuse(flag, p, "is a directory; give a file name")
    parent = p.parent
    anc = parent
    while not anc.exists() and anc.parent != anc:
        anc = anc.parent
    if not anc.is_dir():
        raise _refuse(flag, p, f"cannot be created: {str(anc)!r} is a file, not a directory")
    prepare_out_dir(parent, flag=flag, lock=False)
    return p


def _lock(p: Path, flag: str) -> None:
    from .._lock import lock_folder

    lock_folder(p, flag=flag, what=f"fhrn-ode {' '.join(sys.argv[1:2])}")
    _HELD.append(p)


def release_out_dirs(*, failed: bool) -> None:
    """Release every ``--out`` lock of this process; after a failure also remove empty folders it created."""
    from .._lock import unlock_folder

    while _HELD:
        unlock_folder(_HELD.pop(), force=True)
    created = list(reversed(_CREATED))
    _CREATED.clear()
    if failed:
        for d in created:
            try:
                d.rmdir()  # only if empty
            except OSError:
                pass
