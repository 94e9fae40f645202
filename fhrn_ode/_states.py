"""Private helpers of :func:`fhrn_ode.integrate`: state validation and the wrappers of the field."""

from __future__ import annotations

import numpy as np
import torch

from ._errors import FHRNInputError
from .field import FHRNField, _EvaluationBudgetExceeded


class _Guarded(torch.nn.Module):
    """A generic field with the generic guards of :func:`integrate`: evaluation budget, and rows that
    are non-finite or beyond ``max_norm`` (measured on the first state tensor) get a zero derivative."""

    def __init__(self, field: torch.nn.Module, max_norm: float, max_nfe: int) -> None:
        super().__init__()
        self.field = field
        self.max_norm = max_norm
        self.max_nfe: int | None = max_nfe
        self.nfe = 0

    def forward(self, t, state):
        self.nfe += 1
        y = state[0] if isinstance(state, tuple) else state
        if self.max_nfe is not None and self.nfe > self.max_nfe:
            raise _EvaluationBudgetExceeded(float(t), float(y.detach().norm(dim=-1).max()))
        out = self.field(t, state)
        r2 = (y.detach() * y.detach()).sum(-1)
        if not float(r2.max()) <= self.max_norm ** 2:  # NaN compares False
            bad = ~(r2 <= self.max_norm ** 2)
            if isinstance(out, tuple):
                return tuple(torch.where(bad.reshape(bad.shape + (1,) * (o.ndim - 1)), torch.zeros_like(o), o)
                             for o in out)
            return torch.where(bad.unsqueeze(-1), torch.zeros_like(out), out)
        return out


def _generic_bad(y: torch.Tensor, rest: tuple, max_norm: float) -> torch.Tensor:
    """``(T, N)`` rows that diverged: non-finite anywhere, or ``|y| > max_norm``."""
    bad = ~((y.detach() * y.detach()).sum(-1) <= max_norm ** 2)
    for o in rest:
        bad = bad | ~torch.isfinite(o.detach().flatten(2)).all(-1)
    return bad


class _Columns(torch.nn.Module):
    """The field on states stored as columns ``(d, N)`` (FHRNField._forward_columns)."""

    def __init__(self, field: FHRNField) -> None:
        super().__init__()
        self.field = field

    def forward(self, t, yT):
        return self.field._forward_columns(t, yT)


def _check_y0(y0, d: int, dtype: torch.dtype) -> torch.Tensor:
    """Validate ``y0``; a tensor keeps its autograd graph (for gradients w.r.t. initial states)."""
    if isinstance(y0, torch.Tensor):
        y = y0.to(dtype)
    else:
        try:
            y = torch.as_tensor(np.asarray(y0, dtype=np.float64), dtype=dtype)
        except (TypeError, ValueError):
            raise FHRNInputError(f"`y0` must be a real array of shape (N, {d}), got {type(y0).__name__}") from None
    if y.ndim == 1:
        y = y.unsqueeze(0)
    if y.ndim != 2 or (d is not None and y.shape[1] != d):
        want = f"(N, {d}) or ({d},) to match W" if d is not None else "(N, d) or (d,)"
        raise FHRNInputError(f"`y0` must have shape {want}, got {tuple(np.shape(y0))}")
    if y.shape[0] == 0:
        raise FHRNInputError("`y0` must hold at least one initial state, got 0")
    if not bool(torch.isfinite(y.detach()).all()):
        raise FHRNInputError("`y0` must be finite; it has NaN/inf entries")
    return y


def _generic_state(y0, dtype: torch.dtype | None) -> tuple[tuple[torch.Tensor, ...], bool]:
    """Validate the initial state of a generic field: ``(N, d)``/``(d,)`` or a tuple whose first entry is
    that and whose other entries have the same leading ``N``. Returns the components and ``is_tuple``."""
    def conv(v, name):
        if isinstance(v, torch.Tensor):
            if not v.is_floating_point():
                raise FHRNInputError(f"`{name}` must be a floating-point tensor, got dtype {v.dtype}")
            return v if dtype is None else v.to(dtype)
        try:
            return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype or torch.float64)
        except (TypeError, ValueError):
            raise FHRNInputError(f"`{name}` must be a real tensor or array, got {type(v).__name__}") from None

    is_tuple = isinstance(y0, (tuple, list))
    if is_tuple and len(y0) == 0:
        raise FHRNInputError("`y0` must be a tensor (N, d) or a non-empty tuple of tensors, got ()")
    comps = [conv(v, f"y0[{i}]" if is_tuple else "y0") for i, v in enumerate(y0 if is_tuple else (y0,))]
    squeeze = comps[0].ndim == 1
    comps[0] = _check_y0(comps[0], None, comps[0].dtype)
    N = comps[0].shape[0]
    for i in range(1, len(comps)):
        c = comps[i].unsqueeze(0) if squeeze else comps[i]
        if c.ndim < 1 or c.shape[0] != N:
            raise FHRNInputError(f"`y0[{i}]` must have the leading dimension N = {N} of `y0[0]`, got shape "
                                 f"{tuple(comps[i].shape)}")
        if not bool(torch.isfinite(c.detach()).all()):
            raise FHRNInputError(f"`y0[{i}]` must be finite; it has NaN/inf entries")
        comps[i] = c
    return tuple(comps), is_tuple
