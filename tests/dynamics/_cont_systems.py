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


class BogdanovTakens(nn.Module):
    """x' = y, y' = b1 + b2 x + x^2 - x y: fold curve b2^2 = 4 b1 (x = -b2/2), Hopf curve b1 = 0, b2 < 0
    (x = 0); both end at the Bogdanov-Takens point b1 = b2 = 0 (trace and determinant of J vanish)."""

    def __init__(self, b1, b2):
        super().__init__()
        self.b1, self.b2 = b1, b2

    def forward(self, t, v):
        x, y = v[0], v[1]
        return torch.stack([y, self.b1 + self.b2 * x + x * x - x * y])


class FoldHopf(nn.Module):
    """z' = b1 + z^2, (u, v)' = (b2 + z)(u, v) + w J (u, v): equilibria z = +-sqrt(-b1), u = v = 0.
    Fold curve b1 = 0 (z = 0) with eigenvalues 0, b2 +- i w: zero-Hopf at b1 = b2 = 0; Hopf curve
    b1 = -b2^2 (z = -b2) through the same point."""

    def __init__(self, b1, b2, w=1.0):
        super().__init__()
        self.b1, self.b2, self.w = b1, b2, w

    def forward(self, t, s):
        z, u, v = s[0], s[1], s[2]
        g = self.b2 + z
        return torch.stack([self.b1 + z * z, g * u - self.w * v, self.w * u + g * v])

