"""Fixed-point halting of the trained reentry loop, and whether the ODE verdict predicts it (docs/model.md §5-6).

At one token, with the context (fast-weight state, noise draws) held fixed, the FH-RL layer maps its
input ``x`` to the fed-back activation ``y = H(x)`` (:func:`fhrn_ode.linearize.layer_map`). Looping
the reentry at that token is the discrete map

    x_{k+1} = F(x_k) = h + gamma W_r H(x_k),      x_0 = h = x^(ex)                  (docs/model.md §6)

halted when ``|x_{k+1} - x_k|_2 < tol`` (the fixed-point halting of looped transformers). Its
Jacobian is ``dF/dx = gamma W_r J_H(x)``; the eigenvalues ``mu`` of that matrix are the same as
those of ``gamma J_H(x) W_r = gamma W*`` (``AB`` and ``BA`` share their spectrum), so at ``x = h``
the loop's multipliers are the eigenvalues of ``gamma W*`` (C 5).

Discrete multipliers and continuous eigenvalues. The ODE ``dy/dt = -y + gamma W* y`` is the
continuous relaxation of the loop: its explicit Euler step of size ``dt`` is the damped loop
``x <- (1 - dt) x + dt F(x)``, and ``dt = 1`` is the loop itself. So ``lambda = mu - 1`` and

* ODE-stable  <=>  ``Re mu < 1`` for every ``mu`` (:func:`ode_stable_from_multipliers`),
* loop-stable <=>  ``|mu| < 1`` for every ``mu`` (:func:`loop_stable_from_multipliers`),
* loop-stable  =>  ODE-stable (``|mu| < 1`` implies ``Re mu < 1``), never the converse: a multiplier
  with ``Re mu < 1`` but ``|mu| >= 1`` (a strongly rotating or a negative real one, ``mu <= -1``) is
  exactly where the ODE verdict fails to predict the loop (:func:`verdict_class`);
* the damped loop with step ``dt`` is stable iff ``|1 + dt (mu - 1)| < 1`` for all ``mu``, i.e. for
  ``0 < dt < min_mu 2 (1 - Re mu) / |mu - 1|^2`` (:func:`max_stable_step`): ODE-stable means some
  small enough damping makes the loop converge, not that the undamped loop does.

Pure functions returning dataclasses; no plotting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError, check_int, check_real

__all__ = ["LoopIteration", "HaltingResult", "continuous_to_discrete", "discrete_to_continuous",
           "ode_stable_from_multipliers", "loop_stable_from_multipliers", "max_stable_step", "verdict_class",
           "iterate_loop", "loop_multipliers", "halting_model", "halting_checkpoint", "halting_table"]

VERDICT_CLASSES = ("both_stable", "ode_only", "both_unstable")


# -- continuous eigenvalues <-> discrete multipliers ------------------------------------------------------
def discrete_to_continuous(mu):
    """``lambda = mu - 1``: eigenvalue of ``-I + gamma W*`` from the loop multiplier ``mu`` of ``gamma W*``."""
    return np.asarray(mu) - 1.0


def continuous_to_discrete(lam):
    """``mu = lambda + 1`` (inverse of :func:`discrete_to_continuous`)."""
    return np.asarray(lam) + 1.0


def ode_stable_from_multipliers(mu) -> np.ndarray:
    """``max Re mu < 1`` over the last axis (``rho(-I + M) < 0``): the ODE verdict."""
    return np.max(np.real(np.asarray(mu)), axis=-1) < 1.0


def loop_stable_from_multipliers(mu) -> np.ndarray:
    """``max |mu| < 1`` over the last axis (spectral radius below 1): the discrete loop's verdict."""
    return np.max(np.abs(np.asarray(mu)), axis=-1) < 1.0


def max_stable_step(mu) -> np.ndarray:
    """Largest Euler step ``dt`` with ``|1 + dt (mu - 1)| < 1`` for every ``mu`` (last axis).

    ``|1 + dt (mu - 1)|^2 < 1  <=>  dt (dt |mu - 1|^2 - 2 (1 - Re mu)) < 0``, so each multiplier allows
    ``dt < 2 (1 - Re mu) / |mu - 1|^2``; 0 when some ``Re mu >= 1`` (no damping helps). ``dt = 1`` is the
    undamped loop: it converges iff the result exceeds 1.
    """
    mu = np.asarray(mu, dtype=complex)
    lam = mu - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lim = np.where(np.real(lam) < 0, -2.0 * np.real(lam) / np.abs(lam) ** 2, 0.0)
    return np.min(lim, axis=-1)


