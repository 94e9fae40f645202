"""From a trained FH-RL model to the effective reentry operator ``W* = J_H W_r`` (docs/model.md §5, C 3-6).

``H`` maps the FH-RL layer input ``x_t`` to the fed-back activation ``y_t`` (C 3) with the context
(fast-weight state ``U_{t-1}, V_{t-1}``, the noise draws ``eps_U, eps_V``) held fixed. Its Jacobian
at ``x_t = x_t^(ex)`` (= ``h_t``, the layer input without reentry, C 4) gives ``W* = J_H W_r`` (C 5).

* :func:`linearize_map` - batched Jacobians of any step map ``fn(x, *ctx)`` with ``torch.func``
  (``vmap`` over ``jacfwd`` or ``jacrev``); :func:`finite_difference_jacobian` is the check.
* :func:`layer_map` - the FH-RL step ``x_t -> y_t`` of a trained layer
  (:func:`fhrn_ode.discrete.layer.fhrl_step`, docs/model.md §3) as a function of one context.
* :func:`linearize_model` / :func:`linearize_checkpoint` - contexts from random bytes through a
  trained Tiny-GPT, ``J_H`` and ``W*`` per (layer, sequence, position): a :class:`Linearization`.

For d = 192 and 256 contexts reverse mode (``jacrev``) measured about 2x faster than forward mode
(``jacfwd``) and ``vmap`` chunks of 64 beat one big batch; ``fhrn_ode.bench.jacobian`` measures both, ``jacrev``
is the default (see the README, "From a trained model to W*").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.func import jacfwd, jacrev, vmap

from ._errors import FHRNInputError, check_choice, check_int
from .homeostasis import gain

__all__ = ["JAC_METHODS", "SCOPES", "Linearization", "finite_difference_jacobian", "fixed_context", "layer_map",
           "reference_layer_map", "resolve_checkpoint", "linearize_checkpoint",
           "linearize_map", "linearize_model", "mean_w_star", "nested_contexts", "CONTEXT_BLOCK_SEQS"]

JAC_METHODS = ("jacfwd", "jacrev")
SCOPES = ("layer", "block")


def linearize_map(fn: Callable, x: torch.Tensor, *ctx: torch.Tensor, method: str = "jacrev",
                  chunk_size: int | None = None) -> torch.Tensor:
    """Jacobians ``d fn(x_c, *ctx_c) / d x_c`` for a batch of contexts ``c``.

    Args:
        fn: a pure function of ONE context: ``fn(x (d,), *ctx) -> y (m,)`` (no in-place, no .item()).
        x: ``(C, d)`` linearization points; ``ctx``: tensors with leading dimension ``C`` (held fixed).
        method: ``"jacrev"`` (reverse mode, default: measured faster for d = 192) or ``"jacfwd"``.
        chunk_size: optional ``vmap`` chunk size (bounds memory for large ``C``).

    Returns:
        ``(C, m, d)`` tensor in the dtype of ``x``.
    """
    check_choice("method", method, JAC_METHODS)
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise FHRNInputError(f"`x` must be a (C, d) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    for i, c in enumerate(ctx):
        if not isinstance(c, torch.Tensor) or c.shape[:1] != x.shape[:1]:
            raise FHRNInputError(f"context {i} must be a tensor with leading dimension {x.shape[0]}, "
                                 f"got {getattr(c, 'shape', type(c).__name__)}")
    jac = (jacfwd if method == "jacfwd" else jacrev)(fn, argnums=0)
    return vmap(jac, chunk_size=chunk_size)(x, *ctx)


def finite_difference_jacobian(fn: Callable, x: torch.Tensor, *ctx: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central-difference Jacobians ``(C, m, d)`` of ``fn(x_c, *ctx_c)`` (the check for :func:`linearize_map`)."""
    C, d = x.shape
    f = vmap(fn)
    cols = []
    for j in range(d):
        e = torch.zeros_like(x)
        e[:, j] = eps
        cols.append((f(x + e, *ctx) - f(x - e, *ctx)) / (2 * eps))
    return torch.stack(cols, dim=-1)


