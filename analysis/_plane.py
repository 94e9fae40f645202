"""Planes in state space: an orthonormal basis, grid points on a plane (one home for the phase portraits
and the spectral maps of :mod:`fhrn_ode.analysis.phase` and :mod:`fhrn_ode.analysis.spectra`)."""

from __future__ import annotations

import numpy as np

from fhrn_ode._errors import FHRNInputError


def orthonormal_basis(basis, d: int) -> np.ndarray:
    """Orthonormalise a plane's ``(d, 2)`` basis (QR), keeping the direction of each given column.

    Raises:
        FHRNInputError: wrong shape, non-finite entries or linearly dependent columns.
    """
    B = np.asarray(basis, dtype=np.float64)
    if B.shape != (d, 2) or not np.all(np.isfinite(B)):
        raise FHRNInputError(f"`basis` must be a finite ({d}, 2) array, got shape {B.shape}")
    Q, R = np.linalg.qr(B)
    if np.min(np.abs(np.diag(R))) < 1e-12:
        raise FHRNInputError("`basis` columns must be linearly independent")
    return Q * np.sign(np.diag(R))


def plane_points(y1, y2, origin, basis) -> np.ndarray:
    """States ``origin + y1[j] b1 + y2[i] b2`` on the grid, ``(len(y2), len(y1), d)``."""
    o = np.asarray(origin, dtype=np.float64)
    B = np.asarray(basis, dtype=np.float64)
    Y1, Y2 = np.meshgrid(np.asarray(y1, dtype=np.float64), np.asarray(y2, dtype=np.float64))
    return o + Y1[..., None] * B[:, 0] + Y2[..., None] * B[:, 1]


def _plane(d: int, origin, basis) -> tuple[np.ndarray, np.ndarray]:
    o = np.zeros(d) if origin is None else np.asarray(origin, dtype=np.float64)
    if o.shape != (d,) or not np.all(np.isfinite(o)):
        raise FHRNInputError(f"`origin` must be a finite vector of length {d}, got shape {o.shape}")
    if basis is None:
        B = np.eye(d)[:, :2]
    else:
        B = orthonormal_basis(basis, d)
    return o, B
