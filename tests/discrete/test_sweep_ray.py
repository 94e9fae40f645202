"""The Ray engine gives the same results as the local process pool (a local 2-CPU Ray cluster)."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'fhrn-ode[ray]'): Ray engine untested")

from fhrn_ode.sweep import FailTask, read_result, run_sweep, train_grid  # noqa: E402

TINY = dict(presets=("tiny",), steps=4, batch_size=4, eval_batches=1, n_bytes=20_000, metrics_seq=4)


def test_ray_and_local_engines_give_identical_results(tmp_path):
    tasks = train_grid([0.0, 0.2], [0, 1], **TINY)
    lines = []
    m_ray = run_sweep(tasks + [FailTask(name="boom")], tmp_path / "ray", engine="ray", workers=2, retries=1,
                      progress=lines.append)
    assert not ray.is_initialized()  # the cluster it started is shut down again
    m_loc = run_sweep(tasks, tmp_path / "local", engine="local", workers=2, progress=False)
    assert m_loc.counts()["done"] == 4
    rec = {r.key: r for r in m_ray.records}
    assert rec["fail_boom"].status == "failed" and rec["fail_boom"].attempts == 2
    assert "failed on purpose" in rec["fail_boom"].error
    assert json.loads((tmp_path / "ray" / "manifest.json").read_text())["engine"] == "ray"
    for t in tasks:
        a, b = tmp_path / "ray" / "tasks" / t.key, tmp_path / "local" / "tasks" / t.key
        ra, rb = read_result(a), read_result(b)
        for r in (ra, rb):
            r.pop("seconds"), r.pop("train_seconds")
        assert ra == rb  # losses and every reentry metric, exactly
        assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert sum("] done " in ln for ln in lines) == 4


# ---- failure paths of --engine ray (issue 24) ----

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from fhrn_ode.sweep import load_manifest  # noqa: E402


def _ray_pids() -> set[int]:
    """Ray processes on this machine (any owner's: compared before/after)."""
    import psutil

    out = set()
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        text = " ".join([p.info["name"] or ""] + (p.info["cmdline"] or [])[:3])
        if any(k in text for k in ("ray::", "raylet", "gcs_server", "dashboard_agent", "runtime_env_agent",
                                   "ray/_private", "default_worker")):
            out.add(p.info["pid"])
    return out


def _ours(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("fhrn-ode")]


def test_address_where_nothing_listens_fails_fast_with_one_line(tmp_path):
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "fhrn_ode", "sweep", "--task", "ode", "--gamma", "1", "--engine", "ray",
                        "--address", "127.0.0.1:1", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=60)
    assert time.monotonic() - t0 < 30
    assert p.returncode == 2 and "Traceback" not in p.stderr
    (line,) = p.stderr.strip().splitlines()
    assert line.startswith("fhrn-ode sweep: error: `--address` '127.0.0.1:1': cannot connect to a Ray cluster there")
    assert "RAY_AUTH_MODE=token" in line and "--node-ip-address" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted (SIGINT)"),
                                             (signal.SIGTERM, 143, "terminated (SIGTERM)")])
@pytest.mark.parametrize("when", ["startup", "midrun"])
def test_interrupt_keeps_the_contract(tmp_path, sig, code, word, when):
    before = _ray_pids()
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "fhrn_ode", "sweep", "--gamma", "0,0.1,0.2,0.3", "--preset",
                             "tiny", "--steps", "30", "--engine", "ray", "--workers", "1", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    if when == "startup":  # the manifest is written, the cluster is starting
        while time.monotonic() < deadline and not (out / "manifest.json").exists():
            time.sleep(0.05)
        time.sleep(1.0)
    else:  # a task has finished
        while time.monotonic() < deadline and not list(out.glob("tasks/*/result.json")):
            time.sleep(0.1)
    assert proc.poll() is None
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-3000:]
    assert "Traceback" not in err and "Fatal" not in err
    assert len(_ours(err)) == 1 and _ours(err)[0].startswith(f"fhrn-ode sweep: {word}; "), err[-3000:]
    assert "pending (kept in" in _ours(err)[0]
    m = load_manifest(out)
    assert {r.status for r in m.records} <= {"done", "pending"}
    time.sleep(10)
    assert not (_ray_pids() - before), "Ray processes of ours still alive 10 s later"


@pytest.mark.slow
def test_connect_to_a_cluster_started_with_ray_start_on_loopback(tmp_path):
    """`ray start --head --node-ip-address 127.0.0.1`; without RAY_AUTH_MODE=token the refusal says what to set."""
    import tempfile

    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    short = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's unix sockets need a short path
    env = dict(os.environ, RAY_TMPDIR=short)
    port = "6393"
    p = subprocess.run([ray_bin, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", port, "--num-cpus",
                        "1", "--include-dashboard", "false", "--disable-usage-stats"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    try:
        argv = [sys.executable, "-m", "fhrn_ode", "sweep", "--task", "ode", "--gamma", "1,2", "--engine", "ray",
                "--address", f"127.0.0.1:{port}", "--quiet"]
        plain = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
        p = subprocess.run(argv + ["--out", str(tmp_path / "a")], env=plain, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        (line,) = _ours(p.stderr)
        assert f"`--address` '127.0.0.1:{port}': Ray could not connect" in line and "RAY_AUTH_MODE=token" in line
        p = subprocess.run(argv + ["--out", str(tmp_path / "b")], env=dict(plain, RAY_AUTH_MODE="token"),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        assert "2 done, 0 failed, 0 pending" in p.stdout
        assert load_manifest(tmp_path / "b").engine == "ray"
    finally:
        subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True, timeout=120)
        import shutil

        shutil.rmtree(short, ignore_errors=True)
