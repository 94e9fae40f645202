"""Private helpers of :func:`fhrn_ode.integrate`: state validation, guards and the FHRN field's set-up."""

from __future__ import annotations

import math

import numpy as np
import torch

from ._errors import FHRNInputError, check_int, check_real
from .field import FHRNField
from .homeostasis import has_pole, pole_radius
from .operators import check_matrix
from .params import FHRNParams

#: On the stage-major path, FHRN states of dimension d <= this are integrated as columns (d, N).
COLUMNS_MAX_DIM = 16


class _Columns(torch.nn.Module):
    """The field on states stored as columns ``(d, N)`` (FHRNField._forward_columns; freezes its own rows)."""

    freezes_rows = True
    #: the field reads ``t`` only as a number: the stage-major solver may pass a Python float (fhrn_ode/_dopri5.py)
    float_t = True

    def __init__(self, field: FHRNField) -> None:
        super().__init__()
        self.field = field
        # the field's own method as this module's forward (an instance attribute): the solver calls it directly,
        # without this adapter's frame and the submodule lookup
        self.forward = field._forward_columns

    def forward(self, t, yT):  # replaced per instance in __init__ (the class keeps the signature)
        return self.field._forward_columns(t, yT)


def _check_y0(y0, d: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Validate FHRN initial states ``(N, d)`` or ``(d,)`` -> ``(N, d)``; a tensor keeps its autograd graph."""
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


def generic_state(y0, dtype: torch.dtype | None, dev: torch.device):
    """A generic field's initial state, shapes untouched: a tensor (arrays converted to ``dtype``, default
    float64) or a tuple of such, on ``dev``. Returns ``(state, is_tuple)``."""
    def conv(v, name):
        if isinstance(v, torch.Tensor):
            if not v.is_floating_point():
                raise FHRNInputError(f"`{name}` must be a floating-point tensor, got dtype {v.dtype}")
            v = v if dtype is None else v.to(dtype)
        else:
            try:
                v = torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype or torch.float64)
            except (TypeError, ValueError):
                raise FHRNInputError(f"`{name}` must be a real tensor or array, got {type(v).__name__}") from None
        if v.numel() == 0:
            raise FHRNInputError(f"`{name}` must not be empty, got shape {tuple(v.shape)}")
        if not bool(torch.isfinite(v.detach()).all()):
            raise FHRNInputError(f"`{name}` must be finite; it has NaN/inf entries")
        return v.to(dev)

    if isinstance(y0, (tuple, list)):
        if len(y0) == 0:
            raise FHRNInputError("`y0` must be a tensor or a non-empty tuple of tensors, got ()")
        return tuple(conv(v, f"y0[{i}]") for i, v in enumerate(y0)), True
    return conv(y0, "y0"), False


def norm_guard(max_norm: float):
    """Guard of a generic field with ``max_norm``: rows (``y.shape[:-1]`` of the first component; the whole
    state for ``ndim <= 1``) with ``|y| > max_norm`` or a non-finite entry in any component."""
    from .solver import nonfinite_rows

    def guard(y):
        first = y[0] if isinstance(y, tuple) else y
        r2 = (first.detach() * first.detach()).sum(-1)
        return ~(r2 <= max_norm ** 2) | nonfinite_rows(y)

    def stacked(ys):  # every saved state at once: (K, ...) -> (K, *rows)
        first = (ys[0] if isinstance(ys, tuple) else ys).detach()
        far = ~((first * first).sum(-1) <= max_norm ** 2)
        return (far if first.ndim >= 3 else far.reshape(-1)) | nonfinite_rows.stacked(ys)

    guard.stacked = stacked
    return guard


class FHRNGuard:
    """The FHRN field's guard on saved states (``bad_mask``: non-finite, beyond ``max_norm``, at the pole;
    a non-finite memory trace), recording ``|y|`` at each row's first mark (for the message)."""

    def __init__(self, func: FHRNField, columns: bool) -> None:
        self.func, self.columns = func, columns
        self.r_first: torch.Tensor | None = None

    def __call__(self, state) -> torch.Tensor:
        y = state[0] if isinstance(state, tuple) else state
        rows = y.T if self.columns else y
        bad = self.func.bad_mask(rows).reshape(-1)
        if isinstance(state, tuple):
            for o in state[1:]:
                bad = bad | ~torch.isfinite(o.detach().flatten(1)).all(-1)
        r = rows.detach().norm(dim=-1).cpu()
        if self.r_first is None:
            self.r_first = torch.full_like(r, math.nan)
        self.r_first = torch.where(bad.cpu() & torch.isnan(self.r_first), r, self.r_first)
        return bad.unsqueeze(0) if self.columns else bad

    def stacked(self, ys) -> torch.Tensor:
        """The marks of every saved state at once: ``(K, N)`` (``(K, 1, N)`` for columns ``(K, d, N)``)."""
        y = ys[0] if isinstance(ys, tuple) else ys
        rows = y.transpose(1, 2) if self.columns else y  # (K, N, d)
        bad = self.func.bad_mask(rows).reshape(rows.shape[:2])
        if isinstance(ys, tuple):
            for o in ys[1:]:
                bad = bad | ~torch.isfinite(o.detach().flatten(2)).all(-1)
        r = rows.detach().norm(dim=-1).cpu()
        hit = bad.cpu()
        first = torch.where(hit.any(0), hit.to(torch.int8).argmax(0), torch.zeros(hit.shape[1], dtype=torch.long))
        self.r_first = torch.where(hit.any(0), r[first, torch.arange(hit.shape[1])], torch.full_like(r[0], math.nan))
        return bad.unsqueeze(1) if self.columns else bad

    def why(self, k: int, max_norm: float) -> str:
        """Why trajectory ``k`` was stopped."""
        r = float(self.r_first[k]) if self.r_first is not None else math.nan
        beta = self.func._frozen().beta
        if has_pole(beta) and math.isfinite(r) and r <= max_norm:
            return f"reached the gain pole |y| = {pole_radius(beta):.4g} of g (beta = {beta:g}, |g| > max_gain)"
        if not math.isfinite(r) or r <= max_norm:
            return "became non-finite"
        return f"left the ball |y| <= {max_norm:.3g}"


