"""The sweep runner (fhrn_ode.sweep): local engine, resume after a kill, retries, manifest, ODE tasks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from fhrn_ode import FHRNInputError, ring_radius
from fhrn_ode.sweep import (FailTask, TrainTask, load_manifest, ode_grid, read_result, run_sweep,
                            task_from_dict, train_grid)

#: ~1 s tasks: tiny preset, 4 steps, small batches.
TINY = dict(presets=("tiny",), steps=4, batch_size=4, eval_batches=1, n_bytes=20_000, metrics_seq=4)


def tiny_grid():
    return train_grid([0.0, 0.2], [0, 1], **TINY)


def test_train_grid_is_seed_major_and_keys_unique():
    g = tiny_grid()
    assert [(t.seed, t.gain) for t in g] == [(0, 0.0), (0, 0.2), (1, 0.0), (1, 0.2)]
    assert len({t.key for t in g}) == 4
    assert task_from_dict(g[1].to_dict()) == g[1]


def test_local_sweep_writes_results_and_manifest(tmp_path):
    lines = []
    m = run_sweep(tiny_grid(), tmp_path / "s", workers=2, progress=lines.append)
    assert m.counts() == {"pending": 0, "running": 0, "done": 4, "failed": 0}
    d = load_manifest(tmp_path / "s").to_dict()
    assert [(t["gamma"], t["seed"], t["status"], t["attempts"]) for t in d["tasks"]] == [
        (0.0, 0, "done", 1), (0.2, 0, "done", 1), (0.0, 1, "done", 1), (0.2, 1, "done", 1)]
    for t in d["tasks"]:
        res = read_result(tmp_path / "s" / t["folder"])
        assert res["gamma"] == t["gamma"] and res["step"] == 4
        assert (tmp_path / "s" / t["folder"] / "model.safetensors").is_file()
        # IRR is exactly 0 without reentry and positive with it (docs/model.md §4)
        assert (res["metrics"]["irr"] == 0.0) == (t["gamma"] == 0.0)
    finished = [ln for ln in lines if "] done " in ln]
    assert len(finished) == 4 and all("ETA" in ln for ln in finished)
    # a second call recomputes nothing
    lines.clear()
    run_sweep(tiny_grid(), tmp_path / "s", workers=2, progress=lines.append)
    assert lines == ["sweep: 4 tasks, 4 already done, 0 to run (local, 2 workers)"]


def test_local_matches_in_process_training_bit_for_bit(tmp_path):
    """A task run by a pool worker gives the same weights as the same training run in this process."""
    import torch

    from fhrn_ode.discrete.training import preset, train

    t = TrainTask(gain=0.2, seed=1, preset="tiny", steps=4, batch_size=4, eval_batches=1, n_bytes=20_000,
                  metrics_seq=4)
    run_sweep([t], tmp_path / "s", progress=False)
    cfg, opt = preset("tiny", gamma=0.2, steps=4, seed=1, batch_size=4, eval_batches=1, n_bytes=20_000)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        r = train(cfg, opt, tmp_path / "direct", progress=False)
    finally:
        torch.set_num_threads(n)
    res = read_result(tmp_path / "s" / "tasks" / t.key)
    assert res["val_loss"] == r.val_loss
    assert ((tmp_path / "s" / "tasks" / t.key / "model.safetensors").read_bytes()
            == (tmp_path / "direct" / "model.safetensors").read_bytes())


def test_failing_task_is_retried_then_reported(tmp_path):
    tasks = [FailTask(name="always"), FailTask(name="once", fail_times=1)]
    lines = []
    m = run_sweep(tasks, tmp_path / "s", retries=2, progress=lines.append)
    rec = {r.key: r for r in m.records}
    assert rec["fail_always"].status == "failed" and rec["fail_always"].attempts == 3
    assert "RuntimeError: task 'always' failed on purpose (execution 3)" in rec["fail_always"].error
    assert rec["fail_once"].status == "done" and rec["fail_once"].attempts == 2
    d = load_manifest(tmp_path / "s").to_dict()
    failed = [t for t in d["tasks"] if t["status"] == "failed"]
    assert [t["key"] for t in failed] == ["fail_always"] and "on purpose" in failed[0]["error"]
    assert d["counts"] == {"pending": 0, "running": 0, "done": 1, "failed": 1}
    assert sum("retry" in ln for ln in lines) == 3  # always: 2 retries, once: 1
    # a restart runs the failed task again (fresh retry budget), never the finished one
    m = run_sweep(tasks, tmp_path / "s", retries=0, progress=False)
    assert {r.key: r.attempts for r in m.records} == {"fail_always": 4, "fail_once": 2}


_RUNNER = textwrap.dedent("""
    import sys
    from fhrn_ode.sweep import train_grid, run_sweep
    tasks = train_grid([0.0, 0.1, 0.2], [0, 1], presets=("tiny",), steps=8, batch_size=4, eval_batches=1,
                       n_bytes=20_000, metrics_seq=4)
    if __name__ == "__main__":  # the spawn start method re-imports the main script
        run_sweep(tasks, sys.argv[1], workers=1, progress=True)
