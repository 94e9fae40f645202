"""fhrn_ode.analysis: the FHRN paper's analyses, pure functions returning result dataclasses (no plotting).

The tools for any field (fixed points, cycles, exponents, bifurcations) live in :mod:`fhrn_ode.dynamics`.
Depends on the core package and fhrn_ode.dynamics; installed as ``fhrn_ode.analysis``.
"""

from .phase import PhasePortrait, Projection, phase_portrait, project
from fhrn_ode.dynamics.jacobians import LocalStability, fhrn_jacobian, henrici, jacobian, local_stability, log_norm, spectral_abscissa
from .spectra import (SpectralMap, TrajectorySpectra, batched_eigvals, batched_spectral_abscissa, eigvals_2x2, planar_jacobian,
                      spectral_abscissa_2x2, spectral_map, trajectory_spectra)
from .stability import (OperatorCheck, SmallGainSurface, StabilityMap, brute_force_critical_scale, check_operator,
                        effective_gain, exact_critical_scale, small_gain_surface, stability_map, wr_crit_small_gain)
from .lyapunov import LyapunovTraces, ViolationReport, lyapunov_derivative, lyapunov_traces, paper_V, violation_report
from .symbolic import Check, VerificationReport, verify_all
from .claims import Claim, ClaimsReport, check_claims

from .metrics import LayerMetrics, ModelMetrics, RDPResult, WrStats, drift, esri, irr, model_metrics, rdp, wr_stats
from .sweeps import PAPER_CLAIMS, SweepReport, compare_with_paper, sweep_report
from .ode_sweeps import ODE_GROUP_KEYS, load_ode_results, ode_sweep_table
from .trained import (PAPER_OPERATOR, PRIMARY_OPERATOR, ContextChecks, LayerCheck, TrainedCheck, check_contexts,
                      check_trained, operator_split)
__all__ = ["Projection", "project", "PhasePortrait", "phase_portrait",
           "LocalStability", "fhrn_jacobian", "henrici", "jacobian", "local_stability", "log_norm", "spectral_abscissa",
           "SpectralMap", "TrajectorySpectra", "batched_eigvals", "batched_spectral_abscissa", "eigvals_2x2", "planar_jacobian",
           "spectral_abscissa_2x2", "spectral_map", "trajectory_spectra",
           "OperatorCheck", "SmallGainSurface", "StabilityMap", "brute_force_critical_scale", "check_operator",
           "effective_gain", "exact_critical_scale", "small_gain_surface", "stability_map", "wr_crit_small_gain",
           "LyapunovTraces", "ViolationReport", "lyapunov_derivative", "lyapunov_traces", "paper_V",
           "violation_report", "Check", "VerificationReport", "verify_all", "Claim", "ClaimsReport", "check_claims",
           "LayerMetrics", "ModelMetrics", "RDPResult", "WrStats", "drift", "esri", "irr", "model_metrics", "rdp",
           "wr_stats", "PAPER_CLAIMS", "SweepReport", "compare_with_paper", "sweep_report",
           "ContextChecks", "LayerCheck", "TrainedCheck", "check_contexts", "check_trained", "operator_split",
           "PRIMARY_OPERATOR", "PAPER_OPERATOR", "ODE_GROUP_KEYS", "load_ode_results", "ode_sweep_table"]

# -- re-exported from fhrn_ode.dynamics (their home since the split; kept here for one release)
from fhrn_ode.dynamics.systems import LORENZ_LARGEST_EXPONENT, LorenzField, lorenz_jacobian
from fhrn_ode.dynamics.fixed_points import FixedPoint, FixedPointResult, SlowPoint, classify_equilibrium, find_fixed_points, newton_polish
from fhrn_ode.dynamics.cycles import Cycle, CycleResult, find_cycles, floquet_multipliers, monodromy
from fhrn_ode.dynamics.exponents import LyapunovSpectrum, lyapunov_spectrum
from fhrn_ode.dynamics.bifurcation import BIFURCATION_PARAMS, BifurcationDiagram, BifurcationPoint, bifurcation_sweep, fhrn_family

__all__ += ["LORENZ_LARGEST_EXPONENT", "LorenzField", "lorenz_jacobian", "FixedPoint", "FixedPointResult", "SlowPoint",
            "classify_equilibrium", "find_fixed_points", "newton_polish", "Cycle", "CycleResult", "find_cycles",
            "floquet_multipliers", "monodromy", "LyapunovSpectrum", "lyapunov_spectrum", "BIFURCATION_PARAMS",
            "BifurcationDiagram", "BifurcationPoint", "bifurcation_sweep", "fhrn_family"]

# companion systems (docs/companions.md)
from .halting import (HaltingResult, LoopIteration, continuous_to_discrete, discrete_to_continuous, halting_checkpoint,
                      halting_model, halting_table, iterate_loop, loop_multipliers, loop_stable_from_multipliers,
                      max_stable_step, ode_stable_from_multipliers, verdict_class)
from .saliency import (KAPPA_CRITICAL, EscapeScan, MapFixedPoint, SaliencyReport, asymptotic_period, bifurcation_data,
                       escape_scan, escape_time, escape_time_closed_form, map_fixed_points, saliency_fixed_points,
                       saliency_multipliers, saliency_regime, saliency_report)
from .slots import (RotationDrag, SlotFixedPoint, SlotRegimes, aligned_abscissa, aligned_radius, critical_slot_count,
                    growth_rate_no_homeostasis, rotating_slot_state, rotation_drag, slot_fixed_point, slot_regimes)
__all__ += ["HaltingResult", "LoopIteration", "continuous_to_discrete", "discrete_to_continuous", "halting_checkpoint",
            "halting_model", "halting_table", "iterate_loop", "loop_multipliers", "loop_stable_from_multipliers",
            "max_stable_step", "ode_stable_from_multipliers", "verdict_class",
            "KAPPA_CRITICAL", "EscapeScan", "MapFixedPoint", "SaliencyReport", "asymptotic_period", "bifurcation_data",
            "escape_scan", "escape_time", "escape_time_closed_form", "map_fixed_points", "saliency_fixed_points",
            "saliency_multipliers", "saliency_regime", "saliency_report",
            "SlotFixedPoint", "SlotRegimes", "aligned_abscissa", "aligned_radius", "critical_slot_count",
            "growth_rate_no_homeostasis", "slot_fixed_point", "slot_regimes", "RotationDrag", "rotating_slot_state",
            "rotation_drag"]
