"""The sequential-retrieval saliency map ``Z_{t+1} = f(Z_t) = kappa (1 - 1/Z_t)`` (docs/companions.md, docs/model.md §6).

Closed forms (derived in docs/companions.md, checked with sympy in the tests):

* fixed points ``Z^2 - kappa Z + kappa = 0``: ``Z± = (kappa ± sqrt(kappa^2 - 4 kappa)) / 2``, real iff
  ``kappa >= 4`` (for ``kappa > 0``): the critical gain ``kappa_c = 4`` (double root ``Z = 2``);
* multipliers ``f'(Z) = kappa / Z^2``; as ``Z+ Z- = kappa``, ``f'(Z+) = Z-/Z+ < 1`` (stable) and
  ``f'(Z-) = Z+/Z- > 1`` (unstable); both equal 1 at ``kappa = 4`` (saddle-node / tangent bifurcation);
* ``f`` is the Moebius map of ``[[kappa, -kappa], [1, 0]]``, so orbits are exact:
  ``kappa > 4`` (hyperbolic): ``w = (Z - Z+)/(Z - Z-)`` obeys ``w_{t+1} = (Z-/Z+) w_t``;
  ``kappa = 4`` (parabolic): ``u = 1/(Z - 2)`` obeys ``u_{t+1} = u_t + 1/2``;
  ``0 < kappa < 4`` (elliptic): ``phi = arg(Z - p)``, ``p = (kappa + i sqrt(4 kappa - kappa^2))/2``, obeys
  ``phi_{t+1} = phi_t - theta`` with ``cos theta = sqrt(kappa)/2``.
* escape (collapse) = the first ``t`` with ``Z_t <= 0`` (saliency lost; the map itself then jumps to
  ``f(Z) > kappa`` and carries on, which has no meaning for the retrieval). Below ``kappa_c`` EVERY positive
  orbit escapes, within ``ceil(pi/theta)`` steps; above it exactly those with ``Z_0 < Z-``. Near ``kappa_c``
  from below, from ``Z_0 > 2``: ``T_esc ~ 2 pi / sqrt(4 - kappa)`` (the passage through the ghost of ``Z = 2``).

Pure functions returning dataclasses; fixed points of any :class:`fhrn_ode.maps.DiscreteMap` by
:func:`map_fixed_points` (scipy ``root`` on the difference field, multipliers by ``torch.func.jacrev``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError, check_int, check_real
from fhrn_ode.maps import SaliencyMap, difference_field, is_discrete

__all__ = ["KAPPA_CRITICAL", "MapFixedPoint", "SaliencyReport", "EscapeScan", "saliency_fixed_points",
           "saliency_multipliers", "saliency_regime", "escape_time", "escape_time_closed_form", "asymptotic_period",
           "map_fixed_points", "saliency_report", "escape_scan", "bifurcation_data"]

#: The saliency map's fixed points Z± are real iff kappa >= 4 (docs/model.md (M43)).
KAPPA_CRITICAL = 4.0


def _kappa(kappa) -> float:
    return check_real("kappa", kappa, low=0.0, low_open=True)


def saliency_fixed_points(kappa: float) -> tuple[float, ...]:
    """Real fixed points ``(Z-, Z+)`` (one value ``(2,)`` at ``kappa = 4``, ``()`` below)."""
    k = _kappa(kappa)
    disc = k * k - 4.0 * k
    if disc < 0:
        return ()
    if disc == 0:
        return (k / 2.0,)
    s = math.sqrt(disc)
    # Z- = kappa / Z+ (product of roots) avoids the cancellation in (kappa - s)/2 for large kappa
    zp = (k + s) / 2.0
    return (k / zp, zp)


def saliency_multipliers(kappa: float) -> tuple[float, ...]:
    """``f'(Z) = kappa / Z^2`` at :func:`saliency_fixed_points`."""
    k = _kappa(kappa)
    return tuple(k / (z * z) for z in saliency_fixed_points(k))


def saliency_regime(kappa: float, z0: float | None = None) -> str:
    """``'collapse'`` (kappa < 4: no fixed point, every orbit escapes), ``'critical'`` (kappa = 4),
    ``'retrieval'`` (kappa > 4 and ``z0`` > Z- or z0 not given), ``'collapse_below_threshold_state'``
    (kappa > 4 but ``0 < z0 < Z-``: the orbit escapes)."""
    k = _kappa(kappa)
    if k < KAPPA_CRITICAL:
        return "collapse"
    if k == KAPPA_CRITICAL:
        return "critical"
    if z0 is not None and z0 < saliency_fixed_points(k)[0]:
        return "collapse_below_threshold_state"
    return "retrieval"


