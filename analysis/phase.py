"""Phase-portrait data: projections of trajectories onto a plane (Fig. 2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fhrn_ode._errors import FHRNInputError

__all__ = ["Projection", "project"]


@dataclass(frozen=True)
class Projection:
    """A 2-D view of d-dimensional states.

    Attributes:
        basis: ``(d, 2)`` orthonormal columns spanning the plane.
        center: ``(d,)`` origin of the plane (0 for coordinate planes, the data mean for PCA).
        coords: projected points, shape ``points.shape[:-1] + (2,)``.
        explained: fraction of variance captured by each axis (PCA) or None.
        kind: 'identity' (d = 2), 'pca' or 'plane'.
    """

    basis: np.ndarray
    center: np.ndarray
    coords: np.ndarray
    explained: np.ndarray | None
    kind: str


def project(points, *, basis=None) -> Projection:
    """Project states ``(..., d)`` onto a plane.

    ``d = 2`` gives the identity. Otherwise a ``basis`` ``(d, 2)`` (orthonormalised by QR) is used
    if given, else the top two principal components of all points (SVD of the centred data).

    Raises:
        FHRNInputError: non-finite points, ``d < 2``, or a basis of the wrong shape/rank.
    """
    Y = np.asarray(points, dtype=np.float64)
    if Y.ndim < 2 or Y.shape[-1] < 2:
        raise FHRNInputError(f"`points` must have shape (..., d) with d >= 2, got {Y.shape}")
    if not np.all(np.isfinite(Y)):
        raise FHRNInputError("`points` must be finite")
    d = Y.shape[-1]
    flat = Y.reshape(-1, d)
    if basis is not None:
        B = np.asarray(basis, dtype=np.float64)
        if B.shape != (d, 2) or not np.all(np.isfinite(B)):
            raise FHRNInputError(f"`basis` must be a finite ({d}, 2) array, got shape {B.shape}")
        Q, R = np.linalg.qr(B)
        if np.min(np.abs(np.diag(R))) < 1e-12:
            raise FHRNInputError("`basis` columns must be linearly independent")
        center = np.zeros(d)
        return Projection(Q, center, (Y - center) @ Q, None, "plane")
    if d == 2:
        return Projection(np.eye(2), np.zeros(2), Y.copy(), None, "identity")
    center = flat.mean(axis=0)
    _, s, Vt = np.linalg.svd(flat - center, full_matrices=False)
    var = s ** 2
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    Q = Vt[:2].T
    return Projection(Q, center, (Y - center) @ Q, explained, "pca")
