"""Execution engines of :func:`fhrn_ode.sweep.run_sweep`: one small interface, two back ends.

An engine runs ``execute_task(task_dict, folder, threads)`` somewhere and hands back outcomes:

- ``submit(task_dict, folder, threads) -> handle``;
- ``wait(handles) -> [(handle, result | None, error | None), ...]``: blocks until at least one of
  ``handles`` has finished; ``error`` is one string (exception type, message and the last lines
  of its traceback) when the task raised or its worker died;
- ``close(kill=False)``: release the workers (``kill=True``: stop running tasks now).

``LocalEngine``: up to ``workers`` worker processes (``spawn`` start method: fresh interpreters, no
forked torch state), each running one task at a time over its own pipe, so a worker killed mid-task
fails only that task (no shared pool to break: its siblings finish and keep their attempt count).
Workers ignore SIGINT (the runner stops them) and exit by themselves when the runner dies, so a
killed runner never leaves a task writing behind it.
``RayEngine``: one Ray task per sweep task (``num_cpus=1``, no Ray-level retries: the runner
retries). It connects to ``address`` or starts a local cluster with ``num_cpus=workers``.
"""

from __future__ import annotations

import os
import threading
import traceback
from typing import Any

from .._errors import FHRNInputError

__all__ = ["execute_task", "LocalEngine", "RayEngine", "make_engine", "ENGINES", "check_address", "RAY_HINT"]

#: The sweep engines: ``local`` (a process pool) and ``ray`` (a Ray cluster).
ENGINES = ("local", "ray")


def _format_error(exc: BaseException) -> str:
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(tb[-3:]).strip()
    return f"{type(exc).__name__}: {exc}\n{tail}"


def execute_task(task_dict: dict, folder: str, threads: int | None) -> dict:
    """Run one task (in a worker); returns ``{"ok": True, "result": ...}`` or ``{"ok": False, "error": ...}``."""
    from .._threads import mark_worker
    from ._tasks import task_from_dict

    mark_worker(threads)  # a worker never uses torch's default thread count (fhrn_ode/_threads.py)
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


def _worker_main(conn, ppid: int) -> None:
    """A local worker: run the tasks sent on ``conn`` one at a time until ``None`` or EOF."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner stops us (close(kill=True))
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the runner closed its end or died
            return
        if msg is None:
            return
        conn.send(execute_task(*msg))


class _Handle:
    """One submitted task of :class:`LocalEngine` and the worker running it."""

    __slots__ = ("worker", "outcome")

    def __init__(self, worker) -> None:
        self.worker = worker
        self.outcome = None  # (result, error) once known


class _Worker:
    """One spawned process and its pipe; runs one task at a time (a death fails that task only)."""

    def __init__(self) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch state
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        self.proc.start()
        child.close()

    def died(self) -> str:
        import signal

        self.proc.join(timeout=5)
        code = self.proc.exitcode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 and
               -code in signal.valid_signals() else f"exit code {code}")
        return (f"WorkerDied: the worker process (pid {self.proc.pid}) running this task died ({how}); "
                f"other tasks were not affected")

    def stop(self, kill: bool) -> None:
        if kill:
            self.proc.terminate()
        else:
            try:
                self.conn.send(None)
            except (OSError, ValueError):  # already gone
                pass
        self.proc.join(timeout=5 if kill else None)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


class LocalEngine:
    """Worker processes on this machine (at most ``workers``, spawn start method), one task each at a time.

    Each worker has its own pipe, so a worker that dies (killed, out of memory) fails only the task it
    was running; the other tasks in flight go on, and a fresh worker replaces it. Idle workers are reused
    (imports paid once per worker, not per task).
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._idle: list[_Worker] = []
        self._busy: dict[_Handle, _Worker] = {}

    def submit(self, task_dict: dict, folder: str, threads: int | None) -> _Handle:
        w = None
        while self._idle and w is None:
            w = self._idle.pop()
            if not w.proc.is_alive():  # died while idle (killed between tasks): not this task's fault
                w.stop(kill=True)
                w = None
        w = w or _Worker()
        try:
            w.conn.send((task_dict, folder, threads))
        except (OSError, ValueError):  # it died just now: one fresh worker (its death is then the task's)
            w.stop(kill=True)
            w = _Worker()
            w.conn.send((task_dict, folder, threads))
        h = _Handle(w)
        self._busy[h] = w
        return h

    def wait(self, handles: list) -> list[tuple[Any, dict | None, str | None]]:
        from multiprocessing.connection import wait

        by_obj = {}
        for h in handles:
            by_obj[h.worker.conn] = h
            by_obj[h.worker.proc.sentinel] = h
        out = []
        for h in dict.fromkeys(by_obj[o] for o in wait(list(by_obj))):  # an answer, or the process ended
            self._collect(h)
            res, err = h.outcome
            out.append((h, res, err))
        return out

    def _collect(self, h: _Handle) -> None:
        w = self._busy.pop(h)
        try:
            r = w.conn.recv() if w.conn.poll() else None
        except Exception:  # noqa: BLE001 - EOF, or a message torn by the worker's death
            r = None
        if r is None:  # its process ended without an answer
            h.outcome = (None, w.died())
            w.stop(kill=True)
            return
        h.outcome = (r["result"], None) if r["ok"] else (None, r["error"])
        self._idle.append(w)

    def close(self, kill: bool = False, handles: list | None = None) -> None:
        for w in list(self._busy.values()) + self._idle:
            w.stop(kill)
        self._busy.clear()
        self._idle.clear()


