""":func:`run_sweep`: run a grid of tasks on an engine, resumable, with retries and a manifest."""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter, deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .._errors import FHRNInputError, Interrupted, check_choice, check_int
from ._engines import ENGINES, make_engine
from .._lock import lock_folder, unlock_folder
from ._manifest import MANIFEST_NAME, SweepManifest, TaskRecord, load_manifest
from ._tasks import OdeTask, Task, TrainTask, read_result, task_from_dict

__all__ = ["run_sweep", "train_grid", "ode_grid", "check_key"]

#: A task key is one folder name: letters, digits and ``._+-=`` (no separator, not ``.``/``..``).
_KEY_RE = re.compile(r"[A-Za-z0-9_.+=-]{1,200}")


def check_key(key: str) -> str:
    """Refuse a task key that is not one plain folder name (it could escape ``out/tasks/``).

    Raises:
        FHRNInputError: naming the key.
    """
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key) or key in (".", ".."):
        raise FHRNInputError(f"task key {key!r} is not a plain folder name (letters, digits and ._+=- only, "
                             f"at most 200): it must stay inside `out`/tasks/")
    return key


def train_grid(gammas: Sequence[float], seeds: Sequence[int], presets: Sequence[str] = ("quick",),
               steps: int | None = None, **fields) -> list[TrainTask]:
    """:class:`TrainTask` for every (seed, preset, gamma), seed-major (a partial sweep covers all gains)."""
    if not gammas or not seeds or not presets:
        raise FHRNInputError("`gammas`, `seeds` and `presets` must each list at least one value")
    return [TrainTask(gain=g, seed=s, preset=p, steps=steps, **fields) for s in seeds for p in presets for g in gammas]


def ode_grid(gammas: Sequence[float], seeds: Sequence[int] = (0,), **lists: Iterable) -> list[OdeTask]:
    """:class:`OdeTask` for every combination of ``gammas``, ``seeds`` and other field lists (``kappa=[...]``)."""
    import itertools

    names = list(lists)
    combos = itertools.product(seeds, *(list(v) for v in lists.values()), gammas)
    return [OdeTask(seed=c[0], gain=c[-1], **dict(zip(names, c[1:-1]))) for c in combos]


def _fmt_s(s: float) -> str:
    s = max(0.0, s)
    return f"{s / 3600:.1f}h" if s >= 3600 else (f"{s / 60:.1f}min" if s >= 90 else f"{s:.0f}s")


def _stderr_line(line: str) -> None:
    err = sys.stderr
    if err is None:  # started with stderr closed: progress has nowhere to go
        return
    try:
        err.write(line + "\n")
        err.flush()
    except (OSError, ValueError):  # closed or broken: progress is best effort, the manifest is the record
        pass


def _same_task(d, t: Task) -> bool:
    try:
        return task_from_dict(d) == t
    except (FHRNInputError, TypeError):
        return False


def _adopt(r: TaskRecord, res: dict | None) -> None:
    """Set ``r`` from its folder: a result is ``done`` (or ``failed`` when it records a failure)."""
    if res is None:
        r.status = "pending"  # pending, failed or running (a killed runner): run it (again)
        return
    why = r.task.failure(res)
    r.status, r.error, r.seconds = ("failed", why, None) if why else ("done", None, res.get("seconds"))
    r.attempts = max(r.attempts, 1)


def _merge(out: Path, tasks: list[Task], engine: str) -> tuple[SweepManifest, list[TaskRecord]]:
    old: dict[str, TaskRecord] = {}
    if (out / MANIFEST_NAME).is_file():
        old = {r.key: r for r in load_manifest(out).records}
    recs = []
    for t in tasks:
        r = old.pop(t.key, None) or TaskRecord(task=t)
        r.task = t
        res = read_result(out / r.folder)
        if res is not None and not _same_task(res.get("task"), t):
            raise FHRNInputError(f"task folder {str(out / r.folder)!r} holds a different task "
                                 f"({res.get('task')}); use another `out`")
        _adopt(r, res)
        recs.append(r)
    m = SweepManifest(out=out, records=recs + list(old.values()), engine=engine)
    return m, recs


