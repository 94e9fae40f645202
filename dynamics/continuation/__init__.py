"""fhrn_ode.dynamics.continuation: numerical continuation for ANY field (docs/continuation.md).

One entry, :func:`continuation`, in the style of BifurcationKit.jl / MatCont: a problem record
(:class:`ContinuationProblem`), options (:class:`ContinuationOptions`), and a :class:`Branch` back, with its
located special points (:class:`SpecialPoint`) and their normal-form coefficients.
"""

from ._problem import DETECTABLE, Branch, ContinuationOptions, ContinuationProblem, SpecialPoint
from ._api import continuation
from ._ift import bifurcation_parameter

__all__ = ["DETECTABLE", "Branch", "ContinuationOptions", "ContinuationProblem", "SpecialPoint", "continuation",
           "bifurcation_parameter"]
