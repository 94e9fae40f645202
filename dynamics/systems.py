"""Reference dynamical systems with known dynamics, as ``nn.Module`` fields (ground truths of the analyses).

* :class:`LorenzField`: ``dx/dt = sigma (y - x)``, ``dy/dt = x (rho - z) - y``, ``dz/dt = x y - b z``.
  Its Jacobian has the constant trace ``-(sigma + 1 + b)``, so the Lyapunov exponents sum to exactly
  that; for ``(10, 28, 8/3)`` the largest exponent is about 0.906 (Sprott, *Chaos and Time-Series
  Analysis*, 2003).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fhrn_ode._errors import check_real

__all__ = ["LorenzField", "lorenz_jacobian", "LORENZ_LARGEST_EXPONENT"]

#: Largest Lyapunov exponent of the Lorenz system at sigma 10, rho 28, b 8/3 (literature value).
LORENZ_LARGEST_EXPONENT = 0.9056


class LorenzField(nn.Module):
    """The Lorenz system as a field ``forward(t, x)`` on states ``(..., 3)``.

    Args:
        sigma, rho, b: the parameters (defaults 10, 28, 8/3).
    """

    dim = 3

    def __init__(self, sigma: float = 10.0, rho: float = 28.0, b: float = 8.0 / 3.0) -> None:
        super().__init__()
        self.sigma = check_real("sigma", sigma)
        self.rho = check_real("rho", rho)
        self.b = check_real("b", b)

    @property
    def trace(self) -> float:
        """``tr J = -(sigma + 1 + b)``, constant: the exact sum of the Lyapunov exponents."""
        return -(self.sigma + 1.0 + self.b)

    def forward(self, t, x: torch.Tensor) -> torch.Tensor:
        u, v, w = x[..., 0], x[..., 1], x[..., 2]
        return torch.stack([self.sigma * (v - u), u * (self.rho - w) - v, u * v - self.b * w], -1)


def lorenz_jacobian(x: np.ndarray, sigma: float = 10.0, rho: float = 28.0, b: float = 8.0 / 3.0) -> np.ndarray:
    """Closed-form Jacobian of :class:`LorenzField` at ``x`` ``(..., 3)`` (numpy), ``(..., 3, 3)``."""
    x = np.asarray(x, dtype=np.float64)
    J = np.zeros(x.shape[:-1] + (3, 3))
    J[..., 0, 0], J[..., 0, 1] = -sigma, sigma
    J[..., 1, 0], J[..., 1, 1], J[..., 1, 2] = rho - x[..., 2], -1.0, -x[..., 0]
    J[..., 2, 0], J[..., 2, 1], J[..., 2, 2] = x[..., 1], x[..., 0], -b
    return J
