"""The one loader for array files: ``.npy``, ``.npz``, ``.safetensors``, ``.csv``/``.txt``.

Every matrix source (``--wr FILE``, the ``.npz`` that ``fhrn-ode linearize`` writes, ...) goes
through :func:`load_arrays`, so every source gets the same checks, in this order:

1. the path is an existing regular file (not a folder, FIFO or device), not empty;
2. its size, and the size of each array read from its header (npy/npz/safetensors: before the data
   is read), fit the memory limit (:func:`fhrn_ode._limits.memory_limit`);
3. the content parses without executing code (``allow_pickle=False``, safetensors); object arrays are
   refused; the requested keys exist;
4. each array is real (complex refused: never truncated), numeric (bool/str refused), non-empty, of
   the expected rank, and finite where asked.

Messages are ours: no library advice (``usecols``, ``allow_pickle``) reaches the user.

User fields (``--field module:Class`` / ``--field path.py:Class`` with ``--param NAME=VALUE``):
:func:`load_field_class` imports the user's module (this RUNS the user's own code, at their request) and
checks that the attribute is an ``nn.Module`` subclass; :func:`parse_field_params` turns ``NAME=VALUE``
strings into constructor keywords (Python literals: numbers, booleans, strings, tuples);
:func:`build_user_field` instantiates it. Every failure is one :class:`FHRNInputError` naming the flag.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

from ._errors import FHRNInputError
from ._limits import format_bytes, memory_limit

__all__ = ["MATRIX_SUFFIXES", "load_arrays", "load_matrix", "array_keys", "load_field_class", "parse_field_params",
           "build_user_field"]

MATRIX_SUFFIXES = (".npy", ".npz", ".safetensors", ".csv", ".txt")
#: A text table needs this many bytes of memory per byte of file while it is parsed (rough bound).
_TEXT_EXPANSION = 20


def _check_file(p: Path, name: str) -> int:
    suffix = p.suffix.lower()
    if suffix not in MATRIX_SUFFIXES:
        raise FHRNInputError(f"`{name}` file {str(p)!r} has unsupported suffix {suffix!r}; use one of "
                             f"{', '.join(MATRIX_SUFFIXES)}")
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FHRNInputError(f"`{name}` file {str(p)!r} does not exist") from None
    except OSError as exc:
        raise FHRNInputError(f"`{name}` file {str(p)!r} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise FHRNInputError(f"`{name}` file {str(p)!r} is not a regular file")
    if st.st_size == 0:
        raise FHRNInputError(f"`{name}` file {str(p)!r} is empty")
    limit = memory_limit()
    factor = _TEXT_EXPANSION if suffix in (".csv", ".txt") else 1
    if st.st_size * factor > limit:
        raise FHRNInputError(f"`{name}` file {str(p)!r} is {format_bytes(st.st_size)}; reading it needs about "
                             f"{format_bytes(st.st_size * factor)} of memory (limit {format_bytes(limit)}, "
                             f"FHRN_ODE_MAX_MEMORY)")
    return st.st_size


def _check_header(p: Path, name: str, key: str, shape, itemsize: int) -> None:
    n = 1
    for s in shape:
        n *= int(s)
    need = 2 * 8 * n  # the array and its float64 copy
    if need > memory_limit():
        raise FHRNInputError(f"`{name}` file {str(p)!r}: array {key!r} of shape {tuple(int(s) for s in shape)} "
                             f"needs about {format_bytes(need)} of memory (limit {format_bytes(memory_limit())}, "
                             f"FHRN_ODE_MAX_MEMORY)")


def _read_npy(p: Path, name: str):
    import numpy as np

    with open(p, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid .npy file")
    try:
        mm = np.load(p, mmap_mode="r", allow_pickle=False)  # reads the header only
    except ValueError as exc:
        if "object" in str(exc).lower() or "pickle" in str(exc):
            raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: it holds an object array, refused (arrays that need "
                                 f"unpickling are never loaded)") from None
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid .npy file (truncated or corrupt)") from None
    except Exception:
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid .npy file (truncated or corrupt)") from None
    _check_header(p, name, "array", mm.shape, mm.dtype.itemsize)
    return np.array(mm)


def _npz_members(p: Path, name: str):
    import numpy as np

    if not zipfile.is_zipfile(p):
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid .npz archive")
    try:
        z = np.load(p, allow_pickle=False)
    except Exception:
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid .npz archive") from None
    return z


def _read_npz(p: Path, name: str, keys):
    z = _npz_members(p, name)
    out = {}
    with z:
        for key in keys:
            if key not in z.files:
                raise FHRNInputError(f"`{name}` file {str(p)!r} has no array {key!r} (found: "
                                     f"{', '.join(z.files) or 'none'})")
            try:
                info = z.zip.getinfo(key + ".npy")
                if 2 * info.file_size > memory_limit():
                    raise FHRNInputError(f"`{name}` file {str(p)!r}: array {key!r} unpacks to "
                                         f"{format_bytes(info.file_size)} (limit {format_bytes(memory_limit())}, "
                                         f"FHRN_ODE_MAX_MEMORY)")
            except KeyError:
                pass
            try:
                out[key] = z[key]
            except FHRNInputError:
                raise
            except ValueError as exc:
                if "pickle" in str(exc) or "object" in str(exc).lower():
                    raise FHRNInputError(f"`{name}` file {str(p)!r}: array {key!r} is an object array; refused "
                                         f"(arrays that need unpickling are never loaded)") from None
                raise FHRNInputError(f"`{name}` file {str(p)!r}: array {key!r} is corrupt") from None
            except Exception:
                raise FHRNInputError(f"`{name}` file {str(p)!r}: array {key!r} is corrupt") from None
    return out


def _read_safetensors(p: Path, name: str, keys):
    try:
        from safetensors import safe_open

        fh = safe_open(str(p), framework="numpy")
    except Exception:
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid safetensors file") from None
    out = {}
    found = list(fh.keys())
    for key in keys:
        if key not in found:
            raise FHRNInputError(f"`{name}` file {str(p)!r} has no tensor {key!r} (found: {', '.join(found) or 'none'})")
        try:
            sl = fh.get_slice(key)
            _check_header(p, name, key, sl.get_shape(), 8)
            out[key] = fh.get_tensor(key)
        except FHRNInputError:
            raise
        except Exception:
            raise FHRNInputError(f"`{name}` file {str(p)!r}: tensor {key!r} is corrupt or of an unsupported "
                                 f"dtype") from None
    return out


def _read_text(p: Path, name: str):
    import numpy as np

    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not UTF-8 text") from None
    import re

    if re.search(r"\d[jJ]\b", text):
        raise FHRNInputError(f"`{name}` file {str(p)!r} looks like it holds complex numbers; W* must be real")
    delim = "," if "," in text else None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(io.StringIO(text), delimiter=delim, ndmin=2, dtype=np.float64)
    except Exception:
        raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read as a numeric table (every row the same count of "
                             f"numbers, separated by commas or blanks)") from None
    return arr


def array_keys(path: str | os.PathLike, *, name: str = "path") -> list[str]:
    """The array names in an ``.npz`` or ``.safetensors`` file (checks 1-3 of the module docstring)."""
    p = Path(path)
    _check_file(p, name)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        with _npz_members(p, name) as z:
            return list(z.files)
    if suffix == ".safetensors":
        try:
            from safetensors import safe_open

            return list(safe_open(str(p), framework="numpy").keys())
        except Exception:
            raise FHRNInputError(f"`{name}` file {str(p)!r} could not be read: not a valid safetensors file") from None
    return ["W"]


def _check_array(arr: Any, p: Path, name: str, key: str, ndim: int | None, finite: bool):
    import numpy as np

    arr = np.asarray(arr)
    where = f"`{name}` file {str(p)!r}" + ("" if key == "W" else f": array {key!r}")
    if arr.dtype.hasobject:
        raise FHRNInputError(f"{where} is an object array; refused")
    if np.iscomplexobj(arr):
        raise FHRNInputError(f"{where} holds complex numbers (dtype {arr.dtype}); it must be real")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise FHRNInputError(f"{where} holds non-numeric data (dtype {arr.dtype})")
    if ndim is not None and arr.ndim != ndim:
        raise FHRNInputError(f"{where} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise FHRNInputError(f"{where} is empty (shape {arr.shape})")
    out = arr.astype(np.float64) if np.issubdtype(arr.dtype, np.floating) or key == "W" else arr
    if finite and not np.all(np.isfinite(out)):
        bad = int(out.size - np.count_nonzero(np.isfinite(out)))
        raise FHRNInputError(f"{where} must be finite; it has {bad} NaN/inf entries")
    return out


def load_arrays(path: str | os.PathLike, keys: dict[str, int | None], *, name: str = "path",
                finite: bool = True) -> dict:
    """Load and check the arrays ``keys`` (name -> required rank, or None) from an array file.

    ``.npy`` and text files hold one array, returned under the first key.

    Raises:
        FHRNInputError: any failed check of the module docstring (message names ``name``).
    """
    p = Path(path)
    _check_file(p, name)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(p, name, list(keys))
    elif suffix == ".safetensors":
        raw = _read_safetensors(p, name, list(keys))
    else:
        first = next(iter(keys))
        raw = {first: _read_npy(p, name) if suffix == ".npy" else _read_text(p, name)}
    return {k: _check_array(v, p, name, k, keys.get(k), finite) for k, v in raw.items()}


def load_matrix(path: str | os.PathLike, *, key: str = "W", name: str = "path"):
    """A real 2-D float64 array from a file (``.npz``/``.safetensors``: under ``key``).

    Finiteness and squareness are checked by :func:`fhrn_ode.operators.check_matrix`.

    Raises:
        FHRNInputError: see :func:`load_arrays`.
    """
    return load_arrays(path, {key: None}, name=name, finite=False)[key]


def _import_target(target: str, spec: str, flag: str):
    """The module named by ``target``: a ``.py`` path (loaded from the file) or a dotted module name."""
    import importlib
    import importlib.util
    import sys

    if target.endswith(".py") or os.sep in target or "/" in target:
        p = Path(target)
        if not p.is_file():
            raise FHRNInputError(f"`{flag}` {spec!r}: file {target!r} does not exist")
        name = f"fhrn_ode_user_field_{abs(hash(str(p.resolve())))}"
        mspec = importlib.util.spec_from_file_location(name, p)
        if mspec is None or mspec.loader is None:
            raise FHRNInputError(f"`{flag}` {spec!r}: {target!r} cannot be imported as a Python file")
        module = importlib.util.module_from_spec(mspec)
        sys.modules[name] = module  # dataclasses and pickling look their module up here
        mspec.loader.exec_module(module)
        return module
    return importlib.import_module(target)


def load_field_class(spec: str, *, flag: str = "--field") -> type:
    """The ``nn.Module`` class named by ``"module:Class"`` or ``"path/to/file.py:Class"``.

    Importing runs the module's top-level code (the user's own code, by their request).

    Args:
        spec: ``TARGET:CLASS``; ``TARGET`` is a dotted module name (importable from ``sys.path``) or a
            ``.py`` file path; ``CLASS`` may be dotted (``Outer.Inner``).
        flag: the user's flag, for messages.

    Returns:
        The class (a subclass of ``torch.nn.Module``).

    Raises:
        FHRNInputError: a malformed spec, a missing file, an import that fails (its exception named), a
            missing attribute, or an attribute that is not an ``nn.Module`` class.
    """
    text = str(spec)
    target, sep, attr = text.rpartition(":")
    if not sep or not target or not attr:
        raise FHRNInputError(f"`{flag}` must be MODULE:CLASS or FILE.py:CLASS, got {text!r}")
    try:
        obj = _import_target(target, text, flag)
    except FHRNInputError:
        raise
    except (Exception, SystemExit) as exc:  # the user's module failed to import: say how, in one line
        raise FHRNInputError(f"`{flag}` {text!r}: importing {target!r} failed: {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise FHRNInputError(f"`{flag}` {text!r}: {target!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    from torch import nn

    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        kind = ("an instance, not a class" if isinstance(obj, nn.Module) else
                "a class that is not an nn.Module" if isinstance(obj, type) else f"a {type(obj).__name__}")
        raise FHRNInputError(f"`{flag}` {text!r} is {kind}; it must name a torch.nn.Module subclass with "
                             f"forward(t, y)")
    return obj


def parse_field_params(items, *, flag: str = "--param") -> dict[str, Any]:
    """``["mu=1.5", "name='a'"]`` -> ``{"mu": 1.5, "name": "a"}``.

    A value is read as a Python literal (``ast.literal_eval``: numbers, ``True``/``False``/``None``,
    quoted strings, tuples, lists); anything else is kept as a string.

    Raises:
        FHRNInputError: an item without ``=``, an empty or non-identifier name, or a name given twice.
    """
    import ast

    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise FHRNInputError(f"`{flag}` must be NAME=VALUE with NAME a Python identifier, got {item!r}")
        if name in out:
            raise FHRNInputError(f"`{flag}` {name} is given twice")
        try:
            out[name] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            out[name] = value.strip()
    return out


def build_user_field(spec: str, params: dict[str, Any] | None = None, *, flag: str = "--field"):
    """Instantiate the class of :func:`load_field_class` with the keyword arguments ``params``.

    Raises:
        FHRNInputError: as :func:`load_field_class`, or when the constructor refuses the arguments
            (its exception named).
    """
    cls = load_field_class(spec, flag=flag)
    params = dict(params or {})
    try:
        return cls(**params)
    except (Exception, SystemExit) as exc:
        given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "no arguments"
        raise FHRNInputError(f"`{flag}` {spec!r}: {cls.__name__}({given}) failed: {type(exc).__name__}: {exc}") from None
