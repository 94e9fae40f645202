"""Lyapunov traces along trajectories (Fig. 3; C 13-14).

For a candidate ``V`` (default the paper's ``V(y) = 1/4 (|y|^2 - theta^2)^2``, C 13) this integrates a family
of initial radii and records ``V(y(t))``, ``dV/dt = grad V(y) . f(y)`` (autograd, ``torch.func.grad``) and
``|y(t)|``. For the default V the exact derivative ``(|y|^2 - theta^2) y^T f(y)`` (C 14) is also returned.
A violation is a sample with ``dV/dt > tol`` (V increases): the report gives their fraction, the maximum
and the first times / states where they occur. Note: with ``leak > 0`` the flow settles on the ring ``r* = sqrt(theta^2 - leak/kappa) < theta``
(antisymmetric W), not on the minimum ``|y| = theta`` of V: for ``r* < |y| < theta`` the radius shrinks
AWAY from ``theta`` and the paper's V increases. These are real violations of "monotonic descent".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.func import grad, vmap

from fhrn_ode._errors import FHRNInputError, check_int, check_real
from fhrn_ode.energy import lyapunov_V
from fhrn_ode.field import FHRNField
from fhrn_ode.integration import integrate
from fhrn_ode.params import FHRNParams

__all__ = ["paper_V", "ViolationReport", "LyapunovTraces", "lyapunov_derivative", "lyapunov_traces",
           "violation_report"]


def paper_V(theta: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """``V(y) = 1/4 (|y|^2 - theta^2)^2`` (C 13) for ONE state ``(d,)`` (torch, autograd-friendly)."""

    def V(y: torch.Tensor) -> torch.Tensor:
        return lyapunov_V(y, theta)

    return V


def lyapunov_derivative(V: Callable, field: FHRNField, y) -> np.ndarray:
    """``dV/dt = grad V(y) . f(y)`` by autograd for states ``(..., d)`` (memory-free field)."""
    Y = torch.as_tensor(np.asarray(y, dtype=np.float64)) if not isinstance(y, torch.Tensor) else y.detach().double()
    flat = Y.reshape(-1, Y.shape[-1])
    gV = vmap(grad(V))(flat)
    with torch.no_grad():
        f = field.velocity(flat)
    return (gV * f).sum(-1).reshape(Y.shape[:-1]).detach().numpy()


@dataclass(frozen=True)
class ViolationReport:
    """Where ``dV/dt > tol``.

    Attributes:
        fraction: violating samples / all finite samples. max: largest dV/dt (0 if none violate).
        count: number of violating samples. times: ``(k,)`` first ``k <= 20`` violating times;
        trajectories: ``(k,)`` their trajectory indices; states: ``(k, d)``; radii: ``(k,)`` |y| there.
        radius_range: (min, max) of |y| over all violations, or None. tol: the threshold used.
    """

    fraction: float
    max: float
    count: int
    times: np.ndarray
    trajectories: np.ndarray
    states: np.ndarray
    radii: np.ndarray
    radius_range: tuple | None
    tol: float

    def to_dict(self) -> dict:
        return dict(fraction=self.fraction, max=self.max, count=self.count, times=self.times.tolist(),
                    trajectories=self.trajectories.tolist(), radii=self.radii.tolist(),
                    radius_range=None if self.radius_range is None else list(self.radius_range), tol=self.tol)


def violation_report(t, y, dVdt, *, tol: float = 1e-12, max_list: int = 20) -> ViolationReport:
    """Report of the samples with ``dV/dt > tol``; ``t`` ``(T,)``, ``y`` ``(T, N, d)``, ``dVdt`` ``(T, N)``."""
    t = np.asarray(t)
    y = np.asarray(y)
    dv = np.asarray(dVdt)
    ok = np.isfinite(dv)
    bad = ok & (dv > tol)
    ti, ni = np.nonzero(bad)
    order = np.argsort(t[ti], kind="stable")[:max_list]
    ti, ni = ti[order], ni[order]
    r_all = np.linalg.norm(y, axis=-1)[bad]
    return ViolationReport(float(bad.sum() / max(ok.sum(), 1)), float(dv[bad].max()) if bad.any() else 0.0,
                           int(bad.sum()), t[ti], ni, y[ti, ni], np.linalg.norm(y[ti, ni], axis=-1),
                           (float(r_all.min()), float(r_all.max())) if bad.any() else None, float(tol))


@dataclass(frozen=True)
class LyapunovTraces:
    """Traces for a family of initial radii (Fig. 3b).

    Attributes:
        t: ``(T,)``; y: ``(T, N, d)``; radius: ``(T, N)`` |y(t)|; init_radii: ``(N,)``.
        V: ``(T, N)``; dVdt: ``(T, N)`` autograd ``grad V . f``; dVdt_exact: ``(T, N)`` C 14 (None for a
        custom V); violations: :class:`ViolationReport`; ring_radius: r* for antisymmetric W (or None);
        status: the integrator's status.
    """

    t: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    init_radii: np.ndarray
    V: np.ndarray
    dVdt: np.ndarray
    dVdt_exact: np.ndarray | None
    violations: ViolationReport
    status: str


def lyapunov_traces(W, radii, *, params: FHRNParams | None = None, V: Callable | None = None, t1: float = 5.0,
                    n_points: int = 201, seed: int = 0, tol: float = 1e-12) -> LyapunovTraces:
    """Integrate from ``|y0| = radii[k]`` (random directions, seeded) and trace V, dV/dt and |y|.

    Args:
        W: operator ``(d, d)``. radii: initial radii (> 0). params: model (no memory).
        V: candidate for ONE state ``(d,)`` -> scalar, torch ops (default :func:`paper_V` with params.theta).
        t1, n_points: saved grid. seed: directions. tol: violation threshold on dV/dt.
    """
    params = FHRNParams() if params is None else params
    if params.memory != "none":
        raise FHRNInputError("`params.memory` must be 'none' for Lyapunov traces (V is a function of y only)")
    r = np.asarray(radii, dtype=np.float64).ravel()
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise FHRNInputError(f"`radii` must be a non-empty list of finite values > 0, got {np.asarray(radii).tolist()}")
    n_points = check_int("n_points", n_points, low=2)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    if V is not None and not callable(V):
        raise FHRNInputError(f"`V` must be a callable y -> V(y), got {type(V).__name__}")
    field = FHRNField(W, params)
    d = field.dim
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    u = rng.standard_normal((r.size, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    res = integrate(W, u * r[:, None], params=params, t1=t1, n_points=n_points, rtol=1e-9, atol=1e-11)
    t = res.t.numpy()
    y = res.y.detach().numpy()
    Vf = paper_V(params.theta) if V is None else V
    Yt = torch.as_tensor(y)
    Vv = vmap(Vf)(Yt.reshape(-1, d)).reshape(y.shape[:2]).detach().numpy()
    dV = lyapunov_derivative(Vf, field, y)
    exact = None
    if V is None:
        with torch.no_grad():
            f = field.velocity(Yt).numpy()
        exact = ((y * y).sum(-1) - params.theta ** 2) * (y * f).sum(-1)  # C 14
    rep = violation_report(t, y, dV, tol=tol)
    return LyapunovTraces(t, y, np.linalg.norm(y, axis=-1), r, Vv, dV, exact, rep, res.status)