def verdict_class(mu) -> np.ndarray:
    """Per row: ``'both_stable'``, ``'ode_only'`` (ODE-stable, loop-unstable) or ``'both_unstable'``."""
    ode, loop = ode_stable_from_multipliers(mu), loop_stable_from_multipliers(mu)
    return np.where(loop, "both_stable", np.where(ode, "ode_only", "both_unstable"))


# -- the loop ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoopIteration:
    """Result of :func:`iterate_loop` over ``C`` rows.

    ``iterations``: maps applied until ``|x_{k+1} - x_k| < tol`` (or ``max_iter``); ``rate``: the
    measured contraction rate ``exp(slope)`` of a least-squares fit of ``log |x_{k+1} - x_k|`` against ``k``
    over the second half of the steps above round-off (the geometric mean ratio of successive step
    norms; asymptotically the spectral radius of ``dF/dx`` at the fixed point, reached only once the
    dominant multiplier has taken over: a loop that halts in a handful of steps reports a
    pre-asymptotic rate); NaN when fewer than two such steps exist (e.g. ``gamma = 0``, where ``x_1 = x_0``).
    """

    x: np.ndarray  # (C, d) last iterate
    iterations: np.ndarray  # (C,)
    converged: np.ndarray  # (C,) bool
    diverged: np.ndarray  # (C,) bool (non-finite or |x| > div_norm)
    rate: np.ndarray  # (C,)
    last_step: np.ndarray  # (C,) last |x_{k+1} - x_k|
    step_norms: np.ndarray = field(repr=False)  # (C, max_iter) NaN after halting
    tol: float = 0.0
    max_iter: int = 0


