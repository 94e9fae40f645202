"""Jacobians of vector fields and local stability measures (docs/model.md §1; C 10-11).

* :func:`jacobian` — autograd Jacobian of ANY field ``y -> f(y)`` (a callable on one state ``(d,)``, or an
  :class:`~fhrn_ode.field.FHRNField`), batched over points with ``torch.func.vmap(jacrev(f))``.
* :func:`fhrn_jacobian` — the closed form of the FHRN field (``FHRNField.jacobian``: C 10-11 plus the
  gain derivative and the memory readout).
* :func:`spectral_abscissa`, :func:`log_norm`, :func:`henrici` — per-matrix measures, batched.
* :func:`local_stability` — all of them at a set of points, as a frozen :class:`LocalStability`.

Definitions (J real ``(d, d)``):

* spectral abscissa ``rho(J) = max_i Re lambda_i(J)``: ``y`` is a locally stable equilibrium iff rho < 0,
  and ``rho`` is the asymptotic growth rate of small perturbations of the linearisation;
* logarithmic 2-norm ``mu_2(J) = lambda_max((J + J^T)/2)``: the INITIAL growth rate,
  ``d/dt |dy| <= mu_2 |dy|``; always ``mu_2 >= rho``, with equality for normal J;
* Henrici departure from normality, relative: ``dep(J) = sqrt(max(|J|_F^2 - sum_i |lambda_i|^2, 0)) / |J|_F``
  in [0, 1]; 0 iff J is normal (then mu_2 = rho and there is no transient growth). 0 for ``J = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.func import jacrev, vmap

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import decompose
from fhrn_ode.spectrum import spectral_abscissa  # the one home of rho(J); re-exported here

__all__ = ["LocalStability", "jacobian", "fhrn_jacobian", "spectral_abscissa", "log_norm", "henrici",
           "local_stability", "as_points"]


def as_points(points, d: int | None = None) -> torch.Tensor:
    """``(N, d)`` float64 tensor from ``(d,)`` / ``(N, d)`` array-likes; refuses non-finite input."""
    y = torch.as_tensor(np.asarray(points, dtype=np.float64)) if not isinstance(points, torch.Tensor) \
        else points.detach().to(torch.float64)
    if y.ndim == 1:
        y = y.unsqueeze(0)
    if y.ndim != 2 or y.shape[0] == 0 or (d is not None and y.shape[1] != d):
        want = "(N, d)" if d is None else f"(N, {d})"
        raise FHRNInputError(f"`points` must have shape {want}, got {tuple(y.shape)}")
    if not bool(torch.isfinite(y).all()):
        raise FHRNInputError("`points` must be finite")
    return y


def _as_callable(f) -> tuple[Callable[[torch.Tensor], torch.Tensor], int | None]:
    if isinstance(f, FHRNField):
        if f.has_memory:
            raise FHRNInputError("`f` has memory; pass a callable y -> f(y, A) with A fixed instead")
        return f.velocity, f.dim
    if callable(f):
        return f, None
    raise FHRNInputError(f"`f` must be an FHRNField or a callable y -> f(y), got {type(f).__name__}")


def jacobian(f, points) -> torch.Tensor:
    """Autograd Jacobian ``df/dy`` of a vector field at each point: ``(N, d, d)`` float64.

    Args:
        f: an :class:`FHRNField` (memory-free) or a callable mapping ONE state ``(d,)`` (torch) to
            ``(d,)``, written with torch ops (it is traced by ``torch.func``).
        points: ``(N, d)`` or ``(d,)``.
    """
    fn, d = _as_callable(f)
    y = as_points(points, d)
    return vmap(jacrev(fn))(y)


def fhrn_jacobian(field: FHRNField, points, A=None) -> torch.Tensor:
    """Closed-form Jacobian of the FHRN field (C 10-11 + gain derivative), ``(N, d, d)``; ``A`` fixed."""
    if not isinstance(field, FHRNField):
        raise FHRNInputError(f"`field` must be an FHRNField, got {type(field).__name__}")
    y = as_points(points, field.dim)
    return field.jacobian(y, None if A is None else torch.as_tensor(A, dtype=y.dtype))


def _np(J) -> np.ndarray:
    J = J.detach().cpu().numpy() if isinstance(J, torch.Tensor) else np.asarray(J, dtype=np.float64)
    if J.ndim < 2 or J.shape[-1] != J.shape[-2]:
        raise FHRNInputError(f"`J` must have shape (..., d, d), got {J.shape}")
    return J


def log_norm(J) -> np.ndarray:
    """Logarithmic 2-norm ``mu_2(J) = lambda_max((J + J^T)/2)`` of each matrix (``eigvalsh``)."""
    return np.linalg.eigvalsh(decompose(_np(J))[1])[..., -1]


def henrici(J, eigenvalues=None) -> np.ndarray:
    """Relative Henrici departure from normality ``sqrt(|J|_F^2 - sum|lambda|^2) / |J|_F`` in [0, 1]."""
    J = _np(J)
    lam = np.linalg.eigvals(J) if eigenvalues is None else np.asarray(eigenvalues)
    fro2 = np.sum(J * J, axis=(-1, -2))
    dep2 = np.maximum(fro2 - np.sum(np.abs(lam) ** 2, axis=-1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sqrt(dep2 / fro2)
    return np.where(fro2 > 0, out, 0.0)


@dataclass(frozen=True)
class LocalStability:
    """Local linear stability at ``N`` points.

    Attributes:
        points: ``(N, d)``. jacobian: ``(N, d, d)``. eigenvalues: ``(N, d)`` complex.
        spectral_abscissa: ``(N,)`` rho(J). log_norm: ``(N,)`` mu_2(J). henrici: ``(N,)`` departure from
        normality in [0, 1]. stable: ``(N,)`` bool, rho < 0.
    """

    points: np.ndarray
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    spectral_abscissa: np.ndarray
    log_norm: np.ndarray
    henrici: np.ndarray
    stable: np.ndarray


def local_stability(f, points, *, closed_form: bool = True) -> LocalStability:
    """Jacobian, eigenvalues, rho, mu_2 and non-normality at each point.

    ``closed_form``: use :meth:`FHRNField.jacobian` when ``f`` is an FHRNField (else autograd).
    """
    if closed_form and isinstance(f, FHRNField):
        J = fhrn_jacobian(f, points)
        y = as_points(points, f.dim)
    else:
        J = jacobian(f, points)
        y = as_points(points)
    Jn = J.detach().numpy()
    lam = np.linalg.eigvals(Jn)
    rho = spectral_abscissa(Jn)
    return LocalStability(y.numpy(), Jn, lam, rho, log_norm(Jn), henrici(Jn, lam), rho < 0)
