"""Lyapunov spectra of ANY field by Benettin's algorithm with QR re-orthonormalisation.

For ``dz/dt = f(z)`` the tangent vectors ``Q`` ``(n, k)`` evolve by ``dQ/dt = J(z) Q`` (Jacobian-vector
products from ``torch.func.jvp``, :class:`~fhrn_ode.dynamics._flow.TangentField`). Every ``dt`` the
columns are re-orthonormalised, ``Q R = Q(t)`` (``torch.linalg.qr``), and

    lambda_i = lim_{T -> inf} (1/T) sum_windows log |R_ii|          (Benettin et al., Meccanica 15, 1980)

(largest first). ``log|R_ii| / dt`` of one window is the finite-time exponent along the trajectory.
Batched over initial states: all trajectories and their tangent spaces integrate together. The
convergence estimate ``spread`` is the largest change of the running estimate over the last
``n_windows`` re-orthonormalisations (max over exponents of max - min).

Ground truths (tests): a linear flow ``f = A z`` (exponents = Re eig A), the Lorenz system (sum exactly
``-(sigma + 1 + b)``, largest ~0.906), the 2-D FHRN ring with antisymmetric ``W*`` (``0`` along the flow and
``-2 kappa r*^2`` radially, from ``dr/dt = r(-leak - kappa(r^2 - theta^2))`` at ``r* = sqrt(theta^2 - leak/kappa)``;
docs/model.md §1, C 7-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Any

import numpy as np
import torch

from fhrn_ode._errors import FHRNInputError, check_int, check_real

from ._flow import TangentField, as_flat_field, as_states, odeint, random_states

__all__ = ["LyapunovSpectrum", "lyapunov_spectrum"]


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Outcome of :func:`lyapunov_spectrum`.

    Attributes:
        exponents: ``(k,)`` mean over the finite initial states, largest first.
        per_init: ``(N, k)`` exponents of each initial state (NaN where the trajectory stopped being finite).
        sum: sum of ``exponents``. spread: convergence estimate (see the module docstring).
        std_over_inits: ``(k,)`` standard deviation over initial states.
        times: ``(m,)`` end times of the windows (after the transient); running: ``(m, k)`` running
            estimate of the mean exponents; finite_time: ``(m, N, k)`` ``log|R_ii|/dt`` per window.
        t1, dt, t_transient, t_align: the times used. n_windows: windows of the spread.
    """

    exponents: np.ndarray
    per_init: np.ndarray
    sum: float
    spread: float
    std_over_inits: np.ndarray
    times: np.ndarray = dc_field(repr=False)
    running: np.ndarray = dc_field(repr=False)
    finite_time: np.ndarray = dc_field(repr=False)
    t1: float = 0.0
    dt: float = 0.0
    t_transient: float = 0.0
    t_align: float = 0.0
    n_windows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(exponents=self.exponents.tolist(), sum=self.sum, spread=self.spread,
                    std_over_inits=self.std_over_inits.tolist(), per_init=self.per_init.tolist(),
                    t1=self.t1, dt=self.dt, t_transient=self.t_transient, t_align=self.t_align, n_windows=self.n_windows,
                    n_init=int(self.per_init.shape[0]))


