"""Families of fields solved together: ``P`` members, ``N`` states each, as ONE batch ``(P N, n)``.

A family is ``make_field`` plus ``values`` (``P`` parameter values). Its members are stacked with
``torch.func.stack_module_state`` and called through ``torch.func.vmap`` over the parameter axis
(``functional_call``), one call per evaluation for the whole family; this is checked once against
each member called on its own (relative 1e-9), and where it does not hold (members whose parameters
are Python numbers rather than tensors, or code ``vmap`` cannot trace) each member is called on its
own rows, still inside one solve. Either way the adaptive solver takes shared steps for all members
(as :func:`fhrn_ode.integrate_sweep` does).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from fhrn_ode._errors import FHRNInputError

from ._contract import FlatField, _probe_states, as_flat_field

__all__ = ["FamilyField", "family_values", "make_family"]


def family_values(values) -> np.ndarray:
    """``values`` as a finite float64 ``(P,)`` array, ``P >= 1``.

    Raises:
        FHRNInputError: empty or non-finite.
    """
    try:
        v = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise FHRNInputError(f"`values` must be a sequence of numbers, got {values!r}") from None
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise FHRNInputError(f"`values` must be a non-empty sequence of finite numbers, got {values!r}")
    return v


class _Jac(nn.Module):
    def __init__(self, ff: FlatField) -> None:
        super().__init__()
        self.ff = ff

    def forward(self, z):
        return self.ff.jacobian(z)


class FamilyField(nn.Module):
    """``P`` members on one stacked batch: rows ``[i N, (i + 1) N)`` belong to member ``i``.

    Args:
        members: the members as :class:`FlatField` (same ``dim``). N: states per member.

    Attributes:
        dim, y_dim, analytic: as :class:`FlatField` (``analytic`` when every member has a confirmed Jacobian).
        stacked: True when the members are called through one ``vmap`` (module docstring).
    """

    def __init__(self, members: list[FlatField], N: int) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.P, self.N = len(members), int(N)
        self.dim, self.y_dim = members[0].dim, members[0].y_dim
        if any(m.dim != self.dim for m in members):
            raise FHRNInputError("the family's members have different state sizes: "
                                 + ", ".join(str(m.dim) for m in members))
        self.analytic = all(m.analytic for m in members)
        self._t0 = members[0]._t0
        self.stacked = self._try_stack()

    def _try_stack(self) -> bool:
        ms = list(self.members)
        try:
            self._base = copy.deepcopy(ms[0]).to("meta")
            self._pb = stack_module_state(ms)
            if self.analytic:
                self._jbase = _Jac(copy.deepcopy(ms[0])).to("meta")
                self._jpb = stack_module_state([_Jac(m) for m in ms])
            z = _probe_states(self.dim).repeat(self.P, 1)
            with torch.no_grad():
                got = self._vcall(self._t0, z)
                want = torch.cat([m(self._t0, z[:2]) for m in ms])
            return bool(torch.allclose(got, want, rtol=1e-9, atol=1e-12))
        except Exception:  # noqa: BLE001 - not stackable: members are called one by one
            return False

    def _vcall(self, t, z: torch.Tensor) -> torch.Tensor:
        p, b = self._pb
        zz = z.reshape(self.P, -1, self.dim)
        out = vmap(lambda pi, bi, x: functional_call(self._base, (pi, bi), (t, x)))(p, b, zz)
        return out.reshape(z.shape)

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        """``f_i(t, z)`` on each member's rows of ``z`` ``(P N', n)``."""
        if self.stacked:
            return self._vcall(t, z)
        zz = z.reshape(self.P, -1, self.dim)
        return torch.cat([m(t, zz[i]) for i, m in enumerate(self.members)]).reshape(z.shape)

    def jacobian(self, z: torch.Tensor, t: float = 0.0) -> torch.Tensor:
        """Each member's Jacobian on its rows, ``(P N', n, n)``."""
        zz = z.reshape(self.P, -1, self.dim)
        if self.stacked and self.analytic:
            p, b = self._jpb
            out = vmap(lambda pi, bi, x: functional_call(self._jbase, (pi, bi), (x,)))(p, b, zz)
            return out.reshape(z.shape[0], self.dim, self.dim)
        return torch.cat([m.jacobian(zz[i], t) for i, m in enumerate(self.members)])


def make_family(make_field, values, N: int, dim: int | None = None, states=None) -> FamilyField:
    """The :class:`FamilyField` of ``make_field(p)`` for each ``p`` in ``values`` (``N`` states per member).

    Raises:
        FHRNInputError: ``make_field`` not callable, or a member breaks the field contract.
    """
    if not callable(make_field):
        raise FHRNInputError(f"`make_field` must be a callable p -> field, got {type(make_field).__name__}")
    members = [as_flat_field(make_field(float(p)), dim, states) for p in family_values(values)]
    return FamilyField(members, N)
