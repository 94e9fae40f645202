"""Atomic file output and safe matrix input.

Outputs are written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so a crash or a bad input never leaves a
half-written file behind. Nothing here unpickles: ``.npy``/``.npz`` are read
with ``allow_pickle=False`` and weights use safetensors.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ._errors import FHRNInputError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_save_npz",
    "atomic_savefig",
    "to_jsonable",
    "load_matrix",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give outputs the usual permissions
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
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
    try:
        import torch

        if isinstance(obj, torch.Tensor):
            obj = obj.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
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
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(to_numpy(v)) for k, v in arrays.items()})
    return atomic_write_bytes(path, buf.getvalue())


def to_numpy(x: Any) -> Any:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return x


def atomic_savefig(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    fmt = Path(path).suffix.lstrip(".") or "png"

    def w(tmp: str) -> None:
        fig.savefig(tmp, format=fmt, **kwargs)

    return _atomic(path, w)


_MATRIX_SUFFIXES = (".npy", ".npz", ".safetensors", ".csv", ".txt")


def load_matrix(path: str | os.PathLike, *, key: str = "W") -> np.ndarray:
    """Load a matrix from ``.npy``, ``.npz`` (key ``W``), ``.safetensors`` (key ``W``), ``.csv``/``.txt``.

    No code from the file is executed (``allow_pickle=False``, safetensors).

    Raises:
        FHRNInputError: missing file, unknown suffix, missing key or unreadable content.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _MATRIX_SUFFIXES:
        raise FHRNInputError(
            f"`path` file {str(p)!r} has unsupported suffix {suffix!r}; use one of {', '.join(_MATRIX_SUFFIXES)}"
        )
    if not p.is_file():
        raise FHRNInputError(f"`path` file {str(p)!r} does not exist")
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if key not in z.files:
                    raise FHRNInputError(
                        f"`path` file {str(p)!r} has no array {key!r} (found: {', '.join(z.files) or 'none'})"
                    )
                arr = z[key]
        elif suffix == ".safetensors":
            from safetensors.numpy import load_file

            tensors = load_file(str(p))
            if key not in tensors:
                raise FHRNInputError(
                    f"`path` file {str(p)!r} has no tensor {key!r} (found: {', '.join(tensors) or 'none'})"
                )
            arr = tensors[key]
        else:
            text = p.read_text()
            delim = "," if "," in text else None
            arr = np.loadtxt(io.StringIO(text), delimiter=delim, ndmin=2)
    except FHRNInputError:
        raise
    except Exception as exc:  # corrupt or foreign content
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FHRNInputError(f"`path` file {str(p)!r} could not be read as a matrix: {msg}") from None
    arr = np.asarray(arr)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise FHRNInputError(f"`path` file {str(p)!r} holds non-numeric data (dtype {arr.dtype})")
    return arr.astype(np.float64)
