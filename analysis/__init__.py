"""fhrn_ode.analysis: the FHRN paper's analyses, pure functions returning result dataclasses (no plotting).

The tools for any field (fixed points, cycles, exponents, bifurcations) live in :mod:`fhrn_ode.dynamics`;
their names are re-exported here for one release. Depends on the core package and fhrn_ode.dynamics;
installed as ``fhrn_ode.analysis``.

Names are resolved lazily (PEP 562 ``__getattr__``, as in :mod:`fhrn_ode`): importing one analysis module
(``fhrn_ode.analysis.phase`` for the main job's figure) no longer imports sympy (``symbolic``) and
scipy.signal/scipy.stats (``metrics``), about 1.2 s of the main job (docs/performance.md, "Start-up").
``from fhrn_ode.analysis import verify_all`` works as before. To add a public name, add it to
``_MODULES`` under the module that defines it; ``__all__`` is built from it.
"""

from __future__ import annotations


#: Module (relative to this package, or absolute) -> the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    ".phase": ("PhasePortrait", "Projection", "phase_portrait", "project"),
    "fhrn_ode.dynamics.jacobians": ("LocalStability", "fhrn_jacobian", "henrici", "jacobian", "local_stability",
                                    "log_norm", "spectral_abscissa"),
    ".spectra": ("SpectralMap", "TrajectorySpectra", "batched_eigvals", "batched_spectral_abscissa", "eigvals_2x2",
                 "planar_jacobian", "spectral_abscissa_2x2", "spectral_map", "trajectory_spectra"),
    ".stability": ("OperatorCheck", "SmallGainSurface", "StabilityMap", "brute_force_critical_scale",
                   "check_operator", "effective_gain", "exact_critical_scale", "small_gain_surface",
                   "stability_map", "wr_crit_small_gain"),
    ".dynamics_panels": ("DynPanelData", "DYN_PANEL_DATA", "bifurcation_panel", "exponents_panel",
                         "fixed_points_panel"),
    ".exact_boundary": ("Fig4ExactData", "fig4_exact_data", "j4_family"),
    ".lyapunov": ("LyapunovTraces", "ViolationReport", "lyapunov_derivative", "lyapunov_traces", "paper_V",
                  "violation_report"),
    ".symbolic": ("Check", "VerificationReport", "verify_all"),
    ".claims": ("Claim", "ClaimsReport", "check_claims"),
    ".metrics": ("LayerMetrics", "ModelMetrics", "RDPResult", "WrStats", "drift", "esri", "irr", "model_metrics",
                 "rdp", "wr_stats"),
    ".sweeps": ("PAPER_CLAIMS", "SweepReport", "compare_with_paper", "sweep_report"),
    ".ode_sweeps": ("ODE_GROUP_KEYS", "load_ode_results", "ode_sweep_table"),
    ".trained": ("PAPER_OPERATOR", "PRIMARY_OPERATOR", "ContextChecks", "LayerCheck", "TrainedCheck", "check_contexts",
                 "check_trained", "operator_split"),
    "fhrn_ode.dynamics.systems": ("LORENZ_LARGEST_EXPONENT", "LorenzField", "lorenz_jacobian"),
    "fhrn_ode.dynamics.fixed_points": ("FixedPoint", "FixedPointResult", "SlowPoint", "classify_equilibrium",
                                       "find_fixed_points", "newton_polish"),
    "fhrn_ode.dynamics.cycles": ("Cycle", "CycleResult", "find_cycles", "floquet_multipliers", "monodromy"),
    "fhrn_ode.dynamics.exponents": ("LyapunovSpectrum", "lyapunov_spectrum"),
    "fhrn_ode.dynamics.bifurcation": ("BIFURCATION_PARAMS", "BifurcationDiagram", "BifurcationPoint",
                                      "bifurcation_sweep", "fhrn_family"),
    ".halting": ("HaltingResult", "LoopIteration", "continuous_to_discrete", "discrete_to_continuous",
                 "halting_checkpoint", "halting_model", "halting_table", "iterate_loop", "loop_multipliers",
                 "loop_stable_from_multipliers", "max_stable_step", "ode_stable_from_multipliers", "verdict_class"),
    ".saliency": ("KAPPA_CRITICAL", "EscapeScan", "MapFixedPoint", "SaliencyReport", "asymptotic_period",
                  "bifurcation_data", "escape_scan", "escape_time", "escape_time_closed_form", "map_fixed_points",
                  "saliency_fixed_points", "saliency_multipliers", "saliency_regime", "saliency_report"),
    ".slots": ("RotationDrag", "SlotFixedPoint", "SlotRegimes", "aligned_abscissa", "aligned_radius",
               "critical_slot_count", "growth_rate_no_homeostasis", "rotating_slot_state", "rotation_drag",
               "slot_fixed_point", "slot_regimes"),
}

#: Public name -> its module.
_EXPORTS: dict[str, str] = {name: mod for mod, names in _MODULES.items() for name in names}

__all__ = [name for names in _MODULES.values() for name in names]

from fhrn_ode._lazy import lazy_exports  # noqa: E402

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
