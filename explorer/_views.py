"""The numbers behind the phase plane of ``fhrn-ode explore``: portrait, batch and clicked trajectories.

Everything is computed by the library: the operator by :func:`fhrn_ode._wr.resolve_wr` (the ``--wr``
resolver of every command), the field arrows and nullclines by :func:`fhrn_ode.analysis.phase_portrait`,
the spectral-abscissa map by :func:`fhrn_ode.analysis.spectral_map`, trajectories by
:func:`fhrn_ode.integrate` from :func:`fhrn_ode.initial_conditions` (so ``fhrn-ode integrate`` with the
exported flags gives the same numbers), the ring radius by :func:`fhrn_ode.params.ring_radius`, the pole
by :mod:`fhrn_ode.homeostasis` and ``V`` by :func:`fhrn_ode.lyapunov_V`.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from typing import Any

import numpy as np

from fhrn_ode._errors import FHRNInputError

from ._spec import MODEL_KEYS, ViewSpec

__all__ = ["ARROWS", "RHO_GRID", "resolve", "view_plane", "portrait", "trajectory", "jsonable", "arrow_path",
           "polylines"]

#: Arrows per side of the drawn field, and points per side of the spectral-abscissa map.
ARROWS, RHO_GRID = 21, 41
#: A stopped trajectory whose last kept state has ``|1 + beta (|y|^2 - 1)|`` below this (|g| > 10; C 2)
#: stopped at the gain pole (integrate stops at |g| > 20, ``fhrn_ode.integration.MAX_GAIN``).
_AT_POLE = 0.1


def jsonable(a, digits: int = 7) -> Any:
    """An array as nested lists with NaN/inf as None (JSON has no NaN; Plotly draws None as a gap)."""
    a = np.asarray(a, dtype=np.float64)
    out = np.round(a, digits).astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def polylines(lines, digits: int = 5) -> dict:
    """Polylines ``[(k, 2), ...]`` as ONE ``{x, y}`` pair of lists, None between lines (one Plotly trace)."""
    parts = [p for c in lines for p in (np.asarray(c, dtype=np.float64), np.full((1, 2), np.nan))]
    xy = np.concatenate(parts) if parts else np.zeros((0, 2))
    return dict(x=jsonable(xy[:, 0], digits), y=jsonable(xy[:, 1], digits))


def arrow_path(ax: np.ndarray, U: np.ndarray, V: np.ndarray, digits: int = 3) -> dict:
    """The field's direction on the grid as ONE polyline (``{x, y}``, None between pieces): per grid point a
    shaft of 0.7 grid spacings centred on it and a two-stroke head. Zero and NaN vectors are left out.

    ``U[i, j]``, ``V[i, j]``: the field at ``(ax[j], ax[i])`` (:class:`~fhrn_ode.analysis.PhasePortrait`).
    """
    X, Y = np.meshgrid(ax, ax)
    n = np.hypot(U, V)
    keep = np.isfinite(n) & (n > 0)
    h = 0.7 * (ax[1] - ax[0]) if len(ax) > 1 else 1.0
    cx, cy, ux, uy = X[keep], Y[keep], U[keep] / n[keep], V[keep] / n[keep]
    tail = np.stack([cx - 0.5 * h * ux, cy - 0.5 * h * uy], -1)
    tip = np.stack([cx + 0.5 * h * ux, cy + 0.5 * h * uy], -1)
    c, s = np.cos(np.deg2rad(25.0)), np.sin(np.deg2rad(25.0))
    back = -0.35 * h * np.stack([ux, uy], -1)  # the head's strokes: back from the tip, turned by +-25 degrees
    left = tip + np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], -1)
    right = tip + np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], -1)
    gap = np.full_like(tip, np.nan)
    xy = np.stack([tail, tip, gap, left, tip, right, gap], 1).reshape(-1, 2)
    return dict(x=jsonable(xy[:, 0], digits), y=jsonable(xy[:, 1], digits))


def _stamp(spec: str) -> float | None:
    head = spec.split(":")[0]
    for p in (spec, head):
        if p and os.path.exists(p):
            return os.path.getmtime(p)
    return None


@lru_cache(maxsize=16)
def _resolve_cached(wr: str, dim, seed: int, scale, stamp):
    from fhrn_ode._wr import resolve_wr

    return resolve_wr(wr, dim, seed=seed, scale=scale)


def resolve(spec: ViewSpec):
    """``(WrOperator, FHRNParams)`` of a view. A trained operator supplies gamma and beta where the view
    leaves them None (as ``--wr`` does for ``integrate``).

    Resolved operators are cached by (spec, dim, seed, scale, file time): immutable values, each caller
    gets its own copy of the matrix, so views never share mutable state.

    Raises:
        FHRNInputError: the operator spec or a parameter is invalid (message names it).
    """
    from fhrn_ode.params import FHRNParams

    try:
        op = _resolve_cached(spec.wr, spec.dim, spec.seed, spec.wr_scale, _stamp(spec.wr))
    except FHRNInputError as exc:
        raise FHRNInputError(f"operator W* (`wr` {spec.wr!r}): {exc}") from None
    op = dataclasses.replace(op, W=op.W.copy())
    kw = {}
    for k in MODEL_KEYS:
        v = getattr(spec, k)
        if v is None and op.trained and k in ("gamma", "beta"):
            v = getattr(op, k)
        if v is not None:
            kw[k] = v
    return op, FHRNParams(memory=spec.memory, **kw)


def view_plane(W: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """``(origin (d,), basis (d, 2), label)``: the identity for d = 2, else the plane of ``W*``'s leading
    eigenvectors (largest real part): ``(Re v, Im v)`` of a complex pair, or the two leading real ones."""
    from fhrn_ode.analysis.phase import orthonormal_basis

    d = W.shape[0]
    if d == 2:
        return np.zeros(2), np.eye(2), "y1, y2"
    lam, V = np.linalg.eig(W)
    order = np.argsort(-lam.real, kind="stable")
    i = order[0]
    if abs(lam[i].imag) > 1e-12 * max(1.0, abs(lam[i])):
        B, label = np.stack([V[:, i].real, V[:, i].imag], 1), f"Re, Im of W*'s leading eigenvector (lambda = {lam[i]:.3g})"
    else:
        j = next((k for k in order[1:] if abs(lam[k].imag) <= 1e-12 * max(1.0, abs(lam[k]))), order[1])
        B, label = np.stack([V[:, i].real, V[:, j].real], 1), "W*'s two leading eigenvectors"
    try:
        return np.zeros(d), orthonormal_basis(B, d), label
    except FHRNInputError:  # a defective pair: fall back to the first two axes
        return np.zeros(d), np.eye(d)[:, :2], "the first two coordinate axes"


def _messages(res, params, N: int) -> list[dict]:
    """Page messages for the batch: the gain pole, divergence, solver failure (never garbage drawn)."""
    from fhrn_ode.homeostasis import gain_denominator, has_pole, pole_radius

    out = []
    if res.status in ("failed", "interrupted"):
        out.append(dict(level="error", kind=res.status, text=f"integration {res.status}: {res.message}"))
    if not res.diverged.any():
        return out
    yf = res.y_final.detach().numpy()
    r2 = (yf * yf).sum(-1)
    pole = res.diverged & has_pole(params.beta) & (np.abs(gain_denominator(r2, params.beta)) < _AT_POLE)
    if pole.any():
        out.append(dict(level="error", kind="pole", text=(
            f"Gain pole: {int(pole.sum())} of {N} trajectories reached |y| = sqrt(1 - 1/beta) = "
            f"{pole_radius(params.beta):.4g}, where g = 1/(1 + beta(|y|^2 - 1)) is infinite (beta = "
            f"{params.beta:g} >= 1). They are stopped there and drawn only up to the pole.")))
    blown = res.diverged & ~pole
    if blown.any():
        out.append(dict(level="error", kind="diverged", text=(
            f"Divergence: {int(blown.sum())} of {N} trajectories blew up (|y| beyond the bound or not finite) "
            f"by t = {float(np.nanmin(res.t_diverged[blown])):.4g}; they are drawn up to that time only.")))
    return out


def _integrate(spec: ViewSpec, W, params, y0):
    from fhrn_ode.integration import integrate

    return integrate(W, y0, params=params, t1=spec.t1, n_points=spec.n_points, method="dopri5",
                     rtol=spec.rtol, atol=spec.atol)


def portrait(spec: ViewSpec) -> dict:
    """Everything the phase plane draws for ``spec`` (JSON-ready): arrows, nullclines (d = 2), the
    ``rho(J) = 0`` map, ring and pole radii, the batch's trajectories and final norms, messages and the
    equivalent command line. Drawn coordinates are rounded (batch 1e-4, arrows 1e-3 in plane units: a
    pixel is ~5e-3 at the default half-width) to keep the answer small; ``final_norm`` is not rounded.

    Raises:
        FHRNInputError: a bad control value or operator.
    """
    import torch

    from fhrn_ode.analysis import phase_portrait, spectral_map
    from fhrn_ode.analysis.phase import _zero_contours
    from fhrn_ode.field import FHRNField
    from fhrn_ode.homeostasis import pole_radius
    from fhrn_ode.integration import initial_conditions
    from fhrn_ode.params import ring_radius

    op, params = resolve(spec)
    W = op.W
    d = W.shape[0]
    o, B, label = view_plane(W)
    free = params.replace(memory="none")  # the plane shows the y-field at A = 0 when memory is on
    pp = phase_portrait(W, free, extent=spec.extent, n=ARROWS, n_traj=0, origin=o, basis=B)
    sm = spectral_map(FHRNField(W, free), extent=spec.extent, n=RHO_GRID, origin=o, basis=B)
    y0 = initial_conditions(spec.n_init, d, spec.init_radius, seed=spec.seed)
    with torch.no_grad():
        res = _integrate(spec, W, params, y0)
    y = res.y.detach().numpy()
    traj = (y - o) @ B  # (T, N, 2); NaN after a trajectory stopped
    yf = res.y_final.detach().numpy()
    return dict(
        dim=d, plane=label, origin=o.tolist(), basis=B.tolist(), operator=op.to_dict(),
        params=params.to_dict(), arrows=arrow_path(pp.y1, pp.U, pp.V),
        nullclines=[polylines(side) for side in pp.nullclines] if d == 2 else [],
        rho_zero=polylines(_zero_contours(sm.y1, sm.y2, sm.spectral_abscissa)),
        ring_radius=ring_radius(params.kappa, params.theta, params.leak), pole_radius=pole_radius(params.beta),
        theta=params.theta, wr_norm=float(np.linalg.norm(W, 2)),
        t=jsonable(res.t.numpy()), x=jsonable(traj[..., 0].T, 4), y=jsonable(traj[..., 1].T, 4),
        final_norm=np.linalg.norm(yf, axis=-1).tolist(), status=res.status, message=res.message, nfe=res.nfe,
        messages=_messages(res, params, spec.n_init), command=spec.command(params), spec=spec.to_dict())


def trajectory(spec: ViewSpec, point: tuple[float, float]) -> dict:
    """One trajectory from the clicked plane point ``origin + u b1 + v b2``, with ``V(t)``, its final ``|y|``,
    its initial state ``y0`` (d numbers) and the ``fhrn-ode integrate --y0`` command that reproduces it.

    Raises:
        FHRNInputError: a bad control value or operator.
    """
    import torch

    from fhrn_ode.energy import lyapunov_V

    op, params = resolve(spec)
    W = op.W
    o, B, _ = view_plane(W)
    y0 = torch.as_tensor(o + point[0] * B[:, 0] + point[1] * B[:, 1])[None]  # float64, as --y0 reads it
    with torch.no_grad():
        res = _integrate(spec, W, params, y0)
    y = res.y.detach().numpy()[:, 0]  # (T, d)
    xy = (y - o) @ B
    yf = res.y_final.detach().numpy()[0]
    return dict(point=list(point), t=jsonable(res.t.numpy()), x=jsonable(xy[:, 0]), y=jsonable(xy[:, 1]),
                V=jsonable(lyapunov_V(y, params.theta)), final_norm=float(np.linalg.norm(yf)),
                status=res.status, message=res.message, messages=_messages(res, params, 1),
                y0=y0[0].tolist(), command=spec.command(params, y0.numpy()))
