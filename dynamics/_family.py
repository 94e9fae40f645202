"""Families of fields solved together: ``P`` members, ``N`` states each, as ONE batch ``(P N, n)``.

A family is ``make_field`` plus ``values`` (``P`` parameter values). The tensors in which its members differ
are stacked along a leading parameter axis and the members are called through ``torch.func.vmap`` over
that axis (:class:`_Stacked`), one call per evaluation for the whole family (for the Lyapunov spectrum
``f`` and ``J Q`` together, :meth:`FamilyField.tangent`); this is checked once against
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
from torch.func import vmap

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


def _close(got: torch.Tensor, want: torch.Tensor) -> bool:
    """``got`` equals ``want`` (same number of entries, relative 1e-9) once reshaped."""
    return isinstance(got, torch.Tensor) and got.numel() == want.numel() and bool(
        torch.allclose(got.reshape(want.shape), want, rtol=1e-9, atol=1e-12))


class _Tan(nn.Module):
    """A member's tangent dynamics ``(f(t, z), J(z) Q)`` in one call (:meth:`FamilyField.tangent`)."""

    def __init__(self, ff: FlatField) -> None:
        super().__init__()
        self.ff = ff

    def forward(self, t, z, Q):
        ff = self.ff
        return ff.forward(t, z), torch.bmm(ff.jacobian(z), Q)


class _Stacked:
    """``P`` modules of one structure called through ONE ``vmap`` over a leading member axis.

    The tensors (parameters and buffers) that differ between the members are stacked ``(P, ...)`` once; each
    call swaps the ``vmap``-batched slices into a template copy of member 0 for the duration of the call and
    restores them (what ``torch.func.functional_call`` does, without its per-call pytree and
    re-parametrisation work; tensors equal in every member stay unbatched in the template).
    """

    def __init__(self, modules: list[nn.Module]) -> None:
        self.base = copy.deepcopy(modules[0])
        per = [dict(m.named_parameters(remove_duplicate=False)) | dict(m.named_buffers(remove_duplicate=False))
               for m in modules]
        self.slots, vals = [], []
        for name, t0 in per[0].items():
            ts = [d[name] for d in per]
            if all(t.shape == t0.shape and torch.equal(t, t0) for t in ts[1:]):
                continue
            path, _, key = name.rpartition(".")
            mod = self.base.get_submodule(path)
            self.slots.append((mod._parameters if key in mod._parameters else mod._buffers, key))
            vals.append(torch.stack([t.detach() for t in ts]))
        self.vals = tuple(vals)

    def _swapped(self, fn, vals, *args):
        """``fn(base, *args)`` with ``vals`` in the member-differing slots, the originals restored after."""
        old = [d[k] for d, k in self.slots]
        for (d, k), v in zip(self.slots, vals):
            d[k] = v
        try:
            return fn(self.base, *args)
        finally:
            for (d, k), v in zip(self.slots, old):
                d[k] = v

    def direct(self, fn, *args):
        """``fn(base, *args)`` once with the WHOLE stacked tensors ``(P, ...)`` swapped in (no ``vmap``): for
        modules that broadcast a leading member axis of their parameters against states ``(P, N, n)``."""
        return self._swapped(fn, self.vals, *args)

    def __call__(self, fn, *args):
        """``fn(base, *args_i)`` for every member ``i`` (``args`` carry the member axis first), in one ``vmap``."""
        def one(vals, *a):
            return self._swapped(fn, vals, *a)

        return vmap(one)(self.vals, *args)


