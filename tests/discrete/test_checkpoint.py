"""Checkpoints are safetensors + JSON; a pickle posing as weights is refused without running it."""

import json
import pickle

import pytest
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.discrete.checkpoint import load_checkpoint, reference_model_path, save_checkpoint
from fhrn_ode.discrete.model import GPTConfig, TinyGPT

SMALL = dict(d=16, n_layer=1, n_head=2, context=8, rank=2)


def test_roundtrip(tmp_path):
    m = TinyGPT(GPTConfig(gamma=0.2, **SMALL)).eval()
    save_checkpoint(m, tmp_path, metrics={"val_loss": 1.0})
    m2, cfg = load_checkpoint(tmp_path)
    assert cfg == m.cfg and json.loads((tmp_path / "metrics.json").read_text())["val_loss"] == 1.0
    idx = torch.randint(0, 256, (2, 8))
    assert torch.equal(m(idx)[0], m2(idx)[0])
    assert load_checkpoint(tmp_path / "model.safetensors")[1] == cfg


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_posing_as_checkpoint_is_refused_without_running(tmp_path):
    m = TinyGPT(GPTConfig(**SMALL))
    save_checkpoint(m, tmp_path)
    marker = tmp_path / "PWNED"
    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(FHRNInputError, match="not a valid safetensors"):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_bad_config_and_missing(tmp_path):
    with pytest.raises(FHRNInputError, match="not a folder"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(TinyGPT(GPTConfig(**SMALL)), tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["d"] = 32
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FHRNInputError, match="do not match|expected"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(FHRNInputError, match="not valid JSON"):
        load_checkpoint(tmp_path)


def test_reference_model_path():
    p = reference_model_path()
    assert p.name == "reference_model" and p.parent.name == "data"
    if (p / "model.safetensors").exists():
        model, cfg = load_checkpoint(p)
        assert (p / "model.safetensors").stat().st_size <= 3 * 1024 * 1024
        assert model(torch.zeros(1, 4, dtype=torch.long))[0].shape == (1, 4, 256)


def test_foreign_safetensors_refused(tmp_path):
    from safetensors.torch import save_file

    save_checkpoint(TinyGPT(GPTConfig(**SMALL)), tmp_path)
    save_file({"x": torch.zeros(3)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(FHRNInputError, match="do not match the config"):
        load_checkpoint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(FHRNInputError, match="not a valid safetensors"):
        load_checkpoint(tmp_path)


def test_cli_refuses_pickle_checkpoint_with_one_line(tmp_path, capsys):
    from fhrn_ode.cli import main

    save_checkpoint(TinyGPT(GPTConfig(**SMALL)), tmp_path)
    marker = tmp_path / "PWNED"
    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(_Payload(str(marker))))
    rc = main(["metrics", str(tmp_path), "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "safetensors" in err and not marker.exists()
