"""The Lyapunov function ``V`` of the homeostatic shell and its time derivative: their one home.

    V(y)     = 1/4 (|y|^2 - theta^2)^2                                        (C 13; docs/model.md §1)
    dV/dt    = grad V(y) . f(y) = (|y|^2 - theta^2) y^T f(y)                  (C 14)

Both work on numpy arrays and torch tensors, batched over the leading dimensions of ``y`` (``(..., d)``).
"""

from __future__ import annotations

__all__ = ["lyapunov_V", "lyapunov_V_dot"]


def _sum_last(x):
    return x.sum(-1) if hasattr(x, "sum") else sum(x)


def lyapunov_V(y, theta: float = 1.0):
    """``V(y) = 1/4 (|y|^2 - theta^2)^2`` (C 13) of states ``(..., d)``; shape ``y.shape[:-1]``."""
    r2 = _sum_last(y * y)
    return 0.25 * (r2 - theta * theta) ** 2


def lyapunov_V_dot(y, f, theta: float = 1.0):
    """``dV/dt = (|y|^2 - theta^2) y^T f`` (C 14) for states ``y`` and velocities ``f``, both ``(..., d)``."""
    r2 = _sum_last(y * y)
    return (r2 - theta * theta) * _sum_last(y * f)
