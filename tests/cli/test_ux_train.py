"""train: SIGINT/SIGTERM save the current step, resume alone, mismatch messages, non-TTY progress, unfinished runs."""

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import torch

from fhrn_ode.cli import main
from fhrn_ode.discrete.checkpoint import load_state_file
from fhrn_ode.discrete.data import synthetic_corpus

STEPS = 12
LINE = re.compile(r"^fhrn-ode train gamma=0\.1: step (\d+)/12 \((\d+)%\), [\d.e+-]+ step/s, elapsed \d+s, ETA \S+"
                  r"(, loss=\d+\.\d{3})?(, val=\d+\.\d{3})?$")


def _cmd(data, out, *extra):
    return [sys.executable, "-m", "fhrn_ode", "train", "--preset", "tiny", "--gamma", "0.1", "--steps", str(STEPS),
            "--data", str(data), "--out", str(out), *extra]


def _env(**kw):
    return dict(os.environ, FHRN_ODE_PROGRESS_SECONDS="0", PYTHONUNBUFFERED="1", **kw)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted run and two interrupted ones (SIGINT, SIGTERM), all as real subprocesses, in parallel."""
    root = tmp_path_factory.mktemp("ux_train")
    data = root / "d.txt"
    data.write_bytes(synthetic_corpus(20000))
    full = subprocess.Popen(_cmd(data, root / "full"), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=_env())
    cuts = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        cuts[sig] = subprocess.Popen(_cmd(data, root / sig.name), stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=_env())
    got = {}

    def watch(sig, p):
        lines = []
        for line in p.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith("fhrn-ode train gamma=0.1: step 3/"):
                p.send_signal(sig)
        got[sig] = (p.wait(timeout=300), lines)

    threads = [threading.Thread(target=watch, args=item) for item in cuts.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    full_err = full.stderr.read().splitlines()
    assert full.wait(timeout=300) == 0, full_err[-3:]
    return root, data, full_err, got


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_the_current_step_and_resume_is_bit_identical(runs, sig, capsys):
    root, data, _, got = runs
    rc, lines = got[sig]
    assert rc == 128 + sig, lines[-3:]
    m = re.match(rf"fhrn-ode train: interrupted: {sig.name} at step (\d+) of {STEPS}; saved a checkpoint of step "
                 rf"(\d+) in '.*{sig.name}'", lines[-1])
    assert m and m.group(1) == m.group(2), lines[-1]
    assert re.match(rf"fhrn-ode train gamma=0\.1: stopped: step {m.group(1)}/{STEPS} ", lines[-2]), lines[-2]
    step = int(m.group(1))
    assert 3 <= step < STEPS  # before the first scheduled checkpoint (eval_every = 200 > steps: the end)
    cut = root / sig.name
    meta = json.loads((cut / "train_state.json").read_text())
    metrics = json.loads((cut / "metrics.json").read_text())
    assert meta["step"] == metrics["step"] == step and metrics["finished"] is False
    assert metrics["val_loss"] is None and metrics["history"] == []
    # an unfinished folder says so: `metrics` JSON field + one warning line; `check` the same
    assert main(["metrics", str(cut), "--n-seq", "1", "--json"]) == 0
    cap = capsys.readouterr()
    res = json.loads(cap.out)
    assert res["finished"] is False and res["step"] == step and res["steps_total"] == STEPS
    assert f"holds an unfinished run (step {step} of {STEPS})" in cap.err and len(cap.err.splitlines()) == 1
    assert main(["check", str(cut), "--contexts", "2", "--json"]) == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out)["finished"] is False and "unfinished run" in cap.err
    # `--resume --out DIR` alone continues with the stored settings
    r = subprocess.run([sys.executable, "-m", "fhrn_ode", "train", "--resume", "--out", str(cut), "--json"],
                       capture_output=True, text=True, env=_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-500:]
    assert json.loads(r.stdout)["step"] == STEPS
    a = load_state_file(root / "full" / "model.safetensors")
    b = load_state_file(cut / "model.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    full_m = json.loads((root / "full" / "metrics.json").read_text())
    done = json.loads((cut / "metrics.json").read_text())
    assert done["finished"] is True and done["val_loss"] == full_m["val_loss"] and done["history"] == full_m["history"]


def test_non_tty_progress_lines(runs):
    _, _, err, _ = runs
    prog = [ln for ln in err if ln.startswith("fhrn-ode train gamma=0.1: step")]
    assert len(prog) >= STEPS - 1, err[:5]
    for ln in prog:
        m = LINE.match(ln)
        assert m, ln
        assert "nan" not in ln and ("val=" in ln) == (int(m.group(1)) == STEPS), ln  # val only after the evaluation
    steps = [int(LINE.match(ln).group(1)) for ln in prog]
    assert steps == sorted(steps) and steps[-1] == STEPS
    assert re.match(rf"fhrn-ode train gamma=0\.1: done: step {STEPS}/{STEPS} \(100%\), .* loss=\d\.\d{{3}}, "
                    rf"val=\d\.\d{{3}}$", err[-1]), err[-1]
    assert "\r" not in "".join(err)


def test_resume_mismatch_names_fields_and_values(runs, capsys):
    root, data, _, _ = runs
    full = str(root / "full")
    cases = [
        (["--gamma", "0.2"], ["gamma: stored 0.1, given 0.2"]),
        (["--steps", "30"], ["steps: stored 12, given 30"]),
        (["--seed", "4"], ["seed: stored 0, given 4"]),
        (["--preset", "quick"], ["d: stored 64, given 96", "n_head: stored 2, given 3"]),
        (["--data", str(root / "other.txt")], ["data: stored", "other.txt"]),
        (["--sweep"], ["holds a single run", "drop --sweep"]),
    ]
    for extra, needles in cases:
        assert main(["train", "--resume", "--out", full, *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        for n in needles:
            assert n in err[0], (extra, err[0])
    # the same settings given explicitly are fine (the run is finished: nothing to do, same weights)
    before = (root / "full" / "model.safetensors").read_bytes()
    assert main(["train", "--resume", "--out", full, "--gamma", "0.1", "--preset", "tiny", "--seed", "0",
                 "--steps", str(STEPS), "--data", str(data), "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == STEPS
    assert (root / "full" / "model.safetensors").read_bytes() == before


def test_resume_alone_on_an_empty_folder_and_mode_required(tmp_path, capsys):
    assert main(["train", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "holds no run to continue" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "none")]) == 2
    assert "one of --gamma G or --sweep is required" in capsys.readouterr().err


def test_sweep_resume_alone(tmp_path, capsys):
    data = tmp_path / "d.txt"
    data.write_bytes(synthetic_corpus(6000))
    base = ["train", "--preset", "tiny", "--steps", "2", "--data", str(data), "--no-progress"]
    assert main([*base, "--sweep", "--gammas", "0", "0.1", "--out", str(tmp_path / "a"), "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    # an interrupted sweep: only the first gain done
    assert main([*base, "--sweep", "--gammas", "0", "--out", str(tmp_path / "b"), "--json"]) == 0
    capsys.readouterr()
    sw = json.loads((tmp_path / "b" / "sweep.json").read_text())
    sw["gammas"] = [0.0, 0.1]
    (tmp_path / "b" / "sweep.json").write_text(json.dumps(sw))
    assert main(["train", "--resume", "--out", str(tmp_path / "b"), "--no-progress", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["val_loss"] for r in res] == [r["val_loss"] for r in full]
    assert main(["train", "--resume", "--out", str(tmp_path / "b"), "--gamma", "0.1"]) == 2
    assert "holds a sweep" in capsys.readouterr().err
