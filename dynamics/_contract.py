"""The field contract of the dynamics tools: ONE place that decides how a user's module is called.

A field is an ``nn.Module`` with ``forward(t, y)`` exactly as torchdiffeq defines it (docs/api.md). The
tools need it on a batch of flat states ``(B, n)`` and on one state ``(n,)`` (for ``torch.func``), so
:class:`FlatField` probes the module ONCE, on two distinct states, and picks how to call it:

* ``'batch'``: the module accepts ``(B, n)`` and acts row by row (torchdiffeq style ``x[..., 0]`` or
  ``x[:, 0]``); a single state is passed as ``(1, n)``;
* ``'vmap'``: the module takes one state ``(n,)`` only (``x[0]`` style); a batch goes through
  ``torch.func.vmap``;
* ``'loop'``: a single-state module that ``vmap`` cannot trace (``.item()``, in-place ops): rows one by one.

The module never sees a shape it was not written for. The verdict is kept per module while the module is
unchanged (same class and ``forward``, parameters, buffers and attributes; an in-place update of a
parameter counts as a change), so repeated calls on one field probe it once. ``dim`` comes from the
``dim=`` override, the states the caller passes, or the module's ``dim`` attribute, in that order; when none tells, a
:class:`~fhrn_ode._errors.FHRNInputError` says so. A module that fails on both shapes, returns the wrong
shape, or returns non-finite values at finite states is reported as a broken field, naming the field
and the problem (never as a divergence). The FHRN field with memory, whose state is the tuple ``(y, A)``
(docs/model.md §1, S1), is seen as one flat state ``z = [y, vec(A)]`` of size ``d + d^2``.

Analytic Jacobians: the memory-free :class:`~fhrn_ode.field.FHRNField` and any module with a method
``jacobian(y)`` returning ``(..., n, n)`` (e.g. :class:`~fhrn_ode.dynamics.systems.LorenzField`) are
used for the tangent dynamics when the probe confirms them against autograd (relative 1e-8, by
vector-Jacobian products); otherwise Jacobians come from autograd (:meth:`FlatField.autograd_jacobian`)
and Jacobian-vector products from autograd.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch._C._functorch import is_functorch_wrapped_tensor
from torch.func import jacrev, vmap

from fhrn_ode._errors import FHRNInputError, check_int
from fhrn_ode.field import FHRNField

__all__ = ["FlatField", "as_flat_field", "check_field_values"]


#: The probe's verdict ``(fingerprint, mode, analytic)`` per module, so a module probed once is not probed again
#: while it is unchanged (a sweep, a continuation, a bench calling the tools on the same field). Weak keys: a
#: module that is garbage collected drops out.
_VERDICTS: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()
_SCALARS = (bool, int, float, str, type(None))
#: Largest state size whose autograd Jacobian is taken row by row (one reverse pass per row) outside autograd.
_ROW_VJP_MAX = 16


def _fingerprint(field: nn.Module, dim: int, memory: bool):
    """What the verdict depends on: the state size, the module's class and forward, every parameter and buffer
    (identity, in-place version, dtype, shape), each submodule's attributes (scalars by value, other objects by
    identity, plain tensors also by in-place version); None when it cannot be read (then no caching)."""
    try:
        tensors = tuple((t.data_ptr(), t._version, t.dtype, tuple(t.shape), t.requires_grad)
                        for t in (*field.parameters(), *field.buffers()))
        scalars = tuple(tuple((k, v if isinstance(v, _SCALARS) else (id(v), getattr(v, "_version", None)))
                              for k, v in vars(m).items())
                        for m in field.modules())
        hooks = tuple(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in field.modules())
        return (dim, memory, type(field), getattr(field.forward, "__func__", field.forward), tensors, scalars, hooks)
    except Exception:  # noqa: BLE001 - functorch-wrapped or exotic tensors: probe every time
        return None


def _name(module) -> str:
    return type(module).__name__


def _probe_states(n: int) -> torch.Tensor:
    """Two distinct, generic flat states ``(2, n)`` of moderate size (deterministic)."""
    i = torch.arange(1, n + 1, dtype=torch.float64)
    return torch.stack([0.3 * torch.sin(1.7 * i + 0.4), 0.2 * torch.cos(2.3 * i + 1.1) - 0.1])


def _describe(out, want: tuple[int, ...]) -> str:
    if isinstance(out, BaseException):
        return f"raised {type(out).__name__}: {str(out).splitlines()[0] if str(out) else ''}"
    if not isinstance(out, torch.Tensor):
        return f"returned {type(out).__name__}, not a tensor"
    return f"returned shape {tuple(out.shape)}, not {want}"


def _call(module, t, z):
    try:
        return module(t, z)
    except Exception as exc:  # noqa: BLE001 - the probe reports any failure of the user's module
        return exc


class FlatField(nn.Module):
    """A user's field seen on flat states ``z`` of shape ``(B, n)`` or ``(n,)`` (module docstring).

    Args:
        field: the ``nn.Module`` with ``forward(t, y)``.
        dim: size of the ``y`` state (override); default from ``states``, else ``field.dim``.
        states: states the caller will use, ``(..., n)`` flat (only their last size is read).

    Attributes:
        field: the wrapped module. dim: flat state size ``n``. y_dim: size of the ``y`` block (``d`` for
        FHRN with memory, else ``n``). mode: 'batch', 'vmap' or 'loop'. analytic: True when the tangent
        dynamics use the module's own Jacobian.

    Raises:
        FHRNInputError: not a module with ``forward(t, y)``; ``dim`` unknowable; the module fails on both
            a batch and a single state, or returns the wrong shape.
    """

    def __init__(self, field: nn.Module, dim: int | None = None, states=None) -> None:
        super().__init__()
        if not isinstance(field, nn.Module) or not callable(getattr(field, "forward", None)):
            raise FHRNInputError(f"`field` must be an nn.Module with forward(t, y), got {type(field).__name__}")
        self.field = field
        self.memory = isinstance(field, FHRNField) and field.has_memory
        self.y_dim = self._y_dim(field, dim, states)
        self.dim = self.y_dim + self.y_dim ** 2 if self.memory else self.y_dim
        self._t0 = torch.tensor(0.0, dtype=torch.float64)
        key = _fingerprint(field, self.dim, self.memory)
        known = _VERDICTS.get(field) if key is not None else None
        if known is not None and known[0] == key:
            self.mode, self.analytic = known[1], known[2]
            return
        self.mode = "batch" if isinstance(field, FHRNField) else self._probe()
        self.analytic = self._check_analytic()
        if key is not None:
            _VERDICTS[field] = (key, self.mode, self.analytic)

    def _y_dim(self, field, dim, states) -> int:
        if dim is not None:
            return check_int("dim", dim, low=1)
        if isinstance(field, FHRNField):
            return int(field.dim)
        if states is not None:
            shape = tuple(states.shape) if hasattr(states, "shape") else (len(states[0]) if hasattr(states[0], "__len__")
                                                                         else len(states),)
            if len(shape) >= 1 and shape[-1] >= 1:
                return int(shape[-1])
        d = getattr(field, "dim", None)
        if isinstance(d, (int,)) and not isinstance(d, bool) and d >= 1:
            return int(d)
        raise FHRNInputError(f"the state size of {_name(field)} is unknown: it has no integer `dim` attribute and "
                             "no states were given; pass `dim=` (or starting states)")

    def _probe(self) -> str:
        """Call the module once on a batch ``(2, n)`` and on its rows ``(n,)``; pick the calling mode."""
        n, m = self.dim, self.field
        z = _probe_states(n)
        with torch.no_grad():
            ob = _call(m, self._t0, z)
            os_ = [_call(m, self._t0, z[i]) for i in range(2)]
        batch_ok = isinstance(ob, torch.Tensor) and tuple(ob.shape) == (2, n)
        single_ok = all(isinstance(o, torch.Tensor) and tuple(o.shape) == (n,) for o in os_)
        if batch_ok and single_ok:
            same = all(torch.allclose(ob[i].to(torch.float64), os_[i].to(torch.float64), rtol=1e-9, atol=1e-12,
                                      equal_nan=True) for i in range(2))
            return "batch" if same else self._vmap_or_loop(z, os_)
        if batch_ok:
            return "batch"
        if single_ok:
            return self._vmap_or_loop(z, os_)
        bad = os_[0] if not (isinstance(os_[0], torch.Tensor) and tuple(os_[0].shape) == (n,)) else os_[1]
        raise FHRNInputError(
            f"field {_name(m)} is broken for states of size {n}: on a batch (2, {n}) it {_describe(ob, (2, n))}; "
            f"on one state ({n},) it {_describe(bad, (n,))}. A field maps (t, y) to dy/dt of y's shape "
            "(torchdiffeq's contract); pass `dim=` if the state size is not " + str(n))

    def _vmap_or_loop(self, z: torch.Tensor, singles) -> str:
        try:
            with torch.no_grad():
                ov = vmap(lambda x: self.field(self._t0, x))(z)
            if tuple(ov.shape) == tuple(z.shape) and torch.allclose(ov, torch.stack(singles).to(ov.dtype),
                                                                  rtol=1e-9, atol=1e-12, equal_nan=True):
                return "vmap"
        except Exception:  # noqa: BLE001 - vmap cannot trace this module: call it row by row
            pass
        return "loop"

    def _check_analytic(self) -> bool:
        """Is the module's own ``jacobian(y)`` usable (memory-free, right shape, equal to autograd)?

        Checked by one vector-Jacobian product per probe state: ``u^T J`` from the module's Jacobian against
        autograd's (one reverse pass), with a fixed ``u`` whose entries are all non-zero and distinct, so a wrong
        entry, a transposed or a mis-scaled Jacobian shows (relative 1e-8); the full ``vmap(jacrev)`` Jacobian it
        replaces cost 20 field evaluations' worth."""
        jac = getattr(self.field, "jacobian", None)
        if self.memory or not callable(jac) or self.mode != "batch":
            return False
        z = _probe_states(self.dim)
        i = torch.arange(1, self.dim + 1, dtype=torch.float64)
        u = torch.stack([1.0 + 0.37 * torch.sin(2.1 * i), -0.8 + 0.29 * torch.cos(1.3 * i)])  # (2, n), no zeros
        try:
            with torch.no_grad():
                Ja = jac(z)
            with torch.enable_grad():
                x = z.clone().requires_grad_(True)
                (uJ,) = torch.autograd.grad(self._raw(self._t0, x), x, u)
        except Exception:  # noqa: BLE001 - a jacobian with another signature, or no autograd: use torch.func
            return False
        if not isinstance(Ja, torch.Tensor) or tuple(Ja.shape) != (2, self.dim, self.dim) or uJ is None:
            return False
        uJa = torch.einsum("bi,bij->bj", u, Ja.to(uJ.dtype))
        scale = max(1.0, float(uJ.abs().max()), float(uJa.abs().max()))
        return bool(torch.allclose(uJa, uJ, rtol=1e-8, atol=1e-8 * scale))

    def split(self, z: torch.Tensor):
        """``(y, A)`` blocks of flat memory states ``(..., d + d^2)``."""
        d = self.y_dim
        return z[..., :d], z[..., d:].reshape(*z.shape[:-1], d, d)

    def _raw(self, t, z: torch.Tensor) -> torch.Tensor:
        m = self.field
        call = m if (m._forward_hooks or m._forward_pre_hooks) else m.forward  # skip Module.__call__ when unhooked
        if self.memory:
            dy, dA = call(t, self.split(z))
            return torch.cat([dy, dA.flatten(-2)], -1)
        return call(t, z)

    def batch_call(self):
        """The fastest callable ``(t, z (B, n)) -> f (B, n)`` for batches: the module's own ``forward`` when it
        takes flat batches and has no hooks (nothing in between), else :meth:`forward`. For hot loops."""
        m = self.field
        if self.mode == "batch" and not self.memory and not (m._forward_hooks or m._forward_pre_hooks):
            return m.forward
        return self.forward

    def forward(self, t, z: torch.Tensor) -> torch.Tensor:
        """``f(t, z)`` for flat states ``(n,)`` or ``(..., n)``, called the way the module was written for."""
        if self.mode == "batch":
            if z.ndim == 1:
                return self._raw(t, z.unsqueeze(0))[0]
            if z.ndim == 2:
                return self._raw(t, z)
            return self._raw(t, z.reshape(-1, self.dim)).reshape(z.shape)
        if z.ndim == 1:
            return self.field(t, z)
        zz = z.reshape(-1, self.dim)
        if self.mode == "vmap":
            out = vmap(lambda x: self.field(t, x))(zz)
        else:
            out = torch.stack([self.field(t, x) for x in zz])
        return out.reshape(z.shape)

    def autograd_jacobian(self, z: torch.Tensor, t: float = 0.0) -> torch.Tensor:
        """``df/dz`` by autograd at states ``(B, n)`` -> ``(B, n, n)``.

        ``torch.func`` (``vmap(jacrev)``), except for a batch-mode field of at most ``_ROW_VJP_MAX`` states
        evaluated outside autograd (``torch.no_grad``, plain tensors): there the ``n`` rows ``e_i^T J`` come
        from ``n`` reverse passes over the whole batch (the rows are independent, which the probe checked), the
        same products ``jacrev`` takes, without the ~1.5 s CPU that ``jacrev``'s first call spends importing
        ``torch._dynamo`` in every process."""
        tt = torch.tensor(float(t), dtype=torch.float64)
        if (self.mode == "batch" and z.ndim == 2 and self.dim <= _ROW_VJP_MAX and not torch.is_grad_enabled()
                and not is_functorch_wrapped_tensor(z)):
            with torch.enable_grad():
                x = z.detach().requires_grad_(True)
                y = self._raw(tt, x)
                if not y.requires_grad:  # f does not depend on the state (a constant field): J = 0
                    return torch.zeros(*z.shape, self.dim, dtype=y.dtype)
                rows = [torch.autograd.grad(y[:, i].sum(), x, retain_graph=i < self.dim - 1, allow_unused=True,
                                            materialize_grads=True)[0] for i in range(self.dim)]
            return torch.stack(rows, 1)
        if self.mode == "loop":
            return torch.stack([jacrev(lambda x: self(tt, x))(x) for x in z])
        return vmap(jacrev(lambda x: self(tt, x)))(z)

    def jacobian(self, z: torch.Tensor, t: float = 0.0) -> torch.Tensor:
        """``df/dz`` at states ``(B, n)`` -> ``(B, n, n)``: the module's own when confirmed, else autograd."""
        if self.analytic:
            return self.field.jacobian(z)
        return self.autograd_jacobian(z, t)


