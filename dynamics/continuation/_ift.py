"""Differentiable bifurcation points: the parameter of a fold or Hopf point as a function of the field's tensors.

A located point ``z* = (x, v, [w,] p)`` solves its defining system ``G(z; theta) = 0`` (the fold or Hopf
system of :mod:`._codim2` at fixed ``p2``), where ``theta`` is every tensor the family ``make_field`` closes
over. By the implicit function theorem ``dz*/dtheta = -G_z^{-1} G_theta``, so with the adjoint ``a``,
``G_z^T a = e_p``:

    dp*/dtheta = -a^T dG/dtheta (z*, theta).

:func:`bifurcation_parameter` returns ``p*`` as a 0-d tensor whose gradient is exactly this (first order:
``p* - (a^T G - stopgrad(a^T G))``); nothing is differentiated through Newton's iterations.
"""

from __future__ import annotations

import torch
from torch.func import jacfwd

from fhrn_ode._errors import FHRNInputError

from ._codim2 import _Curve, _start_vector
from ._problem import ContinuationProblem, SpecialPoint
from ._system import EquilibriumSystem

__all__ = ["bifurcation_parameter"]

D = torch.float64


def _square_jacobian(curve: _Curve, u: torch.Tensor, p2) -> torch.Tensor:
    m = len(u) - 1
    z, p = u[:m], float(u[m])
    Jz = jacfwd(lambda zz: curve.G(zz, p, p2))(z)
    dp = curve.sys.param_derivative(lambda q, q2: curve.G(z, q, q2), p, p2, 1)
    return torch.cat([Jz, dp[:, None]], 1)


def _polish(curve: _Curve, u: torch.Tensor, p2, tol: float, max_iter: int = 30) -> torch.Tensor:
    m = len(u) - 1
    for _ in range(max_iter):
        g = curve.G(u[:m], float(u[m]), p2)
        if float(torch.linalg.vector_norm(g)) <= tol:
            return u
        u = u - torch.linalg.solve(_square_jacobian(curve, u, p2), g)
    raise FHRNInputError(f"`point`: Newton on the {curve.kind} system did not converge (|G| = "
                         f"{float(torch.linalg.vector_norm(g)):.3g}); is it a located {curve.kind} point of this problem?")


def bifurcation_parameter(problem: ContinuationProblem, point: SpecialPoint, *, tol: float = 1e-12) -> torch.Tensor:
    """The parameter of a fold ('LP') or Hopf ('H') point as a differentiable 0-d tensor (module docstring).

    Build ``problem.make_field`` from tensors that require grad (e.g. ``W`` of an :class:`FHRNField`); the
    returned tensor's ``.backward()`` gives ``dp*/dW`` by the implicit function theorem.

    Args:
        problem: the problem the point was located on (``make_field`` form). point: an 'LP' or 'H' point.
        tol: Newton tolerance of the polish of the defining system before differentiating.

    Returns:
        0-d float64 tensor ``p*`` (value: the polished point's parameter).

    Raises:
        FHRNInputError: not an 'LP'/'H' point, the problem has no ``make_field``, or the polish fails.
    """
    if not isinstance(point, SpecialPoint) or point.kind not in ("LP", "H"):
        raise FHRNInputError(f"`point` must be an 'LP' or 'H' SpecialPoint, got {getattr(point, 'kind', point)!r}")
    if problem.make_field is None:
        raise FHRNInputError("`problem` needs `make_field` (built from the tensors to differentiate) for gradients")
    sys = EquilibriumSystem(problem)
    p2 = problem.p2_0
    with torch.no_grad():
        z0, v0 = _start_vector(sys, point.kind, point, point.p, p2)
    curve = _Curve(sys, point.kind, v0)
    with torch.no_grad():
        u = _polish(curve, torch.cat([z0.detach(), torch.tensor([point.p], dtype=D)]), p2, tol)
        Ju = _square_jacobian(curve, u, p2)
        e = torch.zeros(len(u), dtype=D)
        e[-1] = 1.0
        adj = torch.linalg.solve(Ju.T, e)
    sys._cache = None  # rebuild the field with the caller's graph
    with torch.enable_grad():
        g = adj @ curve.G(u[:-1], float(u[-1]), p2)
    return u[-1] - (g - g.detach())
