"""The state of a sweep folder: ``DIR/manifest.json`` (a small summary) and ``DIR/tasks.jsonl`` (per task).

Per-task state is an append-only JSON-lines log, so the cost of a status change is one appended line
whatever the size of the sweep (a 100 000-task sweep resumes; docs/sweeps.md):

- ``tasks.jsonl``: one task record per line (the keys below); a later line for the same ``key``
  replaces the earlier one. The runner rewrites it compacted (one line per task, grid order)
  atomically when it starts; a line cut short by a kill is ignored on reading.
- ``manifest.json`` (written atomically; at the start, at most once a second while running, at the
  end and on interrupt): ``version`` (2), ``out``, ``engine``, ``updated`` (UTC ISO time),
  ``counts`` (tasks per status at ``updated``), ``n_tasks`` and ``log`` (``"tasks.jsonl"``).

A task record: ``key``, ``kind``, ``gamma``, ``seed``, ``preset`` (train tasks, else null),
``status`` (``pending`` / ``running`` / ``done`` / ``failed``), ``attempts`` (executions started,
over all runs), ``folder`` (relative to ``out``), ``error`` (the last error of a failed task, else
null), ``seconds`` (of the successful execution) and ``task`` (the full task, :meth:`Task.to_dict`).
:meth:`SweepManifest.to_dict` (``fhrn-ode sweep --json``) is the summary with ``tasks``, the list of
records. Version-1 folders (every record inline in ``manifest.json``) are read as before.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import FHRNInputError
from .._io import atomic_write_json, atomic_write_text, check_fields, read_json, read_jsonl, to_jsonable
from ._tasks import Task, task_from_dict

__all__ = ["TaskRecord", "SweepManifest", "load_manifest", "parse_records", "finished_results", "MANIFEST_NAME", "LOG_NAME",
           "TASKS_DIR", "STATUSES"]

#: The sweep folder's manifest file (the grid, each task's status; what a resumed sweep reads).
MANIFEST_NAME = "manifest.json"
#: The append-only per-task state log, ``DIR/tasks.jsonl`` (one JSON record per status change).
LOG_NAME = "tasks.jsonl"
#: The sub-folder holding one folder per task, ``DIR/tasks/<key>/``.
TASKS_DIR = "tasks"
#: The states of a task in the manifest.
STATUSES = ("pending", "running", "done", "failed")

#: Shape of one task record as read back (fhrn_ode._io.check_fields).
RECORD_SPEC = {"status": str, "attempts": int, "task": dict, "error?": (str, type(None)),
               "seconds?": (float, type(None))}


@dataclass
class TaskRecord:
    """The manifest entry of one task."""

    task: Task
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    seconds: float | None = None

    @property
    def key(self) -> str:
        return self.task.key

    @property
    def folder(self) -> str:
        return f"{TASKS_DIR}/{self.task.key}"

    def to_dict(self) -> dict:
        t = self.task.to_dict()
        return {"key": self.key, "kind": t["kind"], "gamma": self.task.gamma, "seed": t.get("seed"),
                "preset": t.get("preset"), "status": self.status, "attempts": self.attempts,
                "folder": self.folder, "error": self.error, "seconds": self.seconds, "task": t}


def _line(rec: TaskRecord) -> str:
    return json.dumps(to_jsonable(rec.to_dict()), allow_nan=False, separators=(",", ":")) + "\n"


@dataclass
class SweepManifest:
    """The state of a sweep folder (see the module docstring for the files and keys)."""

    out: Path
    records: list[TaskRecord] = field(default_factory=list)
    engine: str = "local"
    _log_fd: int | None = field(default=None, repr=False, compare=False)
    _last_summary: float = field(default=0.0, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.out / MANIFEST_NAME

    @property
    def log_path(self) -> Path:
        return self.out / LOG_NAME

    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(STATUSES, 0)
        for r in self.records:
            c[r.status] += 1
        return c

    def by_status(self, status: str) -> list[TaskRecord]:
        return [r for r in self.records if r.status == status]

    def folder(self, rec: TaskRecord) -> Path:
        return self.out / rec.folder

    def summary(self) -> dict:
        return {"version": 2, "out": str(self.out), "engine": self.engine,
                "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "counts": self.counts(), "n_tasks": len(self.records), "log": LOG_NAME}

    def to_dict(self) -> dict:
        return {**self.summary(), "tasks": [r.to_dict() for r in self.records]}

    def write(self) -> Path:
        """Rewrite the whole state: ``tasks.jsonl`` compacted, then ``manifest.json`` (both atomically)."""
        self.close_log()
        atomic_write_text(self.log_path, "".join(_line(r) for r in self.records))
        return self.write_summary()

    def write_summary(self) -> Path:
        self._last_summary = time.monotonic()
        return atomic_write_json(self.path, self.summary())

    def update(self, rec: TaskRecord) -> None:
        """Record a change of ``rec``: one appended line (and the summary at most once a second)."""
        data = _line(rec).encode("utf-8")
        try:
            if self._log_fd is None:
                self._log_fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            n = os.write(self._log_fd, data)
        except OSError as exc:  # disk full, quota, folder removed: the message names the file
            raise OSError(exc.errno, exc.strerror, str(self.log_path)) from None
        if n != len(data):  # pragma: no cover - a regular file takes the whole line or raises (ENOSPC)
            raise OSError(f"short write to {self.log_path}")
        if time.monotonic() - self._last_summary > 1.0:
            self.write_summary()

    def close_log(self) -> None:
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None


def parse_records(items: list, where: str) -> list[TaskRecord]:
    """Task records from their JSON form (a version-1 ``tasks`` list or the lines of ``tasks.jsonl``).

    A later record with the same key replaces an earlier one (kept at the earlier one's place).

    Raises:
        FHRNInputError: a record of the wrong shape or an unknown status, naming ``where``.
    """
    by: dict[str, TaskRecord] = {}
    for i, t in enumerate(items):
        check_fields(t, RECORD_SPEC, f"{where} (record {i + 1})", what="sweep manifest")
        if t["status"] not in STATUSES:
            raise FHRNInputError(f"sweep manifest file {where} (record {i + 1}) has status {t['status']!r}; "
                                 f"expected one of {', '.join(STATUSES)}")
        try:
            task = task_from_dict(t["task"])
        except (TypeError, FHRNInputError) as exc:
            raise FHRNInputError(f"sweep manifest file {where} (record {i + 1}) holds no valid task ({exc})") from None
        by[task.key] = TaskRecord(task=task, status=t["status"], attempts=t["attempts"], error=t.get("error"),
                                  seconds=t.get("seconds"))
    return list(by.values())


def load_manifest(out: str | os.PathLike) -> SweepManifest:
    """Read the state of the sweep folder ``out`` (version 2: ``tasks.jsonl``; version 1: inline records).

    Raises:
        FHRNInputError: no manifest, or one (or a record) that is not a sweep manifest's.
    """
    out = Path(out)
    p = out / MANIFEST_NAME
    if not p.is_file():
        raise FHRNInputError(f"sweep folder {str(out)!r} has no {MANIFEST_NAME}")
    d = check_fields(read_json(p, "sweep manifest"), {"engine?": str, "version?": int, "n_tasks?": int}, repr(str(p)),
                     what="sweep manifest")
    if "tasks" in d:
        items, where = check_fields(d, {"tasks": [dict]}, repr(str(p)), what="sweep manifest")["tasks"], repr(str(p))
    else:
        log = out / LOG_NAME
        if not log.exists() and d.get("n_tasks", 0):
            raise FHRNInputError(f"sweep folder {str(out)!r} has a {MANIFEST_NAME} of {d['n_tasks']} tasks but no "
                                 f"{LOG_NAME} (the per-task state); run the sweep again to rebuild it")
        items, where = (read_jsonl(log, "sweep task log") if log.exists() else []), repr(str(log))
    return SweepManifest(out=out, records=parse_records(items, where), engine=d.get("engine", "local"))


def finished_results(out: str | os.PathLike, kind: str | None = "train") -> list[tuple[TaskRecord, dict]]:
    """The finished tasks of a sweep folder with their results: the one model set of ``check SWEEP``
    and ``sweep-report SWEEP``.

    A task is finished when its folder holds a valid ``result.json`` (written last and atomically),
    whatever its record says (a runner killed between the task and the record update); a result that
    records a failure (:meth:`Task.failure`) is not finished.

    Args:
        out: the sweep folder.
        kind: keep only tasks of this kind (None: all).

    Raises:
        FHRNInputError: no manifest, or a ``result.json`` that is not a task result (named).
    """
    from ._tasks import read_result

    m = load_manifest(out)
    got = []
    for r in m.records:
        if kind is not None and r.task.kind != kind:
            continue
        res = read_result(m.folder(r), strict=True)
        if res is not None and r.task.failure(res) is None:
            got.append((r, res))
    return got
