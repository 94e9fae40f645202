"""Fit the parameters of a vector field to observed trajectories (the adjoint method; docs/api.md).

:func:`fit` minimises the mean squared error between the solution of ``dy/dt = f(t, y)`` from the
observed initial states and the observed trajectories,

    L(p) = mean_{k >= 1, n, i} (y_p(t_k)[n, i] - y_obs[k, n, i])^2,

over the trainable tensors ``p`` of ``field`` (an :class:`~fhrn_ode.field.FHRNField` built with
``trainable=...`` or any ``nn.Module``), with gradients by the adjoint method of torchdiffeq
(``adjoint=True``, default) or by backprop through the solver, and a ``torch.optim`` optimizer
(L-BFGS with a strong-Wolfe line search by default).

Identifiability (FHRN, docs/model.md §1): the field depends on ``gamma`` and ``W*`` only through their
product ``gamma W*`` (and on ``leak`` and ``kappa theta^2`` only through ``-leak + kappa theta^2`` in the
linear part), so ``W*`` and ``gamma`` cannot both be recovered from trajectories: fit ``W*`` with
``gamma`` fixed (``trainable=("W", "kappa")``), or read the fitted ``gamma W*`` as one matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field

import numpy as np
import torch
from torch import nn

from ._errors import FHRNInputError, Interrupted, check_int, check_real
from .integration import integrate
from .solver import FIXED_SOLVERS

__all__ = ["FitResult", "OPTIMIZERS", "fit"]

#: The optimizers :func:`fit` accepts (``torch.optim.LBFGS`` or ``torch.optim.Adam``).
OPTIMIZERS = ("lbfgs", "adam")


class _Done(Exception):
    """Raised from the closure once the loss is below ``loss_tol`` (stops L-BFGS mid-step, at that point)."""


@dataclass
class FitResult:
    """Outcome of :func:`fit`.

    Attributes:
        params: fitted trainable tensors by name (detached copies), e.g. ``{"W": (d, d), "kappa": ()}``.
        loss: final loss (mean squared error).
        loss_history: the loss at every evaluation (L-BFGS line-search evaluations included).
        n_steps: optimizer steps taken.
        converged: True when the loss fell below ``loss_tol`` or stopped changing (``rel_tol``).
        message: one sentence.
        field: the fitted module (the same object that was passed in, updated in place).
    """

    params: dict
    loss: float
    loss_history: list = dc_field(default_factory=list)
    n_steps: int = 0
    converged: bool = False
    message: str = ""
    field: nn.Module | None = dc_field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"params": {k: v.tolist() for k, v in self.params.items()}, "loss": self.loss,
                "loss_history": list(self.loss_history), "n_steps": self.n_steps, "converged": self.converged,
                "message": self.message}


def _as_tensor(x, name: str, dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype)
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype)
    except (TypeError, ValueError):
        raise FHRNInputError(f"`{name}` must be a real array, got {type(x).__name__}") from None


def fit(field: nn.Module, t, y_obs, *, optimizer: str = "lbfgs", lr: float = 1.0, steps: int = 20,
        adjoint: bool = True, method: str = "dopri5", rtol: float | None = 1e-8, atol: float | None = 1e-10,
        loss_tol: float = 1e-20, rel_tol: float = 1e-12, progress: bool = False) -> FitResult:
    """Fit the trainable tensors of ``field`` to trajectories ``y_obs`` observed at times ``t``.

    Args:
        field: an ``nn.Module`` with ``forward(t, y)``; its tensors that require grad are fitted
            (for :class:`~fhrn_ode.field.FHRNField`: the names in ``trainable``). Note ``gamma`` and
            ``W*`` are not separately identifiable (module docstring): fix one of them.
        t: saved times ``(T,)``, strictly increasing, ``T >= 2``; the fit starts at ``t[0]``.
        y_obs: observed states ``(T, *state_shape)``, ``y_obs[0]`` the initial state passed to ``field`` as
            is (torchdiffeq's contract: ``(T, d)`` for a ``(d,)`` state, ``(T, N, d)`` for a batch; FHRN
            fields with memory start from ``A = 0``).
        optimizer: 'lbfgs' (``torch.optim.LBFGS``, strong-Wolfe line search, up to 20 iterations per
            step) or 'adam'.
        lr: learning rate (1.0 suits L-BFGS; use ~1e-2 for Adam).
        steps: optimizer steps (>= 1).
        adjoint: gradients by the adjoint method (``torchdiffeq.odeint_adjoint``); False backprops
            through the solver.
        method, rtol, atol: solver settings passed to :func:`fhrn_ode.integrate` (``rtol``/``atol`` are
            ignored for a fixed-step method: they do not apply to it).
        loss_tol: stop when the loss is below this.
        rel_tol: stop when a step changes the loss by less than this fraction.
        progress: show a tqdm bar over the steps (off by default in the library).

    Returns:
        :class:`FitResult` (the module is updated in place).

    Raises:
        FHRNInputError: ``field`` is not a module or has nothing trainable; bad ``t``/``y_obs`` or settings.
        fhrn_ode._errors.Interrupted: Ctrl-C; ``.result`` is the :class:`FitResult` so far (the module holds
            the last values the optimizer set).
    """
    if not isinstance(field, nn.Module):
        raise FHRNInputError(f"`field` must be an nn.Module with forward(t, y), got {type(field).__name__}")
    named = [(n, p) for n, p in list(field.named_parameters()) + list(field.named_buffers()) if p.requires_grad]
    if not named:
        raise FHRNInputError("`field` has no tensor that requires grad; build it with trainable=(...)")
    if optimizer not in OPTIMIZERS:
        raise FHRNInputError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=1)
    loss_tol = check_real("loss_tol", loss_tol, low=0.0)
    rel_tol = check_real("rel_tol", rel_tol, low=0.0)
    dtype = named[0][1].dtype
    tt = _as_tensor(t, "t", dtype)
    if tt.ndim != 1 or tt.numel() < 2:
        raise FHRNInputError(f"`t` must be a 1-D grid of at least 2 times, got shape {tuple(tt.shape)}")
    Y = _as_tensor(y_obs, "y_obs", dtype)
    if Y.ndim < 2 or Y.shape[0] != tt.numel():
        raise FHRNInputError(f"`y_obs` must have shape (T, *state_shape) with T = len(t) = {tt.numel()}, "
                             f"got {tuple(Y.shape)}")
    if not bool(torch.isfinite(Y).all()):
        raise FHRNInputError("`y_obs` must be finite; it has NaN/inf entries")
    params = [p for _, p in named]
    opt = (torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=50, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-14, tolerance_change=1e-16)
           if optimizer == "lbfgs" else torch.optim.Adam(params, lr=lr))
    history: list[float] = []
    tol = (None, None) if method in FIXED_SOLVERS else (rtol, atol)
    best = {"loss": math.inf, "params": [p.detach().clone() for p in params]}  # best finite evaluation

    def closure():
        opt.zero_grad()
        res = integrate(field, Y[0], t=tt, method=method, rtol=tol[0], atol=tol[1], adjoint=adjoint)
        loss = ((res.y[1:] - Y[1:]) ** 2).mean() if res.success else None
        if loss is None or not bool(torch.isfinite(loss)):
            # parameters that blow up, or where the field is NaN: an infinite loss (no gradient) makes
            # the line search back off; the best finite parameters are kept for the end
            history.append(math.inf)
            return torch.tensor(math.inf, dtype=dtype)
        loss.backward()
        history.append(float(loss.detach()))
        if history[-1] < best["loss"] and all(bool(torch.isfinite(p).all()) for p in params):
            best["loss"], best["params"] = history[-1], [p.detach().clone() for p in params]
        if history[-1] < loss_tol:
            raise _Done
        return loss

    from tqdm.auto import tqdm

    converged, n, prev = False, 0, math.inf
    bar = tqdm(range(steps), desc="fit", disable=not progress)
    for n in range(1, steps + 1):
        try:
            opt.step(closure)
        except _Done:
            converged = True
            break
        except KeyboardInterrupt as exc:
            bar.close()
            part = _result(named, history, n - 1, False, optimizer, field, "interrupted")
            raise Interrupted(part, cause=exc, what=part.message) from exc
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]:.3g}")
        cur = history[-1]
        if cur < loss_tol or (math.isfinite(prev) and abs(prev - cur) <= rel_tol * max(abs(prev), 1e-300)):
            converged = True
            break
        prev = cur
        if not all(bool(torch.isfinite(p).all()) for p in params):
            break  # a step went where the parameters are no longer finite: stop, restore below
    bar.close()
    restored = _restore_best(params, best, history, converged)
    return _result(named, history, n, converged, optimizer, field, "converged" if converged else "stopped",
                   restored, best["loss"])


def _restore_best(params, best, history, converged) -> str:
    """Back to the best finite parameters when the last step entered a NaN / non-finite region ('' if not)."""
    bad_params = not all(bool(torch.isfinite(p).all()) for p in params)
    if converged or not math.isfinite(best["loss"]) or not (bad_params or not math.isfinite(history[-1])):
        return ""
    with torch.no_grad():
        for p, b in zip(params, best["params"]):
            p.copy_(b)
    return (f"; restored the best finite parameters (loss {best['loss']:.3g}): the last step reached "
            f"{'non-finite parameters' if bad_params else 'a non-finite loss'}")


def _result(named, history, n, converged, optimizer, field, how, restored: str = "",
            best_loss: float = math.inf) -> FitResult:
    final = history[-1] if history else math.inf
    if restored:
        final = min(final, best_loss)
    fitted = {name: p.detach().clone() for name, p in named}
    msg = f"{how} after {n} {optimizer} steps ({len(history)} evaluations): loss {final:.3g}{restored}"
    return FitResult(params=fitted, loss=final, loss_history=history, n_steps=n, converged=converged,
                     message=msg, field=field)
