"""Interrupts, broken pipes and busy output folders, on the real CLI in subprocesses (docs/failure-modes.md).

SIGINT and SIGTERM during a command's work: exit 130 / 143, exactly one line on stderr, no
traceback, no temporary or lock file left, and every file that is left is complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}

#: (id, argv (OUT = the output folder), signal)
RUNS = [
    ("integrate-int", ["integrate", "--wr", "random", "--dim", "64", "--n-init", "256", "--t1", "500",
                       "--n-points", "2001", "--out", "OUT"], signal.SIGINT),
    ("integrate-term", ["integrate", "--wr", "random", "--dim", "64", "--n-init", "256", "--t1", "500",
                        "--n-points", "2001", "--out", "OUT"], signal.SIGTERM),
    ("figures-term", ["figures", "--out", "OUT"], signal.SIGTERM),
    ("figures-int", ["figures", "--out", "OUT"], signal.SIGINT),
    ("claims-term", ["claims", "--out", "OUT"], signal.SIGTERM),
    ("map-term", ["map", "--wr", "random", "--dim", "3", "--grid", "3000", "--out", "OUT"], signal.SIGTERM),
    # issue 24 class 9: a grid (its stiff set spends ~100 000 evaluations) keeps its prefix and exits 130/143
    ("grid-term", ["integrate", "--grid", "gamma=1,1e5", "--out", "OUT"], signal.SIGTERM),
    ("grid-int", ["integrate", "--grid", "gamma=1,1e5", "--out", "OUT"], signal.SIGINT),
]


def _complete(f: Path) -> bool:
    data = f.read_bytes()
    if f.suffix == ".png":
        return data.startswith(b"\x89PNG") and data.rstrip().endswith(b"IEND\xaeB`\x82")
    if f.suffix == ".pdf":
        return data.rstrip().endswith(b"%%EOF")
    return len(data) > 0


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupts")

    def run(item):
        cid, argv, sig = item
        out = root / cid
        p = subprocess.Popen([sys.executable, "-m", "fhrn_ode", *[str(out) if a == "OUT" else a for a in argv]],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV,
                             start_new_session=True)
        t0 = time.monotonic()
        while not out.exists() and p.poll() is None and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        time.sleep(1.0)  # into the work (imports, computation)
        sent = p.poll() is None
        t_sig = time.monotonic()
        if sent:
            p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            return cid, (None, err, sent, None, out)
        return cid, (p.returncode, err, sent, time.monotonic() - t_sig, out)

    with ThreadPoolExecutor(max_workers=3) as ex:
        return dict(ex.map(run, RUNS))


@pytest.mark.parametrize("cid,argv,sig", RUNS, ids=[r[0] for r in RUNS])
def test_interrupt_is_one_line_and_leaves_nothing_partial(interrupted, cid, argv, sig):
    code, err, sent, latency, out = interrupted[cid]
    assert sent, f"{cid} finished before the signal; make the run longer"
    assert code == (143 if sig == signal.SIGTERM else 130), (code, err[-2000:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert latency < 30, f"{cid} took {latency:.1f} s to honour the signal"  # seconds even on a loaded machine
    word = "SIGTERM" if sig == signal.SIGTERM else "SIGINT"  # main's line, or a command's own kept-prefix line
    assert lines[0].startswith(f"fhrn-ode {argv[0]}: ") and word in lines[0], lines
    if out.exists():
        for f in out.rglob("*"):
            assert not f.name.endswith(".tmp") and f.name != ".fhrn-ode.lock", f
            assert f.is_dir() or _complete(f), f


# ---- every command that integrates more than once stops at once (issue 19 item 3) ----------------------

DRIVER = Path(__file__).with_name("_sigdriver.py")
#: Small but real runs of the commands that integrate many times (progress output off: one stderr line).
COMMANDS = {
    "figures": ["figures", "--no-progress", "--out", "OUT"],
    "claims": ["claims", "--quick", "--no-progress", "--out", "OUT"],
    "bifurcation": ["bifurcation", "--param", "gamma", "--range", "0.5:1.5:2", "--n-init", "1", "--n-starts", "4",
                    "--t-transient", "5", "--no-exponents", "--out", "OUT"],
    "exponents": ["exponents", "--t1", "5", "--t-transient", "1", "--n-init", "1", "--out", "OUT"],
    "sweep": ["sweep", "--task", "ode", "--gamma", "0,0.1", "--quiet", "--out", "OUT"],
}
#: When the signal comes (tests/cli/_sigdriver.py): early (set-up and imports), mid-integration, and
#: mid-plotting (sweep plots nothing: a later integration, in its worker process, instead).
WHEN = {c: ("early", "integration", "integration:600" if c == "sweep" else "plotting") for c in COMMANDS}
#: One run per command stays in CI (mid-integration: the runs that used to go on after an interrupt).
_CI = {("figures", "integration", signal.SIGTERM), ("claims", "integration", signal.SIGINT),
       ("bifurcation", "integration", signal.SIGTERM), ("exponents", "integration", signal.SIGINT),
       ("sweep", "integration", signal.SIGTERM)}
CASES = [pytest.param(c, w, s, id=f"{c}-{w}-{s.name}",
                      marks=() if (c, w, s) in _CI else pytest.mark.slow)
         for c in COMMANDS for w in WHEN[c] for s in (signal.SIGINT, signal.SIGTERM)]


def _drive(argv: list[str], out: Path, when: str, sig: signal.Signals):
    stamp = out.parent / f"{out.name}.stamp"
    env = {**ENV, "SIGDRIVER_SIG": str(int(sig)), "SIGDRIVER_WHEN": when, "SIGDRIVER_STAMP": str(stamp),
           "OMP_NUM_THREADS": "1"}
    env.pop("SIGDRIVER_PID", None)
    p = subprocess.Popen([sys.executable, str(DRIVER), *[str(out) if a == "OUT" else a for a in argv]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        _, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    ended = time.time()
    sent = float(stamp.read_text()) if stamp.exists() else None
    return p.returncode, err, sent, ended


@pytest.fixture(scope="module")
def driven(tmp_path_factory):
    cache: dict = {}
    root = tmp_path_factory.mktemp("driven")

    def get(cmd: str, when: str, sig: signal.Signals):
        key = (cmd, when, sig)
        if key not in cache:
            out = root / f"{cmd}-{when.replace(':', '_')}-{sig.name}"
            cache[key] = (*_drive(COMMANDS[cmd], out, when, sig), out)
        return cache[key]

    return get


@pytest.mark.parametrize("cmd,when,sig", CASES)
def test_commands_that_integrate_many_times_stop_at_once(driven, cmd, when, sig):
    code, err, sent, ended, out = driven(cmd, when, sig)
    assert sent is not None, f"{cmd} finished before the {when} signal (exit {code}): {err[-1000:]}"
    assert code == (143 if sig == signal.SIGTERM else 130), (code, err[-2000:])
    assert ended - sent < 5.0, f"{cmd} took {ended - sent:.1f} s after the signal"
    lines = err.strip().splitlines()
    word = "terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted (SIGINT)"
    assert len(lines) == 1 and lines[0].startswith(f"fhrn-ode {cmd}: {word}"), err[-2000:]
    if out.exists():
        for f in out.rglob("*"):
            assert not f.name.endswith(".tmp") and f.name != ".fhrn-ode.lock", f
            assert f.is_dir() or _complete(f), f
    if cmd == "sweep" and when != "early":  # the sweep keeps its manifest: a rerun resumes (docs/sweeps.md)
        import json

        from fhrn_ode.sweep import load_manifest

        m = load_manifest(out).to_dict()  # the summary in manifest.json + the per-task log (tasks.jsonl)
        assert {t["status"] for t in m["tasks"]} <= {"pending", "done"} and m["tasks"]


def test_broken_pipe_is_quiet(tmp_path):
    """`fhrn-ode integrate --json | head -c 0`: no traceback, exit 141 (or 0 if it all fit in the pipe)."""
    p = subprocess.Popen([sys.executable, "-m", "fhrn_ode", "integrate", "--json", "--t1", "1", "--n-points", "3000",
                          "--n-init", "50", "--out", str(tmp_path / "o")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    p.stdout.close()  # the reader goes away before anything is written
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert p.returncode in (0, 141), (p.returncode, err)
    assert err == "", err


def test_broken_pipe_in_text_mode_is_quiet():
    code = ("import sys, os\nr, w = os.pipe()\nos.close(r)\nos.dup2(w, 1)\n"
            "from fhrn_ode.cli import main\nrc = main(['stability', '--gamma', '1', '--beta', '0', '--radius', '1'])\n"
            "sys.stderr.write(f'rc={rc}\\n')\nsys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 141 and p.stderr.strip() == "rc=141", p.stderr


def test_a_folder_in_use_is_refused_naming_the_holder(tmp_path):
    from fhrn_ode.cli._common import LOCK_NAME, prepare_out_dir, release_out_dirs

    run = tmp_path / "run"
    prepare_out_dir(run)  # this process holds the lock, as a running `train` would
    try:
        p = subprocess.run([sys.executable, "-m", "fhrn_ode", "train", "--gamma", "0", "--preset", "tiny",
                            "--steps", "1", "--out", str(run)], capture_output=True, text=True, env=ENV, timeout=120)
        assert p.returncode == 2, p.stderr
        assert "is in use by another fhrn-ode process" in p.stderr and f"pid {os.getpid()}" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        assert sorted(f.name for f in run.iterdir()) == [LOCK_NAME]  # the second run wrote nothing
    finally:
        release_out_dirs(failed=False)
    assert not (run / LOCK_NAME).exists()
    q = subprocess.run([sys.executable, "-m", "fhrn_ode", "integrate", "--t1", "0.5", "--n-points", "3",
                        "--no-plot", "--out", str(run)], capture_output=True, text=True, env=ENV, timeout=120)
    assert q.returncode == 0, q.stderr  # once released, the folder can be used again
    assert not (run / LOCK_NAME).exists()


def test_out_folder_created_then_left_empty_is_removed_on_failure(tmp_path):
    from fhrn_ode.cli import main

    out = tmp_path / "a" / "b"
    assert main(["integrate", "--wr", str(tmp_path / "missing.npy"), "--out", str(out)]) == 2
    assert not (tmp_path / "a").exists()
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "mine.txt").write_text("user file")
    assert main(["integrate", "--t1", "0.5", "--n-points", "3", "--no-plot", "--out", str(keep)]) == 0
    assert (keep / "mine.txt").read_text() == "user file"  # unrelated files in --out are kept
    assert sorted(f.name for f in keep.iterdir()) == ["mine.txt", "summary.json", "trajectory.npz"]


def test_disk_full_at_write_time_is_one_line_exit_2_and_no_temp_file(tmp_path, capsys, monkeypatch):
    import errno

    from fhrn_ode import _io
    from fhrn_ode.cli import main

    real = _io.os.replace

    def full(src, dst):
        if str(dst).endswith("summary.json"):
            raise OSError(errno.ENOSPC, "No space left on device", str(src))
        return real(src, dst)

    monkeypatch.setattr(_io.os, "replace", full)
    out = tmp_path / "o"
    assert main(["integrate", "--t1", "0.5", "--n-points", "3", "--no-plot", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fhrn-ode integrate: error: cannot write or read")
    assert "No space left on device" in err[0]
    assert sorted(f.name for f in out.iterdir()) == ["trajectory.npz"]  # the completed file is kept, whole
