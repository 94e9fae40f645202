"""`train(resume=True)` trusts nothing in its state files; a diverging run never reports success."""

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file, save_file

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.discrete.data import load_corpus
from fhrn_ode.discrete.model import GPTConfig
from fhrn_ode.discrete.training import TrainOptions, run_progress, train

CFG = GPTConfig(d=16, n_layer=1, n_head=2, context=16, rank=2, gamma=0.2)
OPT = TrainOptions(steps=12, batch_size=4, lr=3e-3, warmup=2, eval_every=4, eval_batches=2, n_bytes=5000)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(n_bytes=5000)


@pytest.fixture
def cut(tmp_path, corpus):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    train(CFG, OPT, tmp_path / "cut", progress=False, corpus=corpus, stop_after=5)
    yield tmp_path / "cut"
    torch.set_num_threads(n)


def _edit_json(folder, fn):
    p = folder / "train_state.json"
    meta = json.loads(p.read_text())
    fn(meta)
    p.write_text(json.dumps(meta))


def _edit_tensors(folder, fn, name="train_state.safetensors"):
    t = load_file(folder / name)
    fn(t)
    save_file(t, folder / name)


def _set(key, value):
    return lambda m: m.__setitem__(key, value)



CASES = [
    ("negative step", lambda d: _edit_json(d, _set("step", -1)), r"`step` must be an integer in \[0, 12\], got -1"),
    ("huge step", lambda d: _edit_json(d, _set("step", 10 ** 30)), r"`step` must be an integer in \[0, 12\]"),
    ("float step", lambda d: _edit_json(d, _set("step", 5.0)), r"`step` must be an integer"),
    ("step disagrees", lambda d: _edit_json(d, _set("step", 6)), r"disagree on the step"),
    ("history entry", lambda d: _edit_json(d, _set("history", [{"step": "x"}])), r"`history\[0\]` must be an object"),
    ("history step", lambda d: _edit_json(d, _set("history", [{"step": 9, "train_loss": 1.0, "val_loss": 1.0}])),
     r"`history\[0\].step` must be an integer in \(0, 5\]"),
    ("history nan", lambda d: _edit_json(d, _set("history", [{"step": 4, "train_loss": float("nan"), "val_loss": 1.0}])),
     r"`history\[0\].train_loss` must be a finite number"),
    ("history type", lambda d: _edit_json(d, _set("history", {"a": 1})), r"`history` must be a list"),
    ("rng", lambda d: _edit_json(d, _set("data_rng", [1, 2, 3])), r"`data_rng` must be a list of \d+ bytes"),
    ("rng values", lambda d: _edit_json(d, lambda m: m["noise_rng"].__setitem__(0, 999)), r"`noise_rng` must be"),
    ("options", lambda d: _edit_json(d, lambda m: m["options"].__setitem__("lr", 0.5)), r"lr: stored 0.5, given 0.003"),
    ("missing key", lambda d: _edit_json(d, lambda m: m.pop("history")), r"lacks history"),
    ("not an object", lambda d: (d / "train_state.json").write_text("[1, 2]"), r"must hold a JSON object"),
    ("deep nesting", lambda d: (d / "train_state.json").write_text("[" * 100000 + "]" * 100000), r"nested too deeply"),
    ("nan moment", lambda d: _edit_tensors(d, lambda t: t["0.exp_avg"].fill_(float("nan"))), r"`0.exp_avg` has non-finite"),
    ("negative second moment", lambda d: _edit_tensors(d, lambda t: t["1.exp_avg_sq"].fill_(-1.0)),
     r"`1.exp_avg_sq` has negative values"),
    ("moment shape", lambda d: _edit_tensors(d, lambda t: t.__setitem__("0.exp_avg", torch.zeros(3))),
     r"`0.exp_avg` has shape \(3,\)"),
    ("extra moment", lambda d: _edit_tensors(d, lambda t: t.__setitem__("999.exp_avg", torch.zeros(1))),
     r"unexpected entry '999.exp_avg'"),
    ("odd moment", lambda d: _edit_tensors(d, lambda t: t.__setitem__("0.momentum", torch.zeros(1))),
     r"unexpected entry '0.momentum'"),
    ("missing moment", lambda d: _edit_tensors(d, lambda t: t.pop("2.exp_avg_sq")), r"parameter 2 has moments"),
    ("moment step", lambda d: _edit_tensors(d, lambda t: t.__setitem__("0.step", torch.tensor(99.0))),
     r"`0.step` must be the scalar 5"),
    ("nan weight", lambda d: _edit_tensors(d, lambda t: next(v for k, v in t.items() if k.endswith("W_r")).fill_(
        float("inf")), name="model.safetensors"), r"non-finite"),
]


@pytest.mark.parametrize("what,corrupt,match", CASES, ids=[c[0] for c in CASES])
def test_corrupt_state_is_refused(cut, corpus, what, corrupt, match):
    corrupt(cut)
    with pytest.raises(FHRNInputError, match=match):
        train(CFG, OPT, cut, progress=False, corpus=corpus, resume=True)


def test_untouched_state_resumes(cut, corpus):
    res = train(CFG, OPT, cut, progress=False, corpus=corpus, resume=True)
    assert res.step == 12 and run_progress(cut)["finished"] is True


def test_diverging_run_never_reports_success(tmp_path, corpus):
    opt = replace(OPT, lr=1e6, grad_clip=1e6, warmup=0, eval_every=100, steps=200)
    with pytest.raises(FHRNInputError, match=r"diverged: the loss at step \d+ is (nan|inf)"):
        train(CFG, opt, tmp_path / "bad", progress=False, corpus=corpus, checkpoint_seconds=1e9)
    assert not (tmp_path / "bad" / "metrics.json").exists()
