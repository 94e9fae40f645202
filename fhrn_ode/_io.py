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
    "read_jsonl",
    "file_kind",
    "read_typed",
    "check_fields",
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
        raise FHRNInputError(f"{what} file {str(p)!r} {file_kind(p)}")
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


#: Largest line of a JSON-lines file :func:`read_jsonl` reads (bytes).
JSONL_MAX_LINE = 2 ** 20
#: Largest JSON-lines file :func:`read_jsonl` reads (bytes): 100 000 sweep records take ~60 MB.
JSONL_MAX_BYTES = 2 ** 30


def file_kind(p: Path) -> str:
    """What a path that is not a regular file is, for a message ("does not exist" only when it does not)."""
    import stat

    try:
        st = os.stat(p)
    except FileNotFoundError:
        return "does not exist" if not p.is_symlink() else "is a dangling symbolic link"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    m = st.st_mode
    kind = ("a directory" if stat.S_ISDIR(m) else "a FIFO (named pipe)" if stat.S_ISFIFO(m) else
            "a character device" if stat.S_ISCHR(m) else "a block device" if stat.S_ISBLK(m) else
            "a socket" if stat.S_ISSOCK(m) else "not a regular file")
    return f"is {kind}, not a regular file"


def read_jsonl(path: str | os.PathLike, what: str = "JSON lines") -> list[Any]:
    """Read a JSON-lines file (one JSON value per line) with the bounds of :func:`read_json` per line.

    A last line without its newline (a writer killed mid-append) is ignored; any other bad line is
    refused with its line number.

    Raises:
        FHRNInputError: not a regular file, larger than :data:`JSONL_MAX_BYTES`, a line longer than
            :data:`JSONL_MAX_LINE` or not valid, bounded JSON.
    """
    p = Path(path)
    if not p.is_file():
        raise FHRNInputError(f"{what} file {str(p)!r} {file_kind(p)}")
    size = p.stat().st_size
    if size > JSONL_MAX_BYTES:
        raise FHRNInputError(f"{what} file {str(p)!r} is {size} bytes; at most {JSONL_MAX_BYTES} bytes")
    with open(p, "rb") as fh:
        data = fh.read(JSONL_MAX_BYTES + 1)
    lines = data.split(b"\n")
    lines.pop()  # '' after a final newline, or a partial last line: ignored
    out = []
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        if len(raw) > JSONL_MAX_LINE:
            raise FHRNInputError(f"{what} file {str(p)!r} line {i} is {len(raw)} bytes; at most {JSONL_MAX_LINE}")
        try:
            obj = json.loads(raw.decode("utf-8"), parse_int=_parse_int, parse_float=_parse_float,
                             parse_constant=_parse_constant)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, OverflowError, RecursionError, _JSONBound) as exc:
            why = exc.args[0] if isinstance(exc, _JSONBound) else type(exc).__name__
            raise FHRNInputError(f"{what} file {str(p)!r} line {i} is not valid JSON ({why})") from None
        if _depth(obj) > JSON_MAX_DEPTH:
            raise FHRNInputError(f"{what} file {str(p)!r} line {i} is nested deeper than {JSON_MAX_DEPTH} levels")
        out.append(obj)
    return out


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true/false", type(None): "null"}


def _type_ok(v: Any, types: tuple) -> bool:
    if isinstance(v, bool):
        return bool in types
    if isinstance(v, int) and float in types:
        return True
    return isinstance(v, types)


def check_fields(obj: Any, spec: Any, where: str, *, what: str = "JSON") -> Any:
    """Check the shape of a parsed JSON value against ``spec``; return ``obj``.

    ``spec`` is a type or tuple of types (``float`` accepts integers, ``bool`` is never a number),
    a dict ``{key: spec}`` (keys ending in ``?`` are optional; other keys of ``obj`` are allowed),
    or a one-element list ``[spec]`` (a list whose items all match).

    Args:
        obj: the parsed value.
        spec: the expected shape.
        where: the file (or flag) the value came from, for the message.
        what: what the file is (``"task result"``).

    Raises:
        FHRNInputError: naming the file, the key path (``tasks[3].error``), the type found and the one expected.
    """
    stack = [(obj, spec, "")]
    while stack:
        v, s, key = stack.pop()
        if isinstance(s, dict):
            if not isinstance(v, dict):
                _bad(v, dict, key, where, what)
            for k, sub in s.items():
                opt = k.endswith("?")
                name = k[:-1] if opt else k
                if name not in v:
                    if opt:
                        continue
                    raise FHRNInputError(f"{what} file {where} has no key `{(key + '.' if key else '') + name}`")
                stack.append((v[name], sub, (key + "." if key else "") + name))
        elif isinstance(s, list):
            if not isinstance(v, list):
                _bad(v, list, key, where, what)
            stack.extend((x, s[0], f"{key}[{i}]") for i, x in enumerate(v))
        else:
            types = s if isinstance(s, tuple) else (s,)
            if not _type_ok(v, types):
                _bad(v, types, key, where, what)
    return obj


def _bad(v: Any, types: Any, key: str, where: str, what: str) -> None:
    types = types if isinstance(types, tuple) else (types,)
    want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
    got = _TYPE_NAMES.get(type(v), type(v).__name__)
    at = f"`{key}` is" if key else "holds"
    raise FHRNInputError(f"{what} file {where} {at} {got}; expected {want}")


def read_typed(path: str | os.PathLike, what: str, spec: Any) -> Any:
    """:func:`read_json` then :func:`check_fields`: the one typed reader for the files fhrn-ode reads.

    Raises:
        FHRNInputError: unreadable, invalid JSON, or a key missing or of the wrong type (named).
    """
    return check_fields(read_json(path, what), spec, repr(str(path)), what=what)
