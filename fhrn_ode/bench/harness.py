"""Benchmark harness: every case times our code against a baseline measured in the same run.

Case modules (:data:`CASE_MODULES`) are imported by name; one that does not exist is skipped.
Each exposes ``cases(quick: bool) -> list`` of zero-argument callables (``cases`` may also take a
``seed`` keyword); each callable returns a list of result rows, dicts with at least
:data:`RESULT_KEYS`:

    name         unique name of the comparison, e.g. ``integrate/d2_n4096/vs_loop``
    ours_s       best-of-k wall time of our implementation (s)
    baseline     what it is compared with, in words
    baseline_s   best-of-k wall time of the baseline (s), measured in the same run
    speedup      baseline_s / ours_s (> 1: ours is faster)
    max_abs_err  accuracy of ours (max absolute error against a reference, or vs the baseline)

plus any extra keys (sizes, tolerances, nfe, the baseline's own error ...). Timing helpers:
:func:`best_of` (``time.perf_counter``, warm-up calls first, best of ``k``) and :func:`interleaved` (ours and
the baseline in turns, best of ``k`` each). Performance is
measured here, never asserted in tests.
"""

from __future__ import annotations

import importlib
import inspect
import math
import random
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch

__all__ = ["CASE_MODULES", "RESULT_KEYS", "BenchCase", "best_of", "collect_cases", "run_cases", "format_table",
           "interleaved", "make_row"]

#: Case modules, imported by name in this order; missing ones are skipped.
CASE_MODULES: tuple[str, ...] = (
    "fhrn_ode.bench.integrate",
    "fhrn_ode.bench.spectra",
    "fhrn_ode.bench.train",
    "fhrn_ode.bench.jacobian",
    "fhrn_ode.bench.exponents",
    "fhrn_ode.bench.dynamics",
    "fhrn_ode.bench.cycles",
    "fhrn_ode.bench.sweep",
    "fhrn_ode.bench.continuation",
    "fhrn_ode.bench.contention",
    "fhrn_ode.bench.cli",
    "fhrn_ode.bench.explore",
)
#: Keys every result row carries (extra keys are allowed).
RESULT_KEYS: tuple[str, ...] = ("name", "ours_s", "baseline", "baseline_s", "speedup", "max_abs_err")


