"""Small-gain versus exact stability of ``J = -I + gamma g(|y|; beta) W`` (Fig. 4; docs/model.md §1, C 2).

Small gain (the paper's Fig. 4): ``|gamma g W|_2 < 1`` implies ``rho(-I + gamma g W) <= -1 + |gamma g W|_2 < 0``,
so the effective reentry gain ``r_e = gamma |g(|y|; beta)| |W|_2 < 1`` is SUFFICIENT for stability and the
boundary is ``|W_r|_crit = 1/(gamma |g(|y|)|)`` (the paper writes ``1/(gamma g)``; the two agree where g > 0,
which is everywhere for ``beta < 1`` and outside the pole for ``beta >= 1``).

Exact: eigenvalues shift, ``lambda_i(-I + c W) = -1 + c lambda_i(W)``, so with ``c = gamma g s`` for the
operator ``s * W_hat`` (``|W_hat|_2 = 1``, ``s = |W_r|_2``):

    rho(-I + c W_hat) = -1 + c rho(W_hat)          if c >= 0,
                      = -1 + |c| rho(-W_hat)       if c < 0  (g < 0 inside the pole, beta > 1).

Hence the exact critical scale is ``s* = 1/(gamma |g| rho(sign(g) W_hat))`` when that abscissa is > 0, and
there is NO boundary (stable for every scale) when it is <= 0 — e.g. an antisymmetric W (rho = 0). Since
``rho(W_hat) <= |W_hat|_2 = 1``, ``s* >= |W_r|_crit``: the gap factor is ``1/rho(W_hat)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fhrn_ode._errors import FHRNInputError, check_real
from fhrn_ode.homeostasis import POLE_THRESHOLD, gain_or_nan
from fhrn_ode.operators import check_matrix
from fhrn_ode.spectrum import spectral_abscissa

#: abscissas ``rho(W_hat) <= RHO_TOL`` (relative to |W|_2) are round-off zeros: no exact boundary.
RHO_TOL = 1e-12

__all__ = ["POLE_THRESHOLD", "RHO_TOL", "gain_np", "wr_crit_small_gain", "effective_gain", "exact_critical_scale", "brute_force_critical_scale",
           "SmallGainSurface", "small_gain_surface", "StabilityMap", "stability_map", "OperatorCheck",
           "check_operator"]


def gain_np(radius, beta) -> np.ndarray:
    """The gain ``g`` (C 2; :func:`fhrn_ode.homeostasis.gain_or_nan`) at ``|y| = radius``, numpy, broadcast;
    NaN on the pole (:func:`fhrn_ode.homeostasis.near_pole`), never inf."""
    r = np.asarray(radius, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(gain_or_nan(r * r, b), dtype=np.float64)


def wr_crit_small_gain(gamma, beta, radius) -> np.ndarray:
    """Small-gain boundary ``|W_r|_crit = 1/(gamma |g(radius; beta)|)`` (Fig. 4a), broadcast.

    inf where ``gamma g = 0`` (no reentry: every norm passes), NaN at the gain pole.
    """
    gg = np.asarray(gamma, dtype=np.float64) * np.abs(gain_np(radius, beta))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gg == 0.0, np.inf, 1.0 / np.where(gg == 0.0, 1.0, gg))


def effective_gain(gamma, beta, radius, wr_norm) -> np.ndarray:
    """``r_e = gamma |g(radius; beta)| |W_r|_2`` (Fig. 4b), broadcast."""
    return np.asarray(gamma, dtype=np.float64) * np.abs(gain_np(radius, beta)) * np.asarray(wr_norm, dtype=np.float64)


def exact_critical_scale(W, coupling=1.0):
    """Smallest ``s > 0`` with ``rho(-I + c s W) = 0`` for the coupling ``c`` (e.g. ``c = gamma g``): the one
    home of the exact boundary (module docstring).

    ``s* = 1/(|c| rho(sign(c) W))`` when that abscissa is > 0, else inf (stable at every scale);
    ``rho <= RHO_TOL |W|_2`` counts as 0 (round-off of an antisymmetric W gives ~1e-17, not 0).

    Args:
        W: ``(d, d)``.
        coupling: scalar or array ``c`` (broadcast); ``c = 0`` gives inf.

    Returns:
        A float for a scalar ``coupling``, else an array shaped like it.
    """
    A = check_matrix(W, "W")
    c = np.asarray(coupling, dtype=np.float64)
    tol = RHO_TOL * max(float(np.linalg.norm(A, 2)), 1e-300)
    rho_pos, rho_neg = float(spectral_abscissa(A)), float(spectral_abscissa(-A))
    a = np.where(c >= 0, rho_pos, rho_neg)
    ok = (a > tol) & (c != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(ok, 1.0 / (np.abs(c) * np.where(ok, a, 1.0)), np.inf)
    return float(out) if out.ndim == 0 else out


def brute_force_critical_scale(W, scales) -> float:
    """First ``s`` of the increasing grid ``scales`` with ``rho(-I + s W) >= 0`` (eigvals scan), inf if none."""
    A = check_matrix(W, "W")
    s = np.asarray(scales, dtype=np.float64)
    if s.ndim != 1 or s.size < 2 or not np.all(np.diff(s) > 0):
        raise FHRNInputError("`scales` must be an increasing 1-D grid of at least 2 values")
    eye = np.eye(A.shape[0])
    rho = spectral_abscissa(-eye + s[:, None, None] * A)
    hit = np.nonzero(rho >= 0)[0]
    return float(s[hit[0]]) if hit.size else float("inf")


@dataclass(frozen=True)
class SmallGainSurface:
    """Fig. 4a: ``wr_crit[i, j] = 1/(gamma[j] g(radius; beta[i]))`` on the ``(gamma, beta)`` grid."""

    gamma: np.ndarray
    beta: np.ndarray
    radius: float
    wr_crit: np.ndarray


def small_gain_surface(gamma, beta, radius: float) -> SmallGainSurface:
    """Small-gain critical norm over a ``(gamma, beta)`` grid at a fixed radius (Fig. 4a)."""
    g = np.asarray(gamma, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    if g.ndim != 1 or b.ndim != 1 or np.any(g <= 0) or np.any(b < 0):
        raise FHRNInputError("`gamma` must be a 1-D grid of values > 0 and `beta` a 1-D grid of values >= 0")
    radius = check_real("radius", radius, low=0.0)
    return SmallGainSurface(g, b, radius, wr_crit_small_gain(g[None, :], b[:, None], radius))


@dataclass(frozen=True)
class StabilityMap:
    """Fig. 4b: over ``(beta, |W_r|)`` at a fixed radius and gamma.

    Attributes:
        beta: ``(nb,)``; wr_norm: ``(nw,)``; r_e: ``(nw, nb)`` effective gain, entry ``[i, j]`` at
        ``(beta[j], wr_norm[i])``. wr_crit_small_gain: ``(nb,)`` the ``r_e = 1`` curve.
        operators: names of the operators whose exact boundary is drawn; wr_crit_exact: ``(k, nb)``
        their exact critical norms (inf: never unstable); spectral_abscissa: ``(k, nw, nb)``
        ``rho(-I + gamma g s W_hat)`` by brute-force eigenvalues on the grid.
    """

    beta: np.ndarray
    wr_norm: np.ndarray
    gamma: float
    radius: float
    r_e: np.ndarray
    wr_crit_small_gain: np.ndarray
    operators: tuple
    wr_crit_exact: np.ndarray
    spectral_abscissa: np.ndarray


def _unit(W: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(W, 2)
    if n == 0:
        raise FHRNInputError("`W` must be nonzero to define a direction W/|W|_2")
    return W / n


def stability_map(beta, wr_norm, *, gamma: float, radius: float, operators: dict | None = None) -> StabilityMap:
    """r_e over ``(beta, |W_r|)`` plus, for each operator direction, the exact boundary (Fig. 4b)."""
    b = np.asarray(beta, dtype=np.float64)
    w = np.asarray(wr_norm, dtype=np.float64)
    if b.ndim != 1 or w.ndim != 1 or np.any(b < 0) or np.any(w < 0):
        raise FHRNInputError("`beta` and `wr_norm` must be 1-D grids of values >= 0")
    gamma = check_real("gamma", gamma, low=0.0)
    radius = check_real("radius", radius, low=0.0)
    g = gain_np(radius, b)
    r_e = effective_gain(gamma, b[None, :], radius, w[:, None])
    names, crit, rho = [], [], []
    for name, W in (operators or {}).items():
        Wh = _unit(check_matrix(W, f"operators[{name!r}]"))
        eye = np.eye(Wh.shape[0])
        gf = np.where(np.isfinite(g), g, 0.0)
        crit_b = np.where(np.isfinite(g), exact_critical_scale(Wh, gamma * gf), np.nan)
        c = gamma * g[None, :] * w[:, None]  # (nw, nb)
        M = -eye + c[..., None, None] * Wh
        rho.append(spectral_abscissa(M))
        names.append(name)
        crit.append(crit_b)
    k = len(names)
    return StabilityMap(b, w, gamma, radius, r_e, wr_crit_small_gain(gamma, b, radius), tuple(names),
                        np.array(crit).reshape(k, b.size),
                        np.array(rho).reshape(k, w.size, b.size))


@dataclass(frozen=True)
class OperatorCheck:
    """Stability of ``J = -I + gamma g(radius; beta) W`` for one operator (docs/model.md §5)."""

    gamma: float
    beta: float
    radius: float
    gain: float
    wr_norm: float
    r_e: float
    spectral_abscissa: float
    stable: bool
    stable_small_gain: bool
    wr_norm_critical_small_gain: float
    wr_norm_critical_exact: float

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def check_operator(W, gamma: float, beta: float, radius: float) -> OperatorCheck:
    """Exact (``rho(-I + gamma g W) < 0``) and small-gain (``r_e < 1``) stability of one operator.

    ``wr_norm_critical_exact`` is the norm ``|W|_2`` at which ``s W/|W|`` first becomes unstable
    (inf: never). Raises FHRNInputError on bad input or when ``radius`` sits on the gain pole.
    """
    A = check_matrix(W, "W")
    gamma = check_real("gamma", gamma, low=0.0)
    beta = check_real("beta", beta, low=0.0)
    radius = check_real("radius", radius, low=0.0)
    g = float(gain_np(radius, beta))
    if not np.isfinite(g):
        raise FHRNInputError(f"`radius`={radius:g} sits on the gain pole of g (beta={beta:g}); choose another radius")
    n2 = float(np.linalg.norm(A, 2))
    c = gamma * g
    rho = float(spectral_abscissa(-np.eye(A.shape[0]) + c * A))
    r_e = abs(c) * n2
    crit_exact = exact_critical_scale(A / n2, c) if n2 > 0 else float("inf")
    return OperatorCheck(gamma, beta, radius, g, n2, r_e, rho, rho < 0, r_e < 1,
                         float(wr_crit_small_gain(gamma, beta, radius)), crit_exact)
