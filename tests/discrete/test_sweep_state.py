"""Sweep state and failure paths (issue 24): per-task log, lock, key escape, failed results, typed reads."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fhrn_ode import FHRNInputError
from fhrn_ode._lock import LOCK_NAME, lock_folder, unlock_folder
from fhrn_ode.cli import main
from fhrn_ode.sweep import (LOG_NAME, FailTask, OdeTask, TrainTask, bundled_sweep_path, check_key, load_manifest,
                            read_result, run_sweep)


def _lock_worker(folder: str, barrier, q, trials: int) -> None:
    for i in range(trials):
        barrier.wait()
        try:
            lock_folder(folder, flag="out")
            got = True
        except FHRNInputError:
            got = False
        q.put((i, got))
        barrier.wait()  # both have tried: release
        if got:
            unlock_folder(folder)
        barrier.wait()


@pytest.mark.parametrize("stale", [False, True])
def test_lock_race_never_two_holders(tmp_path, stale):
    """Two processes released together by a barrier, 200 trials: exactly one holds the lock each time."""
    if stale:  # a lock file left by a killed holder (the kernel released its flock)
        (tmp_path / LOCK_NAME).write_text("pid 999999: fhrn-ode sweep")
    ctx = mp.get_context("fork")
    barrier, q, trials = ctx.Barrier(2), ctx.Queue(), 200
    procs = [ctx.Process(target=_lock_worker, args=(str(tmp_path), barrier, q, trials)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [q.get(timeout=60) for _ in range(2 * trials)]
    for p in procs:
        p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs)
    holders = [0] * trials
    for i, g in got:
        holders[i] += g
    assert holders == [1] * trials  # never two holders, and never none (the lock is free at each start)


def test_sweep_honours_the_shared_folder_lock(tmp_path):
    from fhrn_ode.cli._common import prepare_out_dir, release_out_dirs

    ctx = mp.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()

    def hold():
        lock_folder(tmp_path, what="fhrn-ode integrate")
        ready.set()
        stop.wait(30)

    p = ctx.Process(target=hold)
    p.start()
    try:
        assert ready.wait(30)
        with pytest.raises(FHRNInputError, match=r"in use by another fhrn-ode process \(pid \d+: fhrn-ode integrate\)"):
            run_sweep([FailTask(name="a", fail_times=0)], tmp_path, progress=False)
    finally:
        stop.set()
        p.join(10)
    run_sweep([FailTask(name="a", fail_times=0)], tmp_path, progress=False)  # free again
    assert not (tmp_path / LOCK_NAME).exists()
    prepare_out_dir(tmp_path)  # a command in the same process after the sweep: its own lock
    release_out_dirs(failed=False)


@pytest.mark.parametrize("name", ["/../../../X", "../x", "a/b", "a\x00b"])
def test_task_key_cannot_escape_the_sweep_folder(tmp_path, name):
    with pytest.raises(FHRNInputError, match="is not a plain folder name"):
        run_sweep([FailTask(name=name, fail_times=0)], tmp_path / "s", progress=False)
    assert not (tmp_path / "X").exists() and not (tmp_path / "s" / "tasks").exists()
    assert check_key("ode_antisym2_gamma1e+05_kappa-3_seed0") == "ode_antisym2_gamma1e+05_kappa-3_seed0"
    for key in (".", ".."):
        with pytest.raises(FHRNInputError, match="is not a plain folder name"):
            check_key(key)


def test_failed_ode_result_is_failed_not_done(tmp_path):
    """kappa 1e5: the integration fails (step size); the task is `failed` with the result's message, not done."""
    ok, bad = OdeTask(gain=1.0, kappa=10.0, t1=5.0, n_init=2), OdeTask(gain=1.0, kappa=1e5, t1=5.0, n_init=2)
    m = run_sweep([ok, bad], tmp_path, retries=2, progress=False)
    rec = {r.key: r for r in m.records}
    res = read_result(tmp_path / rec[bad.key].folder)
    assert res["status"] == "failed"  # what the integration said ...
    assert rec[bad.key].status == "failed" and rec[bad.key].attempts == 1  # ... is what the sweep says (no retry)
    assert rec[bad.key].error.startswith("integration failed at t = ")
    assert rec[ok.key].status == "done"
    # a resume adopts the failed result as failed (deterministic: not run again)
    m2 = run_sweep([ok, bad], tmp_path, progress=False)
    assert {r.key: (r.status, r.attempts) for r in m2.records} == {ok.key: ("done", 1), bad.key: ("failed", 1)}


