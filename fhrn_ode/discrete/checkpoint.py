"""Checkpoints: ``model.safetensors`` + ``config.json`` (+ ``metrics.json``), written atomically.

Loading never executes code from a file: weights are read with safetensors, the rest is JSON, and
the config is validated key by key (:meth:`GPTConfig.from_dict`). A corrupt or foreign file (e.g.
a pickle posing as ``model.safetensors``) is refused with one :class:`FHRNInputError` line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .._errors import FHRNInputError
from .._io import atomic_write_bytes, atomic_write_json
from .model import GPTConfig, TinyGPT

__all__ = ["save_checkpoint", "load_checkpoint", "load_state_file", "reference_model_path",
           "WEIGHTS_NAME", "CONFIG_NAME", "METRICS_NAME"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.json"


def reference_model_path() -> Path:
    """The bundled reference model folder ``fhrn_ode/data/reference_model/`` (see the README, "The bundled reference model")."""
    return Path(__file__).resolve().parent.parent / "data" / "reference_model"


def _state_for_save(model: TinyGPT) -> dict[str, torch.Tensor]:
    sd = model.state_dict()
    sd.pop("wte.weight", None)  # tied to lm_head.weight; safetensors refuses shared storage
    return {k: v.detach().contiguous().cpu() for k, v in sd.items()}


def save_checkpoint(model: TinyGPT, out_dir: str | os.PathLike, *, metrics: dict | None = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` (+ ``metrics.json``) into ``out_dir`` atomically."""
    from safetensors.torch import save

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / WEIGHTS_NAME, save(_state_for_save(model), metadata={"format": "pt"}))
    atomic_write_json(out / CONFIG_NAME, model.cfg.to_dict())
    if metrics is not None:
        atomic_write_json(out / METRICS_NAME, metrics)
    return out


def load_state_file(path: str | os.PathLike, what: str = "weights") -> dict[str, torch.Tensor]:
    """Read a safetensors file into tensors; anything else is refused (FHRNInputError)."""
    from safetensors.torch import load

    p = Path(path)
    if not p.is_file():
        raise FHRNInputError(f"{what} file {str(p)!r} does not exist")
    data = p.read_bytes()
    try:
        return load(data)
    except Exception as exc:  # not safetensors (e.g. a pickle): refused, never unpickled
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FHRNInputError(f"{what} file {str(p)!r} is not a valid safetensors file ({msg})") from None


def read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise FHRNInputError(f"{what} file {str(path)!r} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FHRNInputError(f"{what} file {str(path)!r} is not valid JSON ({exc})") from None


def load_checkpoint(path: str | os.PathLike) -> tuple[TinyGPT, GPTConfig]:
    """Load ``(model, config)`` from a checkpoint folder (or its ``model.safetensors``); model in eval mode.

    Raises:
        FHRNInputError: missing files, bad config keys/types, non-safetensors weights, missing or
            mis-shaped tensors.
    """
    p = Path(path)
    folder = p.parent if p.is_file() else p
    if not folder.is_dir():
        raise FHRNInputError(f"checkpoint {str(p)!r} is not a folder or a file inside one")
    weights = p if p.is_file() else folder / WEIGHTS_NAME
    cfg = GPTConfig.from_dict(read_json(folder / CONFIG_NAME, "config"))
    tensors = load_state_file(weights)
    model = TinyGPT(cfg)
    expected = _state_for_save(model)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise FHRNInputError(f"weights {str(weights)!r} do not match the config: missing {missing[:5]}, "
                             f"unexpected {extra[:5]}")
    for k, v in expected.items():
        if tensors[k].shape != v.shape or not tensors[k].is_floating_point():
            raise FHRNInputError(f"weights {str(weights)!r}: tensor {k!r} has shape {tuple(tensors[k].shape)} "
                                 f"{tensors[k].dtype}, expected {tuple(v.shape)}")
    tensors["wte.weight"] = tensors["lm_head.weight"]
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()}, strict=True)
    model.eval()
    return model, cfg
