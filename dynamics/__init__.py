"""fhrn_ode.dynamics: tools that work on ANY ``nn.Module`` field with ``forward(t, y)`` (torchdiffeq style).

Fixed and slow points, limit cycles and Floquet multipliers, Lyapunov spectra, bifurcation sweeps,
Jacobians and local stability, and example systems (Lorenz). Nothing here knows the FHRN paper's
claims; the FHRN-specific analyses live in :mod:`fhrn_ode.analysis`, which builds on this package.
Depends on the core package only; installed as ``fhrn_ode.dynamics``. See docs/dynamics.md.
"""

from .jacobians import LocalStability, fhrn_jacobian, henrici, jacobian, local_stability, log_norm, spectral_abscissa
from .systems import LORENZ_LARGEST_EXPONENT, Lorenz96Field, LorenzField, lorenz_jacobian
from .fixed_points import (FixedPoint, FixedPointResult, SlowPoint, classify_equilibrium, find_fixed_points,
                           hyperbolicity_tol, newton_polish)
from .cycles import Cycle, CycleResult, find_cycles, floquet_multipliers, monodromy
from .exponents import LyapunovFamily, LyapunovSpectrum, lyapunov_spectrum
from .normal_forms import FoldNormalForm, HopfNormalForm, fold_normal_form, hopf_normal_form, multilinear_forms
from .bifurcation import BIFURCATION_PARAMS, BifurcationDiagram, BifurcationPoint, bifurcation_sweep, fhrn_family

__all__ = ["LocalStability", "fhrn_jacobian", "henrici", "jacobian", "local_stability", "log_norm", "spectral_abscissa",
           "LORENZ_LARGEST_EXPONENT", "LorenzField", "Lorenz96Field", "lorenz_jacobian", "FixedPoint", "FixedPointResult", "SlowPoint",
           "classify_equilibrium", "hyperbolicity_tol", "find_fixed_points", "newton_polish", "Cycle", "CycleResult", "find_cycles",
           "floquet_multipliers", "monodromy", "LyapunovFamily", "LyapunovSpectrum", "lyapunov_spectrum", "BIFURCATION_PARAMS",
           "BifurcationDiagram", "BifurcationPoint", "bifurcation_sweep", "fhrn_family",
           "FoldNormalForm", "HopfNormalForm", "fold_normal_form", "hopf_normal_form", "multilinear_forms"]
