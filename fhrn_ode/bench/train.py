"""Bench case: a training step of the FH-RL Tiny-GPT versus the same model with FH-RL removed.

Both models are built from the same config (``fhrl=True`` vs ``fhrl=False``) and timed in the same
run: forward + backward + AdamW step on one batch of random bytes. ``speedup`` = baseline / ours
(< 1: FH-RL is slower; the goal is >= 1/3, i.e. at most 3x slower). ``max_abs_err`` compares the
fast FH-RL layer with the straightforward reference loop over :func:`fhrl_step` in float64.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from .harness import best_of, make_row

__all__ = ["cases"]


def _step_fn(model, x, y):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())
    return step


def _layer_err(seed: int = 0) -> float:
    from ..discrete.layer import FHRL, FHRLConfig, reference_forward

    torch.manual_seed(seed)
    layer = FHRL(FHRLConfig(d=32, rank=4, gamma=0.2, sigma=0.1)).double()
    h = torch.randn(2, 48, 32, dtype=torch.float64)
    eU, eV = layer.noise(2, 48, torch.Generator().manual_seed(seed), dtype=torch.float64)
    with torch.no_grad():
        return float((layer(h, noise=(eU, eV))[0] - reference_forward(layer, h, eU, eV)).abs().max())


def _train_case(quick: bool, gamma: float):
    from ..discrete.model import TinyGPT
    from ..discrete.training import preset

    name = "quick" if quick else "paper"
    cfg, opt = preset(name, gamma=gamma)
    B = 8 if quick else opt.batch_size
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (B, cfg.context), generator=g)
    y = torch.randint(0, 256, (B, cfg.context), generator=g)
    ours = TinyGPT(cfg).train()
    base = TinyGPT(replace(cfg, fhrl=False)).train()
    k = 3 if quick else 5
    f_ours, f_base = _step_fn(ours, x, y), _step_fn(base, x, y)
    t_ours = t_base = float("inf")
    for _ in range(k):  # interleaved, best of k each: fair under a shared, noisy CPU
        t_ours = min(t_ours, best_of(f_ours, k=1, warmup=1 if t_ours == float("inf") else 0)[0])
        t_base = min(t_base, best_of(f_base, k=1, warmup=1 if t_base == float("inf") else 0)[0])
    return [make_row(f"train/fhrl_gpt_{name}_gamma{gamma:g}/vs_no_fhrl", t_ours,
                     "same Tiny-GPT with the FH-RL layer removed (fhrl=False), one training step", t_base,
                     _layer_err(), d=cfg.d, n_layer=cfg.n_layer, context=cfg.context, batch=B,
                     slowdown=t_ours / t_base, tokens_per_s=B * cfg.context / t_ours,
                     baseline_tokens_per_s=B * cfg.context / t_base, threads=torch.get_num_threads())]


def cases(quick: bool) -> list:
    """Zero-argument callables, each returning a list of result rows (see ``fhrn_ode.bench.harness``)."""
    return [lambda: _train_case(quick, 0.1), lambda: _train_case(quick, 0.0)]
