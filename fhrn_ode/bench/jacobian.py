"""Benchmark: batched Jacobians ``J_H`` of the d = 192 FH-RL layer (docs/model.md §5, C 3-5) over many contexts.

Problem: one FH-RL layer (d = 192, rank 4, alpha 0.1, beta 0.5, weights ``N(0, 1/d)``), ``C`` contexts
(256; 64 with ``quick``) with random fast-weight states and noise, float64. Ours:
:func:`fhrn_ode.linearize.linearize_map` (``vmap(jacrev)``, chunks of 64) on
:func:`fhrn_ode.linearize.layer_map`. Rows (same run, best of ``k``):

* ``vs_row_loop``: one ``torch.autograd.grad`` per output row per context through the discrete
  ``fhrl_step`` (the definition), timed on ``n_loop`` contexts and scaled by ``C / n_loop``
  (key ``loop_scale``); ``max_abs_err`` = max |J_ours - J_loop| on those contexts;
* ``vs_finite_differences``: central differences (step 1e-6, ``vmap`` over contexts, one call per
  column); ``max_abs_err`` = max |J_ours - J_fd| (the FD truncation/rounding error, ~1e-9);
* ``vs_jacfwd``: forward mode through the same map (the measured choice of mode);
* ``vs_torchfunc_fhrl_step``: ``vmap(jacrev)`` through the discrete ``fhrl_step`` as written (it
  forms ``U_t, V_t``), i.e. what the algebraic rewrite of :func:`layer_map` buys.
"""

from __future__ import annotations

import torch

from .harness import best_of, make_row
from ..discrete.layer import fhrl_step
from ..linearize import (finite_difference_jacobian, fixed_context, layer_map, linearize_map,
                        reference_layer_map)

__all__ = ["cases", "jacobian_case"]


def _problem(C: int, d: int = 192, r: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    p = {k: torch.randn(d, d, dtype=torch.float64, generator=g) / d ** 0.5 for k in ("W_q", "W_k", "W_v")}
    p.update(alpha=0.1, beta=0.5)
    x = torch.randn(C, d, dtype=torch.float64, generator=g) / d ** 0.5 * 4
    U, V, eU, eV = (0.5 * torch.randn(C, r, d, dtype=torch.float64, generator=g) for _ in range(4))
    return p, x, (U, V, eU, eV)


def _row_loop(p, x, ctx, n: int) -> torch.Tensor:
    out = []
    for c in range(n):
        xc = x[c].clone().requires_grad_(True)
        y = fhrl_step(p, *(t[c] for t in ctx), xc)[0]
        rows = [torch.autograd.grad(y[i], xc, retain_graph=True)[0] for i in range(y.shape[0])]
        out.append(torch.stack(rows))
    return torch.stack(out)


def jacobian_case(C: int, n_loop: int, k: int, seed: int = 0) -> list[dict]:
    p, x, ctx = _problem(C, seed=seed)
    P, Q = fixed_context(*ctx, p["alpha"])
    fn = layer_map(p)
    ours_s, J = best_of(lambda: linearize_map(fn, x, P, Q, method="jacrev", chunk_size=64), k=k)
    base = dict(d=192, contexts=C, dtype="float64")
    rows = []
    loop_s, J_loop = best_of(lambda: _row_loop(p, x, ctx, n_loop), k=1, warmup=0)
    rows.append(make_row(f"jacobian/d192_c{C}/vs_row_loop", ours_s,
                         "per-row torch.autograd.grad loop through discrete fhrl_step", loop_s * C / n_loop,
                         float((J[:n_loop] - J_loop).abs().max()), loop_scale=C / n_loop, n_loop=n_loop, **base))
    fd_s, J_fd = best_of(lambda: finite_difference_jacobian(fn, x, P, Q), k=1)
    rows.append(make_row(f"jacobian/d192_c{C}/vs_finite_differences", ours_s, "central differences (vmap, h=1e-6)",
                         fd_s, float((J - J_fd).abs().max()), **base))
    fwd_s, J_fwd = best_of(lambda: linearize_map(fn, x, P, Q, method="jacfwd", chunk_size=64), k=k)
    rows.append(make_row(f"jacobian/d192_c{C}/vs_jacfwd", ours_s, "vmap(jacfwd) on the same map", fwd_s,
                         float((J - J_fwd).abs().max()), **base))
    ref = reference_layer_map(p)
    ref_s, J_ref = best_of(lambda: linearize_map(ref, x, *ctx, method="jacrev", chunk_size=64), k=1)
    rows.append(make_row(f"jacobian/d192_c{C}/vs_torchfunc_fhrl_step", ours_s,
                         "vmap(jacrev) through discrete fhrl_step (forms U_t, V_t)", ref_s,
                         float((J - J_ref).abs().max()), **base))
    return rows


def cases(quick: bool = False, seed: int = 0) -> list:
    C, n_loop, k = (64, 2, 2) if quick else (256, 8, 3)
    return [lambda: jacobian_case(C, n_loop, k, seed=seed)]
