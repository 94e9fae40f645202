"""torchdiffeq's ``dopri5`` with its stage buffer laid out stage-major, for large batches.

torchdiffeq stores the Runge-Kutta stages of a step as ``k`` of shape ``(*y.shape, 7)`` and forms
each stage input with ``sum(k[..., :i+1] * beta_i, dim=-1)``: a reduction over a contiguous axis of
length <= 7, which is the slowest way to do it (for 4096 states of dimension 2 it took ~60% of the
integration time; for 256 states of dimension 192 it dominated the matrix products of the field).

:class:`StageMajorDopri5` is ``torchdiffeq``'s :class:`Dopri5Solver` (its Dormand-Prince tableau,
error estimate, rms error norm, step-size rule of ``_optimal_step_size`` and 4th-order dense output)
with the stages stored as ``(7, M)`` so that every combination is one BLAS call: the stage inputs
are ``addmv``, and the error estimate and the four interpolation coefficients (all linear in the
stages, the ``y0`` terms cancelling) are one ``(5, 7) @ (7, M)`` product. Also: times and the
step-size rule are evaluated on Python floats (the same float64 arithmetic without a tensor dispatch
per scalar), the field is called without torchdiffeq's ``_PerturbFunc`` (which computes ``|y|`` on
every call only to read a dtype; the one-ulp nudge of ``t`` is applied here), the error ratio is
fused in place, and the stage buffers are reused. It takes the same steps and the same number of
evaluations as torchdiffeq's dopri5 and agrees with it to round-off (``tests/test_bench.py``). The
tableau and interpolation weights are read from torchdiffeq, not written here.

Only forward integration without autograd through the solver, and without ``step_t``/``jump_t``
(:func:`fhrn_ode.integrate` uses torchdiffeq's own solvers otherwise).
"""

from __future__ import annotations

import math

import torch
from torchdiffeq._impl.dopri5 import Dopri5Solver
from torchdiffeq._impl.misc import Perturb, _check_inputs, _compute_error_ratio, _flat_to_shape, _PerturbFunc, _rms_norm
from torchdiffeq._impl.odeint import SOLVERS as _TORCHDIFFEQ_SOLVERS

__all__ = ["StageMajorDopri5", "odeint_stage_major"]


