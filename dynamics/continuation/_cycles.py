"""Limit-cycle branches from a Hopf point (placeholder, filled below)."""

from fhrn_ode._errors import FHRNInputError


def cycle_branch(problem, start, opts):
    raise FHRNInputError("cycle continuation is not available yet")