class FamilyField(nn.Module):
    """``P`` members on one stacked batch: rows ``[i N, (i + 1) N)`` belong to member ``i``.

    Args:
        members: the members as :class:`FlatField` (same ``dim``). N: states per member.

    Attributes:
        dim, y_dim, analytic: as :class:`FlatField` (``analytic`` when every member has a confirmed Jacobian).
        stacked: True when the members are called in one call per evaluation (module docstring).
        broadcast: True when that call needs no ``vmap``: the module broadcasts its stacked parameters
            ``(P, ...)`` against states ``(P, N, n)`` (e.g. :class:`~fhrn_ode.dynamics.systems.LorenzField`),
            checked like the ``vmap`` call.
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
        self.broadcast = False
        self.stacked = self._try_stack()

    def _try_stack(self) -> bool:
        ms = list(self.members)
        try:
            self._st = _Stacked([_Tan(m) for m in ms])
            z = _probe_states(self.dim).repeat(self.P, 1)
            with torch.no_grad():
                want = torch.cat([m(self._t0, z[:2]) for m in ms])
                wj = torch.cat([m.jacobian(z[:2]) for m in ms]) if self.analytic else None
                self.broadcast = self._try_broadcast(z, want, wj)
                if self.broadcast:
                    return True
                ok = _close(self._vcall(self._t0, z), want)
                if ok and self.analytic:
                    ok = _close(self._st(lambda b, x: b.ff.jacobian(x), z.view(self.P, -1, self.dim)), wj)
            return ok
        except Exception:  # noqa: BLE001 - not stackable: members are called one by one
            return False

    def _try_broadcast(self, z: torch.Tensor, want: torch.Tensor, wj: torch.Tensor | None) -> bool:
        """Does the members' module broadcast its stacked parameters ``(P, ...)`` against states ``(P, N, n)``
        (forward, and the Jacobian when analytic), equal to each member on its own? Then no ``vmap`` is needed."""
        ff = self._st.base.ff
        hooked = ff.field._forward_hooks or ff.field._forward_pre_hooks
        if ff.mode != "batch" or ff.memory or not self._st.slots or hooked:
            return False
        zz = z.view(self.P, -1, self.dim)
        try:
            got = self._st.direct(lambda b, x: b.ff.field.forward(self._t0, x), zz)
            if wj is not None and _close(got, want):
                return _close(self._st.direct(lambda b, x: b.ff.field.jacobian(x), zz), wj)
            return wj is None and _close(got, want)
        except Exception:  # noqa: BLE001 - the module does not broadcast: vmap
            return False

    def _vcall(self, t, z: torch.Tensor) -> torch.Tensor:
        if self.broadcast:
            return self._st.direct(lambda b, x: b.ff.field.forward(t, x), z.view(self.P, -1, self.dim)).reshape(z.shape)
        out = self._st(lambda b, x: b.ff(t, x), z.reshape(self.P, -1, self.dim))
        return out.reshape(z.shape)

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        """``f_i(t, z)`` on each member's rows of ``z`` ``(P N', n)``."""
        if self.stacked:
            return self._vcall(t, z)
        zz = z.reshape(self.P, -1, self.dim)
        return torch.cat([m(t, zz[i]) for i, m in enumerate(self.members)]).reshape(z.shape)

    def tangent(self, t, z: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """Each member's ``f(t, z)`` and ``J(z) Q`` on its rows, ``z`` ``(P N', n)``, ``Q`` ``(P N', n, k)``, as one
        flat ``[vec f, vec JQ]``: ONE call (or one ``vmap``) for the whole family (stacked analytic families only)."""
        P, n = self.P, self.dim
        zz, QQ = z.view(P, -1, n), Q.view(P, -1, n, Q.shape[-1])
        if self.broadcast:
            def fjq(b, x, q):
                m = b.ff.field
                return m.forward(t, x), torch.matmul(m.jacobian(x), q)

            f, JQ = self._st.direct(fjq, zz, QQ)
        else:
            f, JQ = self._st(lambda b, x, q: b.forward(t, x, q), zz, QQ)
        return torch.cat([f.reshape(-1), JQ.reshape(-1)])

    def jacobian(self, z: torch.Tensor, t: float = 0.0) -> torch.Tensor:
        """Each member's Jacobian on its rows, ``(P N', n, n)``."""
        zz = z.reshape(self.P, -1, self.dim)
        if self.stacked and self.analytic and self.broadcast:
            out = self._st.direct(lambda b, x: b.ff.field.jacobian(x), zz)
            return out.reshape(z.shape[0], self.dim, self.dim)
        if self.stacked and self.analytic:
            out = self._st(lambda b, x: b.ff.jacobian(x), zz)
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