class StageMajorDopri5(Dopri5Solver):
    """torchdiffeq's dopri5 with a stage-major buffer (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tab = self.tableau
        S = len(tab.alpha) + 1
        # FSAL property of Dormand-Prince (as used by torchdiffeq): y1 is the last stage input.
        if not (float(tab.c_sol[-1]) == 0.0 and bool((tab.c_sol[:-1] == tab.beta[-1]).all())):
            raise ValueError("StageMajorDopri5 needs a first-same-as-last tableau")
        dt_ = tab.c_sol.dtype
        e0 = torch.zeros(S, dtype=dt_)
        e0[0] = 1.0
        e6 = torch.zeros(S, dtype=dt_)
        e6[-1] = 1.0
        csol, mid = tab.c_sol, self.mid
        # torchdiffeq's _interp_fit with y1 = y0 + dt csol.k, y_mid = y0 + dt mid.k, f0 = k0, f1 = k6:
        # every y0 coefficient sums to zero, leaving dt * (row . k) for the four polynomial terms.
        rows = [
            tab.c_error,                                   # error estimate
            e0,                                            # d = dt f0
            e6 - 4 * e0 - 5 * csol + 16 * mid,             # c
            5 * e0 - 3 * e6 + 14 * csol - 32 * mid,        # b
            2 * (e6 - e0) - 8 * csol + 16 * mid,           # a
        ]
        self._R = torch.stack(rows).to(dtype=self.y0.dtype, device=self.y0.device)
        self._betas = [b.to(dtype=self.y0.dtype) for b in tab.beta]
        self._alphas = [float(a) for a in tab.alpha]
        # torchdiffeq's _PerturbFunc computes y.abs() on every call only to read a dtype; call the
        # wrapped function directly and apply the same nextafter perturbation of t here.
        self._base = self.func.base_func if type(self.func) is _PerturbFunc else None
        self._rms = self.norm is _rms_norm
        self._abs = None

    def _call(self, t: float, y, perturb):
        """Evaluate the field at the float time ``t`` (nudged one ulp as torchdiffeq's _PerturbFunc does)."""
        if perturb is Perturb.PREV:
            t = math.nextafter(t, -math.inf)
        elif perturb is Perturb.NEXT:
            t = math.nextafter(t, math.inf)
        tt = torch.tensor(t, dtype=self._t_dtype, device=y.device)
        if self._base is None:
            return self.func(tt, y)
        return self._base(tt, y)

    def _error_ratio(self, err, y0, y1):
        """torchdiffeq's ``_compute_error_ratio`` (rms norm of err / (atol + rtol max|y|)), fused in place."""
        if not self._rms:
            return _compute_error_ratio(err, self.rtol, self.atol, y0, y1, self.norm)
        a0 = self._abs[1] if self._abs is not None and self._abs[0] is y0 else y0.abs()
        a1 = y1.abs()
        self._abs = (y1, a1)  # |y1| is |y0| of the next step when this one is accepted
        tol = torch.maximum(a0, a1).mul_(self.rtol).add_(self.atol)
        q = err.div_(tol)
        return torch.linalg.vector_norm(q) / (q.numel() ** 0.5)

    def _before_integrate(self, t):
        super()._before_integrate(t)
        if len(self.step_t) or len(self.jump_t):
            raise ValueError("StageMajorDopri5 does not support step_t/jump_t")
        st = self.rk_state
        y0 = st.y1
        self._t_dtype = y0.abs().dtype
        self._min_step, self._max_step = float(self.min_step), float(self.max_step)
        self._safety, self._ifactor, self._dfactor = float(self.safety), float(self.ifactor), float(self.dfactor)
        # Times are Python floats (float64) here: the same arithmetic as torchdiffeq's float64 scalar
        # tensors without a dispatch per operation. Dense output: (y0 flat, (4, M) coefficients).
        zeros = torch.zeros((4, y0.numel()), dtype=y0.dtype, device=y0.device)
        self.rk_state = st._replace(t0=float(st.t0), t1=float(st.t1), dt=float(st.dt),
                                    interp_coeff=(y0.reshape(-1), zeros))
        # Two stage buffers and two coefficient buffers, reused in turn (fresh ones per step cost page
        # faults): a step writes into the pair that holds neither its f0 nor the current dense output.
        S, M = len(self._alphas) + 1, y0.numel()
        self._kbuf = [torch.empty((S, M), dtype=y0.dtype, device=y0.device) for _ in range(2)]
        self._zbuf = [torch.empty((5, M), dtype=y0.dtype, device=y0.device) for _ in range(2)]
        self._last = 1  # index of the pair used by the last accepted step (f0 and dense output live there)

    def _advance(self, next_t):
        next_t = float(next_t)
        n_steps = 0
        while next_t > self.rk_state.t1:
            if not (n_steps < self.max_num_steps):
                raise RuntimeError("max_num_steps exceeded ({}>={})".format(n_steps, self.max_num_steps))
            self.rk_state = self._adaptive_step(self.rk_state)
            n_steps += 1
        st = self.rk_state
        t0, t1 = st.t0, st.t1
        if not (t0 <= next_t <= t1):
            raise RuntimeError("invalid interpolation, fails `t0 <= t <= t1`: {}, {}, {}".format(t0, next_t, t1))
        y0f, coeff = st.interp_coeff
        x = (next_t - t0) / (t1 - t0) if t1 > t0 else 0.0
        xp = torch.tensor([x, x * x, x ** 3, x ** 4], dtype=coeff.dtype, device=coeff.device)
        return torch.addmv(y0f, coeff.t(), xp).view_as(st.y1)

    def _advance_until_event(self, event_fn):
        raise TypeError("StageMajorDopri5 does not support event_fn; use torchdiffeq.odeint")

    def _optimal_step(self, dt: float, error_ratio: float) -> float:
        """torchdiffeq's ``_optimal_step_size`` on floats."""
        if error_ratio == 0:
            return dt * self._ifactor
        dfactor = 1.0 if error_ratio < 1 else self._dfactor
        factor = min(self._ifactor, max(self._safety / error_ratio ** (1.0 / self.order), dfactor))
        return dt * factor

    def _adaptive_step(self, rk_state):
        y0, f0, _, t0, dt, interp_coeff = rk_state
        if not math.isfinite(dt):
            dt = self._min_step
        dt = min(max(dt, self._min_step), self._max_step)
        self.func.callback_step(t0, y0, dt)
        t1 = t0 + dt
        if not (t1 > t0):
            raise RuntimeError("underflow in dt {}".format(dt))
        if not (torch.isfinite(y0).all()):
            raise RuntimeError("non-finite values in the state")

        j = 1 - self._last
        k = self._kbuf[j]
        k[0] = f0.reshape(-1)
        y0f = y0.reshape(-1)
        yi = y0f
        for i, (alpha_i, beta_i) in enumerate(zip(self._alphas, self._betas)):
            if alpha_i == 1.0:
                ti, perturb = t1, Perturb.PREV
            else:
                ti, perturb = t0 + alpha_i * dt, Perturb.NONE
            yi = torch.addmv(y0f, k[: i + 1].t(), beta_i, alpha=dt)
            f = self._call(ti, yi.view_as(y0), perturb)
            k[i + 1] = f.reshape(-1)
        y1 = yi.view_as(y0)
        f1 = k[-1].view_as(y0)
        Z = torch.mm(self._R * dt, k, out=self._zbuf[j])  # error estimate and interpolation coefficients
        error_ratio = float(self._error_ratio(Z[0].view_as(y0), y0, y1))
        accept_step = error_ratio <= 1
        if dt > self._max_step:
            accept_step = False
        if dt <= self._min_step:
            accept_step = True
        if accept_step:
            self.func.callback_accept_step(t0, y0, dt)
            t_next, y_next, f_next = t1, y1, f1
            interp_coeff = (y0f, Z[1:])
            self._last = j
        else:
            self.func.callback_reject_step(t0, y0, dt)
            t_next, y_next, f_next = t0, y0, f0
        dt_next = min(max(self._optimal_step(dt, error_ratio), self._min_step), self._max_step)
        return rk_state._replace(y1=y_next, f1=f_next, t0=t0, t1=t_next, dt=dt_next, interp_coeff=interp_coeff)


_SOLVERS = {**_TORCHDIFFEQ_SOLVERS, "dopri5": StageMajorDopri5}


def odeint_stage_major(func, y0, t, *, rtol=1e-7, atol=1e-9, options=None):
    """``torchdiffeq.odeint(func, y0, t, method='dopri5', ...)`` run with :class:`StageMajorDopri5`.

    Same input handling as torchdiffeq (tuples of tensors, norms, decreasing ``t``) through its
    ``_check_inputs``. No autograd through the solver (the stage buffers are written in place): the
    state must not require grad (use ``torchdiffeq.odeint``/``odeint_adjoint`` for gradients).
    """
    shapes, func, y0, t, rtol, atol, method, options, event_fn, _ = _check_inputs(
        func, y0, t, rtol, atol, "dopri5", options, None, _SOLVERS)
    solver = StageMajorDopri5(func=func, y0=y0, rtol=rtol, atol=atol, **options)
    solution = solver.integrate(t)
    if shapes is not None:
        solution = _flat_to_shape(solution, (len(t),), shapes)
    return solution
