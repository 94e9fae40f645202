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



class TwistedCycle(nn.Module):
    """A Hopf cycle r^2 = p (angular speed w, T = 2 pi / w) with a transverse pair (z, q) whose frame turns by
    pi per period: (z, q)' = (-I + [[x, y], [y, -x]]) (z, q) + (w / 2) J (z, q). In the frame turning with
    theta / 2 the pair obeys diag(-1 + r, -1 - r), so its multipliers are -exp((sqrt(p) - 1) T) and
    -exp(-(1 + sqrt(p)) T): a period doubling at p = 1 exactly."""

    def __init__(self, p, w=2.0):
        super().__init__()
        self.p, self.w = p, w

    def forward(self, t, s):
        x, y, z, q = s[0], s[1], s[2], s[3]
        g = self.p - x * x - y * y
        h = self.w / 2
        return torch.stack([g * x - self.w * y, self.w * x + g * y,
                            (x - 1) * z + y * q - h * q, y * z - (x + 1) * q + h * z])


class TorusCycle(nn.Module):
    """A Hopf cycle r^2 = p (angular speed w, T = 2 pi / w) with a transverse focus
    (z, q)' = (r^2 - 1)(z, q) + w2 J (z, q): multipliers exp((p - 1) T +- i w2 T), a Neimark-Sacker (torus)
    bifurcation at p = 1 exactly (w2 T = 0.3 pi here, not a multiple of pi)."""

    def __init__(self, p, w=2.0, w2=0.3):
        super().__init__()
        self.p, self.w, self.w2 = p, w, w2

    def forward(self, t, s):
        x, y, z, q = s[0], s[1], s[2], s[3]
        r2 = x * x + y * y
        g = self.p - r2
        return torch.stack([g * x - self.w * y, self.w * x + g * y,
                            (r2 - 1) * z - self.w2 * q, self.w2 * z + (r2 - 1) * q])
