"""Test-only fields with known dynamics."""

import numpy as np
import torch
from torch import nn


class LinearField(nn.Module):
    """``dz/dt = A z`` on states ``(..., n)``."""

    def __init__(self, A):
        super().__init__()
        self.A = torch.as_tensor(np.asarray(A, dtype=np.float64))
        self.dim = self.A.shape[0]

    def forward(self, t, z):
        return z @ self.A.T


class GhostField(nn.Module):
    """``(x^2 + eps, -y)``: no equilibrium, a slow point at the origin with q = eps^2 / 2 (ghost of a fold)."""

    dim = 2

    def __init__(self, eps=1e-3):
        super().__init__()
        self.eps = eps

    def forward(self, t, z):
        return torch.stack([z[..., 0] ** 2 + self.eps, -z[..., 1]], -1)


class VdPBatch(nn.Module):
    """Van der Pol (mu = 1) written for a batch only, torchdiffeq style: ``x[:, 0]`` (fails on a single state)."""

    def forward(self, t, x):
        u, v = x[:, 0], x[:, 1]
        return torch.stack([v, (1 - u * u) * v - u], 1)


class VdPSingle(nn.Module):
    """The same field written for one state only: ``x[0]`` (a batch would be misread as two states)."""

    def forward(self, t, x):
        return torch.stack([x[1], (1 - x[0] * x[0]) * x[1] - x[0]])


class Brusselator(nn.Module):
    """``x' = a - (b + 1) x + x^2 y``, ``y' = b x - x^2 y``: Hopf at b = 1 + a^2."""

    dim = 2

    def __init__(self, a=1.0, b=2.1):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, t, z):
        x, y = z[..., 0], z[..., 1]
        return torch.stack([self.a - (self.b + 1) * x + x * x * y, self.b * x - x * x * y], -1)


class FoldField(nn.Module):
    """``x' = r + x^2``, ``y' = -y``: a fold at r = 0 (a = 1), the degenerate point (0, 0) there."""

    dim = 2

    def __init__(self, r=0.0):
        super().__init__()
        self.r = r

    def forward(self, t, z):
        return torch.stack([self.r + z[..., 0] ** 2, -z[..., 1]], -1)


class HopfNF(nn.Module):
    """``r' = mu r + s r^3``, ``phi' = 1`` in cartesian coordinates: l1 = s (Kuznetsov's normalisation, omega 1)."""

    dim = 2

    def __init__(self, mu, s=-1.0):
        super().__init__()
        self.mu, self.s = mu, s

    def forward(self, t, z):
        x, y = z[..., 0], z[..., 1]
        r2 = x * x + y * y
        return torch.stack([self.mu * x - y + self.s * r2 * x, x + self.mu * y + self.s * r2 * y], -1)
