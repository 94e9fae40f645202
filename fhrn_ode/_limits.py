"""Resource estimates: refuse up front what cannot fit, instead of running until the machine kills it.

Each ``*_cost`` function returns a :class:`Cost` (bytes of memory, floating-point operations) from
the sizes alone, before anything is allocated. :func:`check_cost` compares a cost with the limits
and raises :class:`FHRNInputError` naming the user's own flag, the estimate and the largest value
that fits. The estimates are deliberately rough (a factor of ~2); they exist to stop sizes that are
orders of magnitude out of reach (``--dim 20000``), not to predict run times.

Limits (documented in docs/failure-modes.md):

- memory: ``FHRN_ODE_MAX_MEMORY`` (bytes, suffixes K/M/G/T allowed), default half of the physical
  memory (or of the cgroup / ``RLIMIT_AS`` limit when smaller);
- time: ``FHRN_ODE_MAX_SECONDS``, default 900 s, at :data:`FLOP_RATE` operations per second.

This module imports nothing heavy (no numpy/torch): the CLI calls it before loading anything.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

from ._errors import FHRNInputError

__all__ = ["Cost", "FLOP_RATE", "memory_limit", "time_limit", "check_cost", "check_sizes", "largest_fitting",
           "dense_cost", "integrate_cost", "map_cost", "lyapunov_cost", "figures_cost", "model_eval_cost",
           "format_bytes", "format_seconds", "dynamics_cost", "MAX_TIME_SPAN", "MAX_SWEEP_VALUES"]

#: Assumed sustained rate of dense linear algebra, operations per second (one loaded CPU core).
FLOP_RATE = 1e10
#: Operations of one dense non-symmetric eigenvalue problem or SVD of size d: EIG_FLOPS * d^3.
EIG_FLOPS = 25.0
#: Right-hand-side evaluations assumed for one integration (a lower bound: 100 dopri5 steps).
MIN_EVALS = 600


@dataclass(frozen=True)
class Cost:
    """An estimate: ``bytes`` of memory at the peak, ``flops`` operations (O(d^3) work included)."""

    bytes: float
    flops: float

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(max(self.bytes, other.bytes) + min(self.bytes, other.bytes), self.flops + other.flops)

    @property
    def seconds(self) -> float:
        return self.flops / FLOP_RATE


def _parse_size(text: str) -> float:
    t = text.strip().upper().rstrip("B")
    mult = 1
    for suffix, m in (("K", 2 ** 10), ("M", 2 ** 20), ("G", 2 ** 30), ("T", 2 ** 40)):
        if t.endswith(suffix):
            t, mult = t[:-1], m
            break
    try:
        v = float(t) * mult
    except ValueError:
        raise FHRNInputError(f"environment variable FHRN_ODE_MAX_MEMORY must be a size like 8G, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise FHRNInputError(f"environment variable FHRN_ODE_MAX_MEMORY must be a positive size, got {text!r}")
    return v


def _physical_memory() -> float:
    total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                v = fh.read().strip()
            if v.isdigit():
                total = min(total, float(v))
        except OSError:
            pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            total = min(total, float(soft))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass
    return total


def memory_limit() -> float:
    """Bytes one command may plan to use (``FHRN_ODE_MAX_MEMORY`` or half the machine's memory)."""
    env = os.environ.get("FHRN_ODE_MAX_MEMORY")
    return _parse_size(env) if env else 0.5 * _physical_memory()


def time_limit() -> float:
    """Seconds of estimated dense work one command may plan (``FHRN_ODE_MAX_SECONDS``, default 900)."""
    env = os.environ.get("FHRN_ODE_MAX_SECONDS")
    if not env:
        return 900.0
    try:
        v = float(env)
    except ValueError:
        v = float("nan")
    if not (math.isfinite(v) and v > 0):
        raise FHRNInputError(f"environment variable FHRN_ODE_MAX_SECONDS must be a positive number, got {env!r}")
    return v


def format_bytes(n: float) -> str:
    for unit, m in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= m:
            return f"{n / m:.3g} {unit}"
    return f"{n:.0f} B"


def format_seconds(s: float) -> str:
    if s >= 86400 * 365:
        return f"{s / (86400 * 365):.3g} years"
    for unit, m in (("days", 86400), ("h", 3600), ("min", 60)):
        if s >= m:
            return f"{s / m:.3g} {unit}"
    return f"{s:.3g} s"


def fits(cost: Cost) -> bool:
    return cost.bytes <= memory_limit() and cost.seconds <= time_limit()


def largest_fitting(make: Callable[[int], Cost], low: int, high: int) -> int | None:
    """The largest integer ``n`` in ``[low, high]`` with ``make(n)`` within the limits (costs grow with n)."""
    if not fits(make(low)):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if fits(make(mid)):
            low = mid
        else:
            high = mid - 1
    return low


def check_cost(flag: str, value, cost: Cost, *, what: str = "", largest: int | None = None) -> None:
    """Raise :class:`FHRNInputError` if ``cost`` exceeds the memory or time limit.

    Args:
        flag: the user's own name of the size (``--dim``, ``n_init``), quoted in the message.
        value: its value.
        cost: the estimate.
        what: a few words on the dominant work (``"O(d^3) eigenvalues of 8 Jacobians"``).
        largest: the largest value that would fit, if known (said in the message).
    """
    mem, lim_s = memory_limit(), time_limit()
    if cost.bytes <= mem and cost.seconds <= lim_s:
        return
    parts = []
    if cost.bytes > mem:
        parts.append(f"about {format_bytes(cost.bytes)} of memory (limit {format_bytes(mem)}, FHRN_ODE_MAX_MEMORY)")
    if cost.seconds > lim_s:
        parts.append(f"about {format_seconds(cost.seconds)} of computation{' (' + what + ')' if what else ''} "
                     f"(limit {format_seconds(lim_s)}, FHRN_ODE_MAX_SECONDS)")
    hint = f"; at most {largest} fits" if largest is not None else ""
    raise FHRNInputError(f"`{flag}` {value} is too large: it needs {' and '.join(parts)}{hint}")


def check_sizes(cost: Callable[..., Cost], sizes: list[tuple[str, int, int]], *, what: str = "") -> None:
    """Refuse a combination of sizes whose cost is out of reach, blaming the flag that breaks it.

    Args:
        cost: ``cost(*values) -> Cost``, increasing in each value.
        sizes: ``(flag, value, smallest allowed value)`` per argument of ``cost``, in order; the first
            flag whose own value (the later ones at their smallest) exceeds the limits is named.
        what: the dominant work, for the message.

    Raises:
        FHRNInputError: naming that flag, the estimate and the largest value that fits.
    """
    values = [v for _, v, _ in sizes]
    lows = [lo for _, _, lo in sizes]
    if fits(cost(*values)):
        return
    for i, (flag, value, low) in enumerate(sizes):
        trial = values[: i + 1] + lows[i + 1:]
        if not fits(cost(*trial)):
            def one(n: int, i: int = i, rest: list = values) -> Cost:
                return cost(*(values[:i] + [n] + rest[i + 1:]))

            best = largest_fitting(one, low, value)
            if best is None:  # nothing fits with the other sizes as given: say what fits with them at their least
                best = largest_fitting(lambda n, i=i: one(n, i, lows), low, value)
            check_cost(flag, value, cost(*values), what=what, largest=best)
    check_cost(sizes[-1][0], sizes[-1][1], cost(*values), what=what)  # pragma: no cover - monotone costs


def dense_cost(d: int, n_matrices: int = 1, *, n_decompositions: int = 4) -> Cost:
    """``n_matrices`` d x d float64 matrices and ``n_decompositions`` O(d^3) eigen/SVD problems."""
    return Cost(8.0 * d * d * (n_matrices + 4), EIG_FLOPS * n_decompositions * float(d) ** 3)


def integrate_cost(d: int, n_init: int, n_points: int, *, memory: bool = False) -> Cost:
    """``integrate``: the operator, the saved trajectory (and fast-weight trace), the final Jacobians."""
    state = d * (d + 1) if memory else d  # floats per trajectory (y and, with memory, A)
    saved = 8.0 * n_points * n_init * state * 3  # torch result, numpy copy, npz buffer
    work = 8.0 * n_init * state * 12 + 8.0 * n_init * d * d * 3  # solver stages, final Jacobians
    flops = MIN_EVALS * n_init * (2.0 * d * d + (4.0 * d * d if memory else 0.0))
    return Cost(saved + work, flops) + dense_cost(d, 4, n_decompositions=4 + n_init)


def map_cost(d: int, grid: int) -> Cost:
    """``map``: ``grid^2`` Jacobians (d x d) and their spectral abscissae."""
    pts = float(grid) ** 2
    per = EIG_FLOPS * float(d) ** 3 if d > 2 else 50.0
    return Cost(8.0 * pts * (d * d * 3 + 8), pts * per) + dense_cost(d, 2, n_decompositions=1)


def lyapunov_cost(d: int, n_radii: int, n_points: int) -> Cost:
    """``lyapunov``: the traces y, V, dV/dt over ``n_points`` for ``n_radii`` starts."""
    return Cost(8.0 * n_points * n_radii * (d + 4) * 6, MIN_EVALS * n_radii * 4.0 * d * d) + dense_cost(d, 2, n_decompositions=1)


def figures_cost(resolution: int) -> Cost:
    """``figures``: the 2-D grids of the panels (resolution^2 points each, a few arrays per point)."""
    pts = float(resolution) ** 2
    return Cost(8.0 * pts * 200, pts * 2e4)


def model_eval_cost(n_seq: int, context: int, d: int, n_layer: int, rank: int, *, jacobians: int = 0) -> Cost:
    """A Tiny-GPT forward over ``n_seq`` sequences (activations kept), plus ``jacobians`` d x d Jacobians."""
    act = 4.0 * n_seq * context * n_layer * (16 * d + 2 * rank * d + 256) * 2
    flops = 2.0 * n_seq * context * n_layer * (12.0 * d * d + context * d + 2.0 * rank * d * d)
    jac = Cost(8.0 * jacobians * d * d * 4, jacobians * (EIG_FLOPS * float(d) ** 3 + 2.0 * d * 12.0 * d * d))
    return Cost(act, flops) + jac


#: Longest time span a command integrates over (beyond it, a run cannot finish in any budget we allow).
MAX_TIME_SPAN = 1e6
#: Most parameter values of one bifurcation sweep (``--range A:B:N``).
MAX_SWEEP_VALUES = 10_000


def dynamics_cost(d: int, n_traj: int, *, tangent: bool = False, n_decompositions: int = 1,
                  n_values: int = 1) -> Cost:
    """A dynamics tool (fixed points, cycles, exponents, one bifurcation value each ``n_values`` times).

    Args:
        d: state dimension.
        n_traj: trajectories or starts integrated together.
        tangent: each carries a d x d tangent (exponents, monodromy): d^2 floats and O(d^3) per evaluation.
        n_decompositions: O(d^3) eigen/QR problems per trajectory (Jacobians at the points found, re-orthonormalisations).
        n_values: parameter values (bifurcation), each costing all of the above.
    """
    state = d * (d + 1) if tangent else d
    mem = 8.0 * n_traj * state * 16 + 8.0 * n_traj * d * d * 2
    flops = n_values * n_traj * (MIN_EVALS * (2.0 * d * d * (d if tangent else 1)) + EIG_FLOPS * n_decompositions * float(d) ** 3)
    return Cost(mem, flops) + dense_cost(d, 2, n_decompositions=1)
