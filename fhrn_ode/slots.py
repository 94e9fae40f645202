"""Attractor-slot memory as a memory rule of the FHRN field (docs/companions.md; docs/model.md §1, §6).

State ``(y, M)``: ``y`` ``(N, d)`` and ``K`` slot vectors ``M = (m_1 .. m_K)`` ``(N, K, d)``:

    s_k    = cos(m_k, y) = m_k . y / (|m_k|_eps |y|_eps),   |v|_eps = sqrt(|v|^2 + eps^2)
    dy/dt  = -leak y + gamma g(|y|) W* y - kappa (|y|^2 - theta^2) y + c + rho sum_k s_k m_k
    dm_k/dt = -lam m_k + eta max(s_k, 0) y

(the reentry, gain ``g`` and homeostatic term exactly as the fast-weight field, C 2, C 7-8; the
fast-weight readout ``A y`` is replaced by the slot readout ``rho sum_k s_k m_k``). ``eps`` regularises
the cosine at ``m_k = 0`` or ``y = 0`` (there ``s_k = 0``: a zero slot feeds nothing back). ``lam``,
``eta`` are the fast-weight trace's decay and plasticity rates (:class:`~fhrn_ode.params.FHRNParams`);
``params.memory`` must be ``'none'`` (the slots ARE the memory). ``rho`` (default 1) scales the feedback.

Closed forms used by the analysis (derived in docs/companions.md): at an equilibrium each slot is
either ``0`` or aligned, ``m_k = (eta/lam) y`` (``s_k = 1``), and ``n_a`` aligned slots add
``rho n_a eta/lam`` to the linear growth rate of ``y``: for ``beta = 0`` and ``y`` along an eigenvector of
``W*`` with real eigenvalue ``w``, ``|y|^2 = theta^2 + (gamma w - leak + rho n_a eta/lam) / kappa``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._errors import FHRNInputError, check_int, check_real
from .field import homeostatic_field
from .homeostasis import gain
from .operators import check_matrix
from .params import FHRNParams

__all__ = ["SlotFHRNField", "FlatSlotField", "slot_similarity", "integrate_slots", "SlotRun"]


def slot_similarity(M: torch.Tensor, y: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``s_k = m_k . y / (|m_k|_eps |y|_eps)`` for ``M`` ``(..., K, d)``, ``y`` ``(..., d)`` -> ``(..., K)``."""
    dots = (M @ y.unsqueeze(-1)).squeeze(-1)
    nm = torch.sqrt((M * M).sum(-1) + eps * eps)
    ny = torch.sqrt((y * y).sum(-1, keepdim=True) + eps * eps)
    return dots / (nm * ny)


