"""Data of the three panels ``fhrn-ode figures`` draws beyond the paper (``dyn_*``; docs/figures.md).

Each function runs one tool of :mod:`fhrn_ode.dynamics` on a fixed example and returns a :class:`DynPanelData`;
``fhrn_ode.figures.dynamics`` only plots it. ``resolution`` below 20 (the tests' 8) selects cheaper settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

__all__ = ["DynPanelData", "fixed_points_panel", "exponents_panel", "bifurcation_panel", "DYN_PANEL_DATA"]


@dataclass(frozen=True)
class DynPanelData:
    """One ``dyn_*`` panel's data.

    Attributes:
        result: the tool's result (``FixedPointResult``, ``LyapunovSpectrum`` or ``BifurcationDiagram``).
        params: the example's parameters (our choice), as written into the figures manifest.
        field: the field whose streamlines the fixed-point panel draws, else None.
    """

    result: object
    params: dict = dc_field(default_factory=dict)
    field: object = None


def fixed_points_panel(*, resolution: int = 60, seed: int = 0) -> DynPanelData:
    """Fixed points of the 2-D FHRN field with a symmetric ``W*`` (default parameters)."""
    from fhrn_ode.dynamics.fixed_points import find_fixed_points
    from fhrn_ode.field import FHRNField
    from fhrn_ode.operators import make_operator
    from fhrn_ode.params import FHRNParams

    p = FHRNParams()
    fld = FHRNField(make_operator("sym", 2, seed=seed), p)
    n = 64 if resolution >= 20 else 32  # low --resolution (tests): a cheaper search
    res = find_fixed_points(fld, n_starts=n, n_minimise=200 if n == 64 else 50, seed=seed)
    return DynPanelData(res, dict(wr="sym", n_starts=n, **p.to_dict()), fld)


def exponents_panel(*, resolution: int = 60, seed: int = 0) -> DynPanelData:
    """Running Lyapunov exponents of the Lorenz system (Benettin with QR)."""
    from fhrn_ode.dynamics.exponents import lyapunov_spectrum
    from fhrn_ode.dynamics.systems import LorenzField

    t1 = 40.0 if resolution >= 20 else 2.0  # the panel's cost follows --resolution (tests use 8)
    n = 8 if resolution >= 20 else 4
    spec = lyapunov_spectrum(LorenzField(), n_init=n, radius=10.0, t_transient=10.0 if n == 8 else 3.0, t1=t1,
                             dt=0.5, rtol=1e-6, atol=1e-8, seed=seed)
    return DynPanelData(spec, dict(system="lorenz", sigma=10.0, rho=28.0, b=8.0 / 3.0, n_init=n, t1=t1, dt=0.5))


def bifurcation_panel(*, resolution: int = 60, seed: int = 0) -> DynPanelData:
    """The Hopf point of the origin in ``kappa`` for an antisymmetric ``W*`` (a sweep over kappa in [0.55, 3.05])."""
    from fhrn_ode.dynamics.bifurcation import bifurcation_sweep, fhrn_family
    from fhrn_ode.operators import make_operator
    from fhrn_ode.params import FHRNParams

    vals = np.linspace(0.55, 3.05, max(3, resolution // 6))
    p = FHRNParams()
    small = resolution < 20
    d = bifurcation_sweep(fhrn_family(make_operator("antisym", 2, seed=seed), p, "kappa"), vals, param="kappa",
                          n_init=1 if small else 2, t_transient=5.0 if small else 10.0, n_starts=12 if small else 24,
                          exponents=False, seed=seed)
    return DynPanelData(d, dict(wr="antisym", param="kappa", range=[float(vals[0]), float(vals[-1]), int(vals.size)],
                                **{k: v for k, v in p.to_dict().items() if k != "kappa"}))


#: ``dyn_*`` panel name -> its data function (keyword args resolution, seed).
DYN_PANEL_DATA = {"dyn_fixed_points": fixed_points_panel, "dyn_exponents": exponents_panel,
                  "dyn_bifurcation": bifurcation_panel}
