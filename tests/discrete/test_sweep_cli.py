"""``fhrn-ode sweep``: the fixed CLI, --json manifest, SIGTERM + restart, errors as one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from fhrn_ode import FHRNInputError
from fhrn_ode.cli import main
from fhrn_ode.sweep import load_manifest


def _cli(*argv):
    return [sys.executable, "-m", "fhrn_ode", *argv]


def test_sigterm_then_restart_finishes_only_the_rest(tmp_path):
    out, counter = tmp_path / "s", tmp_path / "count.txt"
    argv = ["sweep", "--gamma", "0,0.1,0.2", "--seeds", "0", "--preset", "tiny", "--steps", "3",
            "--out", str(out), "--workers", "1"]
    env = dict(os.environ, FHRN_SWEEP_COUNTER=str(counter))
    proc = subprocess.Popen(_cli(*argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, done = time.monotonic() + 240, set()
    while time.monotonic() < deadline and proc.poll() is None and not done:
        try:
            d = load_manifest(out).to_dict()
            done = {t["key"] for t in d["tasks"] if t["status"] == "done"}
        except FHRNInputError:
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "fhrn-ode sweep: terminated (SIGTERM)" in err
    assert "pending (kept in" in err and "no partial files left" not in err  # says what is kept
    d = load_manifest(out).to_dict()
    assert {t["status"] for t in d["tasks"]} <= {"done", "pending"}  # nothing left 'running'
    before = counter.read_text().split()
    res = subprocess.run(_cli(*argv, "--json"), env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["counts"]["done"] == 3 and [t["gamma"] for t in m["tasks"]] == [0.0, 0.1, 0.2]
    assert all(t["attempts"] >= 1 and t["folder"].startswith("tasks/") for t in m["tasks"])
    again = counter.read_text().split()[len(before):]
    assert set(again).isdisjoint(done) and len(again) == 3 - len(done & set(before))
    assert "ETA" in res.stderr and f"{len(done)} already done" in res.stderr


@pytest.mark.parametrize("argv, msg", [
    (["--gamma", "0,x"], "`--gamma` must be comma-separated numbers, got '0,x'"),
    (["--gamma", "0", "--seeds", "1.5"], "`--seeds` must be comma-separated integers"),
    (["--gamma", "-1"], "`--gamma` must be"),
    (["--gamma", "0", "--preset", "huge"], "`--preset` must be one of"),
    (["--gamma", "0", "--kappa", "3"], "`--kappa` needs --task ode"),
    (["--gamma", "0", "--task", "ode", "--steps", "3"], "`--steps` and `--preset` need --task train"),
    (["--gamma", "0", "--address", "auto"], "`--address` 'auto' needs engine 'ray'"),
    (["--gamma", "0", "--workers", "0"], "`--workers`"),
    (["--gamma", "0", "--task", "ode", "--seed", "3"], "`--seed` (the seed of a train task's metric inputs) needs"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, msg):
    assert main(["sweep", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fhrn-ode sweep: error: ") and msg in err and err.count("\n") == 1
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_ode_sweep_json(tmp_path, capsys):
    assert main(["sweep", "--task", "ode", "--gamma", "0,1", "--kappa", "10", "--out", str(tmp_path), "--json",
                 "--quiet"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert [(t["kind"], t["gamma"], t["status"]) for t in m["tasks"]] == [("ode", 0.0, "done"), ("ode", 1.0, "done")]
