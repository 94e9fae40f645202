"""Checkpoints: ``model.safetensors`` + ``config.json`` (+ ``metrics.json``), written atomically.

Loading never executes code from a file: weights are read with safetensors, the rest is JSON, and
the config is validated key by key (:meth:`GPTConfig.from_dict`). A corrupt or foreign file (e.g.
a pickle posing as ``model.safetensors``) is refused with one :class:`FHRNInputError` line.

Loading checks, in this order, before anything of the model's size is allocated
(docs/failure-modes.md, "Hostile files"):

1. ``config.json`` through the guarded JSON reader (:func:`fhrn_ode._io.read_json`), its keys and
   types (:meth:`GPTConfig.from_dict`) and bounds on the sizes (:data:`CONFIG_BOUNDS`);
2. the safetensors *header* of ``model.safetensors`` against the config: tensor names, shapes,
   dtypes, and the file's byte size (a file larger than its tensors is refused);
3. the tensors themselves, memory-mapped, refused if any entry is NaN or infinite.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import torch

from .._errors import FHRNInputError
from .._io import atomic_write_bytes, atomic_write_json, file_kind
from .._io import read_json as _guarded_read_json
from .model import GPTConfig, TinyGPT

__all__ = ["save_checkpoint", "load_checkpoint", "load_state_file", "reference_model_path", "read_config",
           "expected_tensors", "WEIGHTS_NAME", "CONFIG_NAME", "METRICS_NAME", "CONFIG_BOUNDS"]

#: Largest accepted value of each size field of a checkpoint's config (far above every preset).
CONFIG_BOUNDS = {"d": 8192, "n_layer": 256, "n_head": 1024, "context": 65536, "rank": 8192,
                 "eval_noise_seed": 2 ** 63 - 1, "seed": 2 ** 63 - 1}
#: Largest safetensors header accepted (bytes).
_MAX_HEADER = 64 * 2 ** 20

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


def _header(p: Path, what: str) -> tuple[dict, int]:
    """The safetensors header of ``p`` (name -> {dtype, shape, data_offsets}) and the file size; data unread."""
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise ValueError("shorter than a safetensors header")
            (n,) = struct.unpack("<Q", raw)
            if n > _MAX_HEADER or n + 8 > size:
                raise ValueError("header length out of range")
            import json

            header = json.loads(fh.read(n).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        header.pop("__metadata__", None)
        for k, v in header.items():
            if not (isinstance(v, dict) and isinstance(v.get("shape"), list) and isinstance(v.get("dtype"), str)
                    and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2 ** 40 for x in v["shape"])):
                raise ValueError(f"bad entry {k!r}")
    except FHRNInputError:
        raise
    except Exception as exc:
        raise FHRNInputError(f"{what} file {str(p)!r} is not a valid safetensors file "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    return header, size


_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def load_state_file(path: str | os.PathLike, what: str = "weights", *, finite: bool = True) -> dict[str, torch.Tensor]:
    """Read a safetensors file into tensors (memory-mapped); anything else is refused (FHRNInputError).

    Args:
        path: the file.
        what: what it is, for the message.
        finite: refuse a floating-point tensor with a NaN or infinite entry.
    """
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise FHRNInputError(f"{what} file {str(p)!r} {file_kind(p)}")
    header, size = _header(p, what)
    from .._limits import format_bytes, memory_limit

    need = sum(_numel(v["shape"]) * _DTYPE_BYTES.get(v["dtype"], 8) for v in header.values())
    if need > memory_limit():
        raise FHRNInputError(f"{what} file {str(p)!r} holds {format_bytes(need)} of tensors (limit "
                             f"{format_bytes(memory_limit())}, FHRN_ODE_MAX_MEMORY)")
    try:
        tensors = load_file(str(p))
    except Exception as exc:  # not safetensors (e.g. a pickle): refused, never unpickled
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FHRNInputError(f"{what} file {str(p)!r} is not a valid safetensors file ({msg})") from None
    if finite:
        for k, t in tensors.items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                bad = int((~torch.isfinite(t)).sum())
                raise FHRNInputError(f"{what} file {str(p)!r}: tensor {k!r} has {bad} NaN/inf entries; refused")
    return tensors


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file with the guarded reader (:func:`fhrn_ode._io.read_json`)."""
    return _guarded_read_json(path, what)