def as_flat_field(field, dim: int | None = None, states=None) -> FlatField:
    """``field`` itself when already a :class:`FlatField`, else the module seen through the contract."""
    return field if isinstance(field, FlatField) else FlatField(field, dim, states)


def check_field_values(ff: FlatField, z: torch.Tensor, what: str = "the starting states", f=None) -> None:
    """Raise when the field returns non-finite values at finite states ``z`` ``(B, n)`` (a broken field).

    ``f``: the field's values at ``z`` when the caller has them already (else computed here).

    Raises:
        FHRNInputError: naming the field and the first such state.
    """
    if f is None:
        with torch.no_grad():
            f = ff(ff._t0, z)
    if not isinstance(f, torch.Tensor) or tuple(f.shape) != tuple(z.shape):
        raise FHRNInputError(f"field {_name(ff.field)} {_describe(f, tuple(z.shape))} on {what}")
    bad = ~torch.isfinite(f).all(-1) & torch.isfinite(z).all(-1)
    if bool(bad.any()):
        i = int(torch.nonzero(bad)[0])
        x = ", ".join(f"{v:.4g}" for v in z[i, :4].tolist()) + (", ..." if z.shape[1] > 4 else "")
        raise FHRNInputError(f"field {_name(ff.field)} returned non-finite values at the finite state [{x}] "
                             f"({what}, row {i}): the field is broken there, this is not a divergence")

