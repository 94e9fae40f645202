"""``DIR/manifest.json``: every task of a sweep with its status, attempts, folder and error.

Written atomically (``fhrn_ode._io.atomic_write_json``) after every change, so a reader (or a
restarted runner) always sees a complete file. Keys of the file (docs/sweeps.md):

- ``version`` (1), ``out`` (the sweep folder), ``engine``, ``updated`` (UTC ISO time),
- ``counts``: number of tasks per status,
- ``tasks``: one record per task, in grid order: ``key``, ``kind``, ``gamma``, ``seed``, ``preset``
  (train tasks, else null), ``status`` (``pending`` / ``running`` / ``done`` / ``failed``),
  ``attempts`` (executions started, over all runs), ``folder`` (relative to ``out``), ``error``
  (the last error of a failed task, else null), ``seconds`` (of the successful execution) and
  ``task`` (the full task, :meth:`Task.to_dict`).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import FHRNInputError
from .._io import atomic_write_json, read_json
from ._tasks import Task, task_from_dict

__all__ = ["TaskRecord", "SweepManifest", "load_manifest", "MANIFEST_NAME", "TASKS_DIR", "STATUSES"]

#: The sweep folder's manifest file (the grid, each task's status; what a resumed sweep reads).
MANIFEST_NAME = "manifest.json"
#: The sub-folder holding one folder per task, ``DIR/tasks/<key>/``.
TASKS_DIR = "tasks"
#: The states of a task in the manifest.
STATUSES = ("pending", "running", "done", "failed")


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


@dataclass
class SweepManifest:
    """The state of a sweep folder (see the module docstring for the JSON keys)."""

    out: Path
    records: list[TaskRecord] = field(default_factory=list)
    engine: str = "local"

    @property
    def path(self) -> Path:
        return self.out / MANIFEST_NAME

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.records) for s in STATUSES}

    def by_status(self, status: str) -> list[TaskRecord]:
        return [r for r in self.records if r.status == status]

    def folder(self, rec: TaskRecord) -> Path:
        return self.out / rec.folder

    def to_dict(self) -> dict:
        return {"version": 1, "out": str(self.out), "engine": self.engine,
                "updated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "counts": self.counts(), "tasks": [r.to_dict() for r in self.records]}

    def write(self) -> Path:
        return atomic_write_json(self.path, self.to_dict())


def load_manifest(out: str | os.PathLike) -> SweepManifest:
    """Read ``out/manifest.json``.

    Raises:
        FHRNInputError: no manifest, or one that is not a sweep manifest.
    """
    out = Path(out)
    p = out / MANIFEST_NAME
    if not p.is_file():
        raise FHRNInputError(f"sweep folder {str(out)!r} has no {MANIFEST_NAME}")
    try:
        d = read_json(p, "sweep manifest")
        recs = []
        for t in d["tasks"]:
            st = t["status"]
            if st not in STATUSES:
                raise ValueError(f"unknown status {st!r}")
            recs.append(TaskRecord(task=task_from_dict(t["task"]), status=st, attempts=int(t["attempts"]),
                                   error=t.get("error"), seconds=t.get("seconds")))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FHRNInputError):
            raise
        raise FHRNInputError(f"{str(p)!r} is not a sweep manifest ({exc})") from None
    return SweepManifest(out=out, records=recs, engine=str(d.get("engine", "local")))
