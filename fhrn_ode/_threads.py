"""The thread policy: how many torch intra-op threads a problem gets (docs/performance.md, "Threads").

Why: torch's intra-op threads collapse when another process is busy on one of the cores. Each parallel
region waits for its slowest thread, and a thread that shares its core with a busy process waits for
a scheduler time slice, so every small operation costs milliseconds. Measured on the 2-core machine
(load average 4-7, 09:13 on 2026-12-05, ``integrate`` of the ring field, 1 vs 2 threads interleaved,
best of 3): 2 threads were 4x to 14x SLOWER at every size tried, d = 2 with N = 64 ... 32768 and
d = 64 with N = 16 ... 4096 (up to 262144 state elements): below that size two threads never paid
off here. torch parallelises an element-wise operation only above 32768 elements
(``at::internal::GRAIN_SIZE``), so below that a second thread can only add synchronisation.

The policy (:func:`threads_for`):

* a count pinned by the user (``--threads N`` on the CLI, :func:`limit_threads` with ``pin=True``)
  or by a sweep worker (:func:`mark_worker`) is used as given;
* otherwise one thread below :data:`CROSSOVER_NUMEL` state elements;
* above it, the CPUs this process may use (``os.sched_getaffinity``) that the 1-minute load average
  leaves free (at least 1), never more than those CPUs.

The load average lags by up to a minute: a process that starts beside a running solve is not seen by
it. A solve never changes its numbers with the thread count beyond round-off of the reductions.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["CROSSOVER_NUMEL", "add_threads_arg", "available_cpus", "limit_threads", "mark_worker", "parse_threads",
           "threads_for"]

#: State elements (``y.numel()``) below which one thread is used (module docstring: no crossover was
#: found up to 262144 elements on the shared 2-core machine; 2**20 keeps a margin above that).
CROSSOVER_NUMEL: int = 1 << 20

_PINNED: int | None = None  # a thread count chosen by the user or a worker (threads_for returns it)


def available_cpus() -> int:
    """CPUs this process may run on (``len(os.sched_getaffinity(0))``, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _free_cpus(cpus: int) -> int:
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - platforms without a load average
        return cpus
    return max(1, min(cpus, int(cpus - load + 1.0)))  # + 1: our own process is part of the load


def threads_for(numel: int) -> int:
    """Torch intra-op threads for a problem with ``numel`` state elements (module docstring).

    Args:
        numel: elements of the state the solver advances (``y.numel()``, all trajectories together).

    Returns:
        The pinned count if any, else 1 below :data:`CROSSOVER_NUMEL`, else the free CPUs (>= 1,
        <= :func:`available_cpus`).
    """
    if _PINNED is not None:
        return _PINNED
    if int(numel) < CROSSOVER_NUMEL:
        return 1
    return _free_cpus(available_cpus())


def mark_worker(threads: int | None = 1) -> None:
    """Pin the thread count of this process (a pool or Ray worker: ``threads`` or 1; never torch's default)."""
    global _PINNED
    _PINNED = int(threads) if threads else 1


@contextmanager
def limit_threads(n: int | None, *, pin: bool = False) -> Iterator[None]:
    """Set ``torch.set_num_threads(n)`` for the block and restore the previous count after it.

    Args:
        n: thread count (>= 1); None leaves torch's setting alone.
        pin: also make :func:`threads_for` return ``n`` inside the block (a user's explicit choice).

    Raises:
        FHRNInputError: ``n`` is not an integer >= 1.
    """
    global _PINNED
    if n is None:
        yield
        return
    from ._errors import check_int

    n = check_int("threads", n, low=1)
    if "torch" not in sys.modules:  # not imported yet (a CLI command): torch reads OMP_NUM_THREADS when imported,
        with _omp_env(n, pin):      # and a command that never needs torch does not pay ~2 s to import it here
            yield
        return
    import torch

    old, old_pin = torch.get_num_threads(), _PINNED
    if n != old:
        torch.set_num_threads(n)
    if pin:
        _PINNED = n
    try:
        yield
    finally:
        _PINNED = old_pin
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


@contextmanager
def _omp_env(n: int, pin: bool) -> Iterator[None]:
    global _PINNED
    old_env, old_pin = os.environ.get("OMP_NUM_THREADS"), _PINNED
    os.environ["OMP_NUM_THREADS"] = str(n)
    if pin:
        _PINNED = n
    try:
        yield
    finally:
        _PINNED = old_pin
        if old_env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old_env


def parse_threads(text: str) -> int | None:
    """``--threads`` value: ``auto`` -> None (the policy), else an integer >= 1.

    Raises:
        argparse.ArgumentTypeError: anything else (argparse turns it into one line, exit 2).
    """
    if str(text).strip().lower() == "auto":
        return None
    try:
        n = int(str(text).strip())
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 'auto' or an integer >= 1, got {text!r}")
    return n


def add_threads_arg(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """Add the shared ``--threads N|auto`` option (value: :func:`parse_threads`; ``fhrn_ode.cli.main`` applies it)."""
    parser.add_argument("--threads", type=parse_threads, default=parse_threads(default), metavar="N|auto",
                        help=f"torch CPU threads, N or 'auto' (default {default}; 'auto': one thread for every "
                             f"problem under {CROSSOVER_NUMEL} state elements, which does not collapse when other jobs "
                             f"share the cores; docs/performance.md)")
