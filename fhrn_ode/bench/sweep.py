"""Benchmark: a whole gamma sweep in ONE :func:`fhrn_ode.integrate_sweep` call vs one integrate call per value.

Problem (issue 12): the ring field (antisymmetric ``W*``, default parameters) with the gain on
(``beta = 0.3``, so gamma matters through ``g``), ``P`` values of gamma in [0, 1] x ``N`` initial states
(d = 2), t1 = 20, 401 saved times, dopri5 rtol 1e-7 / atol 1e-9. Row ``sweep/gamma{P}_n{N}/vs_separate``:
ours = the batched call (group error control: every set meets its own call's criterion), baseline
= ``P`` separate :func:`fhrn_ode.integrate` calls (timed on ``n_sep`` evenly spaced values, scaled by
``P / n_sep``: key ``separate_scale``). ``max_abs_err`` = max difference between the batched
trajectories and the separate calls that were run (the goal: <= 1e-6).
"""

from __future__ import annotations

import numpy as np

from .harness import best_of, make_row
from ..batched import integrate_sweep
from ..integration import initial_conditions, integrate
from ..operators import make_operator
from ..params import FHRNParams

__all__ = ["cases", "sweep_case", "state_case"]


def sweep_case(P: int, n: int, *, n_sep: int = 8, t1: float = 20.0, n_points: int = 401, k: int = 3,
               seed: int = 0, beta: float = 0.3) -> list[dict]:
    W = make_operator("antisym", 2, seed=seed)
    y0 = initial_conditions(n, 2, 2.0, seed=seed)
    gammas = np.linspace(0.0, 1.0, P)
    sep_idx = np.unique(np.linspace(0, P - 1, min(n_sep, P)).round().astype(int))

    def batched():
        return integrate_sweep(W, y0, gamma=gammas, beta=beta, t1=t1, n_points=n_points)

    def separate():
        return [integrate(W, y0, params=FHRNParams(gamma=float(gammas[i]), beta=beta), t1=t1, n_points=n_points)
                for i in sep_idx]

    t_b, res = best_of(batched, k)
    t_s, sols = best_of(separate, min(2, k), warmup=0)
    scale = P / len(sep_idx)
    err = max(float((res.y[:, i] - s.y).abs().max()) for i, s in zip(sep_idx, sols))
    return [make_row(f"sweep/gamma{P}_n{n}/vs_separate", t_b,
                     f"{P} separate integrate calls ({len(sep_idx)} timed, x{scale:g})", t_s * scale, err,
                     P=P, n=n, d=2, t1=t1, n_points=n_points, beta=beta, nfe=int(res.nfe),
                     baseline_nfe=int(sum(s.nfe for s in sols) * scale), separate_scale=scale,
                     error_control=res.error_control, status=res.status, repeats=k)]


def state_case(n_tasks: int, *, n_baseline: int = 20, k: int = 3) -> list[dict]:
    """Per-task cost of the sweep state (issue 24): two status changes per task (running, done).

    Row ``sweep/state_n{N}/vs_full_rewrite``: ours = :meth:`SweepManifest.update` (one appended line
    of ``tasks.jsonl``) for every change of ``N`` tasks, per task; baseline = rewriting the whole
    state after every change (the version-1 manifest), timed on ``n_baseline`` changes and scaled
    per task. ``per_task_s`` should stay flat from 300 to 3 000 tasks; the baseline grows with N.
    """
    import tempfile
    from pathlib import Path

    from ..sweep import FailTask, SweepManifest, TaskRecord, load_manifest

    recs = [TaskRecord(task=FailTask(name=f"t{i}")) for i in range(n_tasks)]
    with tempfile.TemporaryDirectory() as tmp:
        m = SweepManifest(out=Path(tmp), records=recs)
        m.write()

        def ours():
            for r in recs:
                for st in ("running", "done"):
                    r.status = st
                    m.update(r)

        def full():
            for r in recs[:n_baseline]:
                r.status = "running"
                m.write()
                r.status = "done"
                m.write()

        t_o, _ = best_of(ours, k)
        t_b, _ = best_of(full, min(k, 2))
        m.close_log()
        after = {r.key: r.status for r in load_manifest(tmp).records}
    err = float(sum(v != "done" for v in after.values()))  # 0: every change reached the log
    per, per_b = t_o / n_tasks, t_b / min(n_baseline, n_tasks)
    return [make_row(f"sweep/state_n{n_tasks}/vs_full_rewrite", per, "rewrite the whole state per change "
                     f"(timed on {min(n_baseline, n_tasks)} tasks), per task", per_b, err,
                     n_tasks=n_tasks, per_task_s=per, baseline_per_task_s=per_b, repeats=k)]


def cases(quick: bool, seed: int = 0) -> list:
    def run():
        if quick:
            return sweep_case(16, 16, n_sep=4, t1=10.0, n_points=101, k=2, seed=seed)
        return sweep_case(64, 64, n_sep=8, seed=seed)

    def state():
        return state_case(300, k=2 if quick else 3) + state_case(3000, k=2 if quick else 3)

    run.bench_name = "gamma64_n64" if not quick else "gamma16_n16"
    state.bench_name = "state"
    return [run, state]
