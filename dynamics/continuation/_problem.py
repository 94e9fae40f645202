"""The records of a continuation: the problem, the options, special points and branches (docs/continuation.md).

A problem is a field family with one (or two) scalar parameters, in either of two forms:

* ``make_field(p) -> nn.Module`` (``make_field(p, p2)`` for two-parameter curves), or
* a ``field`` and the name of its attribute/buffer ``param`` (``param2``) that the continuation sets
  (on a deep copy: the user's module is never changed).

The field sees ONE state ``(n,)`` (a tuple state through :class:`~fhrn_ode.dynamics._flow.FlatField`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field as dc_field, fields
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from fhrn_ode._errors import FHRNInputError, check_choice, check_int, check_real

__all__ = ["ContinuationProblem", "ContinuationOptions", "SpecialPoint", "Branch", "DETECTABLE"]

#: special points detected along equilibrium branches; codim-2 points along fold/Hopf curves; cycle points
DETECTABLE = ("LP", "H", "BP", "CP", "BT", "GH", "ZH", "LPC", "PD", "NS")


@dataclass
class ContinuationProblem:
    """A field family and a start: ``f(x; p) = 0`` is followed from ``(x0, p0)``.

    Attributes:
        x0: an (approximate) equilibrium ``(n,)`` at ``p0``; Newton-corrected first. p0: start parameter.
        make_field: ``p -> nn.Module`` (``(p, p2) -> nn.Module`` when ``param2`` is used). Either this or
            ``field``. field: a module whose attribute ``param`` is set to ``p`` (on a copy).
        param, param2: parameter names (for ``field``: attribute names; otherwise labels). p2_0: start
            value of the second parameter (codim-2). dim: state size when the module has no ``dim``.
        t: the time passed to ``forward`` (autonomous fields ignore it).
    """

    x0: Any
    p0: float
    make_field: Callable[..., nn.Module] | None = None
    field: nn.Module | None = None
    param: str = "p"
    param2: str | None = None
    p2_0: float | None = None
    dim: int | None = None
    t: float = 0.0

    def __post_init__(self) -> None:
        if (self.make_field is None) == (self.field is None):
            raise FHRNInputError("ContinuationProblem needs exactly one of `make_field` (p -> nn.Module) and "
                                 "`field` (a module plus the attribute name `param`)")
        if self.make_field is not None and not callable(self.make_field):
            raise FHRNInputError(f"`make_field` must be callable p -> nn.Module, got {type(self.make_field).__name__}")
        self.p0 = check_real("p0", self.p0)
        if self.param2 is not None:
            self.p2_0 = check_real("p2_0", self.p2_0)
        x = self.x0.detach() if isinstance(self.x0, torch.Tensor) else torch.as_tensor(np.asarray(self.x0, float))
        if x.ndim != 1 or x.numel() == 0 or not bool(torch.isfinite(x).all()):
            raise FHRNInputError(f"`x0` must be a finite 1-D state (n,), got {list(x.shape)} {x.tolist()[:4]}")
        self.x0 = x.to(torch.float64)
        if self.field is not None:
            if not isinstance(self.field, nn.Module):
                raise FHRNInputError(f"`field` must be an nn.Module with forward(t, y), got {type(self.field).__name__}")
            self.field = copy.deepcopy(self.field)
            for name in (self.param, self.param2):
                if name is not None and not hasattr(self.field, name):
                    raise FHRNInputError(f"`param`={name!r}: {type(self.field).__name__} has no attribute {name!r}")

    def module(self, p, p2=None) -> nn.Module:
        """The field at ``p`` (and ``p2``); with ``make_field``, ``p`` may be a 0-d tensor (autograd).

        With ``field``, float values are written into the copy in place (a tensor attribute keeps its
        identity, so caches keyed on it see the change); tensor values go through
        ``torch.func.functional_call`` in :class:`~._system.EquilibriumSystem` instead.
        """
        if self.param2 is not None and p2 is None:
            p2 = self.p2_0
        if self.make_field is not None:
            return self.make_field(p) if self.param2 is None else self.make_field(p, p2)
        for name, value in ((self.param, p), (self.param2, p2)):
            if name is None or value is None:
                continue
            old = getattr(self.field, name)
            if isinstance(old, torch.Tensor):
                with torch.no_grad():
                    old.copy_(torch.as_tensor(float(value), dtype=old.dtype).expand_as(old))
            else:
                setattr(self.field, name, float(value))
        return self.field


def _positive(name, v, allow_inf=False):
    if allow_inf and v == math.inf:
        return v
    return check_real(name, v, low=0.0, low_open=True)


@dataclass(frozen=True)
class ContinuationOptions:
    """Options of a continuation (all documented in docs/continuation.md).

    Attributes:
        ds: first arclength step. ds_min, ds_max: step bounds (the step halves on a failed correction and
            grows by 1.5 after a fast one; below ``ds_min`` the branch ends "step not corrected").
        max_steps: steps per direction. p_min, p_max: the parameter window (leaving it ends the branch);
            p2_min, p2_max: the same for the second parameter of a two-parameter curve.
        tol: Newton tolerance on ``|F|`` and on the update. max_newton: Newton iterations per step.
        locate_tol: tolerance of special-point location (arclength, brentq ``xtol``).
        detect: special points to detect and locate (subset of ``DETECTABLE``; default all: each kind of
            branch looks for its own).
        direction: 'both', 'forward' (increasing parameter at the start) or 'backward'.
        normal_forms: compute fold/Hopf coefficients at located points.
        eig_tol: ``|Re lambda| <= eig_tol (1 + |lambda|)`` counts as on the imaginary axis (stability 'neutral').
    """

    ds: float = 0.01
    ds_min: float = 1e-7
    ds_max: float = 0.1
    max_steps: int = 400
    p_min: float = -math.inf
    p_max: float = math.inf
    p2_min: float = -math.inf
    p2_max: float = math.inf
    tol: float = 1e-10
    max_newton: int = 12
    locate_tol: float = 1e-12
    detect: tuple = DETECTABLE
    direction: str = "both"
    normal_forms: bool = True
    eig_tol: float = 1e-9

    def __post_init__(self) -> None:
        for name in ("ds", "ds_min", "ds_max", "tol", "locate_tol", "eig_tol"):
            _positive(name, getattr(self, name))
        if not self.ds_min <= self.ds <= self.ds_max:
            raise FHRNInputError(f"need ds_min <= ds <= ds_max; got {self.ds_min}, {self.ds}, {self.ds_max}")
        check_int("max_steps", self.max_steps, low=1)
        check_int("max_newton", self.max_newton, low=1)
        for name in ("p_min", "p_max", "p2_min", "p2_max"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or math.isnan(v):
                raise FHRNInputError(f"`{name}` must be a number (inf allowed), got {v!r}")
        for lo, hi in (("p_min", "p_max"), ("p2_min", "p2_max")):
            if not getattr(self, lo) < getattr(self, hi):
                raise FHRNInputError(f"need {lo} < {hi}; got {lo}={getattr(self, lo)}, {hi}={getattr(self, hi)}")
        check_choice("direction", self.direction, ("both", "forward", "backward"))
        det = (self.detect,) if isinstance(self.detect, str) else tuple(self.detect)
        for k in det:
            check_choice("detect", k, DETECTABLE)
        object.__setattr__(self, "detect", det)

    def replace(self, **kw) -> "ContinuationOptions":
        """A copy with fields replaced (validated again)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(kw)
        return ContinuationOptions(**d)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite bounds as None)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["detect"] = list(self.detect)
        for k in ("p_min", "p_max", "p2_min", "p2_max"):
            d[k] = None if math.isinf(d[k]) else d[k]
        return d


