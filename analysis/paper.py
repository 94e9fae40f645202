"""Data of the continuous paper's figures 2-4 (one function per panel; docs/model.md §2).

The paper gives no parameter values: the values below are OUR choices, chosen to show the described
behaviour, and every data object carries them (``params``) so the figure manifest can store them.

Defaults: ``W*`` 2-D with ``|W*|_2 = 1`` from :func:`fhrn_ode.operators.make_operator` (seed 0), leak 1,
theta 1, kappa 10, gamma 2 (gamma 2 makes the spiral visible: the radial relaxation rate near the ring is
``2 kappa r*^2 = 18``, the rotation rate gamma).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np
from scipy.optimize import brentq

from fhrn_ode._errors import check_int
from fhrn_ode.energy import lyapunov_V
from fhrn_ode.field import FHRNField
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams, ring_radius

from .exact_boundary import Fig4ExactData, fig4_exact_data
from .lyapunov import LyapunovTraces, lyapunov_traces
from .phase import PhasePortrait, phase_portrait
from .spectra import SpectralMap, spectral_map
from .stability import SmallGainSurface, StabilityMap, small_gain_surface, stability_map

__all__ = ["FIG2_PARAMS", "FIG2D_MIX", "FIG3B_RADII", "Fig2Data", "Fig2bData", "Fig3aData", "Fig3bData", "Fig4aData", "Fig4bData", "Fig4ExactData",
           "fig2_data", "fig2b_data", "fig3a_data", "fig3b_data", "fig4a_data", "fig4b_data", "fig4_exact_data",
           "antisym_zero_contour_radius", "FIGURE_DATA"]

#: Model parameters of Figs. 2-3 (our choice).
FIG2_PARAMS = FHRNParams(gamma=2.0, kappa=10.0, theta=1.0, leak=1.0)
_EXTENT = 1.6
#: weight of the symmetric part of the Fig. 2d operator (rotation still dominates on the circle: a spiral).
FIG2D_MIX = 0.3


def _res(resolution: int) -> int:
    return check_int("resolution", resolution, low=8)


@dataclass(frozen=True)
class Fig2Data:
    """Fig. 2a/2c/2d: a phase portrait; ``operator``: kind of W*; ``W``: the matrix; ``params``: dict."""

    operator: str
    W: np.ndarray
    portrait: PhasePortrait
    params: dict = dc_field(default_factory=dict)


def fig2_data(kind: str = "antisym", *, resolution: int = 60, seed: int = 0) -> Fig2Data:
    """Phase portrait of the 2-D system with an ``antisym`` (2a), ``sym`` (2c) or ``mixed`` (2d) W*."""
    n = _res(resolution)
    extra = {"mix": FIG2D_MIX} if kind == "mixed" else {}
    W = make_operator(kind, 2, seed=seed, **extra)
    P = phase_portrait(W, FIG2_PARAMS, extent=_EXTENT, n=n, n_traj=6, t1=6.0, n_points=max(50, 4 * n),
                       init_radius=1.5, seed=seed)
    return Fig2Data(kind, W, P, dict(FIG2_PARAMS.to_dict(), operator=kind, operator_seed=seed, wr_norm=1.0,
                                      extent=_EXTENT, grid=n, **extra))


def antisym_zero_contour_radius(params: FHRNParams, wr_norm: float = 1.0) -> float:
    """Radius where ``rho(J) = 0`` for a 2-D antisymmetric W (no gain): root of
    ``-leak - kappa(2 r^2 - theta^2) + Re sqrt(kappa^2 r^4 - (gamma |W|)^2)`` (largest root below theta).
    NaN if none."""
    k, th, lk, g = params.kappa, params.theta, params.leak, params.gamma * wr_norm

    def rho(r: float) -> float:
        return -lk - k * (2 * r * r - th * th) + np.sqrt(max(k * k * r ** 4 - g * g, 0.0))

    rs = np.linspace(1e-6, max(th, 1e-3) * 1.5, 2001)
    v = np.array([rho(r) for r in rs])
    idx = np.nonzero(np.sign(v[:-1]) != np.sign(v[1:]))[0]
    if idx.size == 0:
        return float("nan")
    i = idx[-1]
    return float(brentq(rho, rs[i], rs[i + 1], xtol=1e-14))


@dataclass(frozen=True)
class Fig2bData:
    """Fig. 2b: spectral map of the 2a system plus the radii that the claim compares.

    ``ring_radius`` r*; ``rho_at_ring`` = ``-kappa r*^2 + sqrt(kappa^2 r*^4 - gamma^2)``; ``zero_contour_radius``
    where rho = 0 (inside the ring when gamma > 0).
    """

    map: SpectralMap
    ring_radius: float
    rho_at_ring: float
    zero_contour_radius: float
    profile_r: np.ndarray
    profile_rho: np.ndarray
    params: dict = dc_field(default_factory=dict)


def fig2b_data(*, resolution: int = 60, seed: int = 0) -> Fig2bData:
    n = _res(resolution)
    p = FIG2_PARAMS
    W = make_operator("antisym", 2, seed=seed)
    m = spectral_map(FHRNField(W, p), extent=_EXTENT, n=2 * n)
    r = ring_radius(p.kappa, p.theta, p.leak)
    kr2 = p.kappa * r * r
    rho_ring = -kr2 + float(np.sqrt(complex(kr2 * kr2 - p.gamma ** 2)).real)
    f = FHRNField(W, p)
    pr = np.linspace(0.85 * r, 1.1 * r, 4 * n)
    from fhrn_ode.dynamics.jacobians import fhrn_jacobian, spectral_abscissa

    prho = spectral_abscissa(fhrn_jacobian(f, np.stack([pr, np.zeros_like(pr)], -1)))
    return Fig2bData(m, r, rho_ring, antisym_zero_contour_radius(p), pr, prho,
                     dict(p.to_dict(), operator="antisym", operator_seed=seed, extent=_EXTENT, grid=2 * n))


@dataclass(frozen=True)
class Fig3aData:
    """Fig. 3a: ``V[i, j] = V(y1[j], y2[i])`` (C 13) and one trajectory ``(T, 2)`` of the 2a system."""

    y1: np.ndarray
    y2: np.ndarray
    V: np.ndarray
    trajectory: np.ndarray
    params: dict = dc_field(default_factory=dict)


def fig3a_data(*, resolution: int = 60, seed: int = 0) -> Fig3aData:
    n = _res(resolution)
    ax = np.linspace(-_EXTENT, _EXTENT, 2 * n)
    Y1, Y2 = np.meshgrid(ax, ax)
    V = lyapunov_V(np.stack([Y1, Y2], -1), FIG2_PARAMS.theta)
    W = make_operator("antisym", 2, seed=seed)
    L = lyapunov_traces(W, [1.5], params=FIG2_PARAMS, t1=4.0, n_points=max(50, 4 * n), seed=seed)
    return Fig3aData(ax, ax.copy(), V, L.y[:, 0, :], dict(FIG2_PARAMS.to_dict(), operator="antisym",
                                                           init_radius=1.5, grid=2 * n))


@dataclass(frozen=True)
class Fig3bData:
    """Fig. 3b: :class:`LyapunovTraces` for initial radii inside and outside the shell."""

    traces: LyapunovTraces
    ring_radius: float
    params: dict = dc_field(default_factory=dict)


FIG3B_RADII = (0.1, 0.4, 0.7, 0.97, 1.3, 1.7, 2.2)


def fig3b_data(*, resolution: int = 60, seed: int = 0) -> Fig3bData:
    n = _res(resolution)
    W = make_operator("antisym", 2, seed=seed)
    L = lyapunov_traces(W, FIG3B_RADII, params=FIG2_PARAMS, t1=3.0, n_points=max(60, 5 * n), seed=seed)
    p = FIG2_PARAMS
    return Fig3bData(L, ring_radius(p.kappa, p.theta, p.leak), dict(p.to_dict(), operator="antisym",
                                                                    init_radii=list(FIG3B_RADII)))


@dataclass(frozen=True)
class Fig4aData:
    surface: SmallGainSurface
    params: dict = dc_field(default_factory=dict)


def fig4a_data(*, resolution: int = 60, seed: int = 0) -> Fig4aData:
    n = _res(resolution)
    gam = np.linspace(0.1, 1.0, n)
    bet = np.linspace(0.0, 5.0, n)
    return Fig4aData(small_gain_surface(gam, bet, 1.1), dict(radius=1.1, gamma=[0.1, 1.0], beta=[0.0, 5.0], grid=n))


@dataclass(frozen=True)
class Fig4bData:
    map: StabilityMap
    params: dict = dc_field(default_factory=dict)


def fig4b_data(*, resolution: int = 60, seed: int = 0) -> Fig4bData:
    """r_e over (beta, |W_r|) at |y| = 1.1, gamma = 1, with the exact boundaries of three operator directions."""
    n = _res(resolution)
    ops = {"random d=32": make_operator("random", 32, seed=seed), "mixed d=2": make_operator("mixed", 2, seed=seed),
           "antisym d=2": make_operator("antisym", 2, seed=seed)}
    m = stability_map(np.linspace(0.0, 5.0, n), np.linspace(0.0, 3.0, n), gamma=1.0, radius=1.1, operators=ops)
    return Fig4bData(m, dict(radius=1.1, gamma=1.0, beta=[0.0, 5.0], wr_norm=[0.0, 3.0], grid=n,
                             operators=list(ops), operator_seed=seed))


#: panel name -> data function (keyword args resolution, seed).
FIGURE_DATA = {
    "fig2a": lambda **kw: fig2_data("antisym", **kw),
    "fig2b": fig2b_data,
    "fig2c": lambda **kw: fig2_data("sym", **kw),
    "fig2d": lambda **kw: fig2_data("mixed", **kw),
    "fig3a": fig3a_data,
    "fig3b": fig3b_data,
    "fig4a": fig4a_data,
    "fig4b": fig4b_data,
    "fig4_exact": fig4_exact_data,
}