@dataclass(frozen=True)
class Linearization:
    """``J_H`` and ``W* = J_H W_r`` over ``C`` contexts (docs/model.md §5).

    ``radius`` is ``|y|`` at the linearization point (``|H(x_t^(ex))|``), ``radius_run`` the ``|y_t|``
    of the actual run (with reentry). ``W_r`` is ``(L, d, d)`` (one per layer in ``layers``).
    """

    W_star: np.ndarray  # (C, d, d)
    J_H: np.ndarray  # (C, d, d)
    W_r: np.ndarray  # (L, d, d) for the layers in ``layers``
    layers: tuple
    gamma: float
    beta: float
    radius: np.ndarray  # (C,)
    radius_run: np.ndarray  # (C,)
    layer: np.ndarray  # (C,) layer index of each context
    sequence: np.ndarray  # (C,)
    position: np.ndarray  # (C,)
    scope: str
    method: str
    seed: int
    tokens: np.ndarray | None = None  # (n_seq, T) the random byte sequences (``sequence`` indexes them)

    def arrays(self) -> dict:
        """Arrays for the ``.npz`` written by ``fhrn-ode linearize`` (keys documented in the README)."""
        Wr = self.W_r[0] if len(self.layers) == 1 else self.W_r
        return dict(W_star=self.W_star, J_H=self.J_H, W_r=Wr, W_r_layers=self.W_r, layers=np.asarray(self.layers),
                    gamma=np.float64(self.gamma), beta=np.float64(self.beta), radius=self.radius,
                    radius_run=self.radius_run, layer=self.layer, sequence=self.sequence, position=self.position,
                    scope=np.str_(self.scope), method=np.str_(self.method), seed=np.int64(self.seed),
                    tokens=np.zeros((0, 0), np.int64) if self.tokens is None else self.tokens)


def mean_w_star(lin_or_arrays, layer: int | None = None) -> np.ndarray:
    """Mean ``W*`` over the contexts (of one ``layer``, or all)."""
    get = (lambda k: getattr(lin_or_arrays, k)) if isinstance(lin_or_arrays, Linearization) else lin_or_arrays.__getitem__
    W, lay = np.asarray(get("W_star")), np.asarray(get("layer"))
    if layer is not None:
        sel = lay == layer
        if not sel.any():
            raise FHRNInputError(f"`layer` must be one of {sorted(set(lay.tolist()))}, got {layer}")
        W = W[sel]
    return W.mean(axis=0)




def layer_map(params: dict) -> Callable:
    """``fn(x_t, P, Q) -> y_t`` of one FH-RL layer (C 3) at fixed context, for :func:`linearize_map`.

    Algebraically identical to :func:`fhrn_ode.discrete.layer.fhrl_step` (docs/model.md §3) but never forms
    ``U_t, V_t``: with the fixed parts ``P = (1-alpha) U_{t-1} + alpha eps_U`` and
    ``Q = (1-alpha) V_{t-1} + alpha eps_V`` (:func:`fixed_context`), ``U_t = P + alpha 1_r q^T`` and
    ``V_t = Q + alpha 1_r k^T``, so ``s = V_t v = Q v + alpha (k.v) 1_r`` and
    ``z = U_t^T s / r = (P^T s + alpha (1.s) q) / r``; ``y = g(|z|) z`` (C 2). This keeps the
    Jacobian cost at the dense ``(d x 3d)(3d x d)`` product (tested against ``fhrl_step``).
    ``params``: ``W_q, W_k, W_v`` (d, d), ``alpha``, ``beta`` (:meth:`FHRL.step_params`).
    """
    Wq, Wk, Wv = params["W_q"], params["W_k"], params["W_v"]
    alpha, beta = float(params["alpha"]), float(params["beta"])

    def fn(x, P, Q):
        q, k, v = Wq @ x, Wk @ x, Wv @ x
        s = Q @ v + alpha * (k @ v)
        z = (P.transpose(-1, -2) @ s + alpha * s.sum() * q) / P.shape[-2]
        return gain(z @ z, beta) * z  # y = g(|z|) z (C 2)

    return fn


def fixed_context(U_prev, V_prev, eps_U, eps_V, alpha: float):
    """``(P, Q)`` = the parts of ``U_t, V_t`` that do not depend on ``x_t`` (see :func:`layer_map`)."""
    return (1.0 - alpha) * U_prev + alpha * eps_U, (1.0 - alpha) * V_prev + alpha * eps_V


def reference_layer_map(params: dict) -> Callable:
    """``fn(x_t, U_prev, V_prev, eps_U, eps_V) -> y_t`` through :func:`fhrn_ode.discrete.layer.fhrl_step` itself."""
    from .discrete.layer import fhrl_step

    def fn(x, U_prev, V_prev, eps_U, eps_V):
        return fhrl_step(params, U_prev, V_prev, eps_U, eps_V, x)[0]

    return fn