@dataclass
class SpecialPoint:
    """A located special point.

    Attributes:
        kind: 'LP' (fold), 'H' (Hopf), 'BP' (branch point); on codim-2 curves 'CP' (cusp), 'BT'
            (Bogdanov-Takens), 'GH' (Bautin), 'ZH' (zero-Hopf); on cycle branches 'LPC', 'PD', 'NS'.
        p: parameter value. x: state ``(n,)``. index: the point of the branch just before it.
        p2: second parameter (codim-2 curves). normal_form: ``to_dict()`` of the fold/Hopf coefficient, or {}.
        eigenvalues: at the point (multipliers on cycle branches), as ``[re, im]`` pairs.
        tangent: branch tangent ``(n+1,)`` there (used by branch switching). data: extra numbers
            (e.g. ``omega``, ``period``, ``residual``). message: how it was located or why it is uncertain.
    """

    kind: str
    p: float
    x: list
    index: int
    p2: float | None = None
    normal_form: dict = dc_field(default_factory=dict)
    eigenvalues: list = dc_field(default_factory=list)
    tangent: list = dc_field(default_factory=list)
    data: dict = dc_field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(kind=self.kind, p=self.p, p2=self.p2, x=list(self.x), index=self.index,
                    normal_form=self.normal_form, eigenvalues=self.eigenvalues, data=self.data, message=self.message)


@dataclass
class Branch:
    """A continued branch: points in order of arclength.

    Attributes:
        kind: 'equilibria', 'fold', 'hopf' (codim-2 curves) or 'cycles'. param, param2: parameter names.
        p: parameter per point ``(K,)``. x: states ``(K, n)`` (cycles: a point on the cycle).
        p2: second parameter per point ``(K,)`` (codim-2), else None.
        eigenvalues: ``(K, n)`` complex (cycles: Floquet multipliers), by real part (modulus), largest first.
        stability: per point 'stable', 'unstable' or 'neutral' (within ``eig_tol`` of the axis).
        special: located special points. status: 'success' or 'failed'. message: why each end ended.
        ends: ``{'backward': reason, 'forward': reason}``. data: per-point extras (``period``, ``amplitude``,
        ``omega``).
    """

    kind: str
    param: str
    p: np.ndarray
    x: np.ndarray
    eigenvalues: np.ndarray
    stability: list
    special: list
    status: str
    message: str
    ends: dict
    param2: str | None = None
    p2: np.ndarray | None = None
    data: dict = dc_field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.p)

    def points(self, kind: str) -> list[SpecialPoint]:
        """The special points of one kind."""
        return [s for s in self.special if s.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every point and every special point."""
        return dict(kind=self.kind, param=self.param, param2=self.param2, status=self.status, message=self.message,
                    ends=self.ends, p=self.p.tolist(), p2=None if self.p2 is None else self.p2.tolist(),
                    x=self.x.tolist(), stability=list(self.stability),
                    eigenvalues=[[[float(z.real), float(z.imag)] for z in row] for row in self.eigenvalues],
                    special=[s.to_dict() for s in self.special],
                    data={k: np.asarray(v).tolist() for k, v in self.data.items()})
