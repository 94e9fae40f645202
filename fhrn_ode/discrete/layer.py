"""The discrete FH-RL layer (docs/model.md §3): low-rank fast weights + homeostasis + detached reentry.

Per sequence, with ``U_0 = V_0 = 0`` (r×d) and ``y_0 = 0``, for ``t = 1..T``::

    x_t = h_t + gamma · W_r · sg[y_{t-1}]                 (C 1, D Eq. 8); sg = ``.detach()``
    q_t, k_t, v_t = W_q x_t, W_k x_t, W_v x_t
    U_t = (1 − alpha) U_{t−1} + alpha (1_r q_tᵀ + eps_U)   (D Eq. 2-3), eps ~ N(0, sigma²)
    V_t = (1 − alpha) V_{t−1} + alpha (1_r k_tᵀ + eps_V)
    z_t = U_tᵀ V_t v_t / r                                 (D Eq. 1)
    y_t = g(|z_t|) · z_t,  g(s) = 1 / (1 + beta (s² − 1))  (D Eq. 7, C 2)
    output_t = x_t + y_t

The pole of ``g``: its denominator is ``1 − beta + beta s²``. For ``0 <= beta < 1`` it is
``>= 1 − beta > 0`` for every ``s``: no pole, and for ``0 < beta < 1`` the output ``|y| = s g(s)`` is
bounded by its maximum ``1 / (2 sqrt(beta (1 − beta)))``, reached at ``s² = (1 − beta)/beta`` (docs/model.md
§3; ``beta = 0`` leaves ``|y| = s`` unbounded); at ``beta = 1``
it vanishes at ``z = 0`` and for ``beta > 1`` on the sphere ``|z| = sqrt(1 − 1/beta)``. We do not
clamp: the config refuses ``beta >= 1`` with an :class:`FHRNInputError` (see ``FHRLConfig``).

Noise: ``eps_U, eps_V`` of shape (B, T, r, d) are drawn up front from a ``torch.Generator``.
In training mode the layer's model passes its own generator (seeded from ``config.seed``, state
saved with every checkpoint, so resumed runs draw the same noise). In eval mode the noise is drawn
from a fresh generator seeded with ``config.eval_noise_seed`` on every forward call, so the same
input always gives the same output. ``sigma = 0`` draws nothing (all r slots stay identical).

:func:`fhrl_step` is the pure one-step map ``(params, U_prev, V_prev, eps_U, eps_V, x_t) ->
(y_t, U_t, V_t)`` on plain tensors, for ``torch.func.jacrev`` at fixed context (docs/model.md §5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._errors import FHRNInputError, check_int, check_real
from ..homeostasis import gain

__all__ = ["FHRLConfig", "FHRL", "fhrl_step", "homeostatic_gain", "draw_noise", "ema_matrix"]


@dataclass(frozen=True)
class FHRLConfig:
    """Hyper-parameters of one FH-RL layer (docs/model.md §3)."""

    d: int = 192  # model width d (size of h_t, x_t, y_t)
    rank: int = 4  # fast-weight rank r (rows of U_t, V_t)
    alpha: float = 0.1  # EMA rate alpha in (0, 1] of the fast weights U_t, V_t
    sigma: float = 0.05  # std of the per-entry Gaussian perturbation eps (0 = none: slots collapse)
    beta: float = 0.5  # homeostasis beta in [0, 1): g(s) = 1/(1 + beta(s^2 - 1)); beta >= 1 refused (pole)
    gamma: float = 0.1  # reentry gain gamma >= 0 (0: the reentry term is exactly zero)
    eval_noise_seed: int = 1234  # seed of the noise drawn in eval mode (fresh on every call)

    def __post_init__(self) -> None:
        check_int("d", self.d, low=1)
        check_int("rank", self.rank, low=1)
        check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True)
        check_real("sigma", self.sigma, low=0.0)
        b = check_real("beta", self.beta, low=0.0)
        if b >= 1.0:
            raise FHRNInputError(
                f"`beta` must be in [0, 1) (g(s) = 1/(1 + beta(s^2 - 1)) has a pole for beta >= 1), got {b:g}")
        check_real("gamma", self.gamma, low=0.0)
        check_int("eval_noise_seed", self.eval_noise_seed, low=0)


def homeostatic_gain(z: torch.Tensor, beta: float) -> torch.Tensor:
    """``g(|z|) = 1 / (1 + beta (|z|² − 1))`` over the last axis (C 2, D Eq. 7); shape ``z.shape[:-1] + (1,)``.

    Uses ``|z|²`` directly (no square root, so the gradient is finite at ``z = 0``).
    """
    return gain((z * z).sum(-1, keepdim=True), beta)


def fhrl_step(params: dict[str, Any], U_prev: torch.Tensor, V_prev: torch.Tensor, eps_U: torch.Tensor,
              eps_V: torch.Tensor, x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One FH-RL step from the re-entered input ``x_t`` (D Eq. 1-3, 7); pure, no module state.

    Args:
        params: ``{"W_q", "W_k", "W_v": (d, d) tensors, "alpha": float, "beta": float}``
            (:meth:`FHRL.step_params` builds it; extra keys are ignored).
        U_prev, V_prev: fast weights before the step, ``(..., r, d)``.
        eps_U, eps_V: the perturbations of this step, ``(..., r, d)`` (zeros for sigma = 0).
        x_t: ``(..., d)``, the layer input *after* reentry, ``h_t + gamma W_r sg[y_{t-1}]``.

    Returns:
        ``(y_t (..., d), U_t (..., r, d), V_t (..., r, d))``; the layer output is ``x_t + y_t``.
        ``torch.func.jacrev(lambda x: fhrl_step(p, U, V, eU, eV, x)[0])(x_t)`` is ``J_H`` (docs/model.md §5).
    """
    alpha, beta = params["alpha"], params["beta"]
    r = U_prev.shape[-2]
    q = x_t @ params["W_q"].T  # (..., d)
    k = x_t @ params["W_k"].T
    v = x_t @ params["W_v"].T
    U = (1.0 - alpha) * U_prev + alpha * (q.unsqueeze(-2) + eps_U)  # (..., r, d)
    V = (1.0 - alpha) * V_prev + alpha * (k.unsqueeze(-2) + eps_V)
    Vv = (V * v.unsqueeze(-2)).sum(-1)  # (..., r)
    z = (U * Vv.unsqueeze(-1)).sum(-2) / r  # U^T (V v) / r, (..., d)
    y = homeostatic_gain(z, beta) * z
    return y, U, V


