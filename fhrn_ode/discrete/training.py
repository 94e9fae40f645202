"""Training Tiny-GPT + FH-RL on bytes: AdamW, warmup + cosine LR, clipping, validation, exact resume.

A run folder holds ``model.safetensors`` + ``config.json`` + ``metrics.json`` (the model, loadable
with :func:`load_checkpoint`) and ``train_state.safetensors`` (optimizer moments) +
``train_state.json`` (step, RNG states of the data sampler and of the FH-RL noise, the training
options, the loss history). ``resume=True`` continues from it with nothing lost: an interrupted and
resumed run gives the same weights as an uninterrupted one (tested).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .._errors import FHRNInputError, check_int, check_real
from .._io import atomic_write_bytes, atomic_write_json
from .._progress import Progress
from ._train_state import (STATE_JSON, STATE_WEIGHTS, TrainingInterrupted, check_finite_model, check_history,
                           check_moments, check_rng, check_state_meta, deferred_signals, describe_diff, run_progress)
from .checkpoint import CONFIG_NAME, load_checkpoint, load_state_file, read_json, save_checkpoint
from .data import Corpus, load_corpus, sample_batch, unigram_baseline, val_batches
from .model import GPTConfig, TinyGPT

__all__ = ["TrainOptions", "PRESETS", "SWEEP_GAMMAS", "TrainingInterrupted", "preset", "run_progress", "stored_run",
           "sweep", "train", "TrainResult"]

#: The reentry gains of the discrete paper's sweep (``fhrn-ode train --sweep`` without ``--gammas``).
SWEEP_GAMMAS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30)


@dataclass(frozen=True)
class TrainOptions:
    """Optimisation settings (everything but the architecture)."""

    steps: int = 1000  # optimizer steps in total
    batch_size: int = 16  # sequences per step
    lr: float = 3e-3  # peak learning rate (after warmup)
    min_lr_frac: float = 0.1  # cosine decays to lr * min_lr_frac
    warmup: int = 50  # linear warmup steps
    weight_decay: float = 0.01  # AdamW weight decay (2-D weights only)
    grad_clip: float = 1.0  # global grad-norm clip
    eval_every: int = 200  # validate (and checkpoint) every this many steps, and at the end
    eval_batches: int = 8  # validation batches (fixed windows)
    seed: int = 0  # batch-sampling seed (the model/noise seed is GPTConfig.seed; preset(seed=) sets both)
    corpus_seed: int = 0  # seed of the synthetic corpus (fixed, so different --seed runs see the same text)
    n_bytes: int = 300_000  # size of the synthetic corpus (ignored with a data file)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_batches"):
            check_int(name, getattr(self, name), low=1)
        check_int("warmup", self.warmup, low=0)
        check_int("seed", self.seed, low=0)
        check_int("corpus_seed", self.corpus_seed, low=0)
        check_int("n_bytes", self.n_bytes, low=1000)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_real("min_lr_frac", self.min_lr_frac, low=0.0, high=1.0)
        check_real("weight_decay", self.weight_decay, low=0.0)
        check_real("grad_clip", self.grad_clip, low=0.0, low_open=True)


#: name -> (architecture, options). Sizes and timings: the README, "fhrn-ode train".
PRESETS: dict[str, tuple[GPTConfig, TrainOptions]] = {
    "tiny": (GPTConfig(d=64, n_layer=2, n_head=2, context=64, rank=4),
             TrainOptions(steps=600, batch_size=16, lr=3e-3, warmup=30, eval_every=200)),
    "quick": (GPTConfig(d=96, n_layer=2, n_head=3, context=64, rank=4),
              TrainOptions(steps=500, batch_size=16, lr=3e-3, warmup=50, eval_every=250)),
    "paper": (GPTConfig(d=192, n_layer=3, n_head=3, context=128, rank=4),
              TrainOptions(steps=3000, batch_size=32, lr=1e-3, warmup=200, eval_every=500, n_bytes=1_000_000)),
}


def preset(name: str, **overrides: Any) -> tuple[GPTConfig, TrainOptions]:
    """``(GPTConfig, TrainOptions)`` of a preset with fields overridden (``gamma=``, ``steps=`` ...)."""
    if name not in PRESETS:
        raise FHRNInputError(f"`preset` must be one of {', '.join(map(repr, PRESETS))}; got {name!r}")
    cfg, opt = PRESETS[name]
    cfg_keys = set(asdict(cfg))
    c_over = {k: v for k, v in overrides.items() if k in cfg_keys and v is not None}
    o_over = {k: v for k, v in overrides.items() if k not in cfg_keys and v is not None}
    if overrides.get("seed") is not None:
        o_over["seed"] = overrides["seed"]  # the seed drives init, noise and batch sampling alike
    unknown = set(o_over) - set(asdict(opt))
    if unknown:
        raise FHRNInputError(f"unknown preset overrides {sorted(unknown)}")
    return replace(cfg, **c_over), replace(opt, **o_over)


def lr_at(step: int, opt: TrainOptions) -> float:
    """Linear warmup to ``lr``, then cosine down to ``lr * min_lr_frac`` at ``steps``."""
    if step < opt.warmup:
        return opt.lr * (step + 1) / opt.warmup
    frac = (step - opt.warmup) / max(1, opt.steps - opt.warmup)
    return opt.lr * (opt.min_lr_frac + (1 - opt.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def _make_optimizer(model: TinyGPT, opt: TrainOptions) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": opt.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=opt.lr, betas=(0.9, 0.95))


@torch.no_grad()
def evaluate(model: TinyGPT, batches: list) -> float:
    """Mean validation cross-entropy (nats/byte) in eval mode (seeded eval noise)."""
    was = model.training
    model.eval()
    losses = [float(model(x, y)[1]) for x, y in batches]
    model.train(was)
    return sum(losses) / len(losses)


@dataclass
class TrainResult:
    """Outcome of :func:`train` (also written to ``metrics.json``)."""

    out_dir: str
    step: int
    train_loss: float
    val_loss: float
    unigram_nats: float
    history: list
    seconds: float
    tokens_per_s: float
    n_params: int
    data: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _save_state(out: Path, model: TinyGPT, optim: torch.optim.AdamW, data_gen: torch.Generator, step: int,
                opt: TrainOptions, history: list, metrics: dict, run: dict) -> None:
    from safetensors.torch import save

    sd = optim.state_dict()
    tensors = {"step": torch.tensor([step], dtype=torch.int64)}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"{idx}.{k}"] = torch.as_tensor(v).detach().clone().contiguous()
    atomic_write_bytes(out / STATE_WEIGHTS, save(tensors))
    save_checkpoint(model, out, metrics=metrics)
    atomic_write_json(out / STATE_JSON, {
        "step": step, "options": asdict(opt), "history": history, "run": run,
        "data_rng": data_gen.get_state().tolist(), "noise_rng": model.generator.get_state().tolist(),
    })


def _read_state_json(out: Path):
    try:
        return read_json(out / STATE_JSON, "train state")
    except RecursionError:
        raise FHRNInputError(f"cannot resume {str(out)!r}: {STATE_JSON} is nested too deeply") from None


def _load_state(out: Path, opt: TrainOptions) -> tuple[TinyGPT, torch.optim.AdamW, torch.Generator, int, list]:
    """Model, optimizer, data RNG, step and history of ``out``, every field validated (:mod:`._train_state`)."""
    meta = _read_state_json(out)
    step = check_state_meta(out, meta, opt)
    model, _ = load_checkpoint(out)
    check_finite_model(model, f"cannot resume {str(out)!r}")
    model.train()
    optim = _make_optimizer(model, opt)
    tensors = load_state_file(out / STATE_WEIGHTS, "train state")
    st = tensors.pop("step", None)
    if st is None or st.dtype != torch.int64 or st.numel() != 1 or int(st.reshape(-1)[0]) != step:
        raise FHRNInputError(f"cannot resume {str(out)!r}: {STATE_WEIGHTS} and {STATE_JSON} disagree on the step")
    params = [p for g in optim.param_groups for p in g["params"]]
    state = check_moments(out, tensors, params, step)
    sd = optim.state_dict()
    sd["state"] = state
    optim.load_state_dict(sd)
    data_gen = torch.Generator()
    data_gen.set_state(check_rng(out, meta["data_rng"], "data_rng"))
    model.generator.set_state(check_rng(out, meta["noise_rng"], "noise_rng"))
    return model, optim, data_gen, step, check_history(out, meta["history"], step)


def train(cfg: GPTConfig, opt: TrainOptions, out_dir: str | os.PathLike, *, data: str | None = None,
          resume: bool = False, stop_after: int | None = None, progress: bool = True,
          corpus: Corpus | None = None, checkpoint_seconds: float = 60.0, run_info: dict | None = None
          ) -> TrainResult:
    """Train (or resume) one model into ``out_dir``; returns the final metrics.

    The state is saved at every evaluation (``eval_every`` steps), every ``checkpoint_seconds`` of
    wall time (so the first checkpoint does not wait for the first evaluation), at the end, and when
    SIGINT/SIGTERM arrives (after the step in progress; then :class:`TrainingInterrupted` is raised).
    None of this touches a random stream, so the weights do not depend on when it happens.

    Args:
        stop_after: stop (with a checkpoint) after this many steps *of this call* (simulated
            interruption, for tests); ``resume=True`` then continues.
        progress: progress on stderr (a tqdm bar on a terminal, log lines otherwise: ``fhrn_ode._progress``).
        checkpoint_seconds: wall-clock seconds between two time-based checkpoints (> 0).
        run_info: recorded in ``train_state.json`` (``run``) and ``metrics.json`` (the CLI puts the
            command, the preset and ``--data`` there).
    Raises:
        FHRNInputError: bad options, unreadable data, a folder that cannot be resumed (config or
            options differ: the message names the fields and both values; a state file fails
            validation), ``resume=False`` on a folder that already holds a run, or a non-finite loss.
        TrainingInterrupted: SIGINT/SIGTERM (the current step's state is saved first).
    """
    from .. import __version__

    checkpoint_seconds = check_real("checkpoint_seconds", checkpoint_seconds, low=0.0, low_open=True)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FHRNInputError(f"`--out` {str(out)!r} exists and is not a directory")
    run = {"data": None if data is None else str(data), "version": __version__, "torch": torch.__version__,
           **(run_info or {})}
    if resume and (out / STATE_JSON).exists():
        saved = GPTConfig.from_dict(read_json(out / CONFIG_NAME, "config"))
        if saved != cfg:
            raise FHRNInputError(f"cannot resume {str(out)!r}: its config differs from the requested one "
                                 f"({describe_diff(saved.to_dict(), cfg.to_dict())})")
        meta = _read_state_json(out)
        old_run = meta.get("run") if isinstance(meta, dict) else None
        if isinstance(old_run, dict) and "data" in old_run and old_run["data"] != run["data"]:
            raise FHRNInputError(f"cannot resume {str(out)!r}: it was trained on other data (data: stored "
                                 f"{old_run['data']!r}, given {run['data']!r})")
    corpus = corpus if corpus is not None else load_corpus(data, n_bytes=opt.n_bytes, seed=opt.corpus_seed,
                                                            min_len=cfg.context)
    base = unigram_baseline(corpus)
    vb = val_batches(corpus.val, opt.batch_size, cfg.context, opt.eval_batches)
    if resume and (out / STATE_JSON).exists():
        model, optim, data_gen, step, history = _load_state(out, opt)
    else:
        if (out / STATE_JSON).exists():
            raise FHRNInputError(f"`--out` {str(out)!r} already holds a run; use --resume or another folder")
        model = TinyGPT(cfg).train()
        optim = _make_optimizer(model, opt)
        data_gen = torch.Generator().manual_seed(opt.seed)
        step, history = 0, []
    end = opt.steps if stop_after is None else min(opt.steps, step + stop_after)
    t0 = time.perf_counter()
    start_step = step
    loss_v = history[-1]["train_loss"] if history else None
    val = history[-1]["val_loss"] if history else None

    def metrics() -> dict:
        return {"step": step, "steps_total": opt.steps, "finished": step >= opt.steps, "train_loss": loss_v,
                "val_loss": val, "unigram_nats": base, "beats_unigram": None if val is None else bool(val < base),
                "history": history, "data": corpus.source, "corpus_seed": opt.corpus_seed, "run": run}

    def save() -> None:
        check_finite_model(model, f"training {str(out)!r} at step {step}")
        _save_state(out, model, optim, data_gen, step, opt, history, metrics(), run)

    bar = Progress(opt.steps, f"train gamma={cfg.gamma:g}", initial=step, enabled=progress)
    last_save = time.monotonic()
    with deferred_signals() as got, bar:
        while step < end:
            for g in optim.param_groups:
                g["lr"] = lr_at(step, opt)
            x, y = sample_batch(corpus.train, opt.batch_size, cfg.context, data_gen)
            _, loss, _ = model(x, y)
            loss_f = float(loss.detach())
            if not math.isfinite(loss_f):
                raise FHRNInputError(f"training {str(out)!r} diverged: the loss at step {step + 1} is {loss_f}; the "
                                     f"last saved checkpoint (if any) is kept; lower the learning rate")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt.grad_clip)
            optim.step()
            step += 1
            loss_v = loss_f
            stop = got[0] if got else None  # read once: a signal arriving later is handled after the next step
            if step % opt.eval_every == 0 or step == opt.steps:
                val = evaluate(model, vb)
                if not math.isfinite(val):
                    raise FHRNInputError(f"training {str(out)!r} diverged: the validation loss at step {step} is "
                                         f"{val}; the last saved checkpoint (if any) is kept")
                history.append({"step": step, "train_loss": loss_v, "val_loss": val})
                save()
                last_save = time.monotonic()
            elif stop is not None or time.monotonic() - last_save >= checkpoint_seconds:
                save()
                last_save = time.monotonic()
            bar.update(1, loss=f"{loss_v:.3f}", val=None if val is None else f"{val:.3f}")
            if stop is not None:
                raise TrainingInterrupted(str(out), step, opt.steps, stop)
    if not (out / STATE_JSON).exists() or read_json(out / STATE_JSON, "train state")["step"] != step:
        save()
    secs = time.perf_counter() - t0
    tps = (step - start_step) * opt.batch_size * cfg.context / secs if secs > 0 else float("nan")
    res = TrainResult(out_dir=str(out), step=step, train_loss=loss_v, val_loss=val, unigram_nats=base,
                      history=history, seconds=secs, tokens_per_s=tps, n_params=model.num_params(),
                      data=corpus.source)
    m = metrics()
    m.update(seconds=secs, tokens_per_s=tps, n_params=res.n_params, config=cfg.to_dict(), options=asdict(opt))
    atomic_write_json(out / "metrics.json", m)
    return res


def gamma_dir(out_dir: str | os.PathLike, gamma: float) -> Path:
    """The per-gain folder of a sweep: ``out_dir/gamma_0.10``."""
    return Path(out_dir) / f"gamma_{gamma:.2f}"


SWEEP_JSON = "sweep.json"


def stored_run(out_dir: str | os.PathLike) -> tuple[GPTConfig, TrainOptions, dict]:
    """``(config, options, run info)`` of the run in ``out_dir`` (for ``train --resume --out DIR`` alone).

    Raises:
        FHRNInputError: no run there, or its config/state files are unusable.
    """
    out = Path(out_dir)
    if not (out / STATE_JSON).is_file():
        raise FHRNInputError(f"cannot resume {str(out)!r}: it holds no run ({STATE_JSON} is missing)")
    meta = _read_state_json(out)
    if not isinstance(meta, dict) or not isinstance(meta.get("options"), dict):
        raise FHRNInputError(f"cannot resume {str(out)!r}: {STATE_JSON} has no `options` object")
    known = {f for f in asdict(TrainOptions())}
    extra = sorted(set(meta["options"]) - known)
    if extra:
        raise FHRNInputError(f"cannot resume {str(out)!r}: {STATE_JSON} `options` has unknown keys {extra}")
    try:
        opt = TrainOptions(**meta["options"])
    except TypeError as exc:
        raise FHRNInputError(f"cannot resume {str(out)!r}: {STATE_JSON} `options` is unusable ({exc})") from None
    cfg = GPTConfig.from_dict(read_json(out / CONFIG_NAME, "config"))
    run = meta.get("run") if isinstance(meta.get("run"), dict) else {}
    return cfg, opt, run


def stored_sweep(out_dir: str | os.PathLike) -> tuple[GPTConfig, TrainOptions, dict, tuple[float, ...]]:
    """``(config, options, run info, gains)`` of the sweep in ``out_dir`` (its ``sweep.json``)."""
    out = Path(out_dir)
    meta = read_json(out / SWEEP_JSON, "sweep")
    if not isinstance(meta, dict) or not isinstance(meta.get("gammas"), list) or not meta["gammas"] or not all(
            _finite(g) and g >= 0 for g in meta["gammas"]):
        raise FHRNInputError(f"cannot resume {str(out)!r}: {SWEEP_JSON} has no usable `gammas` list")
    try:
        cfg = GPTConfig.from_dict(meta["config"])
        opt = TrainOptions(**meta["options"])
    except (KeyError, TypeError) as exc:
        raise FHRNInputError(f"cannot resume {str(out)!r}: {SWEEP_JSON} is unusable ({exc})") from None
    run = meta.get("run") if isinstance(meta.get("run"), dict) else {}
    return cfg, opt, run, tuple(float(g) for g in meta["gammas"])


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def sweep(cfg: GPTConfig, opt: TrainOptions, out_dir: str | os.PathLike, *,
          gammas: tuple[float, ...] = SWEEP_GAMMAS, data: str | None = None, resume: bool = False,
          progress: bool = True, checkpoint_seconds: float = 60.0, run_info: dict | None = None
          ) -> list[TrainResult]:
    """Train one model per gain into ``out_dir/gamma_<g>/`` (same seed, data and options for all).

    ``out_dir/sweep.json`` records the gains, config, options and ``run_info`` so that
    ``train --resume --out DIR`` alone can continue the sweep.
    """
    if not gammas:
        raise FHRNInputError("`--gammas` must list at least one gain")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FHRNInputError(f"`--out` {str(out)!r} exists and is not a directory")
    corpus = load_corpus(data, n_bytes=opt.n_bytes, seed=opt.corpus_seed, min_len=cfg.context)
    meta = {"gammas": [float(g) for g in gammas], "config": cfg.to_dict(), "options": asdict(opt),
            "run": {"data": None if data is None else str(data), **(run_info or {})}}
    if (out / SWEEP_JSON).is_file():
        if not resume:
            raise FHRNInputError(f"`--out` {str(out)!r} already holds a sweep; use --resume or another folder")
        old = read_json(out / SWEEP_JSON, "sweep")
        old_c = {**(old.get("config") or {}), "gamma": None} if isinstance(old, dict) else {}
        diff = describe_diff({"gammas": old.get("gammas") if isinstance(old, dict) else None, **old_c,
                              **((old.get("options") or {}) if isinstance(old, dict) else {})},
                             {"gammas": meta["gammas"], **{**meta["config"], "gamma": None}, **meta["options"]})
        if diff:
            raise FHRNInputError(f"cannot resume {str(out)!r}: the sweep differs from the requested one ({diff})")
    else:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / SWEEP_JSON, meta)
    results = []
    for g in gammas:
        c = replace(cfg, gamma=float(g))
        sub = gamma_dir(out_dir, c.gamma)
        if resume and (sub / STATE_JSON).exists():
            done = read_json(sub / STATE_JSON, "train state")
            if isinstance(done, dict) and done.get("step") == opt.steps and (sub / "metrics.json").exists():
                m = read_json(sub / "metrics.json", "metrics")
                results.append(TrainResult(out_dir=str(sub), step=m["step"], train_loss=m["train_loss"],
                                           val_loss=m["val_loss"], unigram_nats=m["unigram_nats"],
                                           history=m["history"], seconds=m.get("seconds", 0.0),
                                           tokens_per_s=m.get("tokens_per_s", float("nan")),
                                           n_params=m.get("n_params", 0), data=m["data"]))
                continue
        results.append(train(c, opt, sub, resume=resume, progress=progress, corpus=corpus, data=data,
                             checkpoint_seconds=checkpoint_seconds, run_info=run_info))
    return results
