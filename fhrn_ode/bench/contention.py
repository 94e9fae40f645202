"""Benchmark: the same calls quiet and beside a CPU hog on one core (issue 20, "no collapse").

A hog is a second Python process spinning (``while True: pass``) pinned to one of the CPUs this process
may use (:func:`cpu_hog`; the bench starts and stops it itself). Each case runs in turns quiet and beside a
freshly started hog, best of ``k`` each. Rows ``contention/<case>``: ``ours_s`` = beside the hog,
``baseline_s`` = quiet, ``speedup`` = quiet / hog (1 = no effect), ``slowdown`` = hog / quiet (the goal for
``integrate_d2_n4096``: <= 1.5). The library's thread policy (fhrn_ode/_threads.py) chooses the threads;
``contention/integrate_d2_n4096_2threads`` pins torch's old default of 2 threads to show the collapse the
policy avoids (full run only: it takes seconds per call beside a hog).

Cases: ``integrate`` of the ring field at d = 2, N = 4096 (t1 = 20, 401 saved times); the Lorenz
``lyapunov_spectrum`` (8 starts, averaging 10); an ``integrate_sweep`` over 16 gammas x 16 states.
``max_abs_err``: largest difference between the quiet and the hog results (the thread count may change
the order of reductions: round-off only).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator

import numpy as np
import torch

from .harness import make_row
from .._threads import available_cpus, limit_threads

__all__ = ["cases", "contention_rows", "cpu_hog"]


@contextmanager
def cpu_hog(cpu: int | None = None) -> Iterator[subprocess.Popen]:
    """A spinning Python process pinned to ``cpu`` (default: the last CPU this process may use), stopped after."""
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1] if cpu is None else int(cpu)
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(proc.pid, {cpu})
        time.sleep(0.3)  # let it start spinning
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _quiet_vs_hog(fn: Callable[[], Any], k: int) -> tuple[float, float, Any, Any]:
    fn()  # warm-up
    quiet = hog = math.inf
    r_quiet = r_hog = None
    for _ in range(max(1, k)):
        t0 = time.perf_counter()
        r_quiet = fn()
        quiet = min(quiet, time.perf_counter() - t0)
        with cpu_hog():
            t0 = time.perf_counter()
            r_hog = fn()
            hog = min(hog, time.perf_counter() - t0)
    return quiet, hog, r_quiet, r_hog


def _row(name: str, fn: Callable[[], Any], to_array: Callable[[Any], np.ndarray], k: int, threads: int | None,
         **extra: Any) -> dict:
    with (limit_threads(threads, pin=True) if threads else nullcontext()):
        quiet, hog, rq, rh = _quiet_vs_hog(fn, k)
    err = float(np.abs(to_array(rq) - to_array(rh)).max())
    return make_row(f"contention/{name}", hog, "the same call without the hog (quiet)", quiet, err,
                    slowdown=hog / quiet, threads="policy" if threads is None else threads, cpus=available_cpus(),
                    repeats=k, load_average_1min=os.getloadavg()[0], **extra)


def contention_rows(quick: bool, seed: int = 0, collapse_row: bool = False) -> list[dict]:
    """The ``contention/...`` rows (module docstring); ``quick``: small sizes."""
    from ..batched import integrate_sweep
    from ..dynamics import lyapunov_spectrum
    from ..dynamics.systems import LorenzField
    from ..integration import initial_conditions, integrate
    from ..operators import make_operator

    k = 2 if quick else 3
    n, t1, n_pts = (512, 5.0, 51) if quick else (4096, 20.0, 401)
    W = make_operator("antisym", 2, seed=seed)
    y0 = initial_conditions(n, 2, 2.0, seed=seed)

    def run_int():
        return integrate(W, y0, t1=t1, n_points=n_pts)

    rows = [_row(f"integrate_d2_n{n}", run_int, lambda r: r.y.numpy(), k, None, n=n, d=2, t1=t1)]
    if collapse_row:
        rows.append(_row(f"integrate_d2_n{n}_2threads", run_int, lambda r: r.y.numpy(), 1, 2, n=n, d=2, t1=t1))
    g = torch.Generator().manual_seed(seed)
    x0 = torch.tensor([1.0, 1.0, 20.0], dtype=torch.float64) + 5.0 * torch.randn(8, 3, dtype=torch.float64, generator=g)
    ex_t1 = 2.0 if quick else 10.0
    rows.append(_row("exponents_lorenz_n8", lambda: lyapunov_spectrum(LorenzField(), x0, t_transient=1.0, t1=ex_t1,
                                                                      dt=0.5, t_align=0.0, rtol=1e-8, atol=1e-10),
                     lambda r: np.asarray(r.exponents), 1 if quick else 2, None, t1=ex_t1))
    gam = np.linspace(0.0, 1.0, 16)
    ys = initial_conditions(16, 2, 2.0, seed=seed)
    rows.append(_row("sweep_gamma16_n16", lambda: integrate_sweep(W, ys, gamma=gam, beta=0.3, t1=t1, n_points=n_pts),
                     lambda r: r.y.numpy(), k, None, P=16, n=16, t1=t1))
    return rows


def cases(quick: bool, seed: int = 0) -> list:
    """One case (the rows share the set-up); ``quick``: N = 512 and short runs, without the 2-thread row."""
    def run():
        if available_cpus() < 2:
            return [dict(name="contention/integrate", ours_s=None, baseline="quiet", baseline_s=None, speedup=None,
                         max_abs_err=None, skipped="one CPU only: a hog would share it, nothing to measure")]
        return contention_rows(quick, seed, collapse_row=not quick)

    run.bench_name = "quiet_vs_hog"
    return [run]
