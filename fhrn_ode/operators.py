"""Reentry operators ``W*`` (C 5) and their decomposition (Section 3).

Every constructor returns a float64 ``numpy`` array of shape ``(d, d)`` with
spectral norm ``|W|_2 = scale`` (default 1), deterministic under ``seed``:

- ``antisym``: ``(G - G^T)/2`` for Gaussian ``G`` -> pure rotation (``W_s = 0``).
  In 2-D this is ``±scale * [[0, -1], [1, 0]]``.
- ``sym``: ``(G + G^T)/2`` -> real spectrum, stretch/compression (``W_a = 0``).
- ``mixed``: ``(1 - mix) * A/|A| + mix * S/|S|`` with the above, ``mix = 0.5`` by default:
  hybrid spiral.
- ``random``: Gaussian ``G``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import FHRNInputError, check_int, check_real
from ._io import load_matrix
from .spectrum import spectral_abscissa  # the one home of rho(M); re-exported here

__all__ = [
    "OPERATOR_KINDS",
    "OperatorInfo",
    "make_operator",
    "load_operator",
    "resolve_operator",
    "decompose",
    "operator_info",
    "check_matrix",
    "spectral_abscissa",
]

OPERATOR_KINDS = ("antisym", "sym", "mixed", "random")


def check_matrix(W, name: str = "W", dim: int | None = None) -> np.ndarray:
    """Validate a real, square, finite matrix (optionally of size ``dim``) and return it as float64.

    Raises:
        FHRNInputError: wrong rank, non-square, non-finite or wrong dimension.
    """
    try:
        import torch

        if isinstance(W, torch.Tensor):
            W = W.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    try:
        A = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError):
        raise FHRNInputError(f"`{name}` must be a real matrix, got {type(W).__name__}") from None
    if A.ndim != 2:
        raise FHRNInputError(f"`{name}` must be a 2-D matrix, got an array of shape {A.shape}")
    if A.shape[0] != A.shape[1]:
        raise FHRNInputError(f"`{name}` must be square, got shape {A.shape}")
    if A.shape[0] == 0:
        raise FHRNInputError(f"`{name}` must be at least 1x1, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        bad = int(np.size(A) - np.count_nonzero(np.isfinite(A)))
        raise FHRNInputError(f"`{name}` must be finite; it has {bad} NaN/inf entries")
    if dim is not None and A.shape[0] != dim:
        raise FHRNInputError(f"`{name}` is {A.shape[0]}x{A.shape[1]} but the dimension is {dim}; pass a {dim}x{dim} matrix or dim={A.shape[0]}")
    return A


def make_operator(kind: str, dim: int = 2, *, seed: int = 0, scale: float = 1.0, mix: float = 0.5) -> np.ndarray:
    """Build a reentry operator of the given kind (see module docstring).

    Args:
        kind: one of ``OPERATOR_KINDS``.
        dim: state dimension d >= 2 (d >= 1 for ``sym``/``random``).
        seed: seed of the Gaussian draw (``numpy.random.default_rng``).
        scale: spectral norm of the result, >= 0.
        mix: weight of the symmetric part for ``mixed``, in [0, 1].

    Returns:
        ``(d, d)`` float64 array with ``|W|_2 = scale``.

    Raises:
        FHRNInputError: unknown kind or bad dim/scale/mix.
    """
    if kind not in OPERATOR_KINDS:
        raise FHRNInputError(f"`kind` must be one of {', '.join(OPERATOR_KINDS)}; got {kind!r}")
    low = 2 if kind in ("antisym", "mixed") else 1
    dim = check_int("dim", dim, low=low)
    seed = check_int("seed", seed, low=0)
    scale = check_real("scale", scale, low=0.0)
    mix = check_real("mix", mix, low=0.0, high=1.0)
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((dim, dim))
    Ga, Gs = decompose(G)
    if kind == "antisym":
        W = _unit(Ga)
    elif kind == "sym":
        W = _unit(Gs)
    elif kind == "random":
        W = _unit(G)
    else:
        H = rng.standard_normal((dim, dim))
        W = _unit((1.0 - mix) * _unit(Ga) + mix * _unit(decompose(H)[1]))
    return scale * W


def _unit(W: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(W, 2)
    return W / n if n > 0 else W


def load_operator(path: str | os.PathLike, dim: int | None = None) -> np.ndarray:
    """Load ``W*`` from ``.npy``, ``.npz`` (key ``W``), ``.safetensors`` (key ``W``) or ``.csv``/``.txt``.

    Raises:
        FHRNInputError: missing/corrupt file, missing key, or a non-square/non-finite/wrong-size matrix.
    """
    A = load_matrix(path)
    return check_matrix(A, name=f"path ({Path(path).name})", dim=dim)


def resolve_operator(spec: str | np.ndarray, dim: int | None = None, *, seed: int = 0,
                     scale: float = 1.0) -> tuple[str, np.ndarray]:
    """Resolve a CLI-style ``--wr`` spec: a kind name, a file path, or a matrix.

    Returns:
        ``(name, W)``; for a file the name is the path.
    """
    if isinstance(spec, str):
        if spec in OPERATOR_KINDS:
            return spec, make_operator(spec, 2 if dim is None else dim, seed=seed, scale=scale)
        p = Path(spec)
        if p.suffix == "" and not p.exists():
            raise FHRNInputError(
                f"`spec` must be one of {', '.join(OPERATOR_KINDS)} or a matrix file (.npy/.npz/.safetensors/.csv/.txt); got {spec!r}"
            )
        return spec, load_operator(p, dim)
    return "matrix", check_matrix(spec, "W", dim)


def decompose(W) -> tuple[np.ndarray, np.ndarray]:
    """Split ``W* = W_a + W_s``, ``W_a = (W - W^T)/2`` (rotation), ``W_s = (W + W^T)/2`` (stretch) (Section 3).

    The one home of this split: every caller imports it. ``W`` is ``(d, d)`` or a batch ``(..., d, d)``
    (transposes act on the last two axes). Returns ``(W_a, W_s)``, float64, shaped like ``W``.

    Raises:
        FHRNInputError: not square, or (one matrix) not finite; a batch may hold NaN (they propagate).
    """
    if np.ndim(W) == 2:
        A = check_matrix(W)
    else:
        A = np.asarray(W.detach().cpu().numpy() if hasattr(W, "detach") else W, dtype=np.float64)
        if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
            raise FHRNInputError(f"`W` must have shape (..., d, d), got {A.shape}")
    At = np.swapaxes(A, -1, -2)
    return 0.5 * (A - At), 0.5 * (A + At)


@dataclass(frozen=True)
class OperatorInfo:
    """Summary of an operator: norms of ``W``, ``W_a``, ``W_s`` (spectral 2-norm) and ``rho(W)``."""

    name: str
    dim: int
    norm2: float
    spectral_abscissa: float
    antisym_norm: float
    sym_norm: float

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "norm2": self.norm2,
            "spectral_abscissa": self.spectral_abscissa,
            "antisym_norm": self.antisym_norm,
            "sym_norm": self.sym_norm,
        }


def operator_info(W, name: str = "W") -> OperatorInfo:
    """Norms and spectral abscissa of ``W`` and of its parts ``W_a``, ``W_s``."""
    A = check_matrix(W)
    Wa, Ws = decompose(A)
    return OperatorInfo(
        name=name,
        dim=A.shape[0],
        norm2=float(np.linalg.norm(A, 2)),
        spectral_abscissa=spectral_abscissa(A),
        antisym_norm=float(np.linalg.norm(Wa, 2)),
        sym_norm=float(np.linalg.norm(Ws, 2)),
    )
