"""A user's own field on the command line: the Van der Pol oscillator as an ``nn.Module``.

    dx/dt = y,    dy/dt = mu (1 - x^2) y - x                      (van der Pol 1926)

The dynamics commands take it with ``--field examples/van_der_pol.py:VanDerPol`` (``--param mu=2`` sets
the constructor argument); they import this file and run it:

    fhrn-ode fixed-points --field examples/van_der_pol.py:VanDerPol
    fhrn-ode cycles       --field examples/van_der_pol.py:VanDerPol --param mu=1
    fhrn-ode exponents    --field examples/van_der_pol.py:VanDerPol
    fhrn-ode bifurcation  --field examples/van_der_pol.py:VanDerPol --param mu --range -0.5:0.5:5

Exact answers: the origin is the only fixed point, with Jacobian ``[[0, 1], [-1, mu]]`` and eigenvalues
``(mu +- sqrt(mu^2 - 4)) / 2``: an unstable focus for ``0 < mu < 2``, a Hopf point at ``mu = 0``. For
``mu = 1`` the limit cycle's period is 6.6632868593 (e.g. Strogatz, Nonlinear Dynamics and Chaos §7.5;
computed to 10 digits in the test). Run ``python examples/van_der_pol.py`` for the same from Python.

The field keeps the state's shape, as every field must: ``(2,)`` in, ``(2,)`` out; ``(N, 2)`` in,
``(N, 2)`` out. ``dim`` tells the tools the state size. ``jacobian`` is optional: the dynamics tools check
it once against autograd (relative 1e-8) and then use it for the tangent dynamics (Floquet multipliers,
Lyapunov exponents, Newton) instead of autograd Jacobian-vector products (docs/api.md, the field contract).
"""

from __future__ import annotations

import torch
from torch import nn


class VanDerPol(nn.Module):
    """The Van der Pol field ``f(t, (x, y)) = (y, mu (1 - x^2) y - x)`` on states ``(..., 2)``.

    Args:
        mu: the damping parameter (``mu > 0``: a stable limit cycle around an unstable origin).
    """

    dim = 2

    def __init__(self, mu: float = 1.0) -> None:
        super().__init__()
        self.mu = float(mu)

    def forward(self, t, state: torch.Tensor) -> torch.Tensor:
        """``(..., 2) -> (..., 2)``."""
        x, y = state[..., 0], state[..., 1]
        return torch.stack([y, self.mu * (1.0 - x * x) * y - x], dim=-1)

    def jacobian(self, state: torch.Tensor) -> torch.Tensor:
        """``(..., 2) -> (..., 2, 2)``: ``[[0, 1], [-2 mu x y - 1, mu (1 - x^2)]]`` (optional, see above)."""
        x, y = state[..., 0], state[..., 1]
        row0 = torch.stack([torch.zeros_like(x), torch.ones_like(x)], dim=-1)
        row1 = torch.stack([-2.0 * self.mu * x * y - 1.0, self.mu * (1.0 - x * x)], dim=-1)
        return torch.stack([row0, row1], dim=-2)


def main() -> None:
    from fhrn_ode.dynamics import find_cycles, find_fixed_points

    field = VanDerPol(mu=1.0)
    fp = find_fixed_points(field, n_starts=16, seed=0)
    for p in fp.points:
        print(f"fixed point {p.x.round(8).tolist()}: {p.kind}")
    cyc = find_cycles(field, n_init=2, seed=0)
    for c in cyc.cycles:
        print(f"cycle period {c.period:.10f} ({'stable' if c.stable else 'unstable'})")


if __name__ == "__main__":
    main()