def draw_noise(shape: tuple[int, ...], sigma: float, generator: torch.Generator | None, *,
               dtype: torch.dtype, device: torch.device | str = "cpu") -> torch.Tensor:
    """``sigma * N(0, 1)`` of ``shape`` from ``generator`` (zeros, no draw, for sigma = 0)."""
    if sigma == 0.0:
        return torch.zeros(shape, dtype=dtype, device=device)
    return sigma * torch.randn(shape, generator=generator, dtype=dtype, device=device)


class FHRL(nn.Module):
    """The FH-RL layer: ``h (B, T, d) -> x + y (B, T, d)`` (docs/model.md §3).

    Exact two-pass evaluation. The EMAs are linear: ``U_t = sum_{s<=t} alpha (1-alpha)^(t-s) (1_r q_s^T +
    eps_s)``, i.e. ``U = L @ (q + eps)`` with :func:`ema_matrix` ``L`` (T×T), parallel over t. Only the
    reentry is sequential, and because it is stop-gradient (``sg[y_{t-1}]``) it is a *constant* for
    autograd: pass 1 (``torch.no_grad``) runs the loop just to find ``sg[y_{t-1}]`` for every t, with
    everything not depending on y precomputed (per step: one (B,d)@(d,3d) matmul for the fed-back
    q/k/v parts, two d-vector EMA updates, two small bmm's); pass 2 (autograd) recomputes
    ``x = h + gamma W_r sg[y_{t-1}]`` and the whole layer in parallel over t. The backward pass is
    therefore fully parallel too. With ``gamma = 0`` pass 1 is skipped and ``x is h``. Values equal
    the step-by-step definition (:func:`reference_forward`) to rounding (float64: ~1e-15, tested).

    Parameters ``W_q, W_k, W_v, W_r`` (d×d, no bias), initialised ``N(0, 1/d)`` so that each map
    roughly preserves norms at start (``gamma`` is then the effective feedback gain).
    """

    def __init__(self, cfg: FHRLConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d
        std = 1.0 / math.sqrt(d)
        for name in ("W_q", "W_k", "W_v", "W_r"):
            self.register_parameter(name, nn.Parameter(torch.randn(d, d) * std))

    def step_params(self) -> dict[str, Any]:
        """The parameters :func:`fhrl_step` needs (live tensors, plus alpha, beta, gamma, W_r)."""
        c = self.cfg
        return {"W_q": self.W_q, "W_k": self.W_k, "W_v": self.W_v, "W_r": self.W_r,
                "alpha": c.alpha, "beta": c.beta, "gamma": c.gamma}

    def noise(self, B: int, T: int, generator: torch.Generator | None, *, dtype: torch.dtype,
              device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``(eps_U, eps_V)``, each (B, T, r, d); eval mode uses ``cfg.eval_noise_seed`` afresh."""
        c = self.cfg
        if not self.training:
            generator = torch.Generator(device=device).manual_seed(c.eval_noise_seed)
        shape = (B, T, c.rank, c.d)
        eU = draw_noise(shape, c.sigma, generator, dtype=dtype, device=device)
        eV = draw_noise(shape, c.sigma, generator, dtype=dtype, device=device)
        return eU, eV

    def forward(self, h: torch.Tensor, *, generator: torch.Generator | None = None,
                noise: tuple[torch.Tensor, torch.Tensor] | None = None, reentry: bool = True,
                return_internals: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """Run the layer over a sequence.

        Args:
            h: (B, T, d) input (the attention block's output).
            generator: noise source in training mode (ignored in eval mode, see module docstring).
            noise: explicit ``(eps_U, eps_V)``, each (B, T, r, d); overrides drawing.
            reentry: False removes the term ``gamma W_r sg[y_{t-1}]`` entirely (x_t = h_t).
            return_internals: also return a dict of per-step tensors: ``h, x, y, reentry`` (B, T, d)
                (``reentry_t = gamma W_r sg[y_{t-1}]``), ``U_prev, V_prev`` (state entering step t) and
                ``U, V`` (state after step t), ``eps_U, eps_V`` (B, T, r, d). With these,
                ``fhrl_step(step_params(), U_prev[:, t], V_prev[:, t], eps_U[:, t], eps_V[:, t], x[:, t])``
                reproduces ``y[:, t]``.

        Returns:
            ``(out (B, T, d), internals or None)`` with ``out = x + y``.
        """
        if h.ndim != 3 or h.shape[-1] != self.cfg.d:
            raise FHRNInputError(f"`h` must have shape (B, T, {self.cfg.d}), got {tuple(h.shape)}")
        c = self.cfg
        B, T, d = h.shape
        r, a = c.rank, c.alpha
        eU, eV = noise if noise is not None else self.noise(B, T, generator, dtype=h.dtype, device=h.device)
        W_qkv = torch.cat([self.W_q, self.W_k, self.W_v], 0)  # (3d, d)
        L = ema_matrix(T, a, dtype=h.dtype, device=h.device)  # (T, T): U = L @ (q + eps) solves the EMA
        with torch.no_grad():  # the noise has no gradient: its EMA is a constant
            nU = torch.einsum("ts,bsrd->btrd", L, eU)
            nV = torch.einsum("ts,bsrd->btrd", L, eV)
        use_fb = reentry and T > 1 and c.gamma != 0.0
        if use_fb:
            # pass 1 (no autograd): the sequential part, only to find the constants sg[y_{t-1}]
            y_prev = self._feedback_pass(h, W_qkv, L, nU, nV)  # (B, T, d), row t = y_{t-1}
            fb = c.gamma * (y_prev @ self.W_r.T)  # gamma W_r sg[y_{t-1}]; gradient reaches W_r only
            x = h + fb
        else:
            fb = torch.zeros_like(h)
            x = h
        # pass 2 (autograd, parallel over t): the exact forward given the constants sg[y_{t-1}]
        qkv = x @ W_qkv.T  # (B, T, 3d)
        q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
        U = (L @ q).unsqueeze(2) + nU  # (B, T, r, d)
        V = (L @ k).unsqueeze(2) + nV
        Vv = torch.einsum("btrd,btd->btr", V, v)
        z = torch.einsum("btrd,btr->btd", U, Vv) / r
        y = homeostatic_gain(z, c.beta) * z
        out = x + y
        if not return_internals:
            return out, None
        zero = h.new_zeros(B, 1, r, d)
        internals = {
            "h": h, "x": x, "y": y, "reentry": fb, "U": U, "V": V,
            "U_prev": torch.cat([zero, U[:, :-1]], 1), "V_prev": torch.cat([zero, V[:, :-1]], 1),
            "eps_U": eU, "eps_V": eV,
        }
        return out, internals

    @torch.no_grad()
    def _feedback_pass(self, h: torch.Tensor, W_qkv: torch.Tensor, L: torch.Tensor, nU: torch.Tensor,
                       nV: torch.Tensor) -> torch.Tensor:
        """Sequential loop for ``sg[y_{t-1}]`` (B, T, d) with minimal per-step work (no autograd).

        ``U_t = [L (h W_q^T)]_t + nU_t + 1_r a_t^T`` where only the feedback part ``a_t`` (a d-vector,
        identical in every slot) follows the recursion ``a_t = (1-alpha) a_{t-1} + alpha gamma W_q W_r y_{t-1}``;
        the same for V. Everything else is precomputed for all t at once.
        """
        c = self.cfg
        B, T, d = h.shape
        r, a, gam = c.rank, c.alpha, c.gamma
        hqkv = h @ W_qkv.T
        hq, hk, hv = hqkv[..., :d], hqkv[..., d:2 * d], hqkv[..., 2 * d:]
        A = ((L @ hq).unsqueeze(2) + nU).contiguous()  # (B, T, r, d): U_t without feedback
        Bm = ((L @ hk).unsqueeze(2) + nV).contiguous()
        M = gam * (self.W_r.T @ torch.cat([self.W_q.T, self.W_k.T, self.W_v.T], 1))  # (d, 3d)
        fq = h.new_zeros(B, d)
        fk = h.new_zeros(B, d)
        y = h.new_zeros(B, d)
        ys = h.new_zeros(B, T, d)
        for t in range(T):
            if t > 0:
                f = y @ M  # (B, 3d) = gamma [W_q, W_k, W_v] W_r y_{t-1}
                fq = (1.0 - a) * fq + a * f[:, :d]
                fk = (1.0 - a) * fk + a * f[:, d:2 * d]
                v = hv[:, t] + f[:, 2 * d:]
            else:
                v = hv[:, t]
            ys[:, t] = y  # y_{t-1}
            if t == T - 1:
                break
            Vv = torch.bmm(Bm[:, t], v.unsqueeze(-1)).squeeze(-1) + (fk * v).sum(-1, keepdim=True)  # (B, r)
            z = (torch.bmm(Vv.unsqueeze(1), A[:, t]).squeeze(1) + fq * Vv.sum(-1, keepdim=True)) / r
            y = homeostatic_gain(z, c.beta) * z
        return ys


def ema_matrix(T: int, alpha: float, *, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu") -> torch.Tensor:
    """Lower-triangular ``L[t, s] = alpha (1 - alpha)^(t - s)`` (s <= t): ``L @ u`` is the EMA of ``u`` from 0."""
    i = torch.arange(T, device=device)
    e = (i[:, None] - i[None, :]).to(torch.float64)
    low = e >= 0
    Lm = torch.where(low, alpha * torch.pow(torch.tensor(1.0 - alpha, dtype=torch.float64), e.clamp(min=0)),
                     torch.zeros((), dtype=torch.float64))
    return Lm.to(dtype)


def reference_forward(layer: FHRL, h: torch.Tensor, eps_U: torch.Tensor, eps_V: torch.Tensor, *,
                      detach: bool = True) -> torch.Tensor:
    """Straightforward loop over :func:`fhrl_step` (the definition, for tests); returns out (B, T, d).

    ``detach=False`` lets gradients flow through the feedback (NOT the model; for tests only).
    """
    p = layer.step_params()
    B, T, d = h.shape
    U = h.new_zeros(B, layer.cfg.rank, d)
    V = h.new_zeros(B, layer.cfg.rank, d)
    y = h.new_zeros(B, d)
    outs = []
    for t in range(T):
        fb = y.detach() if detach else y
        x = h[:, t] + layer.cfg.gamma * (fb @ layer.W_r.T)
        y, U, V = fhrl_step(p, U, V, eps_U[:, t], eps_V[:, t], x)
        outs.append(x + y)
    return torch.stack(outs, 1)
