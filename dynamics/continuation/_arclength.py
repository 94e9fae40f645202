"""Pseudo-arclength continuation of the zero set of ``H: R^(N+1) -> R^N`` (Keller; Allgower & Georg,
*Introduction to Numerical Continuation Methods*, ch. 2-3; Kuznetsov 3rd ed. §10.2).

Predictor ``u + ds t``; corrector: Newton on ``[H(u); t^T (u - u_pred)] = 0`` with the augmented Jacobian
``[H_u; t^T]``; tangent: ``[H_u(u); t_prev^T] t = e_(N+1)``, normalised. All linear algebra by
``torch.linalg``. The step halves on a failed correction (the branch ends below ``ds_min``) and grows by
1.5 (to ``ds_max``) after a correction in at most 3 iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Callable

import torch

from fhrn_ode._errors import Interrupted

from ._system import DomainError

__all__ = ["Walker", "Walk"]

D = torch.float64


@dataclass
class Walk:
    """One direction of a branch: points ``u`` ``(N+1,)``, tangents, step sizes, and why it ended."""

    u: list = dc_field(default_factory=list)
    t: list = dc_field(default_factory=list)
    end: str = ""
    failed: bool = False


class Walker:
    """The predictor-corrector engine for ``H`` with Jacobian ``J`` (``(N, N+1)``).

    Args:
        H: ``u -> (N,)``. J: ``u -> (N, N+1)``. opts: :class:`ContinuationOptions`.
        bounds: ``[(index, low, high, name)]``: leaving a window ends the walk.
    """

    def __init__(self, H: Callable, J: Callable, opts, bounds=()) -> None:
        self.H, self.J, self.opts, self.bounds = H, J, opts, list(bounds)

    def tangent(self, u: torch.Tensor, t_prev: torch.Tensor) -> torch.Tensor:
        """Unit tangent at ``u`` oriented like ``t_prev``."""
        M = torch.cat([self.J(u), t_prev[None]], 0)
        rhs = torch.zeros(len(u), dtype=D)
        rhs[-1] = 1.0
        try:
            t = torch.linalg.solve(M, rhs)
        except RuntimeError:  # exactly on a branch point: least squares
            t = torch.linalg.lstsq(M, rhs[:, None]).solution[:, 0]
        t = t / torch.linalg.vector_norm(t)
        return t if float(t @ t_prev) >= 0 else -t

    def correct(self, u_pred: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor | None, int]:
        """Newton on ``[H(u); t^T (u - u_pred)] = 0``: ``(u, iterations)`` or ``(None, iterations)``."""
        u = u_pred.clone()
        tol = self.opts.tol
        for it in range(1, self.opts.max_newton + 1):
            h = self.H(u)
            r = torch.cat([h, (t @ (u - u_pred)).reshape(1)])
            if float(torch.linalg.vector_norm(r)) <= tol * 1e-3:
                return u, it
            M = torch.cat([self.J(u), t[None]], 0)
            try:
                du = torch.linalg.solve(M, r)
            except RuntimeError:  # exactly singular (on a branch point): least squares
                du = torch.linalg.lstsq(M, r[:, None]).solution[:, 0]
            u = u - du
            if not bool(torch.isfinite(u).all()):
                return None, it
            if float(torch.linalg.vector_norm(du)) <= tol * (1 + float(torch.linalg.vector_norm(u))):
                if float(torch.linalg.vector_norm(self.H(u))) <= 10 * tol:
                    return u, it
        return None, self.opts.max_newton

    def _outside(self, u: torch.Tensor) -> str:
        for i, lo, hi, name in self.bounds:
            v = float(u[i])
            if v < lo:
                return f"reached {name}_min = {lo:g}"
            if v > hi:
                return f"reached {name}_max = {hi:g}"
        return ""

    def walk(self, u0: torch.Tensor, t0: torch.Tensor, *, on_point: Callable | None = None,
             partial: Callable | None = None) -> Walk:
        """Follow the branch from ``u0`` along ``t0`` for up to ``max_steps`` steps.

        ``on_point(u, t)`` is called at each accepted point (and at ``u0``). ``partial(walk)`` builds the
        partial result carried by :class:`Interrupted` on Ctrl-C.
        """
        o = self.opts
        w = Walk(u=[u0], t=[t0])
        ds, u, t = o.ds, u0, t0
        if on_point is not None:
            on_point(u0, t0)
        try:
            while len(w.u) <= o.max_steps:
                out = self._outside(u + ds * t)
                if out:  # the predictor leaves the window: the branch ends at its edge
                    w.end = out
                    return w
                try:
                    u_new, it = self.correct(u + ds * t, t)
                    t_new = None if u_new is None else self.tangent(u_new, t)
                except DomainError as exc:
                    u_new, it, reason = None, 0, str(exc)
                else:
                    reason = ""
                if u_new is None:
                    ds /= 2
                    if ds < o.ds_min:
                        w.end = reason or f"step not corrected: Newton failed down to ds_min = {o.ds_min:g}"
                        w.failed = not reason.startswith("parameter outside")
                        return w
                    continue
                out = self._outside(u_new)
                if out:
                    w.end = out
                    return w
                u, t = u_new, t_new
                w.u.append(u)
                w.t.append(t)
                if on_point is not None:
                    on_point(u, t)
                if it <= 3:
                    ds = min(ds * 1.5, o.ds_max)
            w.end = f"max_steps = {o.max_steps} reached"
            return w
        except KeyboardInterrupt as exc:
            raise Interrupted(None if partial is None else partial(w), cause=exc) from exc
