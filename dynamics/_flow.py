"""Shared plumbing of the dynamics analyses (fixed points, cycles, exponents, bifurcations).

Every analysis works on ANY ``nn.Module`` field with ``forward(t, y)`` (torchdiffeq style). A field
whose state is a tuple, the FHRN field with memory ``(y, A)`` (docs/model.md §1, S1), is seen through
:class:`FlatField` as one flat state ``z = [y, vec(A)]`` of size ``d + d^2``. All integration goes
through :func:`odeint` (one small private helper, so that switching the backend is one line).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torchdiffeq
from torch import nn

from fhrn_ode._errors import FHRNInputError, check_int, check_real
from fhrn_ode.field import FHRNField

__all__ = ["FlatField", "as_flat_field", "odeint", "single", "random_states", "trajectory_samples", "as_states",
           "TangentField", "jvp_rows"]


class FlatField(nn.Module):
    """A field on flat states ``z`` ``(..., n)``; unpacks ``(y, A)`` for the FHRN field with memory.

    Attributes:
        field: the wrapped module. dim: flat state size ``n``. y_dim: size of the ``y`` block
            (``d`` for FHRN; ``n`` otherwise).
    """

    def __init__(self, field: nn.Module, dim: int | None = None) -> None:
        super().__init__()
        if not isinstance(field, nn.Module) or not callable(getattr(field, "forward", None)):
            raise FHRNInputError(f"`field` must be an nn.Module with forward(t, y), got {type(field).__name__}")
        self.field = field
        self.memory = isinstance(field, FHRNField) and field.has_memory
        d = getattr(field, "dim", None) if dim is None else dim
        if d is None:
            raise FHRNInputError(f"`dim` is needed: {type(field).__name__} has no `dim` attribute")
        self.y_dim = check_int("dim", int(d), low=1)
        self.dim = self.y_dim + self.y_dim ** 2 if self.memory else self.y_dim

    def split(self, z: torch.Tensor):
        d = self.y_dim
        return z[..., :d], z[..., d:].reshape(*z.shape[:-1], d, d)

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        if self.memory:
            dy, dA = self.field(t, self.split(z))
            return torch.cat([dy, dA.flatten(-2)], -1)
        return self.field(t, z)


def as_flat_field(field, dim: int | None = None) -> FlatField:
    """``field`` itself when already flat, else wrapped in :class:`FlatField`."""
    return field if isinstance(field, FlatField) else FlatField(field, dim)


def single(ff: FlatField, t: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """``z -> f(t, z)`` for ONE state ``(n,)`` (for ``torch.func`` transforms)."""
    tt = torch.tensor(float(t), dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return ff(tt, z)

    return f


def odeint(func, z0, t, *, method: str = "dopri5", rtol: float = 1e-8, atol: float = 1e-10, options=None):
    """``torchdiffeq.odeint`` (the one place the analyses integrate)."""
    kw = dict(method=method, options=options or {})
    if method in ("dopri5", "dopri8", "bosh3", "adaptive_heun", "fehlberg2"):
        kw.update(rtol=rtol, atol=atol)
    return torchdiffeq.odeint(func, z0, t, **kw)


def as_states(states, n: int, name: str = "y0") -> torch.Tensor:
    """Validate states ``(N, n)`` or ``(n,)`` -> float64 ``(N, n)``."""
    z = states.detach().to(torch.float64) if isinstance(states, torch.Tensor) else \
        torch.as_tensor(np.asarray(states, dtype=np.float64))
    if z.ndim == 1:
        z = z.unsqueeze(0)
    if z.ndim != 2 or z.shape[1] != n or z.shape[0] == 0:
        raise FHRNInputError(f"`{name}` must have shape (N, {n}) or ({n},), got {tuple(z.shape)}")
    if not bool(torch.isfinite(z).all()):
        raise FHRNInputError(f"`{name}` must be finite")
    return z


def random_states(ff: FlatField, n: int, radius: float, seed: int) -> torch.Tensor:
    """``n`` flat states: ``y`` uniform in the ball of ``radius`` (seeded), memory block ``A = 0``."""
    n = check_int("n_starts", n, low=1)
    radius = check_real("radius", radius, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    d = ff.y_dim
    u = rng.standard_normal((n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    y = u * (radius * rng.uniform(0.0, 1.0, (n, 1)) ** (1.0 / d))
    z = np.zeros((n, ff.dim))
    z[:, :d] = y
    return torch.as_tensor(z, dtype=torch.float64)


def trajectory_samples(ff: FlatField, n: int, *, radius: float = 2.0, t1: float = 10.0, n_traj: int | None = None,
                       seed: int = 0, max_norm: float = 1e3) -> torch.Tensor:
    """``n`` states sampled along trajectories (as FixedPointFinder does): ``(n, ff.dim)``.

    ``n_traj`` (default ``min(n, 16)``) trajectories start from :func:`random_states`; each is saved
    at 64 times in ``[0, t1]`` and ``n`` samples are drawn at random (seeded) among the finite saved
    states with ``|z| <= max_norm``. Starting states are always eligible, so a diverging flow still
    yields samples.
    """
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    n_traj = min(n, 16) if n_traj is None else check_int("n_traj", n_traj, low=1)
    z0 = random_states(ff, n_traj, radius, seed)
    t = torch.linspace(0.0, t1, 64, dtype=torch.float64)
    try:
        with torch.no_grad():
            Z = odeint(_Guard(ff, max_norm), z0, t, rtol=1e-6, atol=1e-8)
    except (AssertionError, RuntimeError):  # the solver gave up: keep the starting states
        Z = z0.unsqueeze(0)
    pool = Z.reshape(-1, ff.dim)
    ok = torch.isfinite(pool).all(-1) & (pool.norm(dim=-1) <= max_norm)
    pool = pool[ok]
    rng = np.random.default_rng(seed + 1)
    idx = rng.choice(pool.shape[0], size=n, replace=pool.shape[0] < n)
    return pool[torch.as_tensor(idx)].clone()


class _Guard(nn.Module):
    """Freeze rows that leave ``|z| <= max_norm`` (zero derivative) so an adaptive solver finishes."""

    def __init__(self, ff: nn.Module, max_norm: float) -> None:
        super().__init__()
        self.ff = ff
        self.max_norm = float(max_norm)

    def forward(self, t, z):
        bad = ~(z.norm(dim=-1, keepdim=True) <= self.max_norm)
        zs = torch.where(bad, torch.zeros_like(z), z)
        return torch.where(bad, torch.zeros_like(z), self.ff(t, zs))


class TangentField(nn.Module):
    """The field with its variational equation: state ``(z, Q)``, ``z`` ``(N, n)``, ``Q`` ``(N, n, k)``.

    ``dz/dt = f(z)``, ``dQ/dt = J(z) Q``, with the columns ``J(z) q`` as Jacobian-vector products
    (:func:`jvp_rows`): the tangent dynamics of Benettin's algorithm and of the monodromy matrix.
    The field must act row by row on a batch ``(B, n)`` (as any torchdiffeq field on a batch of
    states does); the ``k`` columns then travel as ``N k`` extra rows of one forward-mode pass.
    """

    def __init__(self, ff: FlatField) -> None:
        super().__init__()
        self.ff = ff

    def forward(self, t, state):
        z, Q = state
        N, n, k = Q.shape
        # rows are independent, so the k columns ride along as extra rows of one batch (N k, n)
        zr = z.unsqueeze(1).expand(N, k, n).reshape(N * k, n)
        V = Q.transpose(1, 2).reshape(N * k, n)
        fz, JV = jvp_rows(self.ff, t, zr, V)
        return fz.reshape(N, k, n)[:, 0], JV.reshape(N, k, n).transpose(1, 2)


def jvp_rows(ff, t, z: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(z), J(z) v)`` row by row for a batch ``(B, n)``: a Jacobian-vector product by double VJP.

    ``J v = d/du <v, J^T u>`` (two reverse passes through ``f``); equal to ``torch.func.jvp`` (tested)
    and about 3x cheaper per call on small CPU states in torch 2.x, where the forward-mode dispatch
    overhead dominates. Works inside ``torch.no_grad``.
    """
    with torch.enable_grad():
        x = z.detach().requires_grad_(True)
        y = ff(t, x)
        u = torch.zeros_like(y, requires_grad=True)
        (g,) = torch.autograd.grad(y, x, u, create_graph=True)
        (Jv,) = torch.autograd.grad(g, u, v)
    return y.detach(), Jv.detach()
