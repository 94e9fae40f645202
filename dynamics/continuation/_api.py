"""The one entry point :func:`continuation` (dispatch on the start)."""

from __future__ import annotations

import torch

from fhrn_ode._errors import FHRNInputError, check_choice

from ._codim2 import codim2_curve
from ._cycles import cycle_branch
from ._equilibria import equilibrium_branch, switch_branch
from ._problem import Branch, ContinuationOptions, ContinuationProblem, SpecialPoint

__all__ = ["continuation"]


def continuation(problem: ContinuationProblem, options: ContinuationOptions | None = None, *,
                 start: SpecialPoint | None = None, branch: str = "auto") -> Branch:
    """Continue a branch of ``problem`` (docs/continuation.md).

    * ``start=None``: the equilibria through ``(problem.x0, problem.p0)``;
    * ``start`` a 'BP' point: the other branch through it (branch switching);
    * ``start`` an 'LP' or 'H' point and ``problem.param2`` set: the fold/Hopf curve in ``(param, param2)``;
    * ``start`` an 'H' point otherwise (or ``branch='cycles'``): the limit cycles born there.

    Args:
        problem: the field family and start. options: :class:`ContinuationOptions` (defaults if None).
        start: a located special point of a previous branch of the same problem.
        branch: 'auto' (as above), 'equilibria', 'switch', 'codim2' or 'cycles'.

    Returns:
        :class:`Branch` (``status`` 'success', 'stopped' when an end was not a bound or ``max_steps``, or
        'failed' when there is no branch; ``message`` says why each end ended).

    Raises:
        FHRNInputError: ``problem``/``options``/``start`` of the wrong type or kind.
        Interrupted: on Ctrl-C, carrying the branch computed so far.
    """
    if not isinstance(problem, ContinuationProblem):
        raise FHRNInputError(f"`problem` must be a ContinuationProblem, got {type(problem).__name__}")
    opts = ContinuationOptions() if options is None else options
    if not isinstance(opts, ContinuationOptions):
        raise FHRNInputError(f"`options` must be a ContinuationOptions, got {type(opts).__name__}")
    check_choice("branch", branch, ("auto", "equilibria", "switch", "codim2", "cycles"))
    with torch.no_grad():  # values only: gradients of located points come from bifurcation_parameter
        return _dispatch(problem, opts, start, branch)


def _dispatch(problem, opts, start, branch) -> Branch:
    if start is None or branch == "equilibria":
        return equilibrium_branch(problem, opts)
    if not isinstance(start, SpecialPoint):
        raise FHRNInputError(f"`start` must be a SpecialPoint, got {type(start).__name__}")
    if branch == "auto":
        branch = {"BP": "switch", "LP": "codim2"}.get(start.kind, "codim2" if problem.param2 else "cycles")
    allowed = {"switch": ("BP",), "codim2": ("LP", "H"), "cycles": ("H",)}[branch]
    if start.kind not in allowed:
        raise FHRNInputError(f"`start` of kind {start.kind!r} cannot start branch={branch!r}; allowed: {allowed}")
    if branch == "switch":
        return switch_branch(problem, start, opts)
    if branch == "codim2":
        return codim2_curve(problem, start, opts)
    return cycle_branch(problem, start, opts)
