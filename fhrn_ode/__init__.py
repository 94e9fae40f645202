"""fhrn-ode: continuous-time dynamics of Fast-Weights Homeostatic Reentry Networks.

The public API is re-exported here; modules with a leading underscore are private.
"""

from ._errors import FHRNInputError
from .homeostasis import (POLE_THRESHOLD, gain, gain_denominator, gain_derivative, gain_or_nan, near_pole, pole_r2,
                          pole_radius)
from .energy import lyapunov_V, lyapunov_V_dot
from .field import PARAMETER_NAMES, FHRNField, homeostatic_field
from .integration import ADAPTIVE_SOLVERS, SOLVERS, IntegrationResult, initial_conditions, integrate
from .batched import SweepResult, integrate_sweep, parse_grid
from .fitting import OPTIMIZERS, FitResult, fit
from .operators import (
    OPERATOR_KINDS,
    OperatorInfo,
    check_matrix,
    decompose,
    load_operator,
    make_operator,
    operator_info,
    resolve_operator,
    spectral_abscissa,
)
from .params import MEMORY_KINDS, FHRNParams, ring_radius
from .discrete import (FHRL, PRESETS, FHRLConfig, GPTConfig, TinyGPT, TrainOptions, fhrl_step, load_checkpoint,
                       reference_model_path, save_checkpoint, train)
from .linearize import (Linearization, finite_difference_jacobian, linearize_checkpoint, linearize_map,
                        linearize_model, mean_w_star)

__version__ = "0.1.0"

__all__ = [
    "ADAPTIVE_SOLVERS",
    "FHRL",
    "FHRLConfig",
    "GPTConfig",
    "Linearization",
    "PRESETS",
    "TinyGPT",
    "TrainOptions",
    "fhrl_step",
    "finite_difference_jacobian",
    "linearize_checkpoint",
    "linearize_map",
    "linearize_model",
    "load_checkpoint",
    "mean_w_star",
    "reference_model_path",
    "save_checkpoint",
    "train",
    "FHRNField",
    "FHRNInputError",
    "FitResult",
    "OPTIMIZERS",
    "PARAMETER_NAMES",
    "POLE_THRESHOLD",
    "fit",
    "gain_denominator",
    "gain_or_nan",
    "lyapunov_V_dot",
    "near_pole",
    "pole_r2",
    "pole_radius",
    "FHRNParams",
    "IntegrationResult",
    "MEMORY_KINDS",
    "OPERATOR_KINDS",
    "OperatorInfo",
    "SOLVERS",
    "check_matrix",
    "decompose",
    "gain",
    "gain_derivative",
    "homeostatic_field",
    "initial_conditions",
    "integrate",
    "integrate_sweep",
    "SweepResult",
    "parse_grid",
    "load_operator",
    "lyapunov_V",
    "make_operator",
    "operator_info",
    "resolve_operator",
    "ring_radius",
    "spectral_abscissa",
]

# companion systems (docs/companions.md): discrete maps as fields, attractor-slot memory
from .maps import DiscreteMap, DifferenceField, SaliencyMap, difference_field, is_discrete, map_stable  # noqa: E402
from .slots import FlatSlotField, SlotFHRNField, integrate_slots, slot_similarity  # noqa: E402

__all__ += ["DiscreteMap", "DifferenceField", "SaliencyMap", "difference_field", "is_discrete", "map_stable",
            "FlatSlotField", "SlotFHRNField", "integrate_slots", "slot_similarity"]
