"""Phase-portrait data (Fig. 2): projections of trajectories onto a plane, and streamlines, nullclines,
trajectories, the ``|y| = theta`` circle and the ring radius of the FHRN field on a plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fhrn_ode._errors import FHRNInputError

from ._plane import _plane, orthonormal_basis, plane_points

__all__ = ["Projection", "project", "PhasePortrait", "phase_portrait"]


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
        FHRNInputError: infinite points (NaN rows, the saved times after a trajectory stopped, are
            projected to NaN and left out of the PCA), ``d < 2``, or a basis of the wrong shape/rank.
    """
    Y = np.asarray(points, dtype=np.float64)
    if Y.ndim < 2 or Y.shape[-1] < 2:
        raise FHRNInputError(f"`points` must have shape (..., d) with d >= 2, got {Y.shape}")
    if np.isinf(Y).any():
        raise FHRNInputError("`points` must be finite or NaN (NaN marks the saved times after a trajectory stopped)")
    d = Y.shape[-1]
    flat = Y.reshape(-1, d)
    flat = flat[np.isfinite(flat).all(axis=1)]  # a stopped trajectory's NaN rows take no part in the fit
    if flat.shape[0] == 0:
        raise FHRNInputError("`points` must hold at least one finite state")
    if basis is not None:
        Q = orthonormal_basis(basis, d)
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


@dataclass(frozen=True)
class PhasePortrait:
    """Everything a phase portrait draws, on the plane ``origin + u b1 + v b2``.

    Attributes:
        y1, y2: ``(n,)`` grid coordinates. U, V: ``(n, n)`` the field projected on ``b1``, ``b2``;
        entry ``[i, j]`` at ``(y1[j], y2[i])`` (for ``matplotlib.streamplot``); NaN at the gain pole.
        speed: ``(n, n)`` |f| (full d-dimensional norm). nullclines: tuple of two lists of ``(k, 2)``
        polylines, the zero contours of U and V on the grid. trajectories: ``(T, N, 2)`` projected;
        t: ``(T,)``. origin: ``(d,)``; basis: ``(d, 2)``. theta: the ``|y| = theta`` circle;
        ring_radius: ``sqrt(theta^2 - leak/kappa)`` (the antisymmetric-W ring; 0 if none).
    """

    y1: np.ndarray
    y2: np.ndarray
    U: np.ndarray
    V: np.ndarray
    speed: np.ndarray
    nullclines: tuple
    trajectories: np.ndarray
    t: np.ndarray
    origin: np.ndarray
    basis: np.ndarray
    theta: float
    ring_radius: float


def _zero_contours(x, y, Z) -> list:
    import contourpy

    gen = contourpy.contour_generator(x, y, np.ma.masked_invalid(Z))
    return [np.asarray(c) for c in gen.lines(0.0) if len(c) >= 2]


def phase_portrait(W, params=None, *, extent: float = 1.6, n: int = 60, n_traj: int = 6, t1: float = 8.0,
                   n_points: int = 400, init_radius: float = 1.6, origin=None, basis=None,
                   seed: int = 0) -> PhasePortrait:
    """Streamplot field, nullclines and trajectories of the memory-free FHRN field (C 7-8) on a plane.

    Initial states: ``n_traj`` points on the plane at radii evenly spaced in ``(0, init_radius]`` and
    seeded angles. For d > 2 the default plane is the first two coordinate axes through 0.
    """
    import torch

    from fhrn_ode._errors import check_int, check_real
    from fhrn_ode.field import FHRNField
    from fhrn_ode.integration import integrate
    from fhrn_ode.params import FHRNParams, ring_radius

    from fhrn_ode.homeostasis import has_pole, near_pole


    params = FHRNParams() if params is None else params
    if params.memory != "none":
        raise FHRNInputError("`params.memory` must be 'none' for a phase portrait")
    field = FHRNField(W, params)
    d = field.dim
    extent = check_real("extent", extent, low=0.0, low_open=True)
    n = check_int("n", n, low=2)
    n_traj = check_int("n_traj", n_traj, low=0)
    o, B = _plane(d, origin, basis)
    ax = np.linspace(-extent, extent, n)
    pts = plane_points(ax, ax, o, B)
    with torch.no_grad():
        F = field.velocity(torch.as_tensor(pts.reshape(-1, d))).numpy().reshape(n, n, d)
    if has_pole(params.beta):
        F = np.where(near_pole((pts ** 2).sum(-1), params.beta)[..., None], np.nan, F)
    U, V = F @ B[:, 0], F @ B[:, 1]
    ncl = (_zero_contours(ax, ax, U), _zero_contours(ax, ax, V))
    if n_traj > 0:
        rng = np.random.default_rng(check_int("seed", seed, low=0))
        ang = rng.uniform(0, 2 * np.pi, n_traj)
        r = init_radius * np.arange(1, n_traj + 1) / n_traj
        y0 = o + (r * np.cos(ang))[:, None] * B[:, 0] + (r * np.sin(ang))[:, None] * B[:, 1]
        res = integrate(W, y0, params=params, t1=t1, n_points=n_points)
        traj = (res.y.detach().numpy() - o) @ B
        t = res.t.numpy()
    else:
        traj, t = np.zeros((0, 0, 2)), np.zeros(0)
    return PhasePortrait(ax, ax.copy(), U, V, np.linalg.norm(F, axis=-1), ncl, traj, t, o, B, params.theta,
                         ring_radius(params.kappa, params.theta, params.leak))
