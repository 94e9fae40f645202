"""Spectral-abscissa maps over planes of state space and along trajectories (Fig. 2b; C 10-11).

The abscissa of many Jacobians is :func:`fhrn_ode.spectrum.spectral_abscissa` (closed form for d = 2,
batched eigenvalues otherwise); ``batched_spectral_abscissa``, ``batched_eigvals``, ``eigvals_2x2`` and
``spectral_abscissa_2x2`` are re-exported from there.

Gain pole (beta >= 1): ``g`` (:mod:`fhrn_ode.homeostasis`) is infinite on the sphere
``|y| = sqrt(1 - 1/beta)``; map entries on the pole (:func:`fhrn_ode.homeostasis.near_pole`, threshold
``POLE_THRESHOLD``), or whose Jacobian is not finite, are NaN (never inf, never a silent number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError, check_int, check_real
from fhrn_ode.field import FHRNField
from fhrn_ode.homeostasis import POLE_THRESHOLD, gain_derivative, gain_or_nan, has_pole, near_pole
from fhrn_ode.spectrum import batched_eigvals, eigvals_2x2, spectral_abscissa, spectral_abscissa_2x2

from ._plane import _plane, plane_points

__all__ = ["SpectralMap", "TrajectorySpectra", "POLE_THRESHOLD", "eigvals_2x2", "spectral_abscissa_2x2",
           "batched_eigvals", "batched_spectral_abscissa", "plane_points", "planar_jacobian", "spectral_map", "trajectory_spectra"]

#: The one batched spectral abscissa (fhrn_ode.spectrum), under its historical name here.
batched_spectral_abscissa = spectral_abscissa


@dataclass(frozen=True)
class SpectralMap:
    """``rho(J(y))`` over a plane ``y = origin + y1 b1 + y2 b2``.

    Attributes:
        y1: ``(n,)`` coordinates along ``basis[:, 0]``; y2: ``(n,)`` along ``basis[:, 1]``.
        spectral_abscissa: ``(n, n)``; entry ``[i, j]`` is at ``(y1[j], y2[i])`` (NaN at the gain pole).
        origin: ``(d,)``; basis: ``(d, 2)`` orthonormal. method: 'closed-form-2x2' or 'batched-eigvals'.
        n_nan: number of NaN entries (pole or non-finite J).
    """

    y1: np.ndarray
    y2: np.ndarray
    spectral_abscissa: np.ndarray
    origin: np.ndarray
    basis: np.ndarray
    method: str
    n_nan: int


def _field_jacobians(field: FHRNField, pts: np.ndarray) -> np.ndarray:
    y = torch.as_tensor(pts.reshape(-1, field.dim), dtype=torch.float64)
    with torch.no_grad():
        J = field.jacobian(y).numpy()
    p = field.params
    if has_pole(p.beta):
        pole = near_pole((pts.reshape(-1, field.dim) ** 2).sum(-1), p.beta)
        J = np.where(pole[:, None, None], np.nan, J)
    return J


def _planar_entries(field: FHRNField, u: torch.Tensor, v: torch.Tensor):
    """Entries ``(J00, J01, J10, J11)`` of the closed-form 2-D Jacobian at ``y = (u, v)`` (float64 tensors,
    broadcast against each other; see :func:`planar_jacobian`). torch elementwise kernels: ~5x numpy here."""
    p = field.params
    W = field.W.detach().cpu().numpy()
    u2, v2 = u * u, v * v
    k2 = 2.0 * p.kappa
    c0 = (-p.leak + p.kappa * p.theta ** 2) - p.kappa * (u2 + v2)
    uv = (-k2) * (u * v)
    if p.beta == 0.0:
        gw = p.gamma * W
        return (c0 - k2 * u2 + gw[0, 0], uv + gw[0, 1], uv + gw[1, 0], c0 - k2 * v2 + gw[1, 1])
    g = gain_or_nan(u2 + v2, p.beta)
    w0 = W[0, 0] * u + W[0, 1] * v
    w1 = W[1, 0] * u + W[1, 1] * v
    q = -2.0 * gain_derivative(u2 + v2, p.beta)  # -2 dg/d|y|^2 (NaN where g is)
    return (c0 - k2 * u2 + p.gamma * (g * W[0, 0] - q * w0 * u),
            uv + p.gamma * (g * W[0, 1] - q * w0 * v),
            uv + p.gamma * (g * W[1, 0] - q * w1 * u),
            c0 - k2 * v2 + p.gamma * (g * W[1, 1] - q * w1 * v))


def planar_jacobian(field: FHRNField, u, v) -> np.ndarray:
    """Closed-form Jacobian of a 2-D memory-free FHRN field at ``y = (u, v)`` (arrays), ``u.shape + (2, 2)``.

    The same formula as :meth:`FHRNField.jacobian` (C 10-11 + gain derivative), written entry by entry in
    numpy so a whole grid costs a few vector operations. NaN at the gain pole (:func:`fhrn_ode.homeostasis.near_pole`).
    """
    if field.dim != 2:
        raise FHRNInputError(f"`field` must be 2-D for planar_jacobian, got d = {field.dim}")
    u = torch.as_tensor(np.asarray(u, dtype=np.float64))
    v = torch.as_tensor(np.asarray(v, dtype=np.float64))
    a, b, c, e = torch.broadcast_tensors(*_planar_entries(field, u, v))
    return torch.stack([torch.stack([a, b], -1), torch.stack([c, e], -1)], -2).numpy()


def spectral_map(field: FHRNField, *, extent: float = 2.0, n: int = 200, origin=None, basis=None,
                 workers: int | None = None) -> SpectralMap:
    """Spectral-abscissa map of the closed-form Jacobian on an ``n x n`` grid of ``[-extent, extent]^2``.

    For d > 2 the plane is ``origin + span(basis)`` (default: the first two coordinate axes through 0).
    """
    if not isinstance(field, FHRNField):
        raise FHRNInputError(f"`field` must be an FHRNField, got {type(field).__name__}")
    if field.has_memory:
        raise FHRNInputError("`field` has memory; spectral maps are for the memory-free field")
    extent = check_real("extent", extent, low=0.0, low_open=True)
    n = check_int("n", n, low=2)
    o, B = _plane(field.dim, origin, basis)
    ax = np.linspace(-extent, extent, n)
    if field.dim == 2:
        at = torch.as_tensor(ax)
        c1, c2 = at[None, :], at[:, None]  # broadcast: [i, j] at (y1[j], y2[i])
        a, b, c, e = _planar_entries(field, o[0] + c1 * B[0, 0] + c2 * B[0, 1], o[1] + c1 * B[1, 0] + c2 * B[1, 1])
        h = 0.5 * (a - e)
        disc = torch.addcmul(h * h, b, c).clamp_(min=0.0).sqrt_()  # Re sqrt(tr^2/4 - det); NaN stays NaN
        rho = disc.add_(0.5 * (a + e)).numpy()  # tr/2 + Re sqrt(tr^2/4 - det)
    else:
        pts = plane_points(ax, ax, o, B)
        J = _field_jacobians(field, pts)
        rho = batched_spectral_abscissa(J, workers=workers).reshape(n, n)
    method = "closed-form-2x2" if field.dim == 2 else "batched-eigvals"
    return SpectralMap(ax, ax.copy(), rho, o, B, method, int(np.isnan(rho).sum()))


@dataclass(frozen=True)
class TrajectorySpectra:
    """Local measures along trajectories ``y`` ``(T, N, d)``: each field ``(T, N)``."""

    t: np.ndarray
    spectral_abscissa: np.ndarray
    log_norm: np.ndarray
    radius: np.ndarray


def trajectory_spectra(field: FHRNField, t, y) -> TrajectorySpectra:
    """``rho(J)``, ``mu_2(J)`` and ``|y|`` along trajectories ``y`` ``(T, N, d)`` at times ``t`` ``(T,)``."""
    from fhrn_ode.dynamics.jacobians import log_norm

    Y = y.detach().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)
    if Y.ndim != 3 or Y.shape[-1] != field.dim:
        raise FHRNInputError(f"`y` must have shape (T, N, {field.dim}), got {Y.shape}")
    J = _field_jacobians(field, Y)
    rho = batched_spectral_abscissa(J).reshape(Y.shape[:2])
    mu = np.where(np.isfinite(J).all(axis=(-1, -2)), log_norm(np.nan_to_num(J)), np.nan).reshape(Y.shape[:2])
    tt = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    return TrajectorySpectra(tt, rho, mu, np.linalg.norm(Y, axis=-1))
