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
