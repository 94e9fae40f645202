"""The resume state of a training run (``train_state.safetensors`` + ``train_state.json``), validated field by field.

Nothing in a state file is trusted: the step must lie in ``[0, steps]`` and agree between the two
files; the optimizer moments must be exactly the AdamW keys of the model's parameters (``i.step``,
``i.exp_avg``, ``i.exp_avg_sq`` for parameter ``i``), with the parameter's shape, a floating dtype,
finite values (and ``exp_avg_sq >= 0``); the RNG states must be byte lists of the length
``torch.Generator`` uses; the history must be a list of ``{"step", "train_loss", "val_loss"}`` with
increasing steps in ``[1, step]`` and finite losses; the model's weights must be finite. Any
violation is one :class:`FHRNInputError` naming the file, the field and what is wrong.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from .._errors import FHRNInputError
from .checkpoint import METRICS_NAME, read_json

__all__ = ["STATE_WEIGHTS", "STATE_JSON", "TrainingInterrupted", "deferred_signals", "run_progress", "check_history", "check_moments", "check_rng", "check_finite_model",
           "check_state_meta", "describe_diff"]

STATE_WEIGHTS = "train_state.safetensors"
STATE_JSON = "train_state.json"
_RNG_LEN = len(torch.Generator().get_state())
_MOMENTS = ("step", "exp_avg", "exp_avg_sq")


def _bad(out: Path, what: str) -> FHRNInputError:
    return FHRNInputError(f"cannot resume {str(out)!r}: {what}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _finite_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(float(v))


def describe_diff(stored: dict, given: dict) -> str:
    """``"gamma: stored 0.1, given 0.2; steps: ..."`` for the keys whose values differ."""
    keys = [k for k in given if k in stored and stored[k] != given[k]]
    keys += [k for k in stored if k not in given] + [k for k in given if k not in stored]
    return "; ".join(f"{k}: stored {stored.get(k, '(none)')!r}, given {given.get(k, '(none)')!r}" for k in keys)


def check_state_meta(out: Path, meta: Any, opt) -> int:
    """Validate ``train_state.json`` against the options ``opt``; returns the step."""
    if not isinstance(meta, dict):
        raise _bad(out, f"{STATE_JSON} must hold a JSON object, got {type(meta).__name__}")
    missing = sorted({"step", "options", "history", "data_rng", "noise_rng"} - set(meta))
    if missing:
        raise _bad(out, f"{STATE_JSON} lacks {', '.join(missing)}")
    stored = meta["options"]
    if not isinstance(stored, dict):
        raise _bad(out, f"{STATE_JSON} `options` must be an object")
    stored = dict(stored)
    stored.setdefault("corpus_seed", 0)  # written before the corpus seed was recorded: it was 0
    given = asdict(opt)
    diff = describe_diff(stored, given)
    if diff:
        raise _bad(out, f"the stored training options differ from the requested ones ({diff})")
    step = meta["step"]
    if not _is_int(step) or not 0 <= step <= opt.steps:
        raise _bad(out, f"{STATE_JSON} `step` must be an integer in [0, {opt.steps}], got {step!r}")
    check_rng(out, meta["data_rng"], "data_rng")
    check_rng(out, meta["noise_rng"], "noise_rng")
    check_history(out, meta["history"], step)
    return step


def check_rng(out: Path, state: Any, name: str) -> torch.Tensor:
    """A ``torch.Generator`` state: a list of ``_RNG_LEN`` integers in [0, 255]."""
    if (not isinstance(state, list) or len(state) != _RNG_LEN
            or not all(_is_int(v) and 0 <= v <= 255 for v in state)):
        raise _bad(out, f"{STATE_JSON} `{name}` must be a list of {_RNG_LEN} bytes (a torch.Generator state)")
    return torch.tensor(state, dtype=torch.uint8)


def check_history(out: Path, history: Any, step: int) -> list:
    """Entries ``{"step", "train_loss", "val_loss"}``, steps increasing in [1, step], losses finite."""
    if not isinstance(history, list) or len(history) > step:
        raise _bad(out, f"{STATE_JSON} `history` must be a list of at most {step} evaluations")
    last = 0
    for i, h in enumerate(history):
        if not isinstance(h, dict) or set(h) != {"step", "train_loss", "val_loss"}:
            raise _bad(out, f"{STATE_JSON} `history[{i}]` must be an object with keys step, train_loss, val_loss")
        if not _is_int(h["step"]) or not last < h["step"] <= step:
            raise _bad(out, f"{STATE_JSON} `history[{i}].step` must be an integer in ({last}, {step}], got {h['step']!r}")
        for k in ("train_loss", "val_loss"):
            if not _finite_number(h[k]):
                raise _bad(out, f"{STATE_JSON} `history[{i}].{k}` must be a finite number, got {h[k]!r}")
        last = h["step"]
    return [dict(h) for h in history]


def check_moments(out: Path, tensors: dict, params: list, step: int) -> dict:
    """AdamW state ``{param index: {"step", "exp_avg", "exp_avg_sq"}}`` from the safetensors entries."""
    if step == 0:
        if tensors:
            raise _bad(out, f"{STATE_WEIGHTS} holds optimizer moments {sorted(tensors)[:3]} at step 0")
        return {}
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        idx, _, name = key.partition(".")
        if not idx.isdigit() or int(idx) >= len(params) or name not in _MOMENTS:
            raise _bad(out, f"{STATE_WEIGHTS} has an unexpected entry {key!r} (expected i.step, i.exp_avg, "
                            f"i.exp_avg_sq for parameters i in [0, {len(params) - 1}])")
        state.setdefault(int(idx), {})[name] = v
    for i, st in sorted(state.items()):
        if set(st) != set(_MOMENTS):
            raise _bad(out, f"{STATE_WEIGHTS}: parameter {i} has moments {sorted(st)}, expected {list(_MOMENTS)}")
        shape = tuple(params[i].shape)
        for name in ("exp_avg", "exp_avg_sq"):
            t = st[name]
            if tuple(t.shape) != shape or not t.is_floating_point():
                raise _bad(out, f"{STATE_WEIGHTS}: `{i}.{name}` has shape {tuple(t.shape)} {t.dtype}, expected "
                                f"{shape} float")
            if not bool(torch.isfinite(t).all()):
                raise _bad(out, f"{STATE_WEIGHTS}: `{i}.{name}` has non-finite values")
        if bool((st["exp_avg_sq"] < 0).any()):
            raise _bad(out, f"{STATE_WEIGHTS}: `{i}.exp_avg_sq` has negative values")
        s = st["step"]
        if s.numel() != 1 or not s.is_floating_point() or float(s) != float(step):
            raise _bad(out, f"{STATE_WEIGHTS}: `{i}.step` must be the scalar {step}, got "
                            f"{s.tolist() if s.numel() < 4 else tuple(s.shape)}")
        st["step"] = s.reshape(()).to(torch.float32)
        st["exp_avg"] = st["exp_avg"].to(params[i].dtype)
        st["exp_avg_sq"] = st["exp_avg_sq"].to(params[i].dtype)
    return state


def check_finite_model(model, where: str) -> None:
    """Refuse a model with a NaN/inf weight (``where`` names the folder)."""
    for n, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise FHRNInputError(f"{where}: weight {n!r} has non-finite values")


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM during :func:`train`: the state of ``step`` was saved in ``out_dir`` before raising."""

    def __init__(self, out_dir: str, step: int, steps: int, signum: int) -> None:
        self.out_dir, self.step, self.steps, self.signum = out_dir, step, steps, signum
        name = signal.Signals(signum).name
        super().__init__(f"{name} at step {step} of {steps}; saved a checkpoint of step {step} in {out_dir!r} "
                         f"(continue with: fhrn-ode train --resume --out {out_dir})")

    @property
    def exit_code(self) -> int:
        """128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + int(self.signum)


@contextlib.contextmanager
def deferred_signals():
    """SIGINT/SIGTERM set a flag (read between steps) instead of stopping mid-step; a second one stops at once."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum, frame):  # noqa: ARG001 - signal API
        if got:
            raise KeyboardInterrupt
        got.append(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_progress(folder: str | os.PathLike) -> dict:
    """Whether the run in ``folder`` is finished: ``{"finished", "step", "steps"}`` from its metrics/state.

    ``finished`` is None when the folder records neither (a checkpoint written by other means).
    """
    folder = Path(folder)
    folder = folder.parent if folder.is_file() else folder
    for name in (METRICS_NAME, STATE_JSON):
        p = folder / name
        if not p.is_file():
            continue
        try:
            m = read_json(p, name)
        except (FHRNInputError, RecursionError):
            continue
        if not isinstance(m, dict):
            continue
        step = m.get("step")
        steps = m.get("steps_total", (m.get("options") or {}).get("steps") if isinstance(m.get("options"), dict) else None)
        if isinstance(m.get("finished"), bool):
            return {"finished": m["finished"], "step": step, "steps": steps}
        if isinstance(step, int) and isinstance(steps, int):
            return {"finished": step >= steps, "step": step, "steps": steps}
    return {"finished": None, "step": None, "steps": None}