def run_sweep(tasks: Sequence[Task], out: str | os.PathLike, *, engine: str = "local", workers: int = 1,
              address: str | None = None, retries: int = 2, threads: int | None = 1,
              progress: bool | Callable[[str], None] = True, dry_run: bool = False) -> SweepManifest:
    """Run ``tasks`` into ``out/tasks/<key>/`` on ``engine``; resumable; returns the final manifest.

    Each task writes its ``result.json`` atomically when it finishes; ``out/manifest.json`` is
    rewritten atomically after every change of status. Called again on the same ``out`` (after an
    interruption, a kill, or with more tasks) it runs only the tasks without a result: finished
    ones are never recomputed; failed and unfinished ones are run again. Records of tasks not in
    ``tasks`` stay in the manifest untouched.

    Args:
        tasks: the grid (:func:`train_grid`, :func:`ode_grid`, or any :class:`Task` list); keys must be unique.
        out: the sweep folder.
        engine: ``"local"`` (process pool on this machine) or ``"ray"`` (Ray cluster).
        workers: tasks run at the same time (local: pool size; ray: CPUs of a local cluster, and
            the cap on tasks in flight on an existing one).
        address: Ray cluster address (``ray.init(address=...)``, e.g. ``"auto"`` or
            ``"ray://host:10001"``); None starts a local cluster. Only with ``engine="ray"``; the
            cluster's workers must see ``out`` (a shared file system) and have fhrn-ode installed.
        retries: extra executions of a task that raised, per call (0 = one try); then it is
            reported as ``failed`` with its error.
        threads: ``torch.set_num_threads`` in each task (None: leave torch's default).
        progress: True: one line per finished task with an ETA on stderr; a callable gets the lines; False: quiet.
        dry_run: only write the manifest (finished task folders adopted as ``done``); run nothing.

    Raises:
        FHRNInputError: bad arguments, duplicate task keys, a folder used by another live runner or
            holding a different task under the same key. KeyboardInterrupt is re-raised after the
            running tasks are stopped and marked ``pending``.
    """
    tasks = list(tasks)
    if not tasks:
        raise FHRNInputError("`tasks` must hold at least one task")
    for i, t in enumerate(tasks):
        if not isinstance(t, Task):
            raise FHRNInputError(f"`tasks[{i}]` must be a fhrn_ode.sweep Task, got {type(t).__name__}")
    dup = [k for k, n in Counter(t.key for t in tasks).items() if n > 1]
    if dup:
        raise FHRNInputError(f"`tasks` has duplicate keys {dup[:3]}")
    check_choice("engine", engine, ENGINES)
    workers = check_int("workers", workers, low=1)
    retries = check_int("retries", retries, low=0)
    if threads is not None:
        threads = check_int("threads", threads, low=1)
    if address is not None and engine != "ray":
        raise FHRNInputError(f"`address` {address!r} needs engine 'ray'")
    if address is not None:
        from ._engines import check_address

        check_address(address)  # seconds, not minutes, when nothing listens there
    say = progress if callable(progress) else (_stderr_line if progress else (lambda line: None))
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FHRNInputError(f"`out` {str(out)!r} exists and is not a directory")
    for t in tasks:
        check_key(t.key)
    out.mkdir(parents=True, exist_ok=True)
    lock_folder(out, flag="out", what="fhrn-ode sweep")
    try:
        _check_layout(out, tasks)
        return _run(tasks, out, engine, workers, address, retries, threads, say, dry_run)
    finally:
        unlock_folder(out)


def _check_layout(out: Path, tasks: list[Task]) -> None:
    """Refuse up front a sweep folder whose own paths are of the wrong kind (every task would fail on them).

    Raises:
        FHRNInputError: naming the path and what it is.
    """
    from .._io import file_kind
    from ._manifest import LOG_NAME

    for name in (MANIFEST_NAME, LOG_NAME):
        p = out / name
        if p.exists() and not p.is_file():
            raise FHRNInputError(f"`out` {str(out)!r}: {str(p)!r} {file_kind(p)}; move it away")
    for p in [out / "tasks"] + [out / "tasks" / t.key for t in tasks]:
        if p.exists() and not p.is_dir():
            raise FHRNInputError(f"`out` {str(out)!r}: {str(p)!r} is a file, not a directory; move it away")


