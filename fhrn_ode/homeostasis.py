"""The homeostatic gain ``g`` and its pole: the one home of these formulas (docs/model.md §1; C 2).

    g(r2; beta)      = 1 / (1 + beta (r2 - 1)),      r2 = |y|^2            (C 2)
    dg/dr2           = -beta g^2
    pole (beta >= 1) : r2_pole = 1 - 1/beta, i.e. |y| = sqrt(1 - 1/beta)  (the origin at beta = 1)

Every module that needs ``g`` (the continuous field, the discrete FH-RL layer, the linearization, the
analyses and figures) imports it from here. The functions work on ``numpy`` arrays, ``torch`` tensors and
Python floats alike; ``beta`` may be a float or a tensor (trainable). One threshold decides what counts as
"on the pole": :data:`POLE_THRESHOLD` on the denominator ``|1 + beta (r2 - 1)|`` (:func:`near_pole`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["POLE_THRESHOLD", "gain", "gain_derivative", "gain_denominator", "gain_or_nan", "has_pole",
           "near_pole", "pole_r2", "pole_radius"]

#: A state with ``|1 + beta (|y|^2 - 1)| < POLE_THRESHOLD`` counts as sitting on the gain pole (|g| > 1000):
#: the integrator freezes and reports it, maps mark it NaN, linear checks refuse it.
POLE_THRESHOLD = 1e-3


def _is_zero_scalar(beta) -> bool:
    return isinstance(beta, (int, float)) and not isinstance(beta, bool) and beta == 0.0


def _ones_like(x):
    if isinstance(x, (int, float)):
        return 1.0
    if isinstance(x, np.ndarray):
        return np.ones_like(x, dtype=np.float64) if x.dtype.kind in "iub" else np.ones_like(x)
    return x.new_ones(x.shape) if x.is_floating_point() else x.new_ones(x.shape, dtype=float)


def has_pole(beta) -> bool:
    """Whether ``g`` has a pole: ``beta >= 1`` (C 2). The denominator ``1 - beta + beta r2`` is
    ``>= 1 - beta > 0`` for ``beta < 1``; at ``beta = 1`` it is ``r2``, so the pole is the origin.
    ``beta``: a float or a tensor (True if any entry has a pole)."""
    if isinstance(beta, (int, float)):
        return float(beta) >= 1.0
    return bool((beta >= 1.0).any())


def gain_denominator(r2, beta):
    """``1 + beta (r2 - 1)``, the denominator of ``g`` (C 2); same type/shape as the broadcast inputs."""
    return 1.0 + beta * (r2 - 1.0)


def gain(r2, beta):
    """Homeostatic gain ``g = 1/(1 + beta (r2 - 1))`` of ``r2 = |y|^2`` (C 2).

    Args:
        r2: squared norms, any shape (numpy, torch or float).
        beta: gain modulation (float or tensor, broadcast against ``r2``); a float 0 returns ones.

    Returns:
        ``g`` like ``r2``. Exact: at the pole (beta >= 1, ``r2 = 1 - 1/beta``) it is ``inf``; callers that
        must not see it mask with :func:`near_pole` or use :func:`gain_or_nan`.
    """
    if _is_zero_scalar(beta):
        return _ones_like(r2)
    return 1.0 / gain_denominator(r2, beta)


def gain_derivative(r2, beta):
    """``dg/d(r2) = -beta g^2`` (derivative of C 2 with respect to ``|y|^2``)."""
    g = gain(r2, beta)
    return -beta * g * g


def pole_r2(beta: float) -> float | None:
    """Squared radius of the pole, ``r2_pole = 1 - 1/beta`` for ``beta >= 1`` (0: the origin at beta = 1; C 2), else None."""
    beta = float(beta)
    return 1.0 - 1.0 / beta if has_pole(beta) else None


def pole_radius(beta: float) -> float | None:
    """Radius of the pole, ``sqrt(1 - 1/beta)`` for ``beta >= 1`` (0 at beta = 1; C 2), else None."""
    r2 = pole_r2(beta)
    return None if r2 is None else math.sqrt(r2)


def near_pole(r2, beta):
    """Mask of states on the pole: ``beta >= 1`` and ``|1 + beta (r2 - 1)| < POLE_THRESHOLD`` (C 2).

    For ``beta < 1`` the denominator is ``>= 1 - beta > 0`` and vanishes nowhere, so the mask is False;
    at ``beta = 1`` it is ``r2``: the states within ``sqrt(POLE_THRESHOLD)`` of the origin. Works on numpy arrays (returns a numpy bool array) and torch tensors (returns a
    bool tensor, no autograd); ``beta`` broadcasts against ``r2``.
    """
    den = gain_denominator(r2, beta)
    if isinstance(den, np.ndarray) or np.isscalar(den):
        return np.asarray((np.asarray(beta) >= 1.0) & (np.abs(den) < POLE_THRESHOLD))
    import torch

    b = beta.detach() if isinstance(beta, torch.Tensor) else torch.tensor(float(beta), device=den.device)
    return (b >= 1.0) & (den.detach().abs() < POLE_THRESHOLD)


def gain_or_nan(r2, beta):
    """:func:`gain` with NaN (never inf or a huge value) where :func:`near_pole` holds."""
    g = gain(r2, beta)
    mask = near_pole(r2, beta)
    if isinstance(g, np.ndarray) or np.isscalar(g):
        return np.where(mask, np.nan, g)
    import torch

    return torch.where(mask, torch.full_like(g, float("nan")), g)