def _folder_and_weights(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    folder = p.parent if p.is_file() else p
    if not folder.is_dir():
        raise FHRNInputError(f"checkpoint {str(p)!r} is not a folder or a file inside one")
    return folder, (p if p.is_file() else folder / WEIGHTS_NAME)


def read_config(path: str | os.PathLike) -> GPTConfig:
    """The validated, bounded :class:`GPTConfig` of a checkpoint folder (or its weights file); nothing built.

    Raises:
        FHRNInputError: missing/invalid ``config.json``, bad keys or types, a size beyond :data:`CONFIG_BOUNDS`.
    """
    folder, _ = _folder_and_weights(path)
    obj = read_json(folder / CONFIG_NAME, "config")
    if isinstance(obj, dict):
        for key, high in CONFIG_BOUNDS.items():
            v = obj.get(key)
            if isinstance(v, int) and not isinstance(v, bool) and v > high:
                raise FHRNInputError(f"config key `{key}` is {v}; at most {high} is accepted")
    cfg = GPTConfig.from_dict(obj)
    if cfg.rank > cfg.d:
        raise FHRNInputError(f"config key `rank` is {cfg.rank}; it must be <= d = {cfg.d}")
    return cfg


def expected_tensors(cfg: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor ``model.safetensors`` holds for ``cfg`` (built on the meta device: no memory)."""
    from dataclasses import replace

    with torch.device("meta"):
        one = TinyGPT(replace(cfg, n_layer=1))
    shapes = {k: tuple(v.shape) for k, v in one.state_dict().items() if k != "wte.weight"}
    out: dict[str, tuple[int, ...]] = {}
    for k, shape in shapes.items():
        if k.startswith("blocks.0."):
            for i in range(cfg.n_layer):
                out[f"blocks.{i}." + k[len("blocks.0."):]] = shape
        else:
            out[k] = shape
    return out


def _check_weights_header(weights: Path, cfg: GPTConfig) -> None:
    header, size = _header(weights, "weights")
    expected = expected_tensors(cfg)
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    if missing or extra:
        raise FHRNInputError(f"weights {str(weights)!r} do not match the config: missing {missing[:5]}, "
                             f"unexpected {extra[:5]}")
    total = 0
    for k, shape in expected.items():
        h = header[k]
        if tuple(h["shape"]) != shape or h["dtype"] not in ("F64", "F32", "F16", "BF16"):
            raise FHRNInputError(f"weights {str(weights)!r}: tensor {k!r} has shape {tuple(h['shape'])} "
                                 f"{h['dtype']}, expected {shape} (floating point)")
        total += _numel(shape) * _DTYPE_BYTES[h["dtype"]]
    with open(weights, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
    if size != 8 + n + total:
        raise FHRNInputError(f"weights {str(weights)!r} are {size} bytes, but the tensors of the config take "
                             f"{8 + n + total}; refused (truncated, padded or foreign file)")


def load_checkpoint(path: str | os.PathLike) -> tuple[TinyGPT, GPTConfig]:
    """Load ``(model, config)`` from a checkpoint folder (or its ``model.safetensors``); model in eval mode.

    Every check of the module docstring runs before the model is built.

    Raises:
        FHRNInputError: missing files, bad config keys/types/sizes, non-safetensors weights, missing,
            mis-shaped or non-finite tensors, a weight file whose size does not match its tensors.
    """
    folder, weights = _folder_and_weights(path)
    cfg = read_config(folder)
    if not weights.is_file():
        raise FHRNInputError(f"weights file {str(weights)!r} {file_kind(weights)}")
    _check_weights_header(weights, cfg)
    tensors = load_state_file(weights)
    model = TinyGPT(cfg)
    tensors["wte.weight"] = tensors["lm_head.weight"]
    model.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()}, strict=True)
    model.eval()
    return model, cfg