def test_cli_failed_records_of_an_earlier_grid_do_not_fail_a_later_run(tmp_path, capsys):
    out = str(tmp_path)
    assert main(["sweep", "--task", "ode", "--gamma", "1", "--kappa", "10,1e5", "--t1", "5", "--out", out,
                 "--quiet"]) == 1
    text = capsys.readouterr().out
    assert "1 done, 1 failed" in text and "FAILED ode_antisym2_gamma1_kappa1e+05" in text
    assert main(["sweep", "--task", "ode", "--gamma", "1", "--kappa", "10", "--t1", "5", "--out", out,
                 "--quiet"]) == 0
    assert "1 done, 0 failed, 0 pending" in capsys.readouterr().out


def test_seeds_are_kept_exact(tmp_path, capsys):
    assert main(["sweep", "--gamma", "0", "--seeds", "9007199254740993", "--out", str(tmp_path), "--dry-run",
                 "--json", "--quiet"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["tasks"][0]["seed"] == 9007199254740993 and m["tasks"][0]["key"].endswith("_seed9007199254740993")
    assert load_manifest(tmp_path).records[0].task.seed == 9007199254740993


def test_state_is_a_log_and_version_1_still_loads(tmp_path):
    tasks = [FailTask(name=f"t{i}", fail_times=0) for i in range(3000)]
    t0 = time.perf_counter()
    m = run_sweep(tasks, tmp_path / "s", dry_run=True, progress=False)
    assert time.perf_counter() - t0 < 30  # generous: 100 000 tasks take ~20 s on the shared machine
    assert (tmp_path / "s" / LOG_NAME).stat().st_size > 0
    summary = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert summary["version"] == 2 and summary["n_tasks"] == 3000 and "tasks" not in summary
    assert summary["counts"] == {"pending": 3000, "running": 0, "done": 0, "failed": 0}
    # one appended line per change; a later line for a key replaces it; a cut-off last line is ignored
    m.records[5].status = "failed"
    m.records[5].error = "boom"
    m.update(m.records[5])
    m.close_log()
    with open(tmp_path / "s" / LOG_NAME, "a") as fh:
        fh.write('{"key": "fail_t7", "status": "do')
    again = load_manifest(tmp_path / "s")
    assert len(again.records) == 3000 and again.records[5].status == "failed" and again.records[5].error == "boom"
    assert again.records[7].status == "pending"
    # the bundled version-1 manifests (every record inline) still load
    for preset in ("quick", "paper"):
        d = tmp_path / preset
        d.mkdir()
        shutil.copy(bundled_sweep_path(preset) / "sweep_manifest.json", d / "manifest.json")
        recs = load_manifest(d).records
        assert all(r.task.kind == "train" for r in recs) and sum(r.status == "done" for r in recs) >= 4


@pytest.mark.slow
def test_100k_task_dry_run_then_resume(tmp_path):
    gam = ",".join(str(i / 100) for i in range(1000))
    argv = [sys.executable, "-m", "fhrn_ode", "sweep", "--task", "ode", "--gamma", gam, "--seeds",
            ",".join(map(str, range(100))), "--out", str(tmp_path), "--dry-run", "--quiet"]
    for _ in range(2):
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "0 done, 0 failed, 100000 pending" in p.stdout, p.stderr
        assert time.perf_counter() - t0 < 60


@pytest.mark.parametrize("text, key", [("[1, 2]", "holds a list"), ('{"task": "x"}', "`task` is a string"),
                                        ('{"task": {"kind": "fail"}, "seconds": "x"}', "`seconds` is a string")])
def test_result_of_the_wrong_shape(tmp_path, text, key):
    t = FailTask(name="w", fail_times=0)
    folder = tmp_path / "tasks" / t.key
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(text)
    with pytest.raises(FHRNInputError, match=key):
        read_result(folder, strict=True)
    assert read_result(folder) is None  # the runner's view: not finished, so it runs again
    m = run_sweep([t], tmp_path, progress=False)
    assert m.records[0].status == "done" and read_result(folder)["executions"] == 1


def test_manifest_record_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    run_sweep([FailTask(name="a")], tmp_path, retries=0, progress=False)
    log = tmp_path / LOG_NAME
    rec = json.loads(log.read_text().splitlines()[0])
    log.write_text(json.dumps({**rec, "attempts": "3"}) + "\n")
    assert main(["sweep-report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`attempts` is a string; expected an integer" in err and err.count("\n") == 1


@pytest.mark.slow
def test_unusable_checkpoint_keeps_the_users_files(tmp_path):
    t = TrainTask(gain=0.1, seed=0, preset="tiny", steps=3, batch_size=4, eval_batches=1, n_bytes=20_000, metrics_seq=4)
    folder = tmp_path / "tasks" / t.key
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "train_state.json").write_text('{"step": 2, "options": {}}')  # unusable: no weights, wrong options
    m = run_sweep([t], tmp_path, progress=False)
    assert m.records[0].status == "done"
    assert (folder / "notes.txt").read_text() == "mine"
    res = read_result(folder)
    assert res["step"] == 3 and res["restarted"].startswith("unusable checkpoint discarded: ")


def _fake_sweep(out: Path, steps: int, vals: dict) -> None:
    """A sweep folder of finished train tasks with made-up results (no training): ``vals[(gamma, seed)] = loss``."""
    from fhrn_ode._io import atomic_write_json
    from fhrn_ode.sweep import SweepManifest, TaskRecord

    old = load_manifest(out).records if (out / "manifest.json").is_file() else []
    recs = []
    for (g, seed), loss in vals.items():
        t = TrainTask(gain=g, seed=seed, preset="tiny", steps=steps, metrics_seq=4)
        atomic_write_json(out / "tasks" / t.key / "result.json",
                          {"task": t.to_dict(), "seconds": 1.0, "gamma": g, "seed": seed, "preset": "tiny",
                           "step": steps, "val_loss": loss, "train_loss": loss, "unigram_nats": 5.5,
                           "metrics": {"irr": g, "esri": 0.0, "rdp_frequency": 0.2, "rdp_strength": 1.0,
                                       "wr_spectral_norm": 1.0, "wr_effective_rank": 2.0,
                                       "wr_antisymmetric_fraction": 0.5}})
        recs.append(TaskRecord(task=t, status="done", attempts=1, seconds=1.0))
    SweepManifest(out=out, records=old + recs).write()


def test_bundle_into_the_sweep_folder_is_not_counted_twice_and_steps_are_not_pooled(tmp_path, capsys):
    _fake_sweep(tmp_path, 3, {(0.0, 0): 5.0, (0.0, 1): 5.1, (0.2, 0): 4.9, (0.2, 1): 4.95})
    assert main(["sweep-report", str(tmp_path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [r["n"] for r in first["rows"]] == [2, 2] and first["variance"]["pooled_dof"] == 2
    assert main(["sweep-report", str(tmp_path), "--bundle", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.glob("gamma_*.json")) == ["gamma_0.000.json", "gamma_0.200.json"]
    assert main(["sweep-report", str(tmp_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [r["n"] for r in again["rows"]] == [2, 2] and again["variance"] == first["variance"]
    _fake_sweep(tmp_path, 400, {(0.0, 0): 3.0})  # the same preset and gain at --steps 400
    assert main(["sweep-report", str(tmp_path)]) == 2
    assert "mix training configurations ['tiny (steps 3)', 'tiny (steps 400)']" in capsys.readouterr().err
    assert main(["sweep-report", str(tmp_path), "--preset", "tiny (steps 3)", "--json"]) == 0
    assert [r["n"] for r in json.loads(capsys.readouterr().out)["rows"]] == [2, 2]


def test_sweep_with_stderr_closed_finishes(tmp_path):
    p = subprocess.run(f"{sys.executable} -m fhrn_ode sweep --task ode --gamma 1 --t1 1 --out {tmp_path} 2>&-",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "1 done, 0 failed, 0 pending" in p.stdout and "Traceback" not in p.stdout
