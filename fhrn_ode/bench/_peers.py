"""Peer ODE libraries for the integrate bench: diffrax (JAX, jit, float64) and torchode (optional).

Both are in the ``bench`` extra (``pip install fhrn-ode[bench]``); :func:`peer_status` says which are
importable, and the bench skips a missing one with a note. The problem is the same ring field as
:mod:`fhrn_ode.bench.integrate` (docs/model.md §1, C 7-8 with ``g = 1``, no memory, no drive):

    dy/dt = (-leak I + gamma W*) y - kappa (|y|^2 - theta^2) y

* diffrax: ``diffeqsolve(ODETerm, Dopri5, PIDController(rtol, atol))`` on ONE state ``(N, d)`` for
  the whole batch (one step size, rms error norm over all states: the same control as ours),
  ``SaveAt(ts=...)``, ``jax.jit``; compile time measured separately (``lower().compile()``) and
  reported in the row, never hidden in the run time.
* torchode: ``Dopri5`` with an ``IntegralController``, eager, each of the N trajectories with its
  own step size (torchode's batch semantics; the error control differs, the errors are reported).
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

__all__ = ["peer_status", "diffrax_solver", "torchode_solver"]


def peer_status() -> dict[str, str | None]:
    """``{"diffrax": None or why not, "torchode": None or why not}`` without importing them."""
    out: dict[str, str | None] = {}
    for name, mods in (("diffrax", ("jax", "diffrax")), ("torchode", ("torchode",))):
        miss = [m for m in mods if importlib.util.find_spec(m) is None]
        out[name] = None if not miss else f"not installed ({', '.join(miss)}; pip install 'fhrn-ode[bench]')"
    return out


def diffrax_solver(H: np.ndarray, kappa: float, y0: np.ndarray, ts: np.ndarray, rtol: float, atol: float,
                   max_steps: int = 100_000):
    """A jitted diffrax solve of the ring field; returns ``(run, compile_s)``.

    ``H = -leak I + gamma W* + kappa theta^2 I``; ``run()`` returns the saved states ``(T, N, d)``
    as numpy (blocking until JAX is done) and the number of field evaluations.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    Hj = jnp.asarray(H.T)

    def f(t, y, args):
        r2 = jnp.sum(y * y, axis=-1, keepdims=True)
        return y @ Hj - kappa * r2 * y

    term = diffrax.ODETerm(f)
    solver = diffrax.Dopri5()
    ctrl = diffrax.PIDController(rtol=rtol, atol=atol)
    tsj = jnp.asarray(ts)

    def solve(y):
        sol = diffrax.diffeqsolve(term, solver, t0=tsj[0], t1=tsj[-1], dt0=None, y0=y,
                                  saveat=diffrax.SaveAt(ts=tsj), stepsize_controller=ctrl, max_steps=max_steps)
        return sol.ys, sol.stats["num_steps"]

    y0j = jnp.asarray(y0)
    t0 = time.perf_counter()
    compiled = jax.jit(solve).lower(y0j).compile()
    compile_s = time.perf_counter() - t0

    def run():
        ys, steps = compiled(y0j)
        ys = jax.block_until_ready(ys)
        return np.asarray(ys), 6 * int(steps) + 2  # FSAL dopri5: ~6 evaluations per step

    return run, compile_s


def torchode_solver(H: np.ndarray, kappa: float, y0: np.ndarray, ts: np.ndarray, rtol: float, atol: float):
    """An eager torchode solve of the ring field; ``run()`` returns ``((T, N, d) numpy, nfe)``."""
    import torch
    import torchode as to

    Ht = torch.as_tensor(H.T.copy(), dtype=torch.float64)

    def f(t, y):
        r2 = (y * y).sum(-1, keepdim=True)
        return torch.addcmul(y @ Ht, r2, y, value=-kappa)

    n = y0.shape[0]
    y0t = torch.as_tensor(y0, dtype=torch.float64)
    t_eval = torch.as_tensor(ts, dtype=torch.float64).expand(n, -1).contiguous()
    term = to.ODETerm(f)
    step = to.Dopri5(term=term)
    ctrl = to.IntegralController(atol=atol, rtol=rtol, term=term)
    solver = to.AutoDiffAdjoint(step, ctrl)

    def run():
        with torch.no_grad():
            sol = solver.solve(to.InitialValueProblem(y0=y0t, t_eval=t_eval))
        ys = sol.ys.permute(1, 0, 2).numpy()  # (N, T, d) -> (T, N, d)
        nfe = int(sol.stats["n_f_evals"].max()) if "n_f_evals" in sol.stats else -1
        status = sol.status.numpy()
        if (status != 0).any():
            raise RuntimeError(f"torchode did not succeed for {(status != 0).sum()} of {n} trajectories")
        return ys, nfe

    return run
