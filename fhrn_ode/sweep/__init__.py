"""Sweeps over grids of gains, seeds, presets and ODE parameters, on a process pool or on Ray.

``run_sweep(tasks, out, engine="local"|"ray", workers=, address=, retries=)`` runs every task into
its own folder ``out/tasks/<key>/`` (result written atomically, last), keeps ``out/manifest.json``
current, and never recomputes a finished task. See docs/sweeps.md.
"""

from ._engines import ENGINES, LocalEngine, RayEngine, execute_task
from ._manifest import (LOG_NAME, MANIFEST_NAME, STATUSES, TASKS_DIR, SweepManifest, TaskRecord, finished_results,
                        load_manifest)
from ._runner import check_key, ode_grid, run_sweep, train_grid
from ._tasks import RESULT_NAME, FailTask, OdeTask, Task, TrainTask, read_result, task_from_dict

__all__ = ["ENGINES", "LocalEngine", "RayEngine", "execute_task", "MANIFEST_NAME", "STATUSES", "TASKS_DIR",
           "SweepManifest", "TaskRecord", "load_manifest", "finished_results", "LOG_NAME", "check_key", "ode_grid",
           "run_sweep", "train_grid", "RESULT_NAME",
           "FailTask", "OdeTask", "Task", "TrainTask", "read_result", "task_from_dict"]
from ._bundle import BUNDLED_MANIFEST, BUNDLED_SWEEPS, STABILITY_NAME, bundled_sweep_path, write_bundle  # noqa: E402

__all__ += ["BUNDLED_MANIFEST", "BUNDLED_SWEEPS", "STABILITY_NAME", "bundled_sweep_path", "write_bundle"]