#: Seconds to wait for a TCP connection to ``--address`` before giving up (a port where nothing listens).
CONNECT_TIMEOUT_S = 10.0

#: What a user must set to reach a cluster started elsewhere (docs/sweeps.md, "Ray").
RAY_HINT = ("a cluster started with `ray start --head --node-ip-address 127.0.0.1 --port 6379` is reached with "
            "--address 127.0.0.1:6379 (give --node-ip-address an address this machine reaches: Ray advertises it); "
            "Ray >= 2.59 authenticates with a token: set RAY_AUTH_MODE=token here (as on the cluster) and give the "
            "head's token as RAY_AUTH_TOKEN or in ~/.ray/auth_token (`ray get-auth-token` prints it)")


def _host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` / ``ray://host:port``; None for ``auto`` or a form we do not parse."""
    a = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = a.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when nothing accepts TCP connections at ``address`` (``ray.init`` would retry for minutes).

    Raises:
        FHRNInputError: naming the address, the reason and what to set (:data:`RAY_HINT`).
    """
    import socket

    hp = _host_port(address)
    if hp is None:
        return
    if not 0 < hp[1] < 65536:
        raise FHRNInputError(f"`address` {address!r} has port {hp[1]}; a port is 1-65535")
    try:
        with socket.create_connection(hp, timeout=timeout):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise FHRNInputError(f"`address` {address!r}: cannot connect to a Ray cluster there ({why}); "
                             f"{RAY_HINT}") from None


def _signal_mask(block: bool) -> None:
    import signal

    try:
        signal.pthread_sigmask(signal.SIG_BLOCK if block else signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass


def _our_processes(ray) -> list:
    """The processes of the local cluster this process started (and their children: agents, workers)."""
    try:
        import psutil

        node = ray._private.worker._global_node
        procs = [psutil.Process(p.process.pid) for infos in node.all_processes.values() for p in infos]
        return procs + [c for p in procs for c in p.children(recursive=True)]
    except Exception:  # noqa: BLE001 - best effort: psutil missing, node gone, a process already exited
        return []


class RayEngine:
    """Ray tasks on a cluster at ``address``, or on a local cluster of ``workers`` CPUs started here.

    Start-up runs with SIGINT/SIGTERM blocked (Ray installs C++ signal handlers that dump a stack and
    exit on SIGTERM) and our handlers restored afterwards, so an interrupt during or after start-up
    takes the CLI's path (130/143, one line). :meth:`close` shuts Ray down and, for a cluster started
    here, kills what of it is still alive after 5 s (dashboard and runtime-env agents linger).
    """

    name = "ray"

    def __init__(self, workers: int, address: str | None = None) -> None:
        import signal

        try:
            import ray
        except ImportError:
            raise FHRNInputError("`engine` 'ray' needs Ray: pip install 'fhrn-ode[ray]'") from None
        self._ray = ray
        self._started = False  # we started a local cluster
        self._connected = False  # we called ray.init (and so shut it down again)
        if not ray.is_initialized():
            kw: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            handlers = {}
            try:
                handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            except ValueError:  # pragma: no cover - not the main thread
                pass
            _signal_mask(True)
            try:
                try:
                    if address:
                        ray.init(address=address, **kw)
                    else:
                        ray.init(num_cpus=workers, **kw)
                        self._started = True
                    self._connected = True
                except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, AuthenticationError, ...
                    raise FHRNInputError(f"`address` {address!r}: Ray could not connect ({str(exc).splitlines()[0]}); "
                                         f"{RAY_HINT}" if address else f"Ray could not start a local cluster "
                                         f"({str(exc).splitlines()[0]})") from None
            finally:
                for sig, h in handlers.items():
                    if h is not None:
                        signal.signal(sig, h)
                _signal_mask(False)  # a signal that came during start-up is delivered now, to our handler
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
        import time

        for h in handles or []:
            try:
                self._ray.cancel(h, force=True)
            except Exception:  # already finished
                pass
        procs = _our_processes(self._ray) if self._started else []
        if self._connected:
            self._ray.shutdown()
        if procs:  # what of the cluster we started outlives shutdown (agents): stop it
            deadline = time.monotonic() + 5
            alive = [p for p in procs if p.is_running()]
            while alive and time.monotonic() < deadline:
                time.sleep(0.2)
                alive = [p for p in alive if p.is_running() and p.status() != "zombie"]
            for p in alive:
                try:
                    p.kill()
                except Exception:  # noqa: BLE001 - exited meanwhile
                    pass


def make_engine(engine: str, workers: int, address: str | None):
    """The engine named ``engine`` (one of :data:`ENGINES`)."""
    if engine == "local":
        if address:
            raise FHRNInputError(f"`address` {address!r} needs engine 'ray' (the local engine has no cluster)")
        return LocalEngine(workers)
    return RayEngine(workers, address)
