"""Small fields with exact bifurcations, shared by the continuation tests."""

import torch
from torch import nn


class Fold(nn.Module):
    """x' = mu - x^2: fold at mu = 0, a = -1."""

    def __init__(self, mu):
        super().__init__()
        self.mu = mu

    def forward(self, t, x):
        return self.mu - x ** 2


class Pitchfork(nn.Module):
    """x' = mu x - x^3: branch point at (0, 0), branches x = +-sqrt(mu)."""

    def __init__(self, mu):
        super().__init__()
        self.mu = mu

    def forward(self, t, x):
        return self.mu * x - x ** 3


class HopfNF(nn.Module):
    """r' = mu r + s r^3, theta' = 1 (s = -1 supercritical)."""

    def __init__(self, mu, s=-1.0):
        super().__init__()
        self.mu, self.s = mu, s

    def forward(self, t, v):
        r2 = v[0] ** 2 + v[1] ** 2
        g = self.mu + self.s * r2
        return torch.stack([g * v[0] - v[1], v[0] + g * v[1]])


class Brusselator(nn.Module):
    """x' = a - (b + 1) x + x^2 y, y' = b x - x^2 y: Hopf at b = 1 + a^2, w = a."""

    def __init__(self, b, a=1.0):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, t, v):
        x, y = v[0], v[1]
        return torch.stack([self.a - (self.b + 1) * x + x * x * y, self.b * x - x * x * y])


class Cusp(nn.Module):
    """x' = mu + lam x - x^3: fold curve mu = -2 x^3, lam = 3 x^2; cusp at (0, 0)."""

    def __init__(self, mu, lam):
        super().__init__()
        self.mu, self.lam = mu, lam

    def forward(self, t, x):
        return self.mu + self.lam * x - x ** 3