""")


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])  # SIGTERM: test_sweep_cli.py
def test_killed_sweep_restarts_without_recomputing(tmp_path, how):
    out, counter = tmp_path / "s", tmp_path / "executions.txt"
    env = dict(os.environ, FHRN_SWEEP_COUNTER=str(counter))
    script = tmp_path / "runner.py"
    script.write_text(_RUNNER)
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    done_before: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "manifest.json").is_file():
            try:
                d = load_manifest(out).to_dict()
            except FHRNInputError:
                continue
            done_before = {t["key"] for t in d["tasks"] if t["status"] == "done"}
            if done_before:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be interrupted"
    proc.send_signal(getattr(signal, how))
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    time.sleep(1.0)  # a worker orphaned by SIGKILL notices within 0.5 s and exits
    before = counter.read_text().split()
    finished = {p.parent.name for p in (out / "tasks").glob("*/result.json")}
    assert done_before <= finished and len(finished) < 6
    os.environ["FHRN_SWEEP_COUNTER"] = str(counter)
    try:
        m = run_sweep(task_from_manifest(out), out, workers=1, progress=False)
    finally:
        del os.environ["FHRN_SWEEP_COUNTER"]
    assert m.counts()["done"] == 6
    after = counter.read_text().split()[len(before):]
    assert sorted(after) == sorted({r.key for r in m.records} - finished)  # only the unfinished, once each
    assert all(before.count(k) == 1 for k in finished)


def task_from_manifest(out: Path):
    return [r.task for r in load_manifest(out).records]


def test_ode_tasks_reach_the_ring_radius(tmp_path):
    """Antisymmetric W*: every trajectory ends on the ring r* = sqrt(theta^2 - leak/kappa) (docs/model.md §1)."""
    tasks = ode_grid([0.5, 1.0], seeds=[0], kappa=[4.0, 10.0])
    m = run_sweep(tasks, tmp_path / "ode", workers=2, progress=False)
    assert m.counts()["done"] == 4
    for rec in m.records:
        t, res = rec.task, read_result(tmp_path / "ode" / rec.folder)
        assert res["status"] == "success"
        r_star = ring_radius(t.kappa)
        np.testing.assert_allclose(res["final_radius"], r_star, rtol=1e-5)
        # J(0) = (kappa theta^2 - leak) I + gamma W_a: eigenvalues kappa - 1 +- i gamma |W|
        assert res["spectral_abscissa_origin"] == pytest.approx(t.kappa - 1.0)
        # on the ring J = gamma W_a - 2 kappa y y^T: trace -2 kappa r*^2, det gamma^2 (|W_a|_2 = 1), so
        # rho = -kappa r*^2 + sqrt(kappa^2 r*^4 - gamma^2) < 0 (the ring attracts)
        kr2 = t.kappa * r_star ** 2
        assert res["spectral_abscissa_final_max"] == pytest.approx(-kr2 + np.sqrt(kr2 ** 2 - t.gain ** 2), rel=1e-4)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(FHRNInputError, match="`tasks` must hold at least one task"):
        run_sweep([], tmp_path)
    with pytest.raises(FHRNInputError, match="duplicate keys"):
        run_sweep([FailTask(name="a"), FailTask(name="a")], tmp_path)
    with pytest.raises(FHRNInputError, match="`engine` must be one of"):
        run_sweep([FailTask()], tmp_path, engine="slurm")
    with pytest.raises(FHRNInputError, match="`workers`"):
        run_sweep([FailTask()], tmp_path, workers=0)
    with pytest.raises(FHRNInputError, match="`address` 'auto' needs engine 'ray'"):
        run_sweep([FailTask()], tmp_path, address="auto")
    with pytest.raises(FHRNInputError, match="`gamma`"):
        TrainTask(gain=-0.1)
    with pytest.raises(FHRNInputError, match="`preset`"):
        TrainTask(preset="huge")
    with pytest.raises(FHRNInputError, match="`task` kind"):
        task_from_dict({"kind": "nope"})
    (tmp_path / "file").write_text("x")
    with pytest.raises(FHRNInputError, match="is not a directory"):
        run_sweep([FailTask()], tmp_path / "file")


def test_folder_holding_another_task_is_refused(tmp_path):
    t = FailTask(name="x", fail_times=0)
    run_sweep([t], tmp_path, progress=False)
    with pytest.raises(FHRNInputError, match="holds a different task"):
        run_sweep([FailTask(name="x", fail_times=5)], tmp_path, progress=False)


def test_a_killed_worker_fails_only_its_own_task(tmp_path):
    """SIGKILL one worker mid-task: that task is failed (killed by SIGKILL, one attempt); the two tasks
    in flight beside it finish ``done`` with one attempt each (no shared pool to break)."""
    import threading

    out = tmp_path / "s"
    tasks = [FailTask(name=n, fail_times=0, hold_s=120.0) for n in ("victim", "a", "b")]
    pids = {t.key: out / "tasks" / t.key / "pid.txt" for t in tasks}
    killed = []

    def killer():
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(p.is_file() for p in pids.values()):
            time.sleep(0.05)
        pid = int(pids["fail_victim"].read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        time.sleep(0.5)  # the siblings are still held: they finish only once released
        for k in ("fail_a", "fail_b"):
            (pids[k].parent / "release").write_text("")

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    m = run_sweep(tasks, out, workers=3, retries=0, progress=False)
    th.join(5)
    assert killed
    rec = {r.key: r for r in m.records}
    assert (rec["fail_a"].status, rec["fail_a"].attempts) == ("done", 1)
    assert (rec["fail_b"].status, rec["fail_b"].attempts) == ("done", 1)
    assert (rec["fail_victim"].status, rec["fail_victim"].attempts) == ("failed", 1)
    assert f"(pid {killed[0]}) running this task died (killed by SIGKILL)" in rec["fail_victim"].error
    assert read_result(out / "tasks" / "fail_a")["executions"] == 1
    # a restart (more retries) runs only the killed task again
    (out / "tasks" / "fail_victim" / "release").write_text("")
    m = run_sweep(tasks, out, workers=3, retries=0, progress=False)
    assert {r.key: (r.status, r.attempts) for r in m.records} == {
        "fail_victim": ("done", 2), "fail_a": ("done", 1), "fail_b": ("done", 1)}


def test_a_worker_killed_while_idle_costs_the_next_task_nothing(tmp_path):
    """The local engine reuses an idle worker; one that died between tasks is replaced, not blamed."""
    from fhrn_ode.sweep._engines import LocalEngine

    eng = LocalEngine(1)
    try:
        t1, t2 = FailTask(name="one", fail_times=0), FailTask(name="two", fail_times=0)
        h = eng.submit(t1.to_dict(), str(tmp_path / "one"), 1)
        [(h1, res, err)] = eng.wait([h])
        assert h1 is h and err is None and res["executions"] == 1
        idle = h.worker.proc
        os.kill(idle.pid, signal.SIGKILL)
        idle.join(10)
        h = eng.submit(t2.to_dict(), str(tmp_path / "two"), 1)
        [(_, res, err)] = eng.wait([h])
        assert err is None and res["executions"] == 1 and h.worker.proc.pid != idle.pid
    finally:
        eng.close()