def lyapunov_spectrum(field, y0=None, *, dim: int | None = None, n_init: int = 8, radius: float = 2.0,
                      t_transient: float = 10.0, t1: float = 100.0, dt: float = 0.5, t_align: float = 2.0,
                      k: int | None = None,
                      n_windows: int = 10, method: str = "dopri5", rtol: float = 1e-8, atol: float = 1e-10,
                      seed: int = 0, progress: bool = False) -> LyapunovSpectrum:
    """The ``k`` largest Lyapunov exponents of ``field``, batched over initial states (Benettin, QR).

    Args:
        field: ``nn.Module`` with ``forward(t, z)`` accepting states ``(n,)`` (FHRN with or without memory,
            Lorenz, ...).
        y0: initial states ``(N, n)``; default ``n_init`` states uniform in the ball of ``radius`` (seeded;
            memory block 0).
        dim: size of the ``y`` state when ``field`` has no ``dim`` attribute.
        t_transient: time integrated first without tangents (onto the attractor).
        t1: averaging time (> dt); ``dt``: re-orthonormalisation interval.
        t_align: time the tangent vectors are evolved and re-orthonormalised BEFORE averaging starts, so
            they align with the Lyapunov vectors (the identity start biases the first windows).
        k: number of exponents (default all, ``n``).
        n_windows: number of final windows over which ``spread`` is measured.
        method, rtol, atol: torchdiffeq solver settings.
        progress: show a tqdm bar over the windows.

    Returns:
        :class:`LyapunovSpectrum`.

    Raises:
        FHRNInputError: bad options.
    """
    ff = as_flat_field(field, dim)
    n = ff.dim
    k = n if k is None else check_int("k", k, low=1, high=n)
    t_transient = check_real("t_transient", t_transient, low=0.0)
    dt = check_real("dt", dt, low=0.0, low_open=True)
    t1 = check_real("t1", t1, low=0.0, low_open=True)
    if t1 < dt:
        raise FHRNInputError(f"`t1` must be at least `dt`={dt:g}, got {t1:g}")
    n_windows = check_int("n_windows", n_windows, low=2)
    t_align = check_real("t_align", t_align, low=0.0)
    z = random_states(ff, n_init, radius, seed) if y0 is None else as_states(y0, n, "y0")
    N = z.shape[0]
    with torch.no_grad():
        if t_transient > 0:
            z = odeint(ff, z, torch.tensor([0.0, t_transient], dtype=torch.float64), method=method,
                       rtol=rtol, atol=atol)[-1]
        m = int(round(t1 / dt))
        m0 = int(round(t_align / dt))
        Q = torch.eye(n, k, dtype=torch.float64).expand(N, n, k).clone()
        tan = TangentField(ff)
        span = torch.tensor([0.0, dt], dtype=torch.float64)
        logs = torch.zeros(N, k, dtype=torch.float64)
        finite = np.empty((m, N, k))
        running = np.empty((m, k))
        alive = torch.ones(N, dtype=torch.bool)
        from tqdm import tqdm

        for w in tqdm(range(-m0, m), desc="lyapunov", unit="window", disable=not progress, leave=False):
            zs, Qs = odeint(tan, (z, Q), span, method=method, rtol=rtol, atol=atol)
            z, Q = zs[-1], Qs[-1]
            ok = torch.isfinite(z).all(-1) & torch.isfinite(Q).flatten(1).all(-1)
            alive &= ok
            z = torch.where(ok[:, None], z, torch.zeros_like(z))
            Q = torch.where(ok[:, None, None], Q, torch.eye(n, k, dtype=Q.dtype).expand_as(Q))
            Q, R = torch.linalg.qr(Q)
            lr = torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs())
            if w < 0:
                continue
            logs += torch.where(alive[:, None], lr, torch.zeros_like(lr))
            finite[w] = np.where(alive.numpy()[:, None], (lr / dt).numpy(), np.nan)
            good = alive.numpy()
            running[w] = (logs.numpy()[good] / ((w + 1) * dt)).mean(0) if good.any() else np.nan
    per_init = logs.numpy() / (m * dt)
    per_init[~alive.numpy()] = np.nan
    good = alive.numpy()
    if not good.any():
        raise FHRNInputError("every trajectory stopped being finite: the flow diverges from all initial states")
    ex = per_init[good].mean(0)
    order = np.argsort(-ex, kind="stable")
    last = running[-min(n_windows, m):]
    return LyapunovSpectrum(exponents=ex[order], per_init=per_init[:, order], sum=float(ex.sum()),
                            spread=float(np.max(last.max(0) - last.min(0))),
                            std_over_inits=per_init[good][:, order].std(0), times=dt * np.arange(1, m + 1),
                            running=running[:, order], finite_time=finite[:, :, order], t1=m * dt, dt=dt,
                            t_transient=t_transient, t_align=m0 * dt, n_windows=n_windows)