def _tail_rate(steps: np.ndarray, floor: float) -> float:
    s = steps[np.isfinite(steps)]
    k = np.flatnonzero(s > floor)
    if k.size < 2:
        return float("nan")
    k = k[k.size // 2:] if k.size >= 4 else k
    slope = np.polyfit(k.astype(float), np.log(s[k]), 1)[0]
    return float(np.exp(slope))


def iterate_loop(step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x0, *, tol: float = 1e-10, max_iter: int = 500,
                 div_norm: float = 1e8) -> LoopIteration:
    """Iterate ``x_{k+1} = step(x_k)`` for a batch of rows until ``|x_{k+1} - x_k|_2 < tol`` (absolute).

    Args:
        step: batched map ``step(x, idx)``: ``x`` ``(n, d)`` the still-active rows, ``idx`` ``(n,)`` their row
            numbers in ``x0`` (so a row can carry its own context); returns ``(n, d)``.
        x0: ``(C, d)`` start.
        tol: halting tolerance on the 2-norm of the step (absolute; the float64 default 1e-10 is well
            above round-off for states of norm O(1)-O(10)).
        max_iter: most maps applied to a row.
        div_norm: a row with a non-finite entry or ``|x| > div_norm`` is stopped as diverged.

    Returns:
        :class:`LoopIteration`; converged rows are frozen (not mapped again) once they halt.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1, high=10**6)
    div_norm = check_real("div_norm", div_norm, low=0.0, low_open=True)
    x = torch.as_tensor(x0, dtype=torch.float64).clone()
    if x.ndim != 2:
        raise FHRNInputError(f"`x0` must have shape (C, d), got {tuple(x.shape)}")
    C = x.shape[0]
    steps = np.full((C, max_iter), np.nan)
    iters = np.zeros(C, dtype=np.int64)
    conv = np.zeros(C, dtype=bool)
    div = np.zeros(C, dtype=bool)
    active = torch.ones(C, dtype=torch.bool)
    with torch.no_grad():
        for k in range(max_iter):
            idx = torch.nonzero(active).squeeze(-1)
            if idx.numel() == 0:
                break
            xa = x[idx]
            xn = step(xa, idx)
            dn = torch.linalg.vector_norm(xn - xa, dim=-1)
            i_np = idx.numpy()
            steps[i_np, k] = dn.numpy()
            iters[i_np] = k + 1
            bad = ~torch.isfinite(xn).all(-1) | (torch.linalg.vector_norm(xn, dim=-1) > div_norm)
            x[idx] = torch.where(bad.unsqueeze(-1), xa, xn)
            done = (dn < tol) & ~bad
            conv[i_np[done.numpy()]] = True
            div[i_np[bad.numpy()]] = True
            active[idx[done | bad]] = False
    scale = 1.0 + np.linalg.norm(x.numpy(), axis=-1)
    rate = np.array([_tail_rate(steps[c], 1e-13 * scale[c]) for c in range(C)])
    last = np.array([s[np.isfinite(s)][-1] if np.isfinite(s).any() else np.nan for s in steps])
    return LoopIteration(x.numpy(), iters, conv, div, rate, last, steps, tol, max_iter)


def loop_multipliers(fn: Callable, x, ctx: tuple, gamma: float, W_r) -> np.ndarray:
    """Eigenvalues ``(C, d)`` of the loop Jacobian ``gamma W_r J_H(x_c)`` (``J_H`` by ``torch.func.jacrev``).

    ``fn(x, *ctx)`` is one context's layer map (:func:`fhrn_ode.linearize.layer_map`); the Jacobians come
    from :func:`fhrn_ode.linearize.linearize_map`.
    """
    from fhrn_ode.linearize import linearize_map

    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    J = linearize_map(fn, xt, *ctx, method="jacrev").numpy()
    Wr = np.asarray(W_r, dtype=np.float64)
    M = float(gamma) * (Wr @ J)
    return np.linalg.eigvals(M)


def _polish(fn, h, ctx, gamma, Wr, x_start, tol):
    """Newton polish of ``x = h + gamma W_r H(x)`` (scipy ``root``, autograd Jacobian) for one context."""
    from scipy.optimize import root
    from torch.func import jacrev

    Wt = torch.as_tensor(Wr)
    d = h.shape[-1]

    def G(xn):
        x = torch.as_tensor(xn)
        return (x - h - gamma * (Wt @ fn(x, *ctx))).numpy()

    def dG(xn):
        x = torch.as_tensor(xn)
        return (torch.eye(d, dtype=torch.float64) - gamma * (Wt @ jacrev(fn)(x, *ctx))).numpy()

    sol = root(G, np.asarray(x_start, dtype=np.float64), jac=dG, method="hybr", options={"xtol": 1e-13})
    ok = bool(sol.success) and float(np.linalg.norm(G(sol.x))) < max(tol, 1e-9)
    return sol.x, ok


@dataclass(frozen=True)
class HaltingResult:
    """Loop vs ODE verdict per context at one gain (JSON: :meth:`to_dict`).

    Per context: ``iterations``, ``converged``, ``rate`` (measured), ``multiplier_max_abs`` (largest
    ``|mu|`` of ``gamma W_r J_H`` at the loop's fixed point: the halted iterate, or the Newton-polished
    fixed point when the loop did not halt; NaN if none was found), ``multiplier_ex_max_abs`` (same at
    ``x = h``: the eigenvalues of ``gamma W*``), ``predicted_rate`` (max ``|mu|`` of the ODE check's
    operator ``gamma g(|y|) W*``), ``ode_abscissa`` (``rho(-I + gamma g W*)`` from
    :func:`analysis.trained.check_contexts`), ``ode_stable``, ``agree`` (``ode_stable == converged``),
    ``verdict_class`` of the multipliers at the fixed point (``'unknown'`` when none was found) and
    ``verdict_class_ex`` of the ODE check's own operator ``gamma g W*`` (the pure ``Re mu < 1`` vs ``|mu| < 1``
    question, without the loop's nonlinearity).
    """

    gamma: float
    trained_gamma: float
    beta: float
    tol: float
    max_iter: int
    layer: np.ndarray
    sequence: np.ndarray
    position: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    diverged: np.ndarray
    rate: np.ndarray
    multiplier_max_abs: np.ndarray
    multiplier_max_real: np.ndarray
    multiplier_ex_max_abs: np.ndarray
    predicted_rate: np.ndarray
    ode_abscissa: np.ndarray
    ode_stable: np.ndarray
    fixed_point_found: np.ndarray
    fixed_point_shift: np.ndarray  # |x* - h|
    verdict: np.ndarray
    verdict_ex: np.ndarray  # verdict_class of the ODE check's operator gamma g W* at x = h (no nonlinearity)
    multipliers: np.ndarray = field(repr=False)  # (C, d) complex, at the fixed point

    @property
    def agree(self) -> np.ndarray:
        return self.ode_stable == self.converged

    @property
    def agreement(self) -> float:
        return float(np.mean(self.agree))

    def summary(self) -> dict:
        """One table row: fractions and medians over the contexts."""
        conv = self.converged
        med = (lambda a: float(np.nanmedian(a)) if np.isfinite(a).any() else float("nan"))
        return dict(gamma=self.gamma, trained_gamma=self.trained_gamma, n_contexts=int(conv.size),
                    fraction_converged=float(conv.mean()), fraction_ode_stable=float(self.ode_stable.mean()),
                    agreement=self.agreement, ode_only=int(np.sum(self.ode_stable & ~conv)),
                    loop_only=int(np.sum(~self.ode_stable & conv)),
                    iterations_median=float(np.median(self.iterations)),
                    rate_median=med(np.where(conv, self.rate, np.nan)),
                    multiplier_max_abs_median=med(self.multiplier_max_abs),
                    multiplier_max_abs_max=float(np.nanmax(self.multiplier_max_abs))
                    if np.isfinite(self.multiplier_max_abs).any() else float("nan"),
                    predicted_rate_median=med(self.predicted_rate),
                    multiplier_ex_max_abs_median=med(self.multiplier_ex_max_abs),
                    ode_abscissa_max=float(np.max(self.ode_abscissa)),
                    verdict_ex_counts={k: int(np.sum(self.verdict_ex == k)) for k in VERDICT_CLASSES},
                    verdict_counts={k: int(np.sum(self.verdict == k)) for k in VERDICT_CLASSES + ("unknown",)})

    def to_dict(self) -> dict:
        rows = []
        for c in range(self.converged.size):
            rows.append(dict(layer=int(self.layer[c]), sequence=int(self.sequence[c]), position=int(self.position[c]),
                             iterations=int(self.iterations[c]), converged=bool(self.converged[c]),
                             diverged=bool(self.diverged[c]), rate=float(self.rate[c]),
                             multiplier_max_abs=float(self.multiplier_max_abs[c]),
                             multiplier_max_real=float(self.multiplier_max_real[c]),
                             multiplier_ex_max_abs=float(self.multiplier_ex_max_abs[c]),
                             predicted_rate=float(self.predicted_rate[c]),
                             ode_abscissa=float(self.ode_abscissa[c]), ode_stable=bool(self.ode_stable[c]),
                             agree=bool(self.agree[c]), fixed_point_found=bool(self.fixed_point_found[c]),
                             fixed_point_shift=float(self.fixed_point_shift[c]), verdict_class=str(self.verdict[c]),
                             verdict_class_ex=str(self.verdict_ex[c])))
        return dict(gamma=self.gamma, trained_gamma=self.trained_gamma, beta=self.beta, tol=self.tol,
                    max_iter=self.max_iter, contexts=rows, agreement=self.agreement, summary=self.summary())


def _model_contexts(model, lin):
    """``(fn, h, ctx, W_r)`` per layer for the contexts of a :class:`~fhrn_ode.linearize.Linearization`
    (the same (sequence, position) pairs, rebuilt from the model run on ``lin.tokens``)."""
    import copy

    from fhrn_ode.linearize import fixed_context, layer_map

    m64 = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        _, _, internals = m64(torch.as_tensor(lin.tokens), return_internals=True)
    out = {}
    mods = list(m64.fhrl_layers)
    for L in lin.layers:
        sel = np.flatnonzero(lin.layer == L)
        b, t = torch.as_tensor(lin.sequence[sel]), torch.as_tensor(lin.position[sel])
        params = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in mods[L].step_params().items()}
        it = internals[L]
        ctx = fixed_context(it["U_prev"][b, t], it["V_prev"][b, t], it["eps_U"][b, t], it["eps_V"][b, t],
                            params["alpha"])
        out[L] = (sel, layer_map(params), it["h"][b, t], ctx, params["W_r"].numpy())
    return out


def halting_model(model, *, gammas=None, contexts: int = 32, layers=None, seq_len: int | None = None, seed: int = 0,
                  tol: float = 1e-10, max_iter: int = 500) -> list[HaltingResult]:
    """Fixed-point halting of each FH-RL layer's reentry loop vs the ODE verdict, per context and gain.

    Contexts and ``W*``: :func:`fhrn_ode.linearize.linearize_model` (``contexts`` per layer, ``seed``).
    ``gammas``: gains at which to loop (default: the model's own ``gamma``); ``W*`` and ``J_H`` at
    ``x = h`` do not depend on ``gamma`` (``x^(ex) = h``), so other gains re-use the same operators with
    the trained weights (a what-if, not a re-trained model). ODE verdict at gain ``gamma``:
    the paper's criterion of :func:`analysis.trained.check_contexts` (``rho(-I + gamma g(|y|) W*) < 0``,
    ``paper_stable``; ``check``'s primary verdict drops the factor ``g``).
    """
    from fhrn_ode.linearize import linearize_model

    from .trained import check_contexts

    lin = linearize_model(model, layers=layers, contexts=contexts, seq_len=seq_len, seed=seed)
    g_list = [lin.gamma] if gammas is None else [check_real("gammas", g, low=0.0) for g in gammas]
    if not g_list:
        raise FHRNInputError("`gammas` must hold at least one gain")
    per_layer = _model_contexts(model, lin)
    C = lin.layer.size
    results = []
    for gamma in g_list:
        cc = check_contexts(lin.W_star, gamma, lin.beta, lin.radius, lin.layer)
        g = cc.gain
        mu_ex = np.linalg.eigvals(gamma * lin.W_star)
        pred = np.max(np.abs(mu_ex * g[:, None]), axis=-1)
        res = {k: np.zeros(C, dtype=dt) for k, dt in (("iterations", np.int64), ("converged", bool),
                                                         ("diverged", bool), ("rate", float), ("found", bool),
                                                         ("shift", float))}
        mus = np.full((C, lin.W_star.shape[-1]), np.nan + 0j)
        for L, (sel, fn, h, ctx, Wr) in per_layer.items():
            it = _iterate_contexts(fn, h, ctx, torch.as_tensor(Wr), gamma, tol, max_iter)
            xs = it.x.copy()
            found = it.converged.copy()
            for j in np.flatnonzero(~it.converged):
                xp, ok = _polish(fn, h[j], tuple(c[j] for c in ctx), gamma, Wr, it.x[j], tol)
                if ok:
                    xs[j], found[j] = xp, True
            mu = loop_multipliers(fn, xs, ctx, gamma, Wr)
            mu[~found] = np.nan
            mus[sel] = mu
            res["iterations"][sel], res["converged"][sel], res["diverged"][sel] = it.iterations, it.converged, it.diverged
            res["rate"][sel], res["found"][sel] = it.rate, found
            res["shift"][sel] = np.linalg.norm(xs - h.numpy(), axis=-1)
        with np.errstate(invalid="ignore"):
            mabs = np.max(np.abs(mus), axis=-1)
            mre = np.max(np.real(mus), axis=-1)
        verdict = np.where(res["found"], verdict_class(np.nan_to_num(mus, nan=0.0)), "unknown")
        results.append(HaltingResult(gamma=float(gamma), trained_gamma=lin.gamma, beta=lin.beta, tol=float(tol),
                                     max_iter=int(max_iter), layer=lin.layer, sequence=lin.sequence,
                                     position=lin.position, iterations=res["iterations"], converged=res["converged"],
                                     diverged=res["diverged"], rate=res["rate"], multiplier_max_abs=mabs,
                                     multiplier_max_real=mre, multiplier_ex_max_abs=np.max(np.abs(mu_ex), axis=-1),
                                     predicted_rate=pred, ode_abscissa=cc.paper_spectral_abscissa, ode_stable=cc.paper_stable,
                                     fixed_point_found=res["found"], fixed_point_shift=res["shift"], verdict=verdict,
                                     verdict_ex=verdict_class(mu_ex * g[:, None]),
                                     multipliers=mus))
    return results


def _iterate_contexts(fn, h, ctx, Wt, gamma, tol, max_iter) -> LoopIteration:
    """:func:`iterate_loop` of ``x -> h + gamma W_r H(x)`` for one layer's contexts (row ``i`` has its own ``h, ctx``)."""
    from torch.func import vmap

    Fb = vmap(fn)

    def step(x, i):
        return h[i] + gamma * (Fb(x, *(c[i] for c in ctx)) @ Wt.T)

    return iterate_loop(step, h, tol=tol, max_iter=max_iter)


def halting_checkpoint(path=None, **kw) -> list[HaltingResult]:
    """:func:`halting_model` on a checkpoint folder (None: the bundled reference model)."""
    from fhrn_ode.discrete.checkpoint import load_checkpoint
    from fhrn_ode.linearize import resolve_checkpoint

    model, _ = load_checkpoint(resolve_checkpoint(path))
    return halting_model(model, **kw)


def halting_table(results) -> list[dict]:
    """Summary rows (:meth:`HaltingResult.summary`) sorted by gain."""
    return sorted((r.summary() for r in results), key=lambda s: (s["gamma"], s["trained_gamma"]))
