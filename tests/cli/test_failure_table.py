"""Failure paths of the real CLI, each run as a subprocess (`python -m fhrn_ode ...`): docs/failure-modes.md.

Every row: the exit code, exactly one line on stderr that says what is wrong (naming the user's own
flag or file), no traceback, and nothing half-written (no ``*.tmp``, no lock file, and an output
folder this run created is gone again). The rows run concurrently (a session fixture) to keep the
table to seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

REF = Path(__file__).resolve().parents[2] / "fhrn_ode" / "data" / "reference_model"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "FHRN_ODE_MAX_MEMORY": "4G", "FHRN_ODE_MAX_SECONDS": "300"}


def _ckpt(root: Path, name: str, *, config=None, weights: bytes | None = None) -> str:
    d = root / name
    shutil.copytree(REF, d)
    if config is not None:
        text = config if isinstance(config, str) else json.dumps({**json.loads((REF / "config.json").read_text()), **config})
        (d / "config.json").write_text(text)
    if weights is not None:
        (d / "model.safetensors").write_bytes(weights)
    return str(d)


def _nan_weights() -> bytes:
    from safetensors.numpy import load_file, save

    t = load_file(str(REF / "model.safetensors"))
    k = sorted(t)[0]
    t[k] = t[k].copy()
    t[k].flat[0] = np.nan
    return save(t)


def _files(root: Path) -> None:
    """Write the bad input files used by the table into ``root``."""
    (root / "afile").write_text("x")
    os.symlink(root / "nowhere" / "x", root / "dangling")
    np.save(root / "complex.npy", np.array([[1 + 2j, 0], [0, 1]]))
    (root / "ragged.csv").write_text("1,2,3\n4,5\n")
    (root / "complex.csv").write_text("1+2j,0\n0,1\n")
    (root / "garbage.npz").write_bytes(b"PK\x03\x04 this is not a zip")
    np.savez(root / "nokey.npz", W_star=np.zeros((0, 2, 2)), layer=np.zeros(0, dtype=np.int64))
    np.savez(root / "wrongkind.npz", W_star=np.array([["a", "b"], ["c", "d"]]), layer=np.zeros(2, dtype=np.int64))
    obj = np.empty((1, 2, 2), dtype=object)
    obj[:] = 1.0
    np.savez(root / "objects.npz", W_star=obj, layer=np.zeros(1, dtype=np.int64))
    np.savez(root / "floatlayer.npz", W_star=np.zeros((1, 2, 2)), layer=np.array([0.5]))
    with open(root / "huge.bin", "wb") as fh:  # sparse: 5 GB that take no disk
        fh.truncate(5 * 2 ** 30)
    # issue 24: sweep folders, rows and files of the wrong shape
    from fhrn_ode.sweep import SweepManifest, TaskRecord, TrainTask

    t = TrainTask(gain=0.0, seed=0, preset="tiny", steps=3)
    SweepManifest(out=root / "sw_res", records=[TaskRecord(task=t, status="done", attempts=1)]).write()
    (root / "sw_res" / "tasks" / t.key).mkdir(parents=True)
    (root / "sw_res" / "tasks" / t.key / "result.json").write_text("[1, 2]")
    SweepManifest(out=root / "sw_log", records=[TaskRecord(task=t)]).write()
    (root / "sw_log" / "tasks.jsonl").write_text("garbage\n")
    (root / "rows.json").write_text('[{"name": "integrate/d2_n4/vs_loop", "ours_s": "fast"}]')
    (root / "badcheck.json").write_text('{"per_gain": [{"gamma": 0, "n": "two", "fraction_stable_mean": 1, '
                                        '"fraction_stable_sem": null, "spectral_abscissa_values": [], "seeds_leaving": []}]}')
    (root / "sw_tf").mkdir()
    (root / "sw_tf" / "tasks").write_text("")
    (root / "sw_md" / "manifest.json").mkdir(parents=True)
    os.mkfifo(root / "fifo")
    (root / "locked").mkdir()


#: (id, argv with {tmp} placeholders, expected exit code, a substring of the one-line message)
CASES = [
    # 1. output checked before computing
    ("out-proc", ["integrate", "--out", "/proc/fhrn-x", "--t1", "1"], 2, "`--out` '/proc/fhrn-x' cannot be"),
    ("out-under-file", ["integrate", "--out", "{tmp}/afile/sub", "--t1", "1"], 2, "is a file, not a directory"),
    ("out-dangling", ["map", "--out", "{tmp}/dangling", "--grid", "4"], 2, "dangling symbolic link"),
    ("out-is-file", ["lyapunov", "--out", "{tmp}/afile"], 2, "exists and is not a directory"),
    ("figures-under-file", ["figures", "--out", "{tmp}/afile/sub"], 2, "is a file, not a directory"),
    ("claims-under-file", ["claims", "--out", "{tmp}/afile/sub"], 2, "is a file, not a directory"),
    ("linearize-under-file", ["linearize", "--out", "{tmp}/afile/x.npz"], 2, "is a file, not a directory"),
    ("train-under-file", ["train", "--gamma", "0", "--out", "{tmp}/afile/run"], 2, "is a file, not a directory"),
    # 5. sizes that cannot fit: refused up front, naming the user's flag, with the estimate
    ("dim-20000", ["integrate", "--wr", "random", "--dim", "20000", "--out", "{tmp}/out-1"], 2, "`--dim` 20000 is too large"),
    ("n-init", ["integrate", "--n-init", "1000000000", "--out", "{tmp}/out-2"], 2, "`--n-init` 1000000000 is too large"),
    ("n-points", ["integrate", "--n-points", "2000000000", "--out", "{tmp}/out-3"], 2, "`--n-points` 2000000000 is too large"),
    ("map-grid", ["map", "--grid", "1000000", "--out", "{tmp}/out-4"], 2, "`--grid` 1000000 is too large"),
    ("map-dim", ["map", "--wr", "random", "--dim", "5000", "--grid", "50", "--out", "{tmp}/out-5"], 2, "`--dim` 5000 is too large"),
    ("figures-resolution", ["figures", "--resolution", "1000000", "--out", "{tmp}/out-6"], 2, "`--resolution` 1000000 is too large"),
    ("lyapunov-points", ["lyapunov", "--n-points", "3000000000", "--out", "{tmp}/out-7"], 2, "`--n-points` 3000000000 is too large"),
    ("stability-dim", ["stability", "--gamma", "1", "--beta", "0", "--radius", "1", "--wr", "random", "--dim", "30000"], 2,
     "`--dim` 30000 is too large"),
    ("metrics-n-seq", ["metrics", str(REF), "--n-seq", "100000000"], 2, "`--n-seq` 100000000 is too large"),
    # magnitudes: bounded at the gate, under the user's own flag
    ("init-radius", ["integrate", "--init-radius", "1e300", "--out", "{tmp}/out-8"], 2, "`--init-radius` must be <= "),
    ("wr-scale", ["integrate", "--wr-scale", "1e300", "--out", "{tmp}/out-9"], 2, "`--wr-scale` must be <= "),
    ("drive", ["integrate", "--drive", "1e300", "--out", "{tmp}/out-10"], 2, "`--drive` entries must be finite"),
    ("extent", ["map", "--extent", "1e300", "--out", "{tmp}/out-11"], 2, "`--extent` must be <= "),
    ("negative-exp", ["integrate", "--rtol", "-1e-7", "--out", "{tmp}/out-12"], 2, "`--rtol` must be > 0, got -1e-07"),
    ("unknown-flag", ["integrate", "--rtoll", "1e-6", "--out", "{tmp}/out-13"], 2,
     "fhrn-ode integrate: error: unrecognized option --rtoll; did you mean --rtol?"),
    # hostile matrix files (every matrix source: plain files and the .npz of linearize)
    ("complex-npy", ["integrate", "--wr", "{tmp}/complex.npy", "--out", "{tmp}/out-14"], 2, "holds complex numbers"),
    ("complex-csv", ["integrate", "--wr", "{tmp}/complex.csv", "--out", "{tmp}/out-15"], 2, "complex numbers"),
    ("ragged-csv", ["integrate", "--wr", "{tmp}/ragged.csv", "--out", "{tmp}/out-16"], 2, "could not be read as a numeric table"),
    ("garbage-npz", ["integrate", "--wr", "{tmp}/garbage.npz", "--out", "{tmp}/out-17"], 2, "not a valid .npz archive"),
    ("empty-stack", ["integrate", "--wr", "{tmp}/nokey.npz", "--out", "{tmp}/out-18"], 2, "is empty"),
    ("string-stack", ["integrate", "--wr", "{tmp}/wrongkind.npz", "--out", "{tmp}/out-19"], 2, "non-numeric data"),
    ("object-stack", ["integrate", "--wr", "{tmp}/objects.npz", "--out", "{tmp}/out-20"], 2, "object array"),
    ("float-layer", ["integrate", "--wr", "{tmp}/floatlayer.npz", "--out", "{tmp}/out-21"], 2, "must be 1 integers"),
    # hostile checkpoints: checked against the weight file before anything is built
    ("ckpt-huge-d", ["metrics", "{ckpt:huge_d}"], 2, "config key `d` is 1000000000"),
    ("ckpt-layers", ["linearize", "{ckpt:layers}", "--out", "{tmp}/lin.npz"], 2, "do not match the config"),
    ("ckpt-context", ["check", "{ckpt:context}"], 2, "tensor 'wpe.weight' has shape"),
    ("ckpt-seed-digits", ["integrate", "--wr", "{ckpt:seed}", "--out", "{tmp}/out-22"], 2, "an integer with 400 digits"),
    ("ckpt-seed-64bit", ["metrics", "{ckpt:seed64}"], 2, "beyond 64 bits"),
    ("ckpt-deep-json", ["metrics", "{ckpt:deep}"], 2, "nested deeper than"),
    ("ckpt-nan-weights", ["linearize", "{ckpt:nan}", "--out", "{tmp}/lin2.npz"], 2, "NaN/inf entries; refused"),
    ("ckpt-truncated", ["metrics", "{ckpt:trunc}"], 2, "refused (truncated, padded or foreign file)"),
    ("ckpt-padded", ["metrics", "{ckpt:padded}"], 2, "refused (truncated, padded or foreign file)"),
    ("ckpt-sparse-20GB", ["check", "{ckpt:sparse}"], 2, "refused (truncated, padded or foreign file)"),
    # huge input files: the size is checked before reading
    ("data-huge", ["train", "--gamma", "0", "--preset", "tiny", "--data", "{tmp}/huge.bin", "--out", "{tmp}/out-30"], 2,
     "`--data` '{tmp}/huge.bin' is 5.37 GB"),
]

# issue 24 (docs/failure-modes.md, "Sweeps, dynamics commands, grids, fit"): one new row per class at least
CASES += [
    # 2. Ray: an address where nothing listens fails in seconds, naming the address and what to set
    ("ray-address", ["sweep", "--task", "ode", "--gamma", "1", "--engine", "ray", "--address", "127.0.0.1:1",
                     "--out", "{tmp}/out-40"], 2, "`--address` '127.0.0.1:1': cannot connect to a Ray cluster there"),
    # 3. per-task state read back line by line
    ("sweep-bad-log", ["sweep", "--task", "ode", "--gamma", "1", "--out", "{tmp}/sw_log", "--dry-run"], 2,
     "sweep task log file '{tmp}/sw_log/tasks.jsonl' line 1 is not valid JSON"),
    # 4. time spans with no budget: capped up front
    ("cycles-t-record", ["cycles", "--t-record", "1e12", "--out", "{tmp}/out-41"], 2, "`--t-record` must be <= 1e+06, got 1e+12"),
    ("exponents-t1", ["exponents", "--t1", "1e12", "--out", "{tmp}/out-52"], 2, "`--t1` must be <= 1e+06, got 1e+12"),
    ("bifurcation-count", ["bifurcation", "--param", "kappa", "--range", "0:1:1000000000", "--out", "{tmp}/out-42"], 2,
     "`--range` '0:1:1000000000' asks for 1000000000 values; at most 10000"),
    # 5. one typed reader; numeric flags bounded like integrate's
    ("report-result-list", ["sweep-report", "{tmp}/sw_res"], 2, "holds a list; expected an object"),
    ("report-delta", ["sweep-report", "--bundled", "quick", "--delta", "1e-300"], 2, "`--delta` must be >= 1e-09, got 1e-300"),
    ("report-check-type", ["sweep-report", "--bundled", "quick", "--check", "{tmp}/badcheck.json"], 2,
     "`per_gain[0].n` is a string; expected an integer"),
    ("bench-row-type", ["bench", "--plot", "{tmp}/b.png", "--from-json", "{tmp}/rows.json"], 2,
     "`[0].ours_s` is a string; expected a number or null"),
    ("fixed-points-radius", ["fixed-points", "--radius", "1e7", "--out", "{tmp}/out-44"], 2, "`--radius` must be <= 1e+06, got 1e+07"),
    ("saliency-kappa", ["saliency", "--kappa", "1e200"], 2, "`--kappa` must be <= 1e+06, got 1e+200"),
    # 6. sizes refused up front (exit 2 in ~1 s, not out of memory after 30 s)
    ("slots-dim", ["integrate", "--memory", "slots", "--dim", "20000", "--out", "{tmp}/out-45"], 2, "`--dim` 20000 is too large"),
    ("fixed-points-dim", ["fixed-points", "--wr", "random", "--dim", "20000", "--out", "{tmp}/out-46"], 2,
     "`--dim` 20000 is too large"),
    ("sweep-dim", ["sweep", "--task", "ode", "--gamma", "1", "--dim", "20000", "--out", "{tmp}/out-47"], 2,
     "`--dim` 20000 is too large"),
    ("sweep-threads", ["sweep", "--gamma", "0", "--threads", "100000", "--out", "{tmp}/out-48"], 2, "`--threads` must be <= "),
    ("grid-count", ["integrate", "--grid", "gamma=0:1:100000", "--n-init", "1000", "--out", "{tmp}/out-49"], 2,
     "`--grid` 100000 is too large"),
    # 7. refused before the work, not after
    ("bench-plot-proc", ["bench", "--plot", "/proc/fhrn.png", "--quick"], 2, "`--plot` '/proc' cannot be written"),
    # 8. sweep honours the shared folder lock
    ("sweep-locked", ["sweep", "--task", "ode", "--gamma", "1", "--out", "{tmp}/locked"], 2,
     "`--out` '{tmp}/locked' is in use by another fhrn-ode process (pid "),
    # 9. seeds are integers, never floats; the message names --seeds
    ("sweep-seeds-big", ["sweep", "--gamma", "0", "--seeds", "99999999999999999999", "--out", "{tmp}/out-50"], 2,
     "`--seeds` entries must be integers in [0, 2^63), got 99999999999999999999"),
    # 10. the right flag; a negative range start is a value; "does not exist" only when it does not
    ("bifurcation-negative", ["bifurcation", "--param", "gamma", "--range", "-1:1:3", "--out", "{tmp}/out-51"], 2,
     "`--range` '-1:1:3' reaches gamma = -1, which is not allowed"),
    ("check-fifo", ["sweep-report", "--bundled", "quick", "--check", "{tmp}/fifo"], 2, "is a FIFO (named pipe), not a regular file"),
    ("check-dev-zero", ["sweep-report", "--bundled", "quick", "--check", "/dev/zero"], 2,
     "`--check` file '/dev/zero' is a character device, not a regular file"),
    ("report-bundle-name", ["sweep-report", "--bundled", "quick", "--bundle", "/proc/fhrn-b"], 2,
     "`--bundle` '/proc/fhrn-b' cannot be created"),
    # 7. a sweep folder whose own paths are of the wrong kind: refused up front (each task failed 3 times on it)
    ("sweep-tasks-file", ["sweep", "--task", "ode", "--gamma", "1", "--out", "{tmp}/sw_tf"], 2,
     "`--out` '{tmp}/sw_tf': '{tmp}/sw_tf/tasks' is a file, not a directory; move it away"),
    ("sweep-manifest-dir", ["sweep", "--task", "ode", "--gamma", "1", "--out", "{tmp}/sw_md"], 2,
     "'{tmp}/sw_md/manifest.json' is a directory, not a regular file"),
    # 5. a --grid value gets its parameter flag's cap (not `max_norm` and a numpy overflow warning)
    ("grid-magnitude", ["integrate", "--grid", "drive=-1e300", "--out", "{tmp}/out-53"], 2,
     "`--grid` 'drive=-1e300': drive values must be <= 1e+06 in magnitude (as `--drive`), got 1e+300"),
]

_HOLDER = ("import sys; from fhrn_ode._lock import lock_folder, unlock_folder; lock_folder(sys.argv[1], "
           "what='fhrn-ode integrate'); print('ready', flush=True); sys.stdin.read(); unlock_folder(sys.argv[1])")

_CKPTS = {
    "huge_d": dict(config={"d": 10 ** 9}),
    "layers": dict(config={"n_layer": 200}),
    "context": dict(config={"context": 60000}),
    "seed": dict(config='{"seed": ' + "9" * 400 + "}"),
    "seed64": dict(config={"seed": 2 ** 70}),
    "deep": dict(config="[" * 50 + "]" * 50),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("failures")
    _files(root)
    ckpts = {k: _ckpt(root, k, **v) for k, v in _CKPTS.items()}
    ckpts["nan"] = _ckpt(root, "nan", weights=_nan_weights())
    raw = (REF / "model.safetensors").read_bytes()
    ckpts["trunc"] = _ckpt(root, "trunc", weights=raw[: len(raw) // 2])
    ckpts["padded"] = _ckpt(root, "padded", weights=raw + b"\0" * 4096)
    ckpts["sparse"] = _ckpt(root, "sparse")
    with open(Path(ckpts["sparse"]) / "model.safetensors", "r+b") as fh:
        fh.truncate(20 * 2 ** 30)

    def argv(a: list[str]) -> list[str]:
        out = []
        for s in a:
            if s.startswith("{ckpt:"):
                s = ckpts[s[6:-1]]
            out.append(s.replace("{tmp}", str(root)))
        return out

    def run(case):
        cid, a, _, _ = case
        p = subprocess.run([sys.executable, "-m", "fhrn_ode", *argv(a)], capture_output=True, text=True,
                           env=ENV, timeout=240, cwd=root)
        return cid, p

    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(root / "locked")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    try:
        with ThreadPoolExecutor(max_workers=4) as ex:
            got = dict(ex.map(run, CASES))
    finally:
        holder.stdin.close()
        holder.wait(30)
    return root, got


@pytest.mark.parametrize("cid,argv,code,needle", CASES, ids=[c[0] for c in CASES])
def test_failure_case(results, cid, argv, code, needle):
    root, got = results
    p = got[cid]
    err = p.stderr.strip()
    assert p.returncode == code, (p.returncode, err[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err[-2000:]
    assert err.startswith(f"fhrn-ode {argv[0]}: error: ") or err.startswith("fhrn-ode: error:"), err
    assert needle.replace("{tmp}", str(root)) in err, err
    assert "usecols" not in err and "allow_pickle" not in err
    assert p.stdout == ""
    for f in root.rglob("*"):
        assert not f.name.endswith(".tmp") and f.name != ".fhrn-ode.lock", f
    for a in argv:  # an output folder named in the row was not left behind (created, then removed)
        if a.startswith(("{tmp}/out-", "{tmp}/lin")):
            assert not Path(a.replace("{tmp}", str(root))).exists(), a


def test_grid_member_fails_alone(tmp_path):
    """Class 7: `integrate --grid gamma=1,1e5`: the stiff set spends its own budget and fails alone
    (exit 1, its own reason in `set_message`); the good set's trajectory is kept, bit-identical to a
    grid of that set alone; the failed set's states after its last computed time are NaN."""
    argv = [sys.executable, "-m", "fhrn_ode", "integrate", "--t1", "5", "--max-nfe", "3000", "--n-init", "4"]
    p = subprocess.run(argv + ["--grid", "gamma=1,1e5", "--out", str(tmp_path / "both")], capture_output=True,
                       text=True, env=ENV, timeout=240, cwd=tmp_path)
    assert p.returncode == 1, p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    assert "1 of 2 parameter sets failed (each solved again with its own budget); set 1 (gamma = 100000" in p.stdout
    s = json.loads((tmp_path / "both" / "summary.json").read_text())
    assert s["status"] == "failed" and s["set_status"] == ["success", "failed"] and s["t_final"] == 5.0
    assert s["set_message"][0] == "" and "needs more than 3000 evaluations" in s["set_message"][1]
    both = np.load(tmp_path / "both" / "trajectory.npz")
    assert np.isnan(both["y"][1:, 1]).all() and np.isfinite(both["y"][0, 1]).all()
    q = subprocess.run(argv + ["--grid", "gamma=1", "--out", str(tmp_path / "one")], capture_output=True, text=True,
                       env=ENV, timeout=240, cwd=tmp_path)
    assert q.returncode == 0, q.stderr[-2000:]
    one = np.load(tmp_path / "one" / "trajectory.npz")
    assert np.array_equal(both["y"][:, 0], one["y"][:, 0]) and np.isfinite(one["y"]).all()
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".fhrn-ode.lock"))