def escape_time(kappa: float, z0: float, max_iter: int = 100000) -> int | None:
    """Iterate the map from ``z0``: the first ``t`` with ``Z_t <= 0`` or non-finite (0 if ``z0 <= 0``), None if
    the orbit stays positive for ``max_iter`` steps."""
    fmap = SaliencyMap(kappa)
    z = check_real("z0", z0)
    max_iter = check_int("max_iter", max_iter, low=1)
    if z <= 0:
        return 0
    k = fmap.kappa
    for t in range(1, max_iter + 1):
        z = k * (1.0 - 1.0 / z)
        if not (z > 0) or not math.isfinite(z):
            return t
    return None


def escape_time_closed_form(kappa: float, z0: float) -> float:
    """Exact escape time from the conjugacies in the module docstring; ``inf`` when the orbit never escapes
    (``kappa >= 4`` and ``z0 >= Z-``, resp. ``z0 >= 2`` at ``kappa = 4``)."""
    k, z = _kappa(kappa), check_real("z0", z0)
    if z <= 0:
        return 0.0
    if k < KAPPA_CRITICAL:
        theta = math.acos(math.sqrt(k) / 2.0)
        p = complex(k / 2.0, math.sqrt(4.0 * k - k * k) / 2.0)
        phi0 = math.atan2(-p.imag, z - p.real)  # arg(z0 - p) in (theta - pi, 0)
        return float(max(1, math.ceil((phi0 + math.pi) / theta - 1.0 - 1e-12)))
    if k == KAPPA_CRITICAL:
        if z >= 2.0:
            return math.inf
        return float(max(1, math.ceil(2.0 / (2.0 - z) - 1.0 - 1e-12)))
    zm, zp = saliency_fixed_points(k)
    if z >= zm:
        return math.inf
    w0 = (z - zp) / (z - zm)  # > Z+/Z- > 1
    return float(max(1, math.ceil(math.log(w0) / math.log(zp / zm) - 1.0 - 1e-12)))


def asymptotic_period(kappa: float) -> float | None:
    """The claimed asymptotic period ``T_inf = log Z+`` (None below ``kappa_c``, where no ``Z+`` exists)."""
    fps = saliency_fixed_points(kappa)
    return math.log(fps[-1]) if fps else None


@dataclass(frozen=True)
class MapFixedPoint:
    """A fixed point of a discrete map with its multipliers ``mu`` (eigenvalues of ``DF``) and verdict."""

    z: tuple
    residual: float
    multipliers: tuple  # complex as (re, im) pairs in to_dict
    multiplier_max_abs: float
    stable: bool

    def to_dict(self) -> dict:
        d = asdict(self)
        d["multipliers"] = [[float(np.real(m)), float(np.imag(m))] for m in self.multipliers]
        return d


def map_fixed_points(fmap, starts, *, tol: float = 1e-10, dedupe: float = 1e-6) -> list[MapFixedPoint]:
    """Fixed points of any :class:`fhrn_ode.maps.DiscreteMap` from many starts (thin adapter for part-1 tools).

    Root finding on the difference field ``F(z) - z`` (:func:`fhrn_ode.maps.difference_field`) with
    ``scipy.optimize.root`` and its ``torch.func.jacrev`` Jacobian; de-duplicated; multipliers are the
    eigenvalues of ``DF = I + J_diff``; stable iff ``max |mu| < 1``. Sorted by the first coordinate.
    """
    from scipy.optimize import root
    from torch.func import jacrev

    if not is_discrete(fmap):
        raise FHRNInputError(f"`fmap` must be a DiscreteMap (discrete = True), got {type(fmap).__name__}")
    field = difference_field(fmap)
    S = np.atleast_2d(np.asarray(starts, dtype=np.float64))

    def G(z):
        return field(0, torch.as_tensor(z)).detach().numpy()

    def dG(z):
        return jacrev(lambda x: field(0, x))(torch.as_tensor(z)).detach().numpy()

    found: list[MapFixedPoint] = []
    with np.errstate(all="ignore"):
        for s in S:
            try:
                sol = root(G, s, jac=dG, method="hybr", options={"xtol": 1e-14})
            except (ValueError, FloatingPointError):
                continue
            r = float(np.linalg.norm(G(sol.x)))
            if not (np.all(np.isfinite(sol.x)) and r < tol):
                continue
            if any(np.linalg.norm(sol.x - np.asarray(f.z)) < dedupe * (1 + np.linalg.norm(sol.x)) for f in found):
                continue
            mu = np.linalg.eigvals(np.eye(sol.x.size) + dG(sol.x))
            m = float(np.max(np.abs(mu)))
            found.append(MapFixedPoint(tuple(float(v) for v in sol.x), r, tuple(complex(v) for v in mu), m, m < 1.0))
    return sorted(found, key=lambda f: f.z)


