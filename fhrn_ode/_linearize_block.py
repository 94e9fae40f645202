"""Block scope of the linearization (docs/model.md §5): ``H`` = the whole Tiny-GPT block at position ``t``.

``fn(x_t, K, V, mask, P, Q, fb) -> out_t`` maps the block input ``x_t`` (residual stream entering
the block at position ``t``) to the block output at ``t`` (docs/model.md §3):
``h = x + Attn(LN1(x))`` where the query, key and value of position ``t`` come from ``x_t`` and the
keys/values of the earlier positions ``j < t`` (``K, V``: (n_head, T, head_size), ``mask``: (T,)
true for ``j < t``) are held fixed; ``h' = FHRL(h + fb)`` with the fast-weight context ``P, Q`` held
fixed (:func:`fhrn_ode.linearize.layer_map`) and the reentry ``fb = gamma W_r y_{t-1}`` held fixed
(zero at the linearization point ``x^(ex)``); ``out = h' + FFN(LN2(h'))``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["block_inputs", "block_maps", "block_context"]


def _w(mod):
    return mod.weight.detach(), None if mod.bias is None else mod.bias.detach()


def block_maps(block, layer_fn, n_head: int):
    """``(fn_out, fn_y)``: block output and the FH-RL activation ``y_t`` as functions of one context."""
    (w1, b1), (w2, b2) = _w(block.ln_1), _w(block.ln_2)
    (Wa, ba), (Wp, bp) = _w(block.attn.c_attn), _w(block.attn.c_proj)
    (Wf, bf), (Wo, bo) = _w(block.mlp.c_fc), _w(block.mlp.c_proj)
    eps1, eps2 = block.ln_1.eps, block.ln_2.eps

    def fhrl_in(x, K, V, mask, fb):
        d = x.shape[-1]
        hs = d // n_head
        qkv = Wa @ F.layer_norm(x, (d,), w1, b1, eps1) + ba
        q, k, v = (u.reshape(n_head, hs) for u in qkv.split(d))
        s_prev = torch.where(mask, (K @ q.unsqueeze(-1)).squeeze(-1), -math.inf) / math.sqrt(hs)  # (nh, T)
        s_self = (q * k).sum(-1, keepdim=True) / math.sqrt(hs)
        w = torch.softmax(torch.cat([s_prev, s_self], -1), -1)
        att = (w[:, :-1].unsqueeze(-1) * V).sum(-2) + w[:, -1:] * v  # (nh, hs)
        return x + Wp @ att.reshape(d) + bp + fb

    def fn_y(x, K, V, mask, P, Q, fb):
        return layer_fn(fhrl_in(x, K, V, mask, fb), P, Q)

    def fn_out(x, K, V, mask, P, Q, fb):
        xf = fhrl_in(x, K, V, mask, fb)
        hp = xf + layer_fn(xf, P, Q)
        d = x.shape[-1]
        return hp + Wo @ F.gelu(Wf @ F.layer_norm(hp, (d,), w2, b2, eps2) + bf) + bo

    return fn_out, fn_y


@torch.no_grad()
def block_inputs(model, tokens: torch.Tensor, internals: list, L: int) -> torch.Tensor:
    """The residual stream entering block ``L`` (B, T, d), rebuilt from the run's internals."""
    if L == 0:
        return model.wte(tokens) + model.wpe(torch.arange(tokens.shape[1]))
    prev = model.blocks[L - 1]
    o = internals[L - 1]["out"]
    return o + prev.mlp(prev.ln_2(o))


@torch.no_grad()
def block_context(model, tokens, internals, L: int, b, t, P, Q, *, with_reentry: bool = False):
    """``(x, (K, V, mask, P, Q, fb))`` for contexts ``(b, t)`` of block ``L``."""
    blk = model.blocks[L]
    xin = block_inputs(model, tokens, internals, L)  # (B, T, d)
    B, T, d = xin.shape
    nh = model.cfg.n_head
    _, k, v = blk.attn.c_attn(blk.ln_1(xin)).split(d, dim=2)
    K = k.view(B, T, nh, d // nh).transpose(1, 2)[b]  # (C, nh, T, hs)
    V = v.view(B, T, nh, d // nh).transpose(1, 2)[b]
    mask = torch.arange(T).unsqueeze(0) < t.unsqueeze(1)  # (C, T)
    mask = mask.unsqueeze(1).expand(-1, nh, -1)
    fb = internals[L]["reentry"][b, t] if with_reentry else torch.zeros(len(b), d, dtype=xin.dtype)
    return xin[b, t], (K, V, mask, P, Q, fb)