def test_grid_interrupted_while_splitting_keeps_the_decided_sets(monkeypatch):
    """An interrupt while a failed batch is solved again set by set: Interrupted carries every set
    decided so far (the good set, bit-identical to its own solve) and marks the rest 'interrupted'."""
    from fhrn_ode import Interrupted, integrate_sweep
    from fhrn_ode import batched
    from fhrn_ode.integration import initial_conditions
    from fhrn_ode.operators import make_operator

    W, y0 = make_operator("antisym", 2, seed=0), initial_conditions(4, 2, 2.0, seed=1)
    kw = dict(t1=5.0, n_points=11, max_nfe=3000)
    alone = integrate_sweep(W, y0, gamma=[1.0], **kw)
    real, calls = batched._SetSolver.batch, []

    def batch(self, idx):
        calls.append(idx.tolist())
        if len(calls) == 3:  # the whole batch failed, set 0 was solved alone; now set 1 alone
            raise KeyboardInterrupt
        return real(self, idx)

    monkeypatch.setattr(batched._SetSolver, "batch", batch)
    with pytest.raises(Interrupted, match=r"1 of 2 sets decided: 0 failed") as ei:
        integrate_sweep(W, y0, gamma=[1.0, 1e5], **kw)
    res = ei.value.result
    assert calls == [[0, 1], [0], [1]]
    assert res.status == "interrupted" and res.set_status == ["success", "interrupted"]
    assert torch.equal(res.y[:, 0], alone.y[:, 0])


