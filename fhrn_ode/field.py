"""The FHRN vector field (docs/model.md §1; C 7-9, C 2, S1) and its analytic Jacobian (C 10-11).

State without memory: ``y`` of shape ``(N, d)`` (or ``(d,)``).
State with memory (``params.memory != 'none'``): the tuple ``(y, A)`` with ``y`` ``(N, d)`` and
``A`` ``(N, d, d)``:

    dy/dt = -leak y + gamma g(|y|^2) W* y + A y - kappa (|y|^2 - theta^2) y + c     (C 7, C 9, C 8, C 2)
    dA/dt = -lam A + Phi(y, x),  Phi = eta y y^T (Hebbian) or eta y x^T (input)    (S1)

with the gain ``g`` of :mod:`fhrn_ode.homeostasis` (``g = 1`` when ``beta = 0``). The input ``x`` of the
input-driven rule is the drive vector ``c`` (docs/model.md: ``c = H(x_ex)``).

The operator and every scalar parameter are tensors of the module: the ones named in ``trainable`` are
``nn.Parameter`` (gradients flow to them through :func:`fhrn_ode.integrate`, directly or by the adjoint
method), the others are buffers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._errors import FHRNInputError
from .energy import lyapunov_V  # noqa: F401  (re-exported: fhrn_ode.field.lyapunov_V, as before v2)
from .homeostasis import gain, gain_denominator, gain_derivative, has_pole, near_pole
from .operators import check_matrix
from .params import FHRNParams

__all__ = ["FHRNField", "PARAMETER_NAMES", "fhrn_velocity", "homeostatic_field"]

#: Names of the tensors of an :class:`FHRNField`, any of which can be made trainable.
PARAMETER_NAMES = ("W", "gamma", "kappa", "theta", "leak", "beta", "lam", "eta", "drive")
_SCALARS = ("gamma", "kappa", "theta", "leak", "beta", "lam", "eta")


def fhrn_velocity(y, Wy, r2, *, gamma, kappa, theta, leak, beta=None, drive=None):
    """``dy/dt = -leak y + gamma g(|y|^2) W* y - kappa (|y|^2 - theta^2) y + c`` (C 7-8, C 2), no memory.

    The one home of the FHRN field's formula for broadcast (tensor) parameters: ``Wy = W* y`` and
    ``r2 = |y|^2`` (keepdim) come from the caller, whose layout they follow (rows ``(N, d)``,
    component-major ``(d, P, N)`` for :func:`fhrn_ode.integrate_sweep`, ...); the parameters are floats
    or tensors broadcastable against ``y``. ``beta=None`` means ``g = 1``; ``drive=None`` means ``c = 0``.
    Differentiable in every tensor argument.
    """
    lin = Wy if beta is None else gain(r2, beta) * Wy
    rate = kappa * (r2 - theta * theta) + leak  # leak + kappa (|y|^2 - theta^2), the radial rate
    out = gamma * lin - rate * y
    return out if drive is None else out + drive


def homeostatic_field(y: torch.Tensor, kappa: float, theta: float = 1.0) -> torch.Tensor:
    """``g_h(y) = -kappa (|y|^2 - theta^2) y`` (C 8), batched over leading dimensions."""
    r2 = (y * y).sum(-1, keepdim=True)
    return -kappa * (r2 - theta * theta) * y


class _EvaluationBudgetExceeded(Exception):
    """Raised inside ``forward`` when ``max_nfe`` is exceeded (caught by :func:`fhrn_ode.integrate`)."""

    def __init__(self, t: float, max_norm: float) -> None:
        super().__init__(f"evaluation budget exceeded at t={t}")
        self.t = t
        self.max_norm = max_norm


class _Frozen:
    """Current parameter values as Python floats plus precomputed matrices (evaluation without autograd)."""

    __slots__ = ("key", "refs", "gamma", "kappa", "theta", "leak", "beta", "lam", "eta", "Ht", "Wt", "c", "c_col", "has_drive", "H", "Wc")


class FHRNField(nn.Module):
    """The FHRN right-hand side as an ``nn.Module`` with ``forward(t, state)`` (torchdiffeq style).

    Args:
        W: reentry operator ``W*``, ``(d, d)`` (numpy or torch), real, finite. A torch tensor that
            requires grad and is not listed in ``trainable`` is used as is (not copied), so gradients
            flow back to it.
        params: model parameters (:class:`FHRNParams`; default ``FHRNParams()``).
        trainable: names among :data:`PARAMETER_NAMES` (``"W"``, ``"gamma"``, ``"kappa"``, ``"theta"``,
            ``"leak"``, ``"beta"``, ``"lam"``, ``"eta"``, ``"drive"``) to hold as ``nn.Parameter``; the
            others are buffers. ``"lam"``/``"eta"`` need memory. Example:
            ``FHRNField(W, params, trainable=("W", "gamma", "kappa"))``.
        dtype: float dtype of the tensors (float64 by default, for analysis).
        max_norm: optional guard. Rows whose ``|y|`` exceeds it, or that sit on the gain pole
            (:func:`fhrn_ode.homeostasis.near_pole`), get a zero derivative (they are frozen), so an adaptive
            solver can finish; :func:`fhrn_ode.integrate` reports them as diverged. ``None`` (default)
            evaluates the exact field everywhere.

    Attributes:
        W: ``(d, d)``; gamma, kappa, theta, leak, beta, lam, eta: 0-d tensors; drive: ``(d,)`` (the
            vector ``c``, also as ``c``). Parameters or buffers, see ``trainable``.
        params: a :class:`FHRNParams` snapshot of the current values (floats).
        nfe: number of calls of ``forward`` since construction or :meth:`reset_nfe`.

    Raises:
        FHRNInputError: bad ``W``, ``params`` or ``trainable``, a drive of the wrong length, or
            ``memory='input'`` with zero drive.
    """

    def __init__(self, W, params: FHRNParams | None = None, *, trainable=(), dtype: torch.dtype = torch.float64,
                 max_norm: float | None = None) -> None:
        super().__init__()
        params = FHRNParams() if params is None else params
        if not isinstance(params, FHRNParams):
            raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
        if isinstance(trainable, str):
            trainable = (trainable,)
        try:
            trainable = tuple(trainable)
        except TypeError:
            raise FHRNInputError(f"`trainable` must be a tuple of names among {PARAMETER_NAMES}, got {trainable!r}") from None
        for name in trainable:
            if name not in PARAMETER_NAMES:
                raise FHRNInputError(f"`trainable` entries must be among {', '.join(PARAMETER_NAMES)}; got {name!r}")
            if name in ("lam", "eta") and params.memory == "none":
                raise FHRNInputError(f"`trainable` names {name!r}, which only acts with memory; set params.memory")
        Wn = check_matrix(W, "W")
        d = Wn.shape[0]
        self.dim = d
        self.memory = params.memory
        self._drive_scalar = not isinstance(params.drive, tuple)
        c = np.asarray(params.drive_vector(d), dtype=np.float64)
        if params.memory == "input" and not np.any(c):
            raise FHRNInputError(
                "`memory`='input' uses the drive c as its input x (Phi = eta y x^T); pass a nonzero `drive`"
            )
        values = {"W": torch.tensor(Wn, dtype=dtype)}  # a copy: never aliases the caller's array
        values.update({k: torch.tensor(float(getattr(params, k)), dtype=dtype) for k in _SCALARS})
        values["drive"] = torch.as_tensor(c, dtype=dtype)
        for name in PARAMETER_NAMES:
            if name in trainable:
                setattr(self, name, nn.Parameter(values[name].clone()))
            else:
                self.register_buffer(name, values[name])
        if isinstance(W, torch.Tensor) and W.requires_grad and "W" not in trainable:
            self._buffers["W"] = W.to(dtype)  # keeps the caller's graph: gradients flow back to W
        self.trainable = trainable
        # For small d, |y|^2 as (y*y) @ ones(d, 1) (a BLAS gemv): .sum(-1) over a short last axis is a
        # slow path in torch (~10x slower for d = 2).
        self.register_buffer("_ones", torch.ones(d, 1, dtype=dtype), persistent=False)
        self._frozen_cache: _Frozen | None = None
        # Set by integrate() for a solve that needs no gradient: the values cannot change during it, so
        # forward() skips the autograd and version checks (the per-call overhead matters for small d).
        self._pin: _Frozen | None = None
        self.max_norm = None if max_norm is None else float(max_norm)
        # optional bound on |g| (set by integrate(max_gain=...)): rows beyond it are frozen like pole rows
        self.max_gain: float | None = None
        self.nfe = 0
        self.max_nfe: int | None = None  # set by integrate(): evaluation budget of one run

    # -- parameter views -------------------------------------------------------------------------
    @property
    def c(self) -> torch.Tensor:
        """The drive vector ``c`` ``(d,)`` (the tensor ``drive``)."""
        return self.drive

    @property
    def has_memory(self) -> bool:
        return self.memory != "none"

    @property
    def params(self) -> FHRNParams:
        """The current values as an :class:`FHRNParams` (floats; validated, so e.g. a trained negative
        ``kappa`` raises :class:`FHRNInputError`)."""
        f = self._frozen()
        c = self.drive.detach().cpu().numpy()
        drive = float(c[0]) if self._drive_scalar and np.all(c == c[0]) else tuple(float(v) for v in c)
        return FHRNParams(gamma=f.gamma, kappa=f.kappa, theta=f.theta, leak=f.leak, beta=f.beta,
                          memory=self.memory, lam=f.lam, eta=f.eta, drive=drive)

    def _tensors(self) -> tuple[torch.Tensor, ...]:
        refs = self.__dict__.get("_refs")
        if refs is None:
            refs = tuple(getattr(self, n) for n in PARAMETER_NAMES)
            self.__dict__["_refs"] = refs
        return refs

    def __setattr__(self, name, value) -> None:
        if name in PARAMETER_NAMES:
            self.__dict__.pop("_refs", None)
        super().__setattr__(name, value)

    def _apply(self, fn, *args, **kwargs):
        self.__dict__.pop("_refs", None)  # .to(), .double(), ... may replace the tensors
        self._frozen_cache = None
        return super()._apply(fn, *args, **kwargs)

    def needs_graph(self) -> bool:
        """True when autograd is on and some tensor of the field requires grad (then the differentiable
        tensor path is taken; otherwise floats and precomputed matrices)."""
        return torch.is_grad_enabled() and any(t.requires_grad for t in self._tensors())

    def _frozen(self) -> _Frozen:
        """Floats and matrices of the current values, recomputed when a tensor changed (``_version``)."""
        key = tuple([t._version for t in self._tensors()])
        f = self._frozen_cache
        if f is not None and f.key == key and f.refs is self.__dict__.get("_refs"):
            return f
        f = _Frozen()
        f.key = key
        f.refs = self.__dict__.get("_refs")
        with torch.no_grad():
            for k in _SCALARS:
                setattr(f, k, float(getattr(self, k).detach()))
            W = self.W.detach()
            eye = torch.eye(self.dim, dtype=W.dtype, device=W.device)
            # Linear part without gain modulation, plus kappa theta^2 I, so that
            # -leak y + gamma W y + g_h(y) = H y - kappa |y|^2 y: one product and one fused multiply-add (C 7-8).
            H = (-f.leak + f.kappa * f.theta * f.theta) * eye + f.gamma * W
            f.Ht = H.mT.contiguous()
            f.Wt = W.mT.contiguous()
            f.H, f.Wc = H.contiguous(), W.contiguous()  # for the column layout: one mm, no transposes
            f.c = self.drive.detach()
            f.c_col = f.c.unsqueeze(-1)
            f.has_drive = bool(torch.any(f.c != 0))
        self._frozen_cache = f
        return f

    def reset_nfe(self) -> None:
        self.nfe = 0

    # -- the right-hand side -------------------------------------------------------------------
    def velocity(self, y: torch.Tensor, A: torch.Tensor | None = None) -> torch.Tensor:
        """``dy/dt`` at ``y`` ``(..., d)`` with memory trace ``A`` ``(..., d, d)`` or None (C 7-9)."""
        return self._velocity_r2(y, A)[0]

    def _sqnorm(self, y: torch.Tensor) -> torch.Tensor:
        """``|y|^2`` of shape ``(..., 1)``."""
        if self.dim <= 16 and y.dtype == self._ones.dtype and not y.requires_grad:
            return (y * y) @ self._ones
        return (y * y).sum(-1, keepdim=True)

    def _velocity_r2(self, y: torch.Tensor, A: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(dy/dt, |y|^2)``; the squared norm ``(..., 1)`` feeds the divergence guard."""
        r2 = self._sqnorm(y)
        f = self._pin
        if f is None and self.needs_graph():
            # differentiable in every tensor of the field (C 7-9, C 2)
            beta = self.beta if (self.beta.requires_grad or float(self.beta.detach()) != 0.0) else None
            out = fhrn_velocity(y, y @ self.W.mT, r2, gamma=self.gamma, kappa=self.kappa, theta=self.theta,
                                leak=self.leak, beta=beta, drive=self.drive)
            if A is not None:
                out = out + (A @ y.unsqueeze(-1)).squeeze(-1)
            return out, r2
        if f is None:
            f = self._frozen()
        if f.beta == 0.0:
            # H y - kappa |y|^2 y = -leak y + gamma W y - kappa (|y|^2 - theta^2) y  (C 7-8)
            out = torch.addcmul(y @ f.Ht, r2, y, value=-f.kappa)  # out of place: vmap/jacrev friendly
        else:
            out = torch.addcmul(-f.leak * y, gain(r2, f.beta), y @ f.Wt, value=f.gamma)
            out = torch.addcmul(out, r2 - f.theta * f.theta, y, value=-f.kappa)  # homeostasis (C 8)
        if A is not None:
            out = out + (A @ y.unsqueeze(-1)).squeeze(-1)  # memory readout A y
        if f.has_drive:
            out = out + f.c
        return out, r2

    def memory_rate(self, y: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        """``dA/dt = -lam A + Phi(y, x)`` (S1), ``A`` of shape ``(..., d, d)``."""
        if self.memory == "hebbian":
            phi = y.unsqueeze(-1) * y.unsqueeze(-2)  # y y^T
        else:
            phi = y.unsqueeze(-1) * self.drive  # y x^T with x = c
        f = self._pin
        if f is None:
            if self.needs_graph():
                return self.eta * phi - self.lam * A
            f = self._frozen()
        return torch.add(-f.lam * A, phi, alpha=f.eta)

    def forward(self, t: torch.Tensor, state):
        self.__dict__["nfe"] += 1  # not through nn.Module.__setattr__ (it cost ~10% of a small step)
        if self.max_nfe is not None and self.nfe > self.max_nfe:
            y = state[0] if isinstance(state, tuple) else state
            raise _EvaluationBudgetExceeded(float(t), float(y.detach().norm(dim=-1).max()))
        if self.has_memory:
            y, A = state
            dy, r2 = self._velocity_r2(y, A)
            dA = self.memory_rate(y, A)
            if self.max_norm is not None:
                bad = self._bad_rows(r2)
                if bad is not None:
                    dy = torch.where(bad, torch.zeros_like(dy), dy)
                    dA = torch.where(bad.unsqueeze(-1), torch.zeros_like(dA), dA)
            return dy, dA
        dy, r2 = self._velocity_r2(state)
        if self.max_norm is not None:
            bad = self._bad_rows(r2)
            if bad is not None:
                dy = torch.where(bad, torch.zeros_like(dy), dy)
        return dy

    def _forward_columns(self, t: torch.Tensor, yT: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` for states stored as columns, ``yT`` ``(d, N)`` -> ``(d, N)`` (no memory, no autograd).

        Same field (C 7-8), counters and guard; used by :func:`fhrn_ode.integrate` for small ``d``, where
        products with ``(N, d)`` rows of length 2 or 3 hit slow paths in torch.
        """
        self.__dict__["nfe"] += 1  # not through nn.Module.__setattr__ (it cost ~10% of a small step)
        if self.max_nfe is not None and self.nfe > self.max_nfe:
            raise _EvaluationBudgetExceeded(float(t), float(yT.detach().norm(dim=0).max()))
        f = self._pin or self._frozen()
        r2 = (yT * yT).sum(0, keepdim=True)  # (1, N)
        if f.beta == 0.0:
            out = torch.mm(f.H, yT).addcmul_(r2, yT, value=-f.kappa)
        else:
            out = torch.addcmul(-f.leak * yT, gain(r2, f.beta), torch.mm(f.Wc, yT), value=f.gamma)
            out = torch.addcmul(out, r2 - f.theta * f.theta, yT, value=-f.kappa)
        if f.has_drive:
            out = out + f.c_col
        if self.max_norm is not None:
            bad = self._bad_rows(r2)
            if bad is not None:
                out = torch.where(bad, torch.zeros_like(out), out)
        return out

    def _bad_rows(self, r2: torch.Tensor) -> torch.Tensor | None:
        """Mask (shaped like ``r2 = |y|^2``) of states that left the trusted region, or None when all are fine."""
        if not has_pole((self._pin or self._frozen()).beta):
            # one reduction covers NaN (max propagates it; NaN <= x is False), inf and |y| > max_norm;
            # the mask is built only when needed (detached only when it carries a graph: the columns path's
            # r2 does not, and a detach per evaluation is a dispatch there)
            if float((r2.detach() if r2.requires_grad else r2).max()) <= self.max_norm ** 2:
                return None
            return self._bad_from_r2(r2)
        bad = self._bad_from_r2(r2)
        return bad if bool(bad.any()) else None

    def _bad_from_r2(self, r2: torch.Tensor) -> torch.Tensor:
        r2 = r2.detach()
        # ~(r2 <= m^2) is ~isfinite(r2) | (r2 > m^2) in one op (r2 >= 0, NaN compares False)
        bad = ~torch.isfinite(r2) if self.max_norm is None else ~(r2 <= self.max_norm ** 2)
        beta = self._frozen().beta
        if has_pole(beta):
            bad = bad | near_pole(r2, beta)
            if self.max_gain is not None:  # |g| > max_gain  <=>  |1 + beta (r2 - 1)| < 1 / max_gain (C 2)
                bad = bad | (gain_denominator(r2, beta).abs() < 1.0 / self.max_gain)
        return bad

    def bad_mask(self, y: torch.Tensor) -> torch.Tensor:
        """Rows that diverged: non-finite, ``|y| > max_norm`` or on the gain pole."""
        return self._bad_from_r2((y.detach() * y.detach()).sum(-1))

    # -- Jacobian --------------------------------------------------------------------------------
    def jacobian(self, y: torch.Tensor, A: torch.Tensor | None = None) -> torch.Tensor:
        """Analytic ``J(y) = d(dy/dt)/dy`` with ``A`` held fixed, shape ``(..., d, d)``.

        ``J = -leak I + gamma (g W + 2 g'(|y|^2) (W y) y^T) + A - kappa [(|y|^2 - theta^2) I + 2 y y^T]``
        with ``g' = dg/d|y|^2 = -beta g^2``: C 10-11 plus the derivative of the gain ``g`` (C 2) and the
        memory readout. Differentiable in the field's tensors.
        """
        d = y.shape[-1]
        eye = torch.eye(d, dtype=y.dtype, device=y.device)
        r2 = (y * y).sum(-1)[..., None, None]  # (..., 1, 1)
        yyT = y.unsqueeze(-1) * y.unsqueeze(-2)  # (..., d, d)
        J = -self.leak * eye - self.kappa * ((r2 - self.theta * self.theta) * eye + 2.0 * yyT)
        if not self.beta.requires_grad and float(self.beta.detach()) == 0.0:
            J = J + self.gamma * self.W
        else:
            Wy = y @ self.W.mT  # (..., d)
            J = J + self.gamma * (gain(r2, self.beta) * self.W
                                  + 2.0 * gain_derivative(r2, self.beta) * (Wy.unsqueeze(-1) * y.unsqueeze(-2)))
        if A is not None:
            J = J + A
        return J
