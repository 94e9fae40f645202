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
