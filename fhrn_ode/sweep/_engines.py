"""Execution engines of :func:`fhrn_ode.sweep.run_sweep`: one small interface, two back ends.

An engine runs ``execute_task(task_dict, folder, threads)`` somewhere and hands back outcomes:

- ``submit(task_dict, folder, threads) -> handle``;
- ``wait(handles) -> [(handle, result | None, error | None), ...]``: blocks until at least one of
  ``handles`` has finished; ``error`` is one string (exception type, message and the last lines
  of its traceback) when the task raised or its worker died;
- ``close(kill=False)``: release the workers (``kill=True``: stop running tasks now).

``LocalEngine``: :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method
(fresh interpreters: no forked torch state). Workers ignore SIGINT (the runner stops them) and exit
by themselves when the runner dies, so a killed runner never leaves a task writing behind it.
``RayEngine``: one Ray task per sweep task (``num_cpus=1``, no Ray-level retries: the runner
retries). It connects to ``address`` or starts a local cluster with ``num_cpus=workers``.
"""

from __future__ import annotations

import os
import threading
import traceback
from typing import Any

from .._errors import FHRNInputError

__all__ = ["execute_task", "LocalEngine", "RayEngine", "make_engine", "ENGINES"]

#: The sweep engines: ``local`` (a process pool) and ``ray`` (a Ray cluster).
ENGINES = ("local", "ray")


def _format_error(exc: BaseException) -> str:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(tb[-3:]).strip()
    return f"{type(exc).__name__}: {exc}\n{tail}"


def execute_task(task_dict: dict, folder: str, threads: int | None) -> dict:
    """Run one task (in a worker); returns ``{"ok": True, "result": ...}`` or ``{"ok": False, "error": ...}``."""
    from ._tasks import task_from_dict

    try:
        return {"ok": True, "result": task_from_dict(task_dict).execute(folder, threads=threads)}
    except Exception as exc:  # reported in the manifest, never swallowed
        return {"ok": False, "error": _format_error(exc)}


def _watch_parent(ppid: int) -> None:
    import time

    while True:
        if os.getppid() != ppid:
            os._exit(1)
        time.sleep(0.5)


def _worker_init(ppid: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()


class LocalEngine:
    """Process pool on this machine (``workers`` processes, spawn start method)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                   initializer=_worker_init, initargs=(os.getpid(),))

    def submit(self, task_dict: dict, folder: str, threads: int | None) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(execute_task, task_dict, folder, threads)
        except BrokenProcessPool:  # a worker died earlier: start a fresh pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(execute_task, task_dict, folder, threads)

    def wait(self, handles: list) -> list[tuple[Any, dict | None, str | None]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        out = []
        for h in done:
            try:
                r = h.result()
            except Exception as exc:  # the worker process died (BrokenProcessPool) or could not run it
                out.append((h, None, _format_error(exc)))
                continue
            out.append((h, r["result"], None) if r["ok"] else (h, None, r["error"]))
        return out

    def close(self, kill: bool = False, handles: list | None = None) -> None:
        if kill:
            procs = getattr(self._pool, "_processes", None) or {}
            for p in list(procs.values()):
                p.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in list(procs.values()):
                p.join(timeout=5)
        else:
            self._pool.shutdown(wait=True)


class RayEngine:
    """Ray tasks on a cluster at ``address``, or on a local cluster of ``workers`` CPUs started here."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise FHRNInputError("`engine` 'ray' needs Ray: pip install 'fhrn-ode[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kw: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=workers, **kw)
            self._started = True
        self._remote = ray.remote(num_cpus=1, max_retries=0)(execute_task)

    def submit(self, task_dict: dict, folder: str, threads: int | None) -> Any:
        return self._remote.remote(task_dict, folder, threads)

    def wait(self, handles: list) -> list[tuple[Any, dict | None, str | None]]:
        ready, _ = self._ray.wait(list(handles), num_returns=1)
        out = []
        for h in ready:
            try:
                r = self._ray.get(h)
            except Exception as exc:  # worker crash, cancelled, or unreachable node
                out.append((h, None, _format_error(exc)))
                continue
            out.append((h, r["result"], None) if r["ok"] else (h, None, r["error"]))
        return out

    def close(self, kill: bool = False, handles: list | None = None) -> None:
        for h in handles or []:
            try:
                self._ray.cancel(h, force=True)
            except Exception:  # already finished
                pass
        if self._started:
            self._ray.shutdown()


def make_engine(engine: str, workers: int, address: str | None):
    """The engine named ``engine`` (one of :data:`ENGINES`)."""
    if engine == "local":
        if address:
            raise FHRNInputError(f"`address` {address!r} needs engine 'ray' (the local engine has no cluster)")
        return LocalEngine(workers)
    return RayEngine(workers, address)