#: Sequences per block of :func:`nested_contexts` (each block offers ``T - 1`` contexts per layer).
CONTEXT_BLOCK_SEQS = 4


def nested_contexts(contexts: int, T: int, n_layers: int, seed: int) -> tuple[torch.Tensor, list]:
    """Byte sequences and per-layer (sequence, position) picks whose prefixes do not depend on ``contexts``.

    Block ``k`` holds :data:`CONTEXT_BLOCK_SEQS` sequences (tokens drawn from one generator, block after
    block) and gives each layer the first ``T - 1`` pairs of a permutation of its
    ``CONTEXT_BLOCK_SEQS * (T - 1)`` (sequence, position >= 1) pairs (a second generator, block after
    block, layer after layer); context ``j`` comes from block ``j // (T - 1)``. Hence the picks for
    ``contexts = n`` are the first ``n`` of those for any larger count.

    Args:
        contexts: contexts per layer (>= 1).
        T: sequence length (>= 2).
        n_layers: layers of the model (every layer draws its permutation, used or not).
        seed: seed of both generators.

    Returns:
        ``(tokens, picks)``: ``tokens`` ``(n_blocks * CONTEXT_BLOCK_SEQS, T)`` int64; ``picks[L] = (b, t)``,
        two ``(contexts,)`` int64 tensors (sequence index, position).
    """
    per = T - 1
    n_blocks = -(-contexts // per)
    g_tok = torch.Generator().manual_seed(seed)
    g_perm = torch.Generator().manual_seed(seed + 1_000_003)
    tokens, perms = [], [[] for _ in range(n_layers)]
    for k in range(n_blocks):
        tokens.append(torch.randint(0, 256, (CONTEXT_BLOCK_SEQS, T), generator=g_tok))
        for L in range(n_layers):
            flat = torch.randperm(CONTEXT_BLOCK_SEQS * per, generator=g_perm)[:per]
            perms[L].append(flat + k * CONTEXT_BLOCK_SEQS * per)
    picks = []
    for L in range(n_layers):
        flat = torch.cat(perms[L])[:contexts]
        picks.append((flat // per, flat % per + 1))
    return torch.cat(tokens), picks


@torch.no_grad()
def _internals_by_block(m64, tokens: torch.Tensor) -> list[dict]:
    """The model's internals, run one :data:`CONTEXT_BLOCK_SEQS` block at a time (the eval noise is drawn
    per call with the batch's shape, so a block's internals do not depend on how many blocks follow)."""
    runs = [m64(chunk, return_internals=True)[2] for chunk in torch.split(tokens, CONTEXT_BLOCK_SEQS)]
    if len(runs) == 1:
        return runs[0]
    return [{k: torch.cat([r[L][k] for r in runs]) if isinstance(v, torch.Tensor) and v.dim() > 0 else v
             for k, v in runs[0][L].items()} for L in range(len(runs[0]))]


def linearize_model(model, *, layers=None, contexts: int = 64, seq_len: int | None = None, seed: int = 0,
                    scope: str = "layer", method: str = "jacrev", chunk_size: int | None = 64) -> Linearization:
    """Linearize the FH-RL layers of a trained Tiny-GPT over ``contexts`` contexts per layer (docs/model.md §5).

    Contexts: random byte sequences of length ``seq_len`` (default: the model's context length) run
    through the model in eval mode and float64 (its fixed eval noise), drawn in blocks of
    :data:`CONTEXT_BLOCK_SEQS` sequences; each block offers ``seq_len - 1`` contexts per layer, the first of
    a fixed permutation of its (sequence, position) pairs with position ``t >= 1`` (0-based, so the
    fast-weight state ``U_{t-1}, V_{t-1}`` is non-zero). Tokens and permutations come from two
    ``torch.Generator`` streams seeded with ``seed`` and are drawn block by block, so the contexts are
    **nested**: the first 32 of ``contexts=128`` are the 32 of ``contexts=32`` (same seed). At each,
    ``J_H = dy_t/dx_t`` at ``x_t = h_t`` (the layer input without reentry, C 4) with
    ``U_{t-1}, V_{t-1}, eps_U, eps_V`` held fixed, and ``W* = J_H W_r`` (C 5).

    ``scope="block"``: ``J_H`` is the Jacobian of the whole block output at ``t`` with respect to the
    block input at ``t`` (earlier positions' attention keys/values, the fast-weight context and the
    reentry term held fixed, the reentry term at 0 = ``x^(ex)``; :mod:`fhrn_ode._linearize_block`).
    ``radius`` is then ``|y_t|`` of the FH-RL layer inside the block at that point.
    """
    import copy

    check_choice("scope", scope, SCOPES)
    check_choice("method", method, JAC_METHODS)
    contexts = check_int("contexts", contexts, low=1, high=10000)
    seed = check_int("seed", seed, low=0)
    layer_mods = list(model.fhrl_layers)
    if not layer_mods:
        raise FHRNInputError("the model has no FH-RL layer (fhrl=false): nothing to linearize")
    n_layers = len(layer_mods)
    layers = tuple(range(n_layers)) if layers is None else tuple(layers)
    for L in layers:
        if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not 0 <= L < n_layers:
            raise FHRNInputError(f"`layers` must be integers in [0, {n_layers - 1}], got {L!r}")
    ctx_len = model.cfg.context
    T = ctx_len if seq_len is None else check_int("seq_len", seq_len, low=2, high=ctx_len)
    if T < 2:
        raise FHRNInputError(f"the model's context ({ctx_len}) must be >= 2 to have a fast-weight state")
    tokens, picks = nested_contexts(contexts, T, n_layers, seed)
    m64 = copy.deepcopy(model).double().eval()
    internals = _internals_by_block(m64, tokens)
    Js, Ws, rad, rad_run, lay, seq, pos = [], [], [], [], [], [], []
    for L in layers:
        it = internals[L]
        b, t = picks[L]
        params = {k: (v.detach() if isinstance(v, torch.Tensor) else v)
                  for k, v in layer_mods[L].step_params().items()}
        params64 = {k: (v.double() if isinstance(v, torch.Tensor) else v) for k, v in params.items()}
        fn = layer_map(params64)
        x = it["h"][b, t]
        ctx = fixed_context(it["U_prev"][b, t], it["V_prev"][b, t], it["eps_U"][b, t], it["eps_V"][b, t],
                            params64["alpha"])
        if scope == "block":
            from ._linearize_block import block_context, block_maps

            fn_out, fn = block_maps(m64.blocks[L], fn, m64.cfg.n_head)
            x, ctx = block_context(m64, tokens, internals, L, b, t, *ctx)
            J = linearize_map(fn_out, x, *ctx, method=method, chunk_size=chunk_size)
        else:
            J = linearize_map(fn, x, *ctx, method=method, chunk_size=chunk_size)
        with torch.no_grad():
            y0 = vmap(fn)(x, *ctx)
        Wr = params64["W_r"]
        Js.append(J)
        Ws.append(J @ Wr)
        rad.append(torch.linalg.vector_norm(y0, dim=-1))
        rad_run.append(torch.linalg.vector_norm(it["y"][b, t], dim=-1))
        lay.append(torch.full((len(b),), L))
        seq.append(b)
        pos.append(t)

    def cat(xs):
        return torch.cat(xs).detach().cpu().numpy()

    W_r = np.stack([layer_mods[L].W_r.detach().double().cpu().numpy() for L in layers])
    cfg = model.cfg
    return Linearization(W_star=cat(Ws), J_H=cat(Js), W_r=W_r, layers=layers, gamma=float(cfg.gamma),
                         beta=float(cfg.beta), radius=cat(rad), radius_run=cat(rad_run),
                         layer=cat(lay).astype(np.int64), sequence=cat(seq).astype(np.int64),
                         position=cat(pos).astype(np.int64), scope=scope, method=method, seed=seed,
                         tokens=tokens.numpy().astype(np.int64))


def resolve_checkpoint(path=None):
    """A checkpoint folder (or its ``model.safetensors``); None or ``"reference"``: the bundled reference model."""
    from pathlib import Path

    from .discrete.checkpoint import reference_model_path

    if path is None or str(path) == "reference":
        p = reference_model_path()
        if not (p / "model.safetensors").is_file():
            raise FHRNInputError(f"the bundled reference model {str(p)!r} is missing; pass a checkpoint folder")
        return p
    return Path(path)


def linearize_checkpoint(path=None, **kw) -> Linearization:
    """:func:`linearize_model` on a checkpoint folder (None: the bundled reference model)."""
    from .discrete.checkpoint import load_checkpoint

    model, _ = load_checkpoint(resolve_checkpoint(path))
    return linearize_model(model, **kw)
