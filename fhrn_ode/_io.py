"""Atomic file output and guarded input (JSON, matrices).

Outputs are written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so a crash, an interrupt (SIGINT, or SIGTERM which the
CLI turns into the same exception) or a bad input never leaves a half-written file
behind: the temporary file is removed on any exception, and :func:`remove_temp_files`
removes whatever is still registered (the CLI calls it on interrupt).

Inputs: :func:`read_json` is the one JSON reader for every file the tool reads (size,
nesting depth and integer size bounded; NaN/Infinity refused). Matrix files are read by
:mod:`fhrn_ode._loaders` (:func:`load_matrix` is re-exported here). Nothing here
unpickles. numpy is imported lazily so that the CLI's parser stays light.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from ._errors import FHRNInputError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_npz",
    "atomic_savefig",
    "to_jsonable",
    "load_matrix",
    "read_json",
    "remove_temp_files",
    "JSON_MAX_BYTES",
    "JSON_MAX_DEPTH",
    "JSON_MAX_INT",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()

#: Temporary files being written right now (removed by :func:`remove_temp_files`).
_LIVE_TMP: set[str] = set()


def remove_temp_files() -> int:
    """Remove every temporary file an atomic writer of this process still holds; return how many."""
    n = 0
    for tmp in list(_LIVE_TMP):
        try:
            os.unlink(tmp)
            n += 1
        except OSError:
            pass
        _LIVE_TMP.discard(tmp)
    return n


def _atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        _LIVE_TMP.add(tmp)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give outputs the usual permissions
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    finally:
        if tmp is not None:
            _LIVE_TMP.discard(tmp)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""

    def w(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return _atomic(path, w)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays to plain JSON types (non-finite floats -> None)."""
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    if torch is not None and isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (strict: NaN/inf become ``null``)."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def atomic_save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """Save arrays into an uncompressed ``.npz`` atomically."""
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(to_numpy(v)) for k, v in arrays.items()})
    return atomic_write_bytes(path, buf.getvalue())


def to_numpy(x: Any) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def atomic_savefig(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    fmt = Path(path).suffix.lstrip(".") or "png"

    def w(tmp: str) -> None:
        fig.savefig(tmp, format=fmt, **kwargs)

    return _atomic(path, w)


def load_matrix(path: str | os.PathLike, *, key: str = "W"):
    """Load a real matrix from a file (see :func:`fhrn_ode._loaders.load_matrix`)."""
    from ._loaders import load_matrix as _load

    return _load(path, key=key)


#: Largest JSON file :func:`read_json` reads (bytes).
JSON_MAX_BYTES = 16 * 2 ** 20
#: Deepest nesting of arrays/objects :func:`read_json` accepts.
JSON_MAX_DEPTH = 32
#: Largest magnitude of a JSON integer :func:`read_json` accepts (the int64 range).
JSON_MAX_INT = 2 ** 63 - 1


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise _JSONBound(f"an integer with {len(text.lstrip('-'))} digits (beyond 64 bits)")
    v = int(text)
    if abs(v) > JSON_MAX_INT:
        raise _JSONBound(f"the integer {text} (beyond 64 bits)")
    return v


def _parse_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _JSONBound(f"the number {text[:40]} (overflows a float)")
    return v


def _parse_constant(text: str) -> float:
    raise _JSONBound(f"{text} (not a JSON number)")


class _JSONBound(Exception):
    pass


def _depth(obj: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion limit)."""
    best, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (list, dict)):
            best = max(best, d)
            if d <= JSON_MAX_DEPTH:
                stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return best


def read_json(path: str | os.PathLike, what: str = "JSON") -> Any:
    """Read a JSON file written by this tool (or by a user), refusing what could not be one.

    Bounds: at most :data:`JSON_MAX_BYTES` bytes, nesting depth at most :data:`JSON_MAX_DEPTH`,
    integers within 64 bits, no NaN/Infinity, floats that do not overflow, valid UTF-8.

    Args:
        path: the file.
        what: what the file is, for the message (``"config"``, ``"train state"``).

    Raises:
        FHRNInputError: missing, too large, not a regular file, invalid or out-of-bounds JSON.
    """
    p = Path(path)
    if not p.is_file():
        raise FHRNInputError(f"{what} file {str(p)!r} does not exist")
    size = p.stat().st_size
    if size > JSON_MAX_BYTES:
        raise FHRNInputError(f"{what} file {str(p)!r} is {size} bytes; a JSON file here is at most "
                             f"{JSON_MAX_BYTES} bytes")
    try:
        with open(p, "rb") as fh:
            text = fh.read(JSON_MAX_BYTES + 1).decode("utf-8")
        obj = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except UnicodeDecodeError:
        raise FHRNInputError(f"{what} file {str(p)!r} is not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise FHRNInputError(f"{what} file {str(p)!r} is not valid JSON ({exc.msg} at line {exc.lineno} "
                             f"column {exc.colno})") from None
    except _JSONBound as exc:
        raise FHRNInputError(f"{what} file {str(p)!r} holds {exc}; refused") from None
    except RecursionError:
        raise FHRNInputError(f"{what} file {str(p)!r} is nested deeper than {JSON_MAX_DEPTH} levels; "
                             f"refused") from None
    except (ValueError, OverflowError) as exc:  # e.g. Python's own limit on integer digits
        raise FHRNInputError(f"{what} file {str(p)!r} is not valid JSON ({type(exc).__name__})") from None
    if _depth(obj) > JSON_MAX_DEPTH:
        raise FHRNInputError(f"{what} file {str(p)!r} is nested deeper than {JSON_MAX_DEPTH} levels; refused")
    return obj
