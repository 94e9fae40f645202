"""fhrn-ode: continuous-time dynamics of Fast-Weights Homeostatic Reentry Networks.

The public API is re-exported here; modules with a leading underscore are private.

Names are resolved lazily (PEP 562 ``__getattr__``): ``import fhrn_ode`` imports nothing heavy, and
the first use of a name imports the module it lives in (torch, numpy, ... only then). ``from fhrn_ode
import integrate`` and ``fhrn_ode.integrate`` work as before. To add a public name, add one line to
``_EXPORTS`` (name -> module); ``__all__`` is built from it.
"""

from __future__ import annotations


__version__ = "0.1.0"

#: Public name -> the module (relative to this package) that defines it.
_EXPORTS: dict[str, str] = {
    "FHRNInputError": "._errors",
    "Interrupted": "._errors",
    "Solution": ".solver",
    "solve": ".solver",
    "POLE_THRESHOLD": ".homeostasis",
    "gain": ".homeostasis",
    "gain_denominator": ".homeostasis",
    "gain_derivative": ".homeostasis",
    "gain_or_nan": ".homeostasis",
    "has_pole": ".homeostasis",
    "near_pole": ".homeostasis",
    "pole_r2": ".homeostasis",
    "pole_radius": ".homeostasis",
    "lyapunov_V": ".energy",
    "lyapunov_V_dot": ".energy",
    "PARAMETER_NAMES": ".field",
    "FHRNField": ".field",
    "homeostatic_field": ".field",
    "ADAPTIVE_SOLVERS": ".integration",
    "SOLVERS": ".integration",
    "IntegrationInterrupted": ".integration",
    "IntegrationResult": ".integration",
    "initial_conditions": ".integration",
    "integrate": ".integration",
    "SweepResult": ".batched",
    "integrate_sweep": ".batched",
    "parse_grid": ".batched",
    "OPTIMIZERS": ".fitting",
    "FitResult": ".fitting",
    "fit": ".fitting",
    "OPERATOR_KINDS": ".operators",
    "OperatorInfo": ".operators",
    "check_matrix": ".operators",
    "decompose": ".operators",
    "load_operator": ".operators",
    "make_operator": ".operators",
    "operator_info": ".operators",
    "resolve_operator": ".operators",
    "spectral_abscissa": ".operators",
    "MEMORY_KINDS": ".params",
    "FHRNParams": ".params",
    "ring_radius": ".params",
    "FHRL": ".discrete",
    "PRESETS": ".discrete",
    "FHRLConfig": ".discrete",
    "GPTConfig": ".discrete",
    "TinyGPT": ".discrete",
    "TrainOptions": ".discrete",
    "fhrl_step": ".discrete",
    "load_checkpoint": ".discrete",
    "reference_model_path": ".discrete",
    "save_checkpoint": ".discrete",
    "train": ".discrete",
    "Linearization": ".linearize",
    "finite_difference_jacobian": ".linearize",
    "linearize_checkpoint": ".linearize",
    "linearize_map": ".linearize",
    "linearize_model": ".linearize",
    "mean_w_star": ".linearize",
    "resolve_wr_spec": "._wr",
    "nested_contexts": ".linearize",
    "CONTEXT_BLOCK_SEQS": ".linearize",
    "DiscreteMap": ".maps",
    "DifferenceField": ".maps",
    "SaliencyMap": ".maps",
    "difference_field": ".maps",
    "is_discrete": ".maps",
    "map_stable": ".maps",
    "FlatSlotField": ".slots",
    "SlotFHRNField": ".slots",
    "integrate_slots": ".slots",
    "slot_similarity": ".slots",
}

__all__ = sorted(_EXPORTS)

from ._lazy import lazy_exports  # noqa: E402

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
