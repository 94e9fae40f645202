"""The FHRN vector field (docs/model.md §1; C 7-9, C 2, S1) and its analytic Jacobian (C 10-11).

State without memory: ``y`` of shape ``(N, d)`` (or ``(d,)``).
State with memory (``params.memory != 'none'``): the tuple ``(y, A)`` with ``y`` ``(N, d)`` and
``A`` ``(N, d, d)``:

    dy/dt = -leak y + gamma g(|y|) W* y + A y - kappa (|y|^2 - theta^2) y + c      (C 7, C 9, C 8, C 2)
    dA/dt = -lam A + Phi(y, x),  Phi = eta y y^T (Hebbian) or eta y x^T (input)   (S1)

with ``g(r) = 1/(1 + beta (r^2 - 1))`` (``g = 1`` when ``beta = 0``). The input ``x`` of the
input-driven rule is the drive vector ``c`` (docs/model.md: ``c = H(x_ex)``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._errors import FHRNInputError
from .operators import check_matrix
from .params import FHRNParams

__all__ = ["FHRNField", "gain", "gain_derivative", "homeostatic_field", "lyapunov_V"]


def gain(r2: torch.Tensor, beta: float) -> torch.Tensor:
    """Homeostatic gain ``g = 1/(1 + beta (r^2 - 1))`` as a function of ``r2 = |y|^2`` (C 2).

    Exact: at the pole (beta > 1, ``r2 = 1 - 1/beta``) it returns ``inf``; callers that
    integrate or map treat that point explicitly (see :class:`FHRNField` and the analysis maps).
    """
    if beta == 0.0:
        return torch.ones_like(r2)
    return 1.0 / (1.0 + beta * (r2 - 1.0))


def gain_derivative(r2: torch.Tensor, beta: float) -> torch.Tensor:
    """``dg/d(r^2) = -beta g^2`` (derivative of C 2 with respect to ``|y|^2``)."""
    g = gain(r2, beta)
    return -beta * g * g


def homeostatic_field(y: torch.Tensor, kappa: float, theta: float = 1.0) -> torch.Tensor:
    """``g_h(y) = -kappa (|y|^2 - theta^2) y`` (C 8), batched over leading dimensions."""
    r2 = (y * y).sum(-1, keepdim=True)
    return -kappa * (r2 - theta * theta) * y


def lyapunov_V(y: torch.Tensor, theta: float = 1.0) -> torch.Tensor:
    """``V(y) = 1/4 (|y|^2 - theta^2)^2`` (C 13), shape ``y.shape[:-1]``."""
    r2 = (y * y).sum(-1)
    return 0.25 * (r2 - theta * theta) ** 2


class _EvaluationBudgetExceeded(Exception):
    """Raised inside ``forward`` when ``max_nfe`` is exceeded (caught by :func:`fhrn_ode.integrate`)."""

    def __init__(self, t: float, max_norm: float) -> None:
        super().__init__(f"evaluation budget exceeded at t={t}")
        self.t = t
        self.max_norm = max_norm


class FHRNField(nn.Module):
    """The FHRN right-hand side as an ``nn.Module`` with ``forward(t, state)`` (torchdiffeq style).

    Args:
        W: reentry operator ``W*``, ``(d, d)`` (numpy or torch), real, finite.
        params: model parameters.
        dtype: float dtype of the buffers (float64 by default, for analysis).
        max_norm: optional guard. Rows whose ``|y|`` exceeds it, or that come within ``1e-3`` of the
            gain pole (``|1 + beta(|y|^2 - 1)| < 1e-3``), get a zero derivative (they are frozen),
            so an adaptive solver can finish; :func:`fhrn_ode.integrate` reports them as diverged.
            ``None`` (default) evaluates the exact field everywhere.

    Attributes:
        nfe: number of calls of ``forward`` since construction or :meth:`reset_nfe`.

    Raises:
        FHRNInputError: bad ``W`` or a drive of the wrong length, or ``memory='input'`` with zero drive.
    """

    POLE_GUARD = 1e-3

    def __init__(self, W, params: FHRNParams | None = None, *, dtype: torch.dtype = torch.float64,
                 max_norm: float | None = None) -> None:
        super().__init__()
        params = FHRNParams() if params is None else params
        if not isinstance(params, FHRNParams):
            raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
        Wn = check_matrix(W, "W")
        d = Wn.shape[0]
        self.params = params
        self.dim = d
        c = np.asarray(params.drive_vector(d), dtype=np.float64)
        if params.memory == "input" and not np.any(c):
            raise FHRNInputError(
                "`memory`='input' uses the drive c as its input x (Phi = eta y x^T); pass a nonzero `drive`"
            )
        self.register_buffer("W", torch.as_tensor(Wn, dtype=dtype))
        # Linear part of the field when there is no gain modulation: M = -leak I + gamma W  (C 7).
        M = -params.leak * np.eye(d) + params.gamma * Wn
        self.register_buffer("Mt", torch.as_tensor(M.T.copy(), dtype=dtype))
        # M + kappa theta^2 I, so that -leak y + gamma W y + g_h(y) = H y - kappa |y|^2 y: one product
        # and one fused multiply-add per evaluation (C 7-8).
        H = M + params.kappa * params.theta * params.theta * np.eye(d)
        self.register_buffer("Ht", torch.as_tensor(H.T.copy(), dtype=dtype), persistent=False)
        # For small d, |y|^2 as (y*y) @ ones(d, 1) (a BLAS gemv): .sum(-1) over a short last axis is a
        # slow path in torch (~10x slower for d = 2).
        self.register_buffer("_ones", torch.ones(d, 1, dtype=dtype), persistent=False)
        self.register_buffer("Wt", torch.as_tensor(Wn.T.copy(), dtype=dtype))
        self.register_buffer("c", torch.as_tensor(c, dtype=dtype))
        self._has_drive = bool(np.any(c))
        self.max_norm = None if max_norm is None else float(max_norm)
        self.nfe = 0
        self.max_nfe: int | None = None  # set by integrate(): evaluation budget of one run

    @property
    def has_memory(self) -> bool:
        return self.params.memory != "none"

    def reset_nfe(self) -> None:
        self.nfe = 0

    # -- the right-hand side -------------------------------------------------------------------
    def velocity(self, y: torch.Tensor, A: torch.Tensor | None = None) -> torch.Tensor:
        """``dy/dt`` at ``y`` ``(..., d)`` with memory trace ``A`` ``(..., d, d)`` or None (C 7-9)."""
        return self._velocity_r2(y, A)[0]

    def _sqnorm(self, y: torch.Tensor) -> torch.Tensor:
        """``|y|^2`` of shape ``(..., 1)``."""
        if self.dim <= 16 and y.dtype == self._ones.dtype:
            return (y * y) @ self._ones
        return torch.linalg.vector_norm(y, dim=-1, keepdim=True).square()  # one pass over y

    def _velocity_r2(self, y: torch.Tensor, A: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(dy/dt, |y|^2)``; the squared norm ``(..., 1)`` feeds the divergence guard."""
        p = self.params
        r2 = self._sqnorm(y)
        if p.beta == 0.0:
            # H y - kappa |y|^2 y = -leak y + gamma W y - kappa (|y|^2 - theta^2) y  (C 7-8)
            out = torch.addcmul(y @ self.Ht, r2, y, value=-p.kappa)  # out of place: vmap/jacrev friendly
        else:
            g = gain(r2, p.beta)
            out = torch.addcmul(-p.leak * y, g, y @ self.Wt, value=p.gamma)
            out = torch.addcmul(out, r2 - p.theta * p.theta, y, value=-p.kappa)  # homeostasis (C 8)
        if A is not None:
            out = out + (A @ y.unsqueeze(-1)).squeeze(-1)  # memory readout A y
        if self._has_drive:
            out = out + self.c
        return out, r2

    def memory_rate(self, y: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
        """``dA/dt = -lam A + Phi(y, x)`` (S1), ``A`` of shape ``(..., d, d)``."""
        p = self.params
        if p.memory == "hebbian":
            phi = y.unsqueeze(-1) * y.unsqueeze(-2)  # y y^T
        else:
            phi = y.unsqueeze(-1) * self.c  # y x^T with x = c
        return torch.add(-p.lam * A, phi, alpha=p.eta)

    def forward(self, t: torch.Tensor, state):
        self.nfe += 1
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
        """:meth:`forward` for states stored as columns, ``yT`` ``(d, N)`` -> ``(d, N)`` (no memory).

        Same field (C 7-8), counters and guard; used by :func:`fhrn_ode.integrate` for small ``d``, where
        products with ``(N, d)`` rows of length 2 or 3 hit slow paths in torch.
        """
        self.nfe += 1
        if self.max_nfe is not None and self.nfe > self.max_nfe:
            raise _EvaluationBudgetExceeded(float(t), float(yT.detach().norm(dim=0).max()))
        p = self.params
        r2 = (yT * yT).sum(0, keepdim=True)  # (1, N)
        if p.beta == 0.0:
            out = (self.Ht.mT @ yT).addcmul_(r2, yT, value=-p.kappa)
        else:
            out = torch.addcmul(-p.leak * yT, gain(r2, p.beta), self.W @ yT, value=p.gamma)
            out = torch.addcmul(out, r2 - p.theta * p.theta, yT, value=-p.kappa)
        if self._has_drive:
            out = out + self.c.unsqueeze(-1)
        if self.max_norm is not None:
            bad = self._bad_rows(r2)
            if bad is not None:
                out = torch.where(bad, torch.zeros_like(out), out)
        return out

    def _bad_rows(self, r2: torch.Tensor) -> torch.Tensor | None:
        """Mask (shaped like ``r2 = |y|^2``) of states that left the trusted region, or None when all are fine."""
        if self.params.beta <= 1.0:
            # one reduction covers NaN (max propagates it; NaN <= x is False), inf and |y| > max_norm;
            # the mask is built only when needed
            if float(r2.detach().max()) <= self.max_norm ** 2:
                return None
            return self._bad_from_r2(r2)
        bad = self._bad_from_r2(r2)
        return bad if bool(bad.any()) else None

    def _bad_from_r2(self, r2: torch.Tensor) -> torch.Tensor:
        # ~(r2 <= m^2) is ~isfinite(r2) | (r2 > m^2) in one op (r2 >= 0, NaN compares False)
        bad = ~torch.isfinite(r2) if self.max_norm is None else ~(r2 <= self.max_norm ** 2)
        if self.params.beta > 1.0:
            den = 1.0 + self.params.beta * (r2 - 1.0)
            bad = bad | (den.abs() < self.POLE_GUARD)
        return bad

    def bad_mask(self, y: torch.Tensor) -> torch.Tensor:
        """Rows that diverged: non-finite, ``|y| > max_norm`` or within the gain-pole guard."""
        return self._bad_from_r2((y * y).sum(-1))

    # -- Jacobian --------------------------------------------------------------------------------
    def jacobian(self, y: torch.Tensor, A: torch.Tensor | None = None) -> torch.Tensor:
        """Analytic ``J(y) = d(dy/dt)/dy`` with ``A`` held fixed, shape ``(..., d, d)``.

        ``J = -leak I + gamma (g W - 2 beta g^2 (W y) y^T) + A - kappa [(|y|^2 - theta^2) I + 2 y y^T]``:
        C 10-11 plus the derivative of the gain ``g`` (C 2) and the memory readout.
        """
        p = self.params
        d = y.shape[-1]
        eye = torch.eye(d, dtype=y.dtype, device=y.device)
        r2 = (y * y).sum(-1)[..., None, None]  # (..., 1, 1)
        yyT = y.unsqueeze(-1) * y.unsqueeze(-2)  # (..., d, d)
        J = -p.leak * eye - p.kappa * ((r2 - p.theta * p.theta) * eye + 2.0 * yyT)
        if p.beta == 0.0:
            J = J + p.gamma * self.W
        else:
            g = gain(r2, p.beta)
            Wy = y @ self.Wt  # (..., d)
            J = J + p.gamma * (g * self.W - 2.0 * p.beta * g * g * (Wy.unsqueeze(-1) * y.unsqueeze(-2)))
        if A is not None:
            J = J + A
        return J