def best_of(fn: Callable[[], Any], k: int = 3, warmup: int = 1) -> tuple[float, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``k`` times; return ``(best seconds, last result)``."""
    out = None
    for _ in range(max(0, int(warmup))):
        out = fn()
    best = math.inf
    for _ in range(max(1, int(k))):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def interleaved(fns: list[Callable[[], Any]], k: int = 3, warmup: int = 1,
                clock: Callable[[], float] = time.perf_counter) -> list[tuple[float, Any]]:
    """Time several callables in turns (round ``r`` runs each once), so a change of machine load hits all of
    them alike; ``warmup`` untimed rounds first. Returns ``[(best seconds, last result), ...]`` in order.
    ``clock``: wall time by default; ``time.process_time`` gives CPU time (a millisecond call's wall time on a
    loaded machine is mostly the time slices it waits for, its CPU time is not)."""
    outs: list[Any] = [None] * len(fns)
    for _ in range(max(0, int(warmup))):
        outs = [fn() for fn in fns]
    best = [math.inf] * len(fns)
    for _ in range(max(1, int(k))):
        for i, fn in enumerate(fns):
            t0 = clock()
            outs[i] = fn()
            best[i] = min(best[i], clock() - t0)
    return list(zip(best, outs))


def make_row(name: str, ours_s: float, baseline: str, baseline_s: float, max_abs_err: float | None,
             **extra: Any) -> dict[str, Any]:
    """A result row with ``speedup = baseline_s / ours_s``."""
    speedup = baseline_s / ours_s if ours_s > 0 else math.inf
    return dict(name=name, ours_s=float(ours_s), baseline=baseline, baseline_s=float(baseline_s),
                speedup=float(speedup), max_abs_err=None if max_abs_err is None else float(max_abs_err), **extra)


@dataclass
class BenchCase:
    """One zero-argument case callable with the label used by ``--only`` (``module/case``)."""

    label: str
    fn: Callable[[], list]


def _short(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _label(module: str, fn: Callable, i: int) -> str:
    name = getattr(fn, "bench_name", None) or getattr(fn, "__name__", "") or ""
    if not name or name == "<lambda>":
        name = f"case{i}"
    return f"{_short(module)}/{name}"


def collect_cases(quick: bool, modules: Iterable[str] = CASE_MODULES, seed: int = 0) -> tuple[list[BenchCase], list[str]]:
    """Import the case modules; return ``(cases, skipped module names)``.

    A module that does not exist is skipped; one that exists but fails to import raises.
    """
    cases: list[BenchCase] = []
    skipped: list[str] = []
    for mod_name in modules:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                skipped.append(mod_name)
                continue
            raise
        get = getattr(mod, "cases")
        kw = {"seed": seed} if "seed" in inspect.signature(get).parameters else {}
        for i, fn in enumerate(get(bool(quick), **kw)):
            cases.append(BenchCase(_label(mod_name, fn, i), fn))
    return cases, skipped


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return _clean(v.item())
    return v


def _check_row(row: Any, label: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise TypeError(f"bench case {label} returned a {type(row).__name__}, expected a dict")
    missing = [k for k in RESULT_KEYS if k not in row]
    if missing:
        raise KeyError(f"bench case {label} returned a row without {', '.join(missing)}")
    return {k: _clean(v) for k, v in row.items()}


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_cases(cases: list[BenchCase], only: str | None = None, seed: int = 0, progress: bool | None = None) -> list[dict]:
    """Run the cases and return their rows, with progress on stderr (a bar on a terminal, else a line
    every few seconds: :class:`fhrn_ode._progress.Progress`; ``progress=False`` for none).

    ``only``: when some case labels (``module/case``, e.g. ``integrate/d2``) contain it, only those
    cases run and all their rows are kept; otherwise every case runs and only the rows whose name
    contains it are kept. A case that raises yields one row with ``error`` set and None timings, so
    one broken case does not hide the others.
    """
    from .._progress import Progress

    if only:
        chosen = [c for c in cases if only in c.label]
        label_match = bool(chosen)
        if not label_match:
            chosen = list(cases)
    else:
        chosen, label_match = list(cases), True
    rows: list[dict] = []
    bar = Progress(len(chosen), "bench", unit="case", enabled=progress is not False)
    for case in chosen:
        bar.update(0, case=case.label)
        _seed_all(seed)
        try:
            got = [_check_row(r, case.label) for r in case.fn()]
        except Exception as exc:  # noqa: BLE001 - reported as a row, the others still run
            why = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
            got = [dict(name=case.label, ours_s=None, baseline=None, baseline_s=None, speedup=None,
                        max_abs_err=None, error=why)]
        if only and not label_match:
            got = [r for r in got if only in str(r["name"])]
        rows.extend(got)
        bar.update(1)
    bar.close()
    return rows


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return "-"
    if kind == "s":
        return f"{v:.3g}" if v < 100 else f"{v:.4g}"
    if kind == "x":
        return f"{v:.3g}x" if v < 1000 else f"{v:.0f}x"
    if kind == "e":
        return f"{v:.1e}"
    return str(v)


def format_table(rows: list[dict]) -> str:
    """A plain-text table of the rows (name, times, speedup, error; baseline in words last)."""
    head = ["name", "ours [s]", "baseline [s]", "speedup", "max|err|", "baseline"]
    body = []
    for r in rows:
        base = r.get("baseline") or ""
        if r.get("error"):
            base = f"ERROR: {r['error']}"
        elif r.get("skipped"):
            base = f"{base} ({r['skipped']})"
        body.append([str(r["name"]), _fmt(r["ours_s"], "s"), _fmt(r["baseline_s"], "s"), _fmt(r["speedup"], "x"),
                     _fmt(r["max_abs_err"], "e"), str(base)])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    right = {1, 2, 3, 4}

    def line(cells: list[str]) -> str:
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), sep, *(line(b) for b in body)])
