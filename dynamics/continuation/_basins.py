"""Basins of attraction on a 2-D slice of state space, and basin fractions across a parameter (a coarse global
continuation in the sense of Attractors.jl, Datseris & Wagemakers, Chaos 32, 023104 (2022)).

A grid of initial states (two coordinates varied, the others from ``base``) is integrated as ONE batch
through :func:`fhrn_ode.solver.solve` (the field gets ``(N, n)`` when it handles batches, else it is vmapped
over single states ``(n,)``: probed once). Each end state is labelled by what it reached:

* an equilibrium (``|f| <= eq_tol`` at ``t1``, or a state that stays within ``cluster_tol`` over the last
  ``window``: an equilibrium to that resolution), clustered with ``cluster_tol``: 'equilibrium k';
* otherwise a bounded motion whose per-coordinate min and max over the last ``window`` match, within
  ``cycle_tol``, an attractor seen before: 'cycle k' (any non-equilibrium attractor alike; the window
  must exceed its period);
* non-finite, or beyond ``escape_radius`` when one is given: 'diverged' (label -1);
* a non-equilibrium whose min/max over the two halves of the window differ by more than ``cycle_tol``:
  'not settled' (label -2; integrate longer: raise ``t1``).

Attractor ``k`` has label ``k >= 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch.func import vmap

from fhrn_ode._errors import FHRNInputError, check_int, check_real
from fhrn_ode.solver import solve

from .._flow import as_flat_field

__all__ = ["Basins", "basins", "basin_fractions"]

D = torch.float64


@dataclass
class Basins:
    """Labelled grid of initial states.

    Attributes:
        labels: ``(ny, nx)`` int: attractor index ``k >= 0``, -1 (diverged) or -2 (not settled). xs, ys: grid coordinates
        ``(nx,)``, ``(ny,)``. dims: the two state coordinates varied. attractors: ``[{kind, state}]``
        (``state`` a representative ``(n,)``). fractions: per attractor, then 'diverged' and 'not settled'. status, message.
    """

    labels: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    dims: tuple
    attractors: list
    fractions: dict
    status: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(labels=self.labels.tolist(), xs=self.xs.tolist(), ys=self.ys.tolist(), dims=list(self.dims),
                    attractors=self.attractors, fractions=self.fractions, status=self.status, message=self.message)


def _batched(ff, n: int) -> Callable:
    """``(t, Y (N, n)) -> (N, n)``: the module itself when it maps batches row-wise, else vmapped."""
    t0 = torch.tensor(0.0, dtype=D)
    probe = torch.linspace(0.1, 0.3, 2 * n, dtype=D).reshape(2, n)
    try:
        out = ff(t0, probe)
        ok = out.shape == probe.shape and torch.allclose(out[1], ff(t0, probe[1]), rtol=1e-12, atol=1e-12)
    except Exception:  # noqa: BLE001 - a single-state field: vmap it
        ok = False
    if ok:
        return ff
    return lambda t, Y: vmap(lambda y: ff(t, y))(Y)


def _grid(xlim, ylim, n, base, dims, dim):
    nx, ny = n
    xs = np.linspace(*xlim, nx)
    ys = np.linspace(*ylim, ny)
    X, Y = np.meshgrid(xs, ys)
    Z = np.tile(np.asarray(base, float), (nx * ny, 1))
    Z[:, dims[0]], Z[:, dims[1]] = X.ravel(), Y.ravel()
    return xs, ys, torch.as_tensor(Z, dtype=D)


def _check(xlim, ylim, n, dims, dim):
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if len(lim) != 2 or not lim[0] < lim[1]:
            raise FHRNInputError(f"`{name}` must be (low, high) with low < high, got {lim!r}")
    if len(n) != 2:
        raise FHRNInputError(f"`n` must be (nx, ny), got {n!r}")
    for v in n:
        check_int("n", v, low=2)
    if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= d < dim for d in dims):
        raise FHRNInputError(f"`dims` must be two different coordinates in [0, {dim}), got {dims!r}")


def basins(field, xlim, ylim, *, n=(100, 100), base=None, dims=(0, 1), t1: float = 50.0, window: float = 10.0,
           eq_tol: float = 1e-6, cluster_tol: float = 1e-3, cycle_tol: float = 0.02,
           escape_radius: float | None = None,
           dim: int | None = None, rtol: float = 1e-7, atol: float = 1e-9) -> Basins:
    """Label a grid of initial states by the attractor each reaches (module docstring).

    Args:
        field: ``nn.Module`` with ``forward(t, y)``. xlim, ylim: ranges of coordinates ``dims``.
        n: grid size ``(nx, ny)``. base: the state's other coordinates ``(n,)`` (zeros if None).
        t1: integration time; window: the last part of it sampled (40 samples) for cycles.
        eq_tol: ``|f(x(t1))| <= eq_tol`` is an equilibrium. cluster_tol: distance (max-norm, relative) that
            identifies equilibria; cycle_tol: the same for the per-coordinate min/max over the window of others.
        escape_radius: states beyond it are 'diverged' (None: only non-finite ones). dim: state size if the
        module has no ``dim``. rtol, atol: solver tolerances.

    Returns:
        :class:`Basins`.

    Raises:
        FHRNInputError: bad ranges, sizes, dims or tolerances.
        Interrupted: on Ctrl-C (from the solver), with the partial solution.
    """
    ff = as_flat_field(field, dim if dim is not None else (None if hasattr(field, "dim") else
                                                          (len(base) if base is not None else 2)))
    N = ff.dim
    base = np.zeros(N) if base is None else np.asarray(base, float)
    if base.shape != (N,):
        raise FHRNInputError(f"`base` must have shape ({N},), got {base.shape}")
    _check(xlim, ylim, n, dims, N)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    window = check_real("window", window, low=0.0, low_open=True, high=t1)
    check_real("eq_tol", eq_tol, low=0.0, low_open=True)
    check_real("cluster_tol", cluster_tol, low=0.0, low_open=True)
    check_real("cycle_tol", cycle_tol, low=0.0, low_open=True)
    check_real("escape_radius", escape_radius, low=0.0, low_open=True, allow_none=True)
    xs, ys, Z0 = _grid(xlim, ylim, n, base, dims, N)
    rhs = _batched(ff, N)
    t = torch.cat([torch.zeros(1, dtype=D), torch.linspace(t1 - window, t1, 40, dtype=D)])
    with torch.no_grad():
        sol = solve(rhs, Z0, t, rtol=rtol, atol=atol)
        tail = sol.y[1:].transpose(0, 1)  # (M, 40, n)
        end = tail[:, -1]
        speed = torch.linalg.vector_norm(rhs(t[-1], torch.nan_to_num(end)), dim=1)
    labels, attractors = _label(tail.numpy(), speed.numpy(), eq_tol, cluster_tol, cycle_tol, escape_radius)
    total = labels.size
    fractions = {f"{a['kind']} {k}": float(np.sum(labels == k)) / total for k, a in enumerate(attractors)}
    fractions["diverged"] = float(np.sum(labels == -1)) / total
    fractions["not settled"] = float(np.sum(labels == -2)) / total
    msg = f"{len(attractors)} attractor(s) on a {n[0]} x {n[1]} grid; solver: {sol.status}"
    return Basins(labels.reshape(n[1], n[0]), xs, ys, tuple(dims), attractors, fractions,
                  "success" if sol.status in ("success", "diverged") else "failed", msg)


def _label(tail, speed, eq_tol, cluster_tol, cycle_tol, escape_radius):
    M = tail.shape[0]
    labels = np.full(M, -1, dtype=int)
    attractors: list[dict] = []
    keys: list[np.ndarray] = []
    end = tail[:, -1]
    finite = np.all(np.isfinite(tail), axis=(1, 2))
    if escape_radius is not None:
        finite &= np.linalg.norm(end, axis=1) <= escape_radius
    for i in np.flatnonzero(finite):
        extent = float(np.abs(tail[i].max(0) - tail[i].min(0)).max())
        eq = speed[i] <= eq_tol or extent <= cluster_tol * (1 + np.abs(end[i]).max())
        kind = "equilibrium" if eq else "cycle"
        # equilibria: the end state; other attractors: per-coordinate min and max over the window (phase-free)
        key = end[i] if eq else np.concatenate([tail[i].min(0), tail[i].max(0)])
        tol = (cluster_tol if eq else cycle_tol) * (1 + np.abs(key).max())
        if not eq:
            h = tail.shape[1] // 2
            first, second = (np.concatenate([w.min(0), w.max(0)]) for w in (tail[i, :h], tail[i, h:]))
            if np.abs(first - second).max() > tol:
                labels[i] = -2  # still drifting at t1: not settled
                continue
        for k, (a, ky) in enumerate(zip(attractors, keys)):
            if a["kind"] == kind and np.abs(ky - key).max() <= tol:
                labels[i] = k
                break
        else:
            labels[i] = len(attractors)
            attractors.append(dict(kind=kind, state=end[i].tolist()))
            keys.append(key)
    return labels, attractors


def basin_fractions(make_field: Callable[[float], Any], values, xlim, ylim, **kw) -> dict[str, Any]:
    """Basin fractions per attractor across parameter ``values`` (attractors matched between neighbouring
    values by their representative state's distance, ``cluster_tol`` scaled by 100).

    Returns:
        ``{'values': [...], 'fractions': {name: [per value]}, 'attractors': {name: [state per value]}}``; an
        attractor absent at a value has fraction 0 and state None.
    """
    vals = [check_real("values", v) for v in values]
    names: list[str] = []
    last: dict[str, np.ndarray] = {}
    table: dict[str, list] = {}
    states: dict[str, list] = {}
    tol = 100 * kw.get("cluster_tol", 1e-3)
    for j, v in enumerate(vals):
        b = basins(make_field(v), xlim, ylim, **kw)
        for k, a in enumerate(b.attractors):
            s = np.asarray(a["state"])
            match = [nm for nm in names if nm.startswith(a["kind"]) and nm in last
                     and np.linalg.norm(last[nm] - s) <= tol * (1 + np.abs(s).max())]
            nm = match[0] if match else f"{a['kind']} {len(names)}"
            if not match:
                names.append(nm)
                table[nm], states[nm] = [0.0] * j, [None] * j
            last[nm] = s
            table[nm].append(b.fractions[f"{a['kind']} {k}"])
            states[nm].append(a["state"])
        for nm in names:
            if len(table[nm]) < j + 1:
                table[nm].append(0.0)
                states[nm].append(None)
        for extra in ("diverged", "not settled"):
            table.setdefault(extra, [0.0] * j)
            table[extra].append(b.fractions[extra])
    return dict(values=vals, fractions=table, attractors=states)
