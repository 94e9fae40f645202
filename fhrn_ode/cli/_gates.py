"""Size and magnitude gates of the dynamics commands, before anything is built (docs/failure-modes.md).

One gate per command family, in the spirit of ``integrate``'s: every time span at most
:data:`fhrn_ode._limits.MAX_TIME_SPAN`, radii at most ``MAX_MAGNITUDE``, counts at least their
minimum, and the memory/time estimate of :func:`fhrn_ode._limits.dynamics_cost` within the limits,
naming the user's own flag and the largest value that fits.
"""

from __future__ import annotations

import argparse

from .._errors import FHRNInputError, check_int, check_real
from .._limits import MAX_SWEEP_VALUES, MAX_TIME_SPAN, check_sizes, dynamics_cost
from ._common import MAX_MAGNITUDE

__all__ = ["gate_dynamics"]

#: Per command: (trajectory-count flag, tangent, O(d^3) problems per trajectory, time flags).
_SPEC = {
    "fixed-points": ("--n-starts", False, 8, ()),
    "cycles": ("--n-init", True, 2, ("--t-transient", "--t-record", "--t-max")),
    "exponents": ("--n-init", True, 4, ("--t1", "--t-transient")),
    "bifurcation": ("--n-starts", False, 8, ("--t-transient",)),
}


def _get(args, flag: str):
    return getattr(args, flag[2:].replace("-", "_"), None)


def gate_dynamics(args: argparse.Namespace, command: str, d: int | None = None, n_values: int = 1) -> None:
    """Refuse out-of-reach sizes and magnitudes of a dynamics command (``command`` as typed).

    Args:
        args: the parsed flags.
        command: ``fixed-points``, ``cycles``, ``exponents`` or ``bifurcation``.
        d: the state dimension once known (a W* file's size); None: ``--dim`` (or 2).
        n_values: parameter values (bifurcation).

    Raises:
        FHRNInputError: naming the flag, its value and the bound or the largest value that fits.
    """
    count_flag, tangent, n_dec, time_flags = _SPEC[command]
    for flag in time_flags:
        if _get(args, flag) is not None:
            check_real(flag, _get(args, flag), low=0.0, high=MAX_TIME_SPAN)
    if command == "exponents":
        check_real("--t1", args.t1, low=0.0, low_open=True, high=MAX_TIME_SPAN)
        dt = check_real("--dt", args.dt, low=0.0, low_open=True)
        if args.t1 / dt > 1e6:
            raise FHRNInputError(f"`--dt` {dt:g} makes {args.t1 / dt:.3g} re-orthonormalisations over --t1 {args.t1:g}; "
                                 f"at most 1e6 (use --dt >= {args.t1 / 1e6:.3g})")
    if command == "cycles" and args.t_record > args.t_max:
        raise FHRNInputError(f"`--t-record` {args.t_record:g} must be <= --t-max {args.t_max:g}")
    if _get(args, "--radius") is not None:
        check_real("--radius", args.radius, low=0.0, low_open=True, high=MAX_MAGNITUDE)
    n = check_int(count_flag, _get(args, count_flag), low=1)
    if d is None:
        d = 2 if getattr(args, "dim", None) is None else check_int("--dim", args.dim, low=1)
    sizes = [("--dim" if getattr(args, "dim", None) is not None else "the operator size d", d, 1), (count_flag, n, 1)]
    extra = 0
    if command == "bifurcation":
        extra = check_int("--n-init", args.n_init, low=1)
        sizes.append(("--range", n_values, 2))
    check_sizes(lambda dd, nn, nv=n_values: dynamics_cost(dd, nn + extra, tangent=tangent, n_decompositions=n_dec,
                                                          n_values=nv), sizes,
                what=f"{'tangent dynamics and ' if tangent else ''}O(d^3) eigenvalues per trajectory")


def check_range_count(text: str, n: int) -> None:
    """``--range A:B:N``: N within :data:`MAX_SWEEP_VALUES`."""
    if n > MAX_SWEEP_VALUES:
        raise FHRNInputError(f"`--range` {text!r} asks for {n} values; at most {MAX_SWEEP_VALUES}")