@contextmanager
def _signals_deferred():
    """Run the block with SIGINT, SIGTERM and SIGALRM (the CLI's re-raise timer) only recorded; the
    previous handlers are back when it ends (the exception it raises then reaches the CLI; a signal
    that arrived meanwhile is raised again by the CLI's timer). Main thread only; elsewhere a no-op."""
    import signal

    saved = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            saved[sig] = signal.signal(sig, lambda *a: None)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for sig, h in saved.items():
            signal.signal(sig, h)


def _interrupted(exc: BaseException, manifest: SweepManifest, recs: list[TaskRecord]) -> Interrupted:
    c = Counter(r.status for r in recs)
    what = (f"{c['done']} tasks done, {c['failed']} failed, {c['pending']} pending (kept in "
            f"{manifest.out}; run the same command again to finish)")
    out = Interrupted(manifest, cause=exc, what=what)
    if not out.sigterm:  # Ray's wait/get turns the Terminated of the CLI's SIGTERM handler into a plain
        from .._signals import exit_code  # KeyboardInterrupt: the last signal received says which it was

        out.sigterm = exit_code() == 143
    return out


def _finish(rec: TaskRecord, res: dict | None, err: str | None, tries: int, retries: int) -> None:
    """Set the status of ``rec`` after one execution (``err``: it raised or its worker died)."""
    if err is None:
        why = rec.task.failure(res)
        if why:  # a result that records a failed computation: failed, not retried (deterministic)
            rec.status, rec.error, rec.seconds = "failed", why, None
        else:
            rec.status, rec.error, rec.seconds = "done", None, res.get("seconds")
    elif tries <= retries:
        rec.status, rec.error = "pending", err
    else:
        rec.status, rec.error = "failed", err


def _run(tasks, out, engine, workers, address, retries, threads, say, dry_run) -> SweepManifest:
    manifest, recs = _merge(out, tasks, engine)
    manifest.write()
    queue = deque(r for r in recs if r.status == "pending")
    n_todo, n_fin = len(queue), 0
    say(f"sweep: {len(recs)} tasks, {sum(r.status == 'done' for r in recs)} already done, {n_todo} to run "
        f"({engine}, {workers} worker{'s' * (workers != 1)})")
    if not queue or dry_run:
        return manifest
    tries: Counter = Counter()
    inflight: dict = {}
    eng = None
    t0 = time.monotonic()
    try:
        eng = make_engine(engine, workers, address)
        while queue or inflight:
            while queue and len(inflight) < workers:
                rec = queue.popleft()
                rec.status = "running"
                rec.attempts += 1
                tries[rec.key] += 1
                manifest.update(rec)
                inflight[eng.submit(rec.task.to_dict(), str(manifest.folder(rec)), threads)] = rec
            for h, res, err in eng.wait(list(inflight)):
                rec = inflight.pop(h)
                _finish(rec, res, err, tries[rec.key], retries)
                manifest.update(rec)
                if rec.status == "pending":
                    queue.append(rec)
                    say(f"sweep: {rec.key} raised ({err.splitlines()[0]}); retry {tries[rec.key]}/{retries}")
                    continue
                n_fin += 1
                eta = (time.monotonic() - t0) / n_fin * (n_todo - n_fin)
                what = (f"val {res['val_loss']:.4f} " if res and isinstance(res.get("val_loss"), float) else "")
                what += (f"{rec.seconds:.1f}s" if rec.status == "done"
                         else f"after {tries[rec.key]} tries: {rec.error.splitlines()[0]}")
                say(f"sweep: [{n_fin}/{n_todo}] {rec.status} {rec.key} ({what}); ETA {_fmt_s(eta)}")
    except BaseException as exc:
        with _signals_deferred():  # a repeated Ctrl-C / SIGTERM must not cut the clean-up short
            for rec in inflight.values():
                rec.status = "pending"
            if eng is not None:
                eng.close(kill=True, handles=list(inflight))
            manifest.write()
            if isinstance(exc, KeyboardInterrupt) and not isinstance(exc, Interrupted):
                raise _interrupted(exc, manifest, recs) from exc
            raise
    eng.close()
    manifest.write()
    return manifest
