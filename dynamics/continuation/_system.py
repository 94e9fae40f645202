"""``F(x; p)`` of a problem as a torch function, its Jacobians ``F_x`` (torch.func) and ``F_p``.

``F_x`` is ``torch.func.jacfwd`` in the state. ``F_p`` is forward-mode autograd through ``make_field(p)``
when the family is differentiable in ``p`` (probed once against a central difference at the start);
otherwise (a family that converts ``p`` to a float, e.g. through ``FHRNParams``) the central difference
``(F(p + h) - F(p - h)) / 2h`` with ``h = 1e-6 (1 + |p|)``. Which one is used is reported in the branch.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, jacfwd

from fhrn_ode._errors import FHRNInputError

from .._flow import as_flat_field

__all__ = ["DomainError", "EquilibriumSystem"]

D = torch.float64


class DomainError(Exception):
    """The parameter or the state left the field's domain (the message says how)."""


class EquilibriumSystem:
    """``F(x, p[, p2])`` for ONE state ``x`` ``(n,)``; ``p``, ``p2`` floats or 0-d tensors.

    Attributes:
        problem: the :class:`ContinuationProblem`. n: state size. p_mode, p2_mode: 'autograd' or 'central difference'
            (how ``df/dp``, ``df/dp2`` are computed).
    """

    def __init__(self, problem) -> None:
        self.problem = problem
        self.n = int(problem.x0.numel())
        self.t = torch.tensor(float(problem.t), dtype=D)
        self._cache = None
        self.p_mode = self.p2_mode = "central difference"
        modes = [self._probe_autograd(problem.x0, problem.p0, problem.p2_0, 1),
                 self._probe_autograd(problem.x0, problem.p0, problem.p2_0, 2) if problem.param2 else "central difference"]
        self.p_mode, self.p2_mode = modes

    def _flat(self, p, p2=None):
        key = (float(p), None if p2 is None else float(p2))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        try:
            module = self.problem.module(*key)
        except FHRNInputError as exc:
            raise DomainError(f"parameter outside the field's domain: {exc}") from None
        dim = self.problem.dim if self.problem.dim is not None else (None if hasattr(module, "dim") else self.n)
        ff = as_flat_field(module, dim)
        if ff.dim != self.n:
            raise FHRNInputError(f"`x0` has {self.n} entries but the field's state has {ff.dim}")
        self._cache = (key, ff)
        return ff

    def _call(self, x, p, p2):
        """``f(t, x)`` at parameters that may be tensors (autograd through them)."""
        if not (isinstance(p, torch.Tensor) or isinstance(p2, torch.Tensor)):
            return self._flat(p, p2)(self.t, x)
        pr = self.problem
        if pr.make_field is not None:
            try:
                module = pr.module(p, p2)
            except FHRNInputError as exc:
                raise DomainError(f"parameter outside the field's domain: {exc}") from None
            dim = pr.dim if pr.dim is not None else (None if hasattr(module, "dim") else self.n)
            return as_flat_field(module, dim)(self.t, x)
        ff = self._flat(float(p), None if p2 is None else float(p2))
        prefix = "field." if ff is not pr.field else ""
        swap = {prefix + name: v for name, v in ((pr.param, p), (pr.param2, p2))
                if name is not None and isinstance(v, torch.Tensor)}
        return functional_call(ff, swap, (self.t, x))

    def F(self, x: torch.Tensor, p, p2=None) -> torch.Tensor:
        """``f(x; p)`` ``(n,)``. Raises DomainError when not finite or the parameter is outside the domain."""
        out = self._call(x, p, p2)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            raise FHRNInputError(f"the field must map a state of shape {tuple(x.shape)} to the same shape; got "
                                 f"{getattr(out, 'shape', type(out).__name__)}")
        if not _finite(out):
            raise DomainError(f"the field is not finite at p = {_f(p)} (the branch left the field's domain)")
        return out

    def Fx(self, x: torch.Tensor, p, p2=None) -> torch.Tensor:
        """``df/dx`` ``(n, n)`` by ``torch.func.jacfwd``."""
        ff = self._flat(p, p2)
        return jacfwd(lambda z: ff(self.t, z))(x)

    def Fp(self, x: torch.Tensor, p, p2=None, which: int = 1) -> torch.Tensor:
        """``df/dp`` (``which=1``) or ``df/dp2`` (``which=2``) ``(n,)``."""
        return self.param_derivative(lambda q, q2: self.F(x, q, q2), p, p2, which)

    def param_derivative(self, fn, p, p2=None, which: int = 1) -> torch.Tensor:
        """``d fn(p, p2) / dp`` (or ``/dp2``) for any ``fn`` built on :meth:`F`: autograd or central difference."""
        mode = self.p_mode if which == 1 else self.p2_mode
        if mode == "autograd":
            if which == 1:
                return jacfwd(lambda q: fn(q, p2))(torch.tensor(float(p), dtype=D))
            return jacfwd(lambda q: fn(p, q))(torch.tensor(float(p2), dtype=D))
        v = float(p if which == 1 else p2)
        h = 1e-6 * (1.0 + abs(v))

        def at(q):
            return fn(q, p2) if which == 1 else fn(p, q)
        try:
            return (at(v + h) - at(v - h)) / (2 * h)
        except DomainError:  # at the edge of the domain: one-sided, second order
            s = 1.0
            try:
                a1 = at(v + h)
            except DomainError:
                s = -1.0
                a1 = at(v - h)
            a2 = at(v + 2 * s * h)
            return s * (-3 * at(v) + 4 * a1 - a2) / (2 * h)

    def _probe_autograd(self, x, p, p2, which: int = 1) -> str:
        """'autograd' when forward-mode through the family agrees with central differences at ``x0`` and at
        a perturbed state (a family that turns ``p`` into a float gives a zero derivative there)."""
        gen = torch.Generator().manual_seed(0)
        shift = 0.1 * (1 + float(x.abs().max())) * torch.randn(x.shape, generator=gen, dtype=D)
        checked = 0
        for z in (x, x + shift):
            try:
                self.p_mode = self.p2_mode = "central difference"
                fd = self.Fp(z, p, p2, which)
                self.p_mode = self.p2_mode = "autograd"
                ad = self.Fp(z, p, p2, which)
            except DomainError:
                continue
            except Exception:  # noqa: BLE001 - any failure of the family under torch.func: use differences
                return "central difference"
            scale = 1 + float(fd.abs().max())
            if ad.shape != fd.shape or not bool(torch.allclose(ad, fd, rtol=1e-5, atol=1e-7 * scale)):
                return "central difference"
            checked += 1
        return "autograd" if checked else "central difference"


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t).all())


def _f(p) -> str:
    return f"{float(p):.6g}"