@dataclass(frozen=True)
class SaliencyReport:
    """Everything ``fhrn-ode saliency`` prints (JSON keys: :meth:`to_dict`)."""

    kappa: float
    kappa_critical: float
    z0: float
    fixed_points: tuple
    multipliers: tuple
    stable: tuple
    regime: str
    numeric_fixed_points: tuple  # MapFixedPoint from map_fixed_points (independent of the closed form)
    escape_time: float  # iterated; inf when it never escaped within max_iter
    escape_time_closed_form: float
    asymptotic_period: float | None
    orbit: tuple
    log_orbit_error: float | None  # |log Z_n - log Z+| at the end of the orbit (None below kappa_c)
    contraction: float | None  # Z-/Z+: the rate at which log Z_t -> log Z+

    def to_dict(self) -> dict:
        d = asdict(self)
        d["numeric_fixed_points"] = [f.to_dict() for f in self.numeric_fixed_points]
        return d


def saliency_report(kappa: float, z0: float = 10.0, n: int = 60, max_iter: int = 100000) -> SaliencyReport:
    """Closed forms, a numeric cross-check and the orbit from ``z0`` at gain ``kappa``."""
    k = _kappa(kappa)
    z0 = check_real("z0", z0)
    n = check_int("n", n, low=1, high=10**6)
    fps = saliency_fixed_points(k)
    mus = saliency_multipliers(k)
    starts = np.array([[0.5], [1.5], [2.0], [3.0], [k], [2 * k + 1.0]])
    numeric = tuple(map_fixed_points(SaliencyMap(k), starts))
    orbit = SaliencyMap(k).iterate(torch.tensor([z0], dtype=torch.float64), n)[:, 0].numpy()
    et = escape_time(k, z0, max_iter)
    if et is not None:
        orbit = orbit[: et + 1]
    T = asymptotic_period(k)
    err = None
    if T is not None and et is None and orbit[-1] > 0:
        err = abs(math.log(orbit[-1]) - T)
    contraction = fps[0] / fps[-1] if fps else None
    return SaliencyReport(kappa=k, kappa_critical=KAPPA_CRITICAL, z0=z0, fixed_points=fps, multipliers=mus,
                          stable=tuple(m < 1.0 for m in mus) if len(fps) == 2 else tuple(False for _ in fps),
                          regime=saliency_regime(k, z0), numeric_fixed_points=numeric,
                          escape_time=math.inf if et is None else float(et),
                          escape_time_closed_form=escape_time_closed_form(k, z0), asymptotic_period=T,
                          orbit=tuple(float(v) for v in orbit), log_orbit_error=err, contraction=contraction)


@dataclass(frozen=True)
class EscapeScan:
    """Escape times over gains below ``kappa_c`` with the near-critical law ``2 pi / sqrt(4 - kappa)``."""

    kappa: np.ndarray
    z0: float
    escape_time: np.ndarray
    closed_form: np.ndarray
    law: np.ndarray  # 2 pi / sqrt(4 - kappa)


def escape_scan(kappas, z0: float = 10.0) -> EscapeScan:
    """:func:`escape_time` and :func:`escape_time_closed_form` at each ``kappa < 4``."""
    ks = np.asarray(kappas, dtype=np.float64)
    if ks.ndim != 1 or ks.size == 0 or np.any(ks <= 0) or np.any(ks >= KAPPA_CRITICAL):
        raise FHRNInputError(f"`kappas` must be a non-empty 1-D array in (0, 4), got {ks!r}")
    it = np.array([escape_time(k, z0) for k in ks], dtype=float)
    cf = np.array([escape_time_closed_form(k, z0) for k in ks])
    return EscapeScan(ks, float(z0), it, cf, 2 * np.pi / np.sqrt(KAPPA_CRITICAL - ks))


def bifurcation_data(kappas, z0: float = 10.0, n_transient: int = 200, n_keep: int = 20) -> dict:
    """Per ``kappa``: the closed-form branches ``Z±`` (NaN below 4), the tail of the orbit from ``z0`` after
    ``n_transient`` steps (NaN where it escaped) and the escape time (inf if none)."""
    ks = np.asarray(kappas, dtype=np.float64)
    zm = np.full(ks.shape, np.nan)
    zp = np.full(ks.shape, np.nan)
    tails = np.full((ks.size, n_keep), np.nan)
    esc = np.full(ks.shape, np.inf)
    for i, k in enumerate(ks):
        f = saliency_fixed_points(k)
        if f:
            zm[i], zp[i] = f[0], f[-1]
        e = escape_time(k, z0, n_transient + n_keep)
        if e is not None:
            esc[i] = e
            continue
        orb = SaliencyMap(k).iterate(torch.tensor([z0], dtype=torch.float64), n_transient + n_keep)[:, 0].numpy()
        tails[i] = orb[-n_keep:]
    return dict(kappa=ks, z_minus=zm, z_plus=zp, tail=tails, escape_time=esc, z0=float(z0))