class SlotFHRNField(nn.Module):
    """The FHRN field with attractor-slot memory, ``forward(t, (y, M)) -> (dy/dt, dM/dt)``.

    Args:
        W: reentry operator ``W*`` ``(d, d)``.
        params: :class:`FHRNParams` with ``memory='none'`` (``lam``, ``eta`` are the slots' rates).
        n_slots: number of slots ``K >= 1``.
        readout: feedback scale ``rho >= 0`` (default 1).
        eps: cosine regulariser (> 0).
        dtype: float dtype of the buffers.

    Raises:
        FHRNInputError: bad ``W``, ``params.memory != 'none'``, bad ``n_slots``/``readout``/``eps``.
    """

    discrete = False

    def __init__(self, W, params: FHRNParams | None = None, n_slots: int = 4, *, readout: float = 1.0,
                 eps: float = 1e-8, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        params = FHRNParams() if params is None else params
        if not isinstance(params, FHRNParams):
            raise FHRNInputError(f"`params` must be an FHRNParams, got {type(params).__name__}")
        if params.memory != "none":
            raise FHRNInputError(f"`params.memory` must be 'none' with slot memory (the slots are the memory), "
                                 f"got {params.memory!r}")
        Wn = check_matrix(W, "W")
        self.params = params
        self.dim = Wn.shape[0]
        self.n_slots = check_int("n_slots", n_slots, low=1, high=10000)
        self.readout = check_real("readout", readout, low=0.0)
        self.eps = check_real("eps", eps, low=0.0, low_open=True)
        self.register_buffer("W", torch.as_tensor(Wn, dtype=dtype))
        self.register_buffer("c", torch.as_tensor(np.asarray(params.drive_vector(self.dim)), dtype=dtype))
        self.nfe = 0

    has_memory = True

    def velocity(self, y: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
        """``dy/dt`` (module docstring), ``y`` ``(..., d)``, ``M`` ``(..., K, d)``."""
        p = self.params
        r2 = (y * y).sum(-1, keepdim=True)
        Wy = y @ self.W.T
        out = -p.leak * y + p.gamma * gain(r2, p.beta) * Wy + homeostatic_field(y, p.kappa, p.theta) + self.c
        s = slot_similarity(M, y, self.eps)
        return out + self.readout * (s.unsqueeze(-1) * M).sum(-2)

    def slot_rate(self, y: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
        """``dM/dt = -lam M + eta max(s, 0) y`` ``(..., K, d)``."""
        p = self.params
        s = slot_similarity(M, y, self.eps)
        return -p.lam * M + p.eta * torch.clamp(s, min=0.0).unsqueeze(-1) * y.unsqueeze(-2)

    def forward(self, t, state):
        self.nfe += 1
        y, M = state
        return self.velocity(y, M), self.slot_rate(y, M)

    # flat views for fixed-point tools that work on one vector state
    def flat(self) -> "FlatSlotField":
        """This field as an ``nn.Module`` on flat states ``[y, vec M]`` ``(..., d + K d)`` (attribute ``dim``), for
        tools that take any ``forward(t, z)`` field with one vector state (``fhrn_ode.dynamics.fixed_points``)."""
        return FlatSlotField(self)

    def flat_field(self):
        """``f(x)`` on one flat state ``x = [y, vec M]`` ``(d + K d,)`` (for Jacobians / root finding)."""
        d, K = self.dim, self.n_slots

        def f(x):
            y, M = x[:d], x[d:].reshape(K, d)
            return torch.cat([self.velocity(y, M), self.slot_rate(y, M).reshape(-1)])

        return f


class FlatSlotField(nn.Module):
    """:class:`SlotFHRNField` on flat states ``z = [y, vec M]`` ``(..., d + K d)``; ``dim = d + K d``."""

    discrete = False
    has_memory = True

    def __init__(self, fld: SlotFHRNField) -> None:
        super().__init__()
        self.slots = fld
        self.dim = fld.dim + fld.n_slots * fld.dim

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        d, K = self.slots.dim, self.slots.n_slots
        y, M = z[..., :d], z[..., d:].reshape(*z.shape[:-1], K, d)
        dy, dM = self.slots(t, (y, M))
        return torch.cat([dy, dM.flatten(-2)], -1)


class SlotRun:
    """Result of :func:`integrate_slots`: ``t`` ``(T,)``, ``y`` ``(T, N, d)``, ``M`` ``(T, N, K, d)`` (numpy),
    ``status``/``message``/``t_diverged`` as :class:`fhrn_ode.IntegrationResult`, ``nfe``."""

    def __init__(self, t, y, M, status: str, nfe: int, message: str = "", t_diverged=None) -> None:
        self.t, self.y, self.M, self.status, self.nfe = t, y, M, status, nfe
        self.message, self.t_diverged = message, t_diverged


def integrate_slots(field: SlotFHRNField, y0, M0, *, t1: float = 20.0, n_points: int = 201, method: str = "dopri5",
                    rtol: float | None = None, atol: float | None = None, max_norm: float = 1e6,
                    max_nfe: int | None = 20_000) -> SlotRun:
    """Integrate :class:`SlotFHRNField` from ``(y0, M0)`` on ``linspace(0, t1, n_points)`` with
    :func:`fhrn_ode.integrate` (its generic-field path: tuple state, divergence as a status).

    ``status`` is ``'diverged'`` when some ``|y|`` exceeds ``max_norm`` or a state turns non-finite (the arrays
    end before that saved time, as in ``integrate``), ``'failed'`` past the evaluation budget ``max_nfe`` (None:
    no budget), else ``'success'``. ``rtol``/``atol`` default to 1e-8/1e-10 for adaptive methods and are
    refused for fixed-step ones (as in :func:`fhrn_ode.solver.solve`).

    Raises:
        FHRNInputError: ``field`` not a :class:`SlotFHRNField`, or ``y0``/``M0`` of the wrong shapes.
        fhrn_ode._errors.Interrupted: Ctrl-C (SIGTERM through the CLI); ``.result`` is the :class:`SlotRun`
            of the computed prefix.
    """
    from ._errors import Interrupted
    from .integration import IntegrationInterrupted, integrate
    from .solver import ADAPTIVE_SOLVERS

    if not isinstance(field, SlotFHRNField):
        raise FHRNInputError(f"`field` must be a SlotFHRNField, got {type(field).__name__}")
    y0 = torch.as_tensor(np.asarray(y0), dtype=field.W.dtype)
    M0 = torch.as_tensor(np.asarray(M0), dtype=field.W.dtype)
    if y0.ndim != 2 or y0.shape[1] != field.dim or M0.shape != (y0.shape[0], field.n_slots, field.dim):
        raise FHRNInputError(f"`y0` must be (N, {field.dim}) and `M0` (N, {field.n_slots}, {field.dim}), got "
                             f"{tuple(y0.shape)} and {tuple(M0.shape)}")
    nfe0 = field.nfe
    if method in ADAPTIVE_SOLVERS:
        rtol, atol = (1e-8 if rtol is None else rtol), (1e-10 if atol is None else atol)

    def run(res) -> SlotRun:
        M = res.y_rest[0] if res.y_rest else M0[None]
        return SlotRun(res.t.numpy(), res.y.numpy(), np.asarray(M), res.status, field.nfe - nfe0, res.message,
                       res.t_diverged)

    try:
        with torch.no_grad():
            res = integrate(field, (y0, M0), t1=t1, n_points=n_points, method=method, rtol=rtol, atol=atol,
                            max_norm=max_norm, max_nfe=max_nfe)
    except IntegrationInterrupted as exc:
        raise Interrupted(run(exc.result), cause=exc, what=exc.result.message) from exc
    return run(res)
