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

from ._errors import FHRNInputError, check_int, check_real
from .integration import integrate

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
        adjoint: bool = True, method: str = "dopri5", rtol: float = 1e-8, atol: float = 1e-10,
        loss_tol: float = 1e-20, rel_tol: float = 1e-12, progress: bool = False) -> FitResult:
    """Fit the trainable tensors of ``field`` to trajectories ``y_obs`` observed at times ``t``.

    Args:
        field: an ``nn.Module`` with ``forward(t, y)``; its tensors that require grad are fitted
            (for :class:`~fhrn_ode.field.FHRNField`: the names in ``trainable``). Note ``gamma`` and
            ``W*`` are not separately identifiable (module docstring): fix one of them.
        t: saved times ``(T,)``, strictly increasing, ``T >= 2``; the fit starts at ``t[0]``.
        y_obs: observed states ``(T, N, d)``; ``y_obs[0]`` are the initial states (FHRN fields with
            memory start from ``A = 0``).
        optimizer: 'lbfgs' (``torch.optim.LBFGS``, strong-Wolfe line search, up to 20 iterations per
            step) or 'adam'.
        lr: learning rate (1.0 suits L-BFGS; use ~1e-2 for Adam).
        steps: optimizer steps (>= 1).
        adjoint: gradients by the adjoint method (``torchdiffeq.odeint_adjoint``); False backprops
            through the solver.
        method, rtol, atol: solver settings passed to :func:`fhrn_ode.integrate`.
        loss_tol: stop when the loss is below this.
        rel_tol: stop when a step changes the loss by less than this fraction.
        progress: show a tqdm bar over the steps (off by default in the library).

    Returns:
        :class:`FitResult` (the module is updated in place).

    Raises:
        FHRNInputError: ``field`` is not a module or has nothing trainable; bad ``t``/``y_obs`` or settings.
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
    if Y.ndim != 3 or Y.shape[0] != tt.numel():
        raise FHRNInputError(f"`y_obs` must have shape (T, N, d) with T = len(t) = {tt.numel()}, got {tuple(Y.shape)}")
    if not bool(torch.isfinite(Y).all()):
        raise FHRNInputError("`y_obs` must be finite; it has NaN/inf entries")
    params = [p for _, p in named]
    opt = (torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=50, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-14, tolerance_change=1e-16)
           if optimizer == "lbfgs" else torch.optim.Adam(params, lr=lr))
    history: list[float] = []

    def closure():
        opt.zero_grad()
        res = integrate(field, Y[0], t=tt, method=method, rtol=rtol, atol=atol, adjoint=adjoint)
        if not res.success:  # parameters that blow up: an infinite loss makes the line search back off
            history.append(math.inf)
            return torch.tensor(math.inf, dtype=dtype)
        loss = ((res.y[1:] - Y[1:]) ** 2).mean()
        loss.backward()
        history.append(float(loss.detach()))
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
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]:.3g}")
        cur = history[-1]
        if cur < loss_tol or (math.isfinite(prev) and abs(prev - cur) <= rel_tol * max(abs(prev), 1e-300)):
            converged = True
            break
        prev = cur
    bar.close()
    final = history[-1]
    fitted = {name: p.detach().clone() for name, p in named}
    msg = (f"{'converged' if converged else 'stopped'} after {n} {optimizer} steps "
           f"({len(history)} evaluations): loss {final:.3g}")
    return FitResult(params=fitted, loss=final, loss_history=history, n_steps=n, converged=converged,
                     message=msg, field=field)