def test_check_sweep_keeps_the_good_models_and_flags_the_bad_one(tmp_path):
    """Class 7: `check SWEEP` where one task's model file is truncated and another's is a directory:
    the good model is reported (stdout JSON `models`), each bad one is flagged in `unreadable` and on
    one stderr line naming its folder and what is wrong with the file; exit 1 (docs/failure-modes.md)."""
    from fhrn_ode.sweep import SweepManifest, TaskRecord, TrainTask

    out = tmp_path / "sw"
    tasks = [TrainTask(gain=g, seed=0, preset="tiny", steps=3) for g in (0.0, 0.1, 0.2)]
    for t in tasks:
        d = out / "tasks" / t.key
        shutil.copytree(REF, d)
        (d / "result.json").write_text(json.dumps({"task": t.to_dict(), "seconds": 1.0, "gamma": t.gain, "seed": 0,
                                                   "preset": "tiny", "step": 3, "val_loss": 5.0}))
    SweepManifest(out=out, records=[TaskRecord(task=t, status="done", attempts=1) for t in tasks]).write()
    bad1, bad2 = (out / "tasks" / t.key / "model.safetensors" for t in tasks[1:])
    bad1.write_bytes(bad1.read_bytes()[:1000])
    bad2.unlink()
    bad2.mkdir()
    p = subprocess.run([sys.executable, "-m", "fhrn_ode", "check", str(out), "--contexts", "2", "--json"],
                       capture_output=True, text=True, env=ENV, timeout=240, cwd=tmp_path)
    assert p.returncode == 1, p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    obj = json.loads(p.stdout)
    assert [m["checkpoint"] for m in obj["models"]] == [str(out / "tasks" / tasks[0].key)]
    assert [m["seed"] for m in obj["models"]] == [0] and obj["per_gain"][0]["n"] == 1
    assert [u["checkpoint"] for u in obj["unreadable"]] == [str(out / "tasks" / t.key) for t in tasks[1:]]
    errs = [ln for ln in p.stderr.splitlines() if "error:" in ln]
    assert errs == [f"fhrn-ode check: error: {out / 'tasks' / tasks[1].key} not checked: weights file '{bad1}' is not "
                    f"a valid safetensors file (header length out of range)",
                    f"fhrn-ode check: error: {out / 'tasks' / tasks[2].key} not checked: weights file '{bad2}' is a "
                    f"directory, not a regular file"]
