"""Shared plumbing of the dynamics analyses (fixed points, cycles, exponents, bifurcations).

Every analysis works on ANY ``nn.Module`` field with ``forward(t, y)`` (torchdiffeq style), seen through
:class:`~fhrn_ode.dynamics._contract.FlatField` (the field contract: one probe decides how the module is
called; tuple states of the FHRN field with memory become flat states ``z = [y, vec(A)]``). All
integration goes through :func:`odeint` (the one place the dynamics tools integrate), which counts
field evaluations against a shared :class:`Budget` (``max_nfe``, ``wall_s``).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from fhrn_ode._errors import FHRNInputError, check_int, check_real

from ._contract import FlatField, as_flat_field, check_field_values

__all__ = ["FlatField", "as_flat_field", "check_field_values", "odeint", "single", "random_states",
           "trajectory_samples", "as_states", "TangentField", "jvp_rows", "Budget", "BudgetExceeded",
           "ADAPTIVE", "FIXED_STEP", "STEP_FRACTION", "solver_options"]

#: Adaptive torchdiffeq methods (take ``rtol``/``atol``).
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "adaptive_heun", "fehlberg2")
#: Fixed-step torchdiffeq methods (take ``step_size``; ``rtol``/``atol`` are refused).
FIXED_STEP = ("euler", "midpoint", "heun3", "rk4", "explicit_adams", "implicit_adams")
#: Default fixed step: this fraction of the interval the solve covers between restarts (``dt / 50``).
STEP_FRACTION = 1.0 / 50.0
#: Evaluations the fixed-point finder spends sampling starts along trajectories (a prefix is kept past it).
SAMPLE_NFE = 20000


class BudgetExceeded(Exception):  # noqa: N818 - a stop, not an error of the caller
    """A dynamics tool ran past its ``max_nfe`` or ``wall_s`` budget (``str`` names the budget and the knob)."""


class Budget:
    """Field evaluations and wall time shared by every solve of one tool call.

    Args:
        max_nfe: most evaluations of the field (one call on a batch counts once); None: no limit.
        wall_s: most seconds; None: no limit.
        what: the tool's name, for the message.
    """

    def __init__(self, max_nfe: int | None = None, wall_s: float | None = None, what: str = "the tool") -> None:
        self.max_nfe = None if max_nfe is None else check_int("max_nfe", max_nfe, low=1)
        self.wall_s = None if wall_s is None else check_real("wall_s", wall_s, low=0.0, low_open=True)
        self.what = what
        self.nfe = 0
        self.start = time.perf_counter()

    def tick(self, k: int = 1) -> None:
        """Count ``k`` evaluations; raise :class:`BudgetExceeded` past a limit."""
        self.nfe += k
        if self.max_nfe is not None and self.nfe > self.max_nfe:
            raise BudgetExceeded(f"{self.what} needs more than {self.max_nfe} field evaluations "
                                 f"(budget max_nfe={self.max_nfe}); raise `max_nfe` (CLI --max-nfe) or shorten the run")
        if self.wall_s is not None and (self.nfe & 31) == 0 and time.perf_counter() - self.start > self.wall_s:
            raise BudgetExceeded(f"{self.what} ran past its wall budget of {self.wall_s:g} s (budget wall_s="
                                 f"{self.wall_s:g}) after {self.nfe} field evaluations; raise `wall_s`")


def solver_options(method: str, rtol: float | None, atol: float | None, step_size: float | None, span: float,
                   *, default_rtol: float = 1e-8, default_atol: float = 1e-10) -> dict:
    """Validated solver keywords: ``{method, rtol, atol}`` (adaptive) or ``{method, step_size}`` (fixed step).

    Fixed-step methods take ``step_size`` (default ``STEP_FRACTION * span``, i.e. 1/50 of the interval
    between restarts); ``rtol``/``atol`` given to them are an error, never silently dropped.

    Raises:
        FHRNInputError: unknown method, tolerances for a fixed-step method, step size for an adaptive one.
    """
    if method in FIXED_STEP:
        if rtol is not None or atol is not None:
            raise FHRNInputError(f"`rtol`/`atol` do not apply to the fixed-step method {method!r}; "
                                 "pass `step_size` instead (default dt/50)")
        h = STEP_FRACTION * span if step_size is None else check_real("step_size", step_size, low=0.0, low_open=True)
        return dict(method=method, step_size=min(h, span))
    if method not in ADAPTIVE:
        raise FHRNInputError(f"`method` must be one of {', '.join(ADAPTIVE + FIXED_STEP)}; got {method!r}")
    if step_size is not None:
        raise FHRNInputError(f"`step_size` applies to fixed-step methods only, not to {method!r} (use rtol/atol)")
    return dict(method=method, rtol=default_rtol if rtol is None else check_real("rtol", rtol, low=0.0, low_open=True),
                atol=default_atol if atol is None else check_real("atol", atol, low=0.0, low_open=True))


def single(ff: FlatField, t: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """``z -> f(t, z)`` for ONE state ``(n,)`` (for ``torch.func`` transforms)."""
    tt = torch.tensor(float(t), dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return ff(tt, z)

    return f


def odeint(func, z0, t, *, method: str = "dopri5", rtol: float = 1e-8, atol: float = 1e-10,
           step_size: float | None = None, budget: Budget | None = None):
    """The states of ``func`` from ``z0`` at the save times ``t``: a thin front of :func:`fhrn_ode.solver.solve`.

    The one solver core does the integration (the stage-major dopri5 without autograd, torchdiffeq
    otherwise); this front passes what is left of the tool's shared ``budget`` as ``max_nfe``/``wall_s``,
    counts the evaluations spent, and turns a stopped solve into an exception the tools handle. A
    trajectory that became non-finite comes back NaN (the tools classify it). Fixed-step methods step with
    ``step_size``.

    Returns:
        ``(T, *z0.shape)`` tensor (a tuple of such for tuple states).

    Raises:
        BudgetExceeded: past the budget (message naming ``max_nfe``/``wall_s``).
        RuntimeError: the solver gave up (step size underflow), with the solver's message.
        fhrn_ode._errors.Interrupted: Ctrl-C / SIGTERM (never swallowed).
    """
    from fhrn_ode.solver import solve

    kw = dict(method=method, step_size=step_size) if method in FIXED_STEP else dict(method=method, rtol=rtol, atol=atol)
    max_nfe = wall = None
    if budget is not None:
        if budget.max_nfe is not None:
            max_nfe = max(1, budget.max_nfe - budget.nfe)
        if budget.wall_s is not None:
            wall = max(1e-3, budget.wall_s - (time.perf_counter() - budget.start))
    tt = t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)
    sol = solve(func, z0, tt, max_nfe=max_nfe, wall_s=wall, **kw)
    if budget is not None:
        budget.nfe += int(sol.nfe)
    if sol.status == "failed":
        if budget is not None and max_nfe is not None and budget.nfe >= budget.max_nfe:
            exc = BudgetExceeded(f"{budget.what} needs more than {budget.max_nfe} field evaluations (budget "
                                 f"max_nfe={budget.max_nfe}); raise `max_nfe` (CLI --max-nfe) or shorten the run")
        elif budget is not None and wall is not None and "wall_s" in sol.message:
            exc = BudgetExceeded(f"{budget.what} ran past its wall budget of {budget.wall_s:g} s (budget wall_s="
                                 f"{budget.wall_s:g}); raise `wall_s`")
        else:
            exc = RuntimeError(f"the solver gave up: {sol.message}")
        exc._fhrn_partial = sol.y
        raise exc
    return sol.y


def as_states(states, n: int, name: str = "y0") -> torch.Tensor:
    """Validate states ``(N, n)`` or ``(n,)`` -> float64 ``(N, n)``."""
    z = states.detach().to(torch.float64) if isinstance(states, torch.Tensor) else \
        torch.as_tensor(np.asarray(states, dtype=np.float64))
    if z.ndim == 1:
        z = z.unsqueeze(0)
    if z.ndim != 2 or z.shape[1] != n or z.shape[0] == 0:
        raise FHRNInputError(f"`{name}` must have shape (N, {n}) or ({n},), got {tuple(z.shape)}")
    if not bool(torch.isfinite(z).all()):
        raise FHRNInputError(f"`{name}` must be finite")
    return z


def random_states(ff: FlatField, n: int, radius: float, seed: int) -> torch.Tensor:
    """``n`` flat states: ``y`` uniform in the ball of ``radius`` (seeded), memory block ``A = 0``."""
    n = check_int("n_starts", n, low=1)
    radius = check_real("radius", radius, low=0.0, low_open=True)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    d = ff.y_dim
    u = rng.standard_normal((n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    y = u * (radius * rng.uniform(0.0, 1.0, (n, 1)) ** (1.0 / d))
    z = np.zeros((n, ff.dim))
    z[:, :d] = y
    return torch.as_tensor(z, dtype=torch.float64)


def trajectory_samples(ff: FlatField, n: int, *, radius: float = 2.0, t1: float = 10.0, n_traj: int | None = None,
                       seed: int = 0, max_norm: float = 1e3, max_nfe: int = SAMPLE_NFE) -> tuple[torch.Tensor, str]:
    """``n`` states sampled along trajectories (as FixedPointFinder does): ``(n, ff.dim)``, and a message
    ('' unless the sampling solve stopped early).

    ``n_traj`` (default ``min(n, 16)``) trajectories start from :func:`random_states`; each is saved
    at 64 times in ``[0, t1]`` and ``n`` samples are drawn at random (seeded) among the finite saved
    states with ``|z| <= max_norm``. Starting states are always eligible, so a diverging flow still
    yields samples. The sampling solve stops after ``max_nfe`` evaluations (a stiff field would take
    millions) and samples the prefix it saved: these are only starting states, never a result.
    """
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    n_traj = min(n, 16) if n_traj is None else check_int("n_traj", n_traj, low=1)
    z0 = random_states(ff, n_traj, radius, seed)
    max_norm = max(float(max_norm), 2.0 * float(radius))  # starts beyond the bound stay eligible
    t = torch.linspace(0.0, t1, 64, dtype=torch.float64)
    message = ""
    try:
        with torch.no_grad():
            Z = odeint(_Guard(ff, max_norm), z0, t, rtol=1e-6, atol=1e-8, budget=Budget(max_nfe, None, "the sampling"))
    except (AssertionError, RuntimeError, BudgetExceeded) as exc:  # the solver gave up: keep what it saved
        Z = getattr(exc, "_fhrn_partial", None)
        Z = z0.unsqueeze(0) if Z is None else Z[torch.isfinite(Z.reshape(Z.shape[0], -1)).all(-1)]
        message = f"start sampling stopped early ({exc}); sampled the trajectories' computed prefix"
    pool = Z.reshape(-1, ff.dim)
    ok = torch.isfinite(pool).all(-1) & (pool.norm(dim=-1) <= max_norm)
    pool = pool[ok]
    rng = np.random.default_rng(seed + 1)
    idx = rng.choice(pool.shape[0], size=n, replace=pool.shape[0] < n)
    return pool[torch.as_tensor(idx)].clone(), message


class _Guard(nn.Module):
    """Freeze rows that leave ``|z| <= max_norm``, or where the field is not finite (zero derivative), so an
    adaptive solver finishes; the caller tells the two apart (a frozen finite state with a non-finite
    field is a broken field, not a divergence)."""

    def __init__(self, ff: nn.Module, max_norm: float) -> None:
        super().__init__()
        self.ff = ff
        self.max_norm = float(max_norm)
        self._f = ff.batch_call() if isinstance(ff, FlatField) else ff  # the module's own forward where it can

    def forward(self, t, z):
        inside = torch.linalg.vector_norm(z, dim=-1, keepdim=True) <= self.max_norm
        if z.ndim == 2 and bool(inside.all()):  # fast path: every row inside the ball, one check of the values
            f = self._f(t, z)
            if bool(torch.isfinite(f).all()):
                return f
            return torch.where(torch.isfinite(f).all(-1, keepdim=True), f, torch.zeros_like(f))
        zs = torch.where(inside, z, torch.zeros_like(z))
        f = self.ff(t, zs)
        ok = inside & torch.isfinite(f).all(-1, keepdim=True)
        return torch.where(ok, f, torch.zeros_like(z))


def _lean_tangent(ff) -> Callable | None:
    """``(t, z, Q) -> [vec f(z), vec J(z) Q]`` without the contract's dispatch, or None where the general path
    must run (see :class:`TangentField`)."""
    if hasattr(ff, "tangent"):  # a family (dynamics/_family.py): its one-call f and J Q when stacked
        return ff.tangent if ff.stacked and ff.analytic else None
    if not (ff.analytic and ff.mode == "batch" and not ff.memory):
        return None
    m = ff.field
    if m._forward_hooks or m._forward_pre_hooks:
        return None
    fwd, jq = m.forward, _jacobian_matmul(m)

    def lean(t, z, Q):
        return torch.cat([fwd(t, z).reshape(-1), jq(z, Q).reshape(-1)])

    return lean


def _jacobian_matmul(m) -> Callable:
    """``(z, Q) -> J(z) Q`` of a field with a confirmed ``jacobian``: its optional ``jacobian_matmul(z, Q)``
    (e.g. :meth:`~fhrn_ode.dynamics.systems.Lorenz96Field.jacobian_matmul`, ``O(n k)`` for a sparse ``J``), checked
    on the first call against ``jacobian(z) @ Q`` (a disagreement beyond 1e-10 relative raises
    :class:`FHRNInputError`); else ``torch.bmm(jacobian(z), Q)``."""
    jac, jm = m.jacobian, getattr(m, "jacobian_matmul", None)
    if not callable(jm):
        return lambda z, Q: torch.bmm(jac(z), Q)
    checked = False

    def first(z, Q):
        nonlocal checked
        out = jm(z, Q)
        if not checked:
            ref = torch.bmm(jac(z), Q)
            bad = out.shape != ref.shape or not bool(
                ((out - ref).abs() <= 1e-10 * (1.0 + ref.abs().amax())).all())
            if bad:
                raise FHRNInputError(f"the field's `jacobian_matmul` disagrees with `jacobian(z) @ Q` (shape "
                                     f"{tuple(out.shape)} vs {tuple(ref.shape)}); fix or remove the method")
            checked = True
        return out

    return first


class TangentField(nn.Module):
    """The field with its variational equation: ``dz/dt = f(z)``, ``dQ/dt = J(z) Q``.

    Two layouts: the tuple ``(z, Q)`` with ``z`` ``(N, n)`` and ``Q`` ``(N, n, k)``; or, with ``k`` given, ONE
    flat tensor ``u = [vec z, vec Q]`` ``(N n + N n k,)`` (:meth:`pack`), which the stage-major solver
    integrates in one buffer and whose blocks are contiguous views. ``J Q`` is a batched product with the
    field's own Jacobian when the contract confirmed one (``FlatField.analytic``; the field's optional
    ``jacobian_matmul(z, Q)`` where it has one, checked on first use), else Jacobian-vector products
    (:func:`jvp_rows`): the tangent dynamics of Benettin's algorithm and of the monodromy matrix.

    The lean path (``lean=True``, default; flat layout, analytic Jacobian, a batch-mode field without memory
    or hooks, or a stacked analytic family): the ``(z, Q)`` views of each solver buffer are built once, the
    field's ``forward`` and ``jacobian`` are called without the contract's dispatch (the contract already
    confirmed batch mode and the Jacobian), ``[vec f, vec J Q]`` is one ``cat``, and a stacked family computes
    ``f`` and ``J Q`` of all members in one call (``FamilyField.tangent``). Same formula, same numbers (equal
    to ``lean=False`` to 1e-14, tests/dynamics/test_exponents.py).
    """

    def __init__(self, ff: FlatField, k: int | None = None, lean: bool = True) -> None:
        super().__init__()
        self.ff = ff
        self.k = k
        self._lean = _lean_tangent(ff) if lean and k is not None else None
        self._views: dict = {}

    def _fJQ(self, t, z: torch.Tensor, Q: torch.Tensor, out: torch.Tensor | None = None):
        N, n, k = Q.shape
        if self.ff.analytic:
            J = self.ff.jacobian(z)
            return self.ff(t, z), (torch.bmm(J, Q) if out is None else torch.bmm(J, Q, out=out))
        # rows are independent, so the k columns ride along as extra rows of one batch (N k, n)
        zr = z.unsqueeze(1).expand(N, k, n).reshape(N * k, n)
        V = Q.transpose(1, 2).reshape(N * k, n)
        fz, JV = jvp_rows(self.ff, t, zr, V)
        JQ = JV.reshape(N, k, n).transpose(1, 2)
        if out is not None:
            out.copy_(JQ)
        return fz.reshape(N, k, n)[:, 0], JQ

    def forward(self, t, state):
        if isinstance(state, tuple):
            return self._fJQ(t, *state)
        if self._lean is not None:
            # the solver evaluates on a few reused stage buffers: their (z, Q) views are built once per buffer
            # (keyed by address and size; a cached view keeps its buffer alive, so an address is never reused)
            key = (state.data_ptr(), state.shape[0])
            zQ = self._views.get(key)
            if zQ is None:
                if len(self._views) >= 16:
                    self._views.clear()
                zQ = self._views[key] = self.unpack(state)
            return self._lean(t, *zQ)
        z, Q = self.unpack(state)
        out = torch.empty_like(state)
        dz, dQ = self.unpack(out)
        fz, _ = self._fJQ(t, z, Q, out=dQ)
        dz.copy_(fz)
        return out

    def pack(self, z: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """``[vec z, vec Q]``: one flat state ``(N n + N n k,)``, each block contiguous."""
        return torch.cat([z.reshape(-1), Q.reshape(-1)])

    def unpack(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z (N, n), Q (N, n, k))`` views of a flat state ``u`` (:meth:`pack`)."""
        n, k = self.ff.dim, self.k
        N = u.shape[-1] // (n + n * k)
        return u[..., :N * n].view(*u.shape[:-1], N, n), u[..., N * n:].view(*u.shape[:-1], N, n, k)


def jvp_rows(ff, t, z: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(z), J(z) v)`` row by row for a batch ``(B, n)``: a Jacobian-vector product by double VJP.

    ``J v = d/du <v, J^T u>`` (two reverse passes through ``f``); equal to ``torch.func.jvp`` (tested)
    and about 3x cheaper per call on small CPU states in torch 2.x, where the forward-mode dispatch
    overhead dominates. Works inside ``torch.no_grad``.
    """
    with torch.enable_grad():
        x = z.detach().requires_grad_(True)
        y = ff(t, x)
        u = torch.zeros_like(y, requires_grad=True)
        (g,) = torch.autograd.grad(y, x, u, create_graph=True)
        (Jv,) = torch.autograd.grad(g, u, v)
    return y.detach(), Jv.detach()