def fhrn_setup(field, params, dtype, dev):
    """The :class:`FHRNField` to integrate (built from a matrix, or the given one checked), its
    :class:`FHRNParams` snapshot (None when the values are outside FHRNParams' range) and dtype."""
    if isinstance(field, FHRNField):
        if dtype is not None and dtype != field.W.dtype:
            raise FHRNInputError(f"`dtype`={dtype} differs from the FHRNField's dtype {field.W.dtype}; build the field with it")
        if any(t.device != dev for t in field._tensors()):
            raise FHRNInputError(f"the FHRNField lives on {field.W.device}, `device` is {dev}; move it with .to(device)")
        try:
            params = field.params
        except FHRNInputError:  # e.g. a trained kappa < 0: still integrable, no FHRNParams snapshot
            params = None
        return field, params, field.W.dtype
    params = FHRNParams() if params is None else params
    if not isinstance(params, FHRNParams):
        raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
    dtype = torch.float64 if dtype is None else dtype
    W = field if isinstance(field, torch.Tensor) else check_matrix(field, "field")
    return FHRNField(W, params, dtype=dtype).to(dev), params, dtype


def fhrn_A0(A0, N: int, d: int, dtype, dev) -> torch.Tensor:
    """Initial memory traces ``(N, d, d)`` (default zeros; a ``(d, d)`` one is shared by every state)."""
    if A0 is None:
        return torch.zeros(N, d, d, dtype=dtype, device=dev)
    A0t = (A0.to(dtype) if isinstance(A0, torch.Tensor)
           else torch.as_tensor(np.asarray(A0, dtype=np.float64), dtype=dtype)).to(dev)
    if A0t.ndim == 2:
        A0t = A0t.expand(N, d, d).clone()
    if tuple(A0t.shape) != (N, d, d) or not torch.isfinite(A0t.detach()).all():
        raise FHRNInputError(f"`A0` must be finite with shape ({N}, {d}, {d}) or ({d}, {d}); got {tuple(A0t.shape)}")
    return A0t


def _pick_device(device, field, y0) -> torch.device:
    """The solve's device: ``device`` if given, else tensor ``y0``'s, else the field's, else CPU."""
    if device is not None:
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(device)
        except (TypeError, RuntimeError):
            raise FHRNInputError(f"`device` must be 'cpu', 'cuda', 'auto' or a torch.device, got {device!r}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise FHRNInputError("`device` is 'cuda' but no CUDA GPU is available (torch.cuda.is_available() is False)")
        return dev
    if isinstance(y0, torch.Tensor):
        return y0.device
    if isinstance(y0, (tuple, list)) and y0 and isinstance(y0[0], torch.Tensor):
        return y0[0].device
    if isinstance(field, torch.nn.Module):
        for t in list(field.parameters()) + list(field.buffers()):
            return t.device
    if isinstance(field, torch.Tensor):
        return field.device
    return torch.device("cpu")


def _save_grid(t, t1, n_points, dtype, dev) -> torch.Tensor:
    """The save times: ``t`` checked (strictly increasing), or ``linspace(0, t1, n_points)``."""
    if t is None:
        t1 = check_real("t1", t1, low=0.0, low_open=True)
        n_points = check_int("n_points", n_points, low=2)
        return torch.linspace(0.0, t1, n_points, dtype=dtype, device=dev)
    try:
        tt = torch.as_tensor(np.asarray(t.detach().cpu() if isinstance(t, torch.Tensor) else t, dtype=np.float64),
                             dtype=dtype, device=dev)
    except (TypeError, ValueError):
        tt = None
    if tt is None or tt.ndim != 1 or tt.numel() < 2 or not torch.isfinite(tt).all() or not bool((tt[1:] > tt[:-1]).all()):
        raise FHRNInputError("`t` must be a 1-D, finite, strictly increasing grid of at least 2 times")
    return tt
