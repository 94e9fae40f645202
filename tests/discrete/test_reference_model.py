"""The bundled reference model: its metrics.json records how to rebuild it, and (slow) a rebuild matches it."""

import json
import shlex

import pytest
import torch

from fhrn_ode.cli import build_parser
from fhrn_ode.discrete.checkpoint import load_checkpoint, load_state_file, reference_model_path
from fhrn_ode.discrete.training import preset, run_progress, train

REF = reference_model_path()


def _metrics():
    return json.loads((REF / "metrics.json").read_text())


def test_metrics_record_the_build():
    m = _metrics()
    assert m["finished"] is True and m["step"] == m["steps_total"] == m["options"]["steps"] == 600
    assert m["corpus_seed"] == m["options"]["corpus_seed"] == 0 and m["data"].startswith("synthetic(seed=0")
    run = m["run"]
    assert run["preset"] == "tiny" and run["threads"] == 1 and run["data"] is None and run["version"]
    argv = shlex.split(run["command"])
    assert argv[:2] == ["fhrn-ode", "train"]
    args = build_parser().parse_args(argv[1:])
    cfg, opt = preset(args.preset, gamma=args.gamma, seed=args.seed)
    assert cfg.to_dict() == m["config"] == json.loads((REF / "config.json").read_text())
    assert {**opt.__dict__} == m["options"]
    assert run_progress(REF) == {"finished": True, "step": 600, "steps": 600}
    assert m["history"][-1]["val_loss"] == m["val_loss"] < m["unigram_nats"]


@pytest.mark.slow
def test_rebuild_matches_the_bundled_model(tmp_path):
    """README's command, in-process with one thread (what `--threads 1`, the default, does): ~1-8 min."""
    m = _metrics()
    args = build_parser().parse_args(shlex.split(m["run"]["command"])[1:])
    cfg, opt = preset(args.preset, gamma=args.gamma, seed=args.seed)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = train(cfg, opt, tmp_path / "ref", progress=False)
    finally:
        torch.set_num_threads(n)
    assert abs(res.val_loss - m["val_loss"]) < 1e-6
    a = load_state_file(tmp_path / "ref" / "model.safetensors")
    b = load_state_file(REF / "model.safetensors")
    assert set(a) == set(b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6, msg=k)
    load_checkpoint(tmp_path / "ref")
