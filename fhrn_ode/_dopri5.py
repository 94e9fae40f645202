"""torchdiffeq's ``dopri5`` and ``dopri8`` with a stage-major buffer and a lean step loop (docs/performance.md).

torchdiffeq stores the Runge-Kutta stages of a step as ``k`` of shape ``(*y.shape, 7)`` and forms
each stage input with ``sum(k[..., :i+1] * beta_i, dim=-1)``: a reduction over a contiguous axis of
length <= 7 (for 4096 states of dimension 2 it took ~60% of the integration time). For small
batches the cost is the other way round: each step is ~100 tiny tensor operations, and at
N = 8, d = 2 the torch dispatch of those operations *is* the integration time.

:class:`StageMajorDopri5` is ``torchdiffeq``'s :class:`Dopri5Solver` — its Dormand-Prince tableau,
error estimate, rms error norm, step-size rule (``_optimal_step_size``), initial step selection and
4th-order dense output, all read from torchdiffeq, none written here — with

* the stages stored as ``(7, M)`` so every combination is one BLAS call: a stage input is one
  ``addmv`` written into a reused buffer, and the error estimate and the four interpolation
  coefficients (linear in the stages, the ``y0`` terms cancelling) are one ``(5, 7) @ (7, M)``
  product;
* every view (stage rows, stage-input shapes, the transposed stage prefixes) built once per run,
  and the field's output copied straight into its stage row (one op per stage);
* times, the step-size rule and the accept/reject logic on Python floats (the same float64
  arithmetic as torchdiffeq's 0-dim tensors, without a dispatch per scalar); the stage times are
  passed as fresh 0-dim tensors (``torch.scalar_tensor``, 3x cheaper than ``torch.tensor``);
* the error ratio ``rms(err / (atol + rtol max(|y0|, |y1|)))`` in four in-place ops with ``|y1|``
  kept as the next step's ``|y0|``, on numpy views of the same buffers for a CPU state (numpy's
  per-call cost is a third of torch's on a small state);
* each saved state written in place into the solution (one ``addmv`` of the dense output, its four
  powers of ``x`` passed as one ``torch.tensor``);
* ONE host synchronisation per step (the error ratio, needed to accept or reject); torchdiffeq's
  ``isfinite(y0)`` check, a second sync, is made only when that ratio is not finite (a finite
  ratio implies a finite state, so the outcome is the same);
* the field called through ``forward`` directly when it is an ``nn.Module`` without hooks, and
  without torchdiffeq's ``_PerturbFunc`` (which computes ``|y|`` on every call only to read a
  dtype; its one-ulp nudge of ``t`` is applied here).

It takes the same steps and the same number of evaluations as torchdiffeq's dopri5 and agrees with
it to round-off (tests/core/test_bench.py, tests/core/test_engine_dopri5.py).

:class:`StageMajorDopri8` runs the same loop over torchdiffeq's ``Dopri8Solver`` tableau (8(7), 14
stages with the FSAL one). Two differences from torchdiffeq's dopri8, both tested: its last step ends
on the last save time (torchdiffeq reaches it through its 4th-order dense fit, which costs an 8th-order
step its accuracy: 2.9e-7 against 1e-10 at rtol 1e-10 on a damped rotation); and its step sequence
differs from torchdiffeq's at round-off (the 8(7) error estimate sits near round-off at tight
tolerances, where the two summation orders disagree), so it agrees with torchdiffeq's dopri8 to the
tolerance, not bit for bit. Interior save times use the same 4th-order fit as torchdiffeq.

A field (the base callable) that declares ``float_t = True`` receives the stage times as Python floats. Only forward
integration without autograd through the solver, without ``step_t``/``jump_t``/events
(:func:`fhrn_ode.integrate` uses torchdiffeq's own solvers otherwise).

**Private torchdiffeq names.** This module imports ``Dopri5Solver``, ``Perturb``, ``_check_inputs``,
``_compute_error_ratio``, ``_flat_to_shape``, ``_PerturbFunc``, ``_rms_norm`` and ``SOLVERS`` from
``torchdiffeq._impl`` and relies on the ``min_step``/``max_step`` options and step callbacks, which
exist from torchdiffeq 0.2.4 on (0.2.3 lacks ``min_step``). It is tested on :data:`TESTED_TORCHDIFFEQ`
(pyproject pins that range). When the names are missing or the installed version is outside that
range, :data:`FAST_PATH_PROBLEM` says why and :func:`odeint_stage_major` runs torchdiffeq's own
``odeint(method='dopri5')`` instead: same method, same results, only slower.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from ._torchdiffeq import import_torchdiffeq

torchdiffeq = import_torchdiffeq()  # without scipy.integrate (start-up: fhrn_ode/_torchdiffeq.py)

__all__ = ["FAST_PATH_PROBLEM", "GroupRMSNorm", "STAGE_MAJOR_METHODS", "TESTED_TORCHDIFFEQ", "odeint_stage_major", "fast_path_available", "partial_solution"]

#: torchdiffeq versions the fast path is tested on (pyproject: ``torchdiffeq>=0.2.4,<0.2.6``).
TESTED_TORCHDIFFEQ: tuple[str, ...] = ("0.2.4", "0.2.5")


def _load_internals():
    """Import the torchdiffeq internals the fast path uses; raise ImportError naming what is missing."""
    import importlib

    # by module path: ``torchdiffeq._impl.odeint`` as an attribute is the function, not the module
    _d, _d8, _m, _o = (importlib.import_module(f"torchdiffeq._impl.{n}") for n in ("dopri5", "dopri8", "misc", "odeint"))

    names = {"Dopri5Solver": _d, "Dopri8Solver": _d8, "Perturb": _m, "_check_inputs": _m, "_compute_error_ratio": _m,
             "_flat_to_shape": _m, "_PerturbFunc": _m, "_rms_norm": _m, "SOLVERS": _o}
    missing = [n for n, mod in names.items() if not hasattr(mod, n)]
    if missing:
        raise ImportError(f"torchdiffeq {torchdiffeq.__version__} lacks {', '.join(missing)}")
    version = getattr(torchdiffeq, "__version__", "?")
    if version not in TESTED_TORCHDIFFEQ:
        raise ImportError(f"torchdiffeq {version} is not one of the tested versions {', '.join(TESTED_TORCHDIFFEQ)}")
    return {n: getattr(mod, n) for n, mod in names.items()}


try:
    _T = _load_internals()
    #: None when the fast path is usable, else the reason it is not (the fallback is then used).
    FAST_PATH_PROBLEM: str | None = None
except ImportError as _exc:  # pragma: no cover - exercised by tests through monkeypatch
    _T = None
    FAST_PATH_PROBLEM = str(_exc)


def fast_path_available() -> bool:
    """True when the stage-major solver can run on the installed torchdiffeq."""
    return _T is not None and FAST_PATH_PROBLEM is None


class GroupRMSNorm:
    """Error norm for a batch of ``groups`` independent problems stacked along the leading axis.

    ``norm(x) = max_g rms(x[g])``, the largest of the per-group rms norms (torchdiffeq's default norm is
    the rms over everything). With it, a step of the whole batch is accepted only when every group
    meets the criterion it would meet in a call of its own (each group's rms error ratio <= 1), so
    one shared step size never loosens the error control of any group. A torchdiffeq-style norm
    (callable on a tensor); :class:`StageMajorDopri5` evaluates it in two fused ops.

    Args:
        groups: number of groups ``G``.
        shape, axis: the state's shape and its group axis (default: group-major, ``(G, -1)``, axis 0).
    """

    def __init__(self, groups: int, shape: tuple[int, ...] | None = None, axis: int = 0) -> None:
        self.groups = int(groups)
        self.shape = (self.groups, -1) if shape is None else tuple(int(s) for s in shape)
        self.axis = int(axis) % len(self.shape)
        if shape is not None and self.shape[self.axis] != self.groups:
            raise ValueError(f"GroupRMSNorm: shape[{axis}] = {self.shape[self.axis]} is not groups = {groups}")
        self._dims = tuple(i for i in range(len(self.shape)) if i != self.axis)

    def _of_ratio(self, q: torch.Tensor) -> torch.Tensor:
        q = q.reshape(self.shape)
        return torch.linalg.vector_norm(q, dim=self._dims).max() / math.sqrt(q.numel() // self.groups)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._of_ratio(x)

    def __repr__(self) -> str:
        return f"GroupRMSNorm({self.groups}, shape={self.shape}, axis={self.axis})"


def _direct_callable(f):
    """``f.forward`` for an ``nn.Module`` without hooks (skips ``Module.__call__``), else ``f``."""
    from torch.nn.modules import module as _nnm

    if isinstance(f, torch.nn.Module):
        hooked = (f._forward_hooks or f._forward_pre_hooks or getattr(f, "_backward_hooks", None)
                  or _nnm._global_forward_hooks or _nnm._global_forward_pre_hooks
                  or getattr(_nnm, "_global_backward_hooks", None))
        if not hooked:
            return f.forward
    return f


if _T is not None:
    class _StageMajor:
        """The stage-major step loop over a torchdiffeq adaptive Runge-Kutta solver's own tableau (module
        docstring); mixed into torchdiffeq's ``Dopri5Solver`` and ``Dopri8Solver`` below."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            tab = self.tableau
            S = len(tab.alpha) + 1
            # FSAL property of Dormand-Prince (as used by torchdiffeq): y1 is the last stage input.
            if not (float(tab.c_sol[-1]) == 0.0 and bool((tab.c_sol[:-1] == tab.beta[-1]).all())):
                raise ValueError(f"{type(self).__name__} needs a first-same-as-last tableau")
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
            dev = self.y0.device
            self._R = torch.stack(rows).to(dtype=self.y0.dtype, device=dev)
            self._betas = [b.to(dtype=self.y0.dtype, device=dev) for b in tab.beta]
            self._alphas = [float(a) for a in tab.alpha]
            self._base = self.func.base_func if type(self.func) is _T["_PerturbFunc"] else self.func
            # a field that reads t only as a number (``float_t = True``, e.g. the FHRN columns adapter) gets the
            # stage times as Python floats: no 0-dim tensor per evaluation
            self._float_t = bool(getattr(self._base, "float_t", False))
            self._rms = self.norm is _T["_rms_norm"]
            self._groups = self.norm if isinstance(self.norm, GroupRMSNorm) else None

        def _before_integrate(self, t):
            super()._before_integrate(t)
            if len(self.step_t) or len(self.jump_t):
                raise ValueError(f"{type(self).__name__} does not support step_t/jump_t")
            st = self.rk_state
            y0 = st.y1
            shape, dev, dty = y0.shape, y0.device, y0.dtype
            self._t_dtype = y0.abs().dtype
            self._min_step, self._max_step = float(self.min_step), float(self.max_step)
            # torchdiffeq's dense output is a 4th-order fit for every tableau: right for dopri5's 5(4) pair, far
            # below dopri8's 8(7) error control. So with dopri8 a step never passes the last save time and the
            # final state is a step's own y1 (dopri5 keeps torchdiffeq's steps exactly)
            self._t_end = float(t[-1]) if self.order > 5 else math.inf
            self._safety, self._ifactor, self._dfactor = float(self.safety), float(self.ifactor), float(self.dfactor)
            self._scalar_tol = ((self._rms or self._groups is not None)
                                and self.rtol.numel() == 1 and self.atol.numel() == 1)
            if self._scalar_tol:
                self._rtol_f, self._atol_f = float(self.rtol), float(self.atol)
            S, M = len(self._alphas) + 1, y0.numel()
            # Two of everything, used in turn: a step writes the pair that holds neither its y0/f0 (the
            # last accepted step's pair) nor anything still read. Views are built once here.
            self._k = [torch.empty((S, M), dtype=dty, device=dev) for _ in range(2)]
            self._krow = [[k[i].view(shape) for i in range(S)] for k in self._k]
            self._kT = [[k[: i + 1].t() for i in range(S - 1)] for k in self._k]
            self._y = [torch.empty(M, dtype=dty, device=dev) for _ in range(2)]
            self._yv = [y.view(shape) for y in self._y]
            self._z = [torch.empty((5, M), dtype=dty, device=dev) for _ in range(2)]
            self._zT = [z[1:].t() for z in self._z]  # the interpolation coefficients, transposed (M, 4)
            self._err = [z[0].view(shape) for z in self._z]
            self._abs = [torch.empty(shape, dtype=dty, device=dev) for _ in range(2)]
            self._tol = torch.empty(shape, dtype=dty, device=dev)
            self._call = _direct_callable(self._base)
            # On the CPU the error ratio of the rms norm runs on numpy views of the same buffers: five
            # numpy calls cost ~5 us against ~15 us for the torch ops on a small state (docs/performance.md).
            self._np = (self._scalar_tol and self._groups is None and dev.type == "cpu"
                        and dty in (torch.float32, torch.float64))
            if self._np:
                self._err_np = [z[0].numpy() for z in self._z]
                self._abs_np = [a.view(-1).numpy() for a in self._abs]
                self._y_np = [y.numpy() for y in self._y]
                self._tol_np = self._tol.view(-1).numpy()
                self._sqrt_m = math.sqrt(M)
            # mutable integration state (floats and tensors, no namedtuple per step)
            self._t0 = self._t1 = float(st.t0)
            self._dt = float(st.dt)
            self._y1, self._f1 = y0, st.f1
            self._y1f = y0.reshape(-1)  # the current state, flat
            self._a1 = torch.abs(y0)  # |y| of the current state
            self._a1_np = self._a1.reshape(-1).numpy() if self._np else None
            self._dense = (self._y1f, torch.zeros((M, 4), dtype=dty, device=dev))
            self._dense_t = (self._t0, self._t1)
            self._last = 1

        def integrate(self, t):
            """torchdiffeq's ``integrate``; on any exception (solver give-up, evaluation budget, Ctrl-C) the
            saved times computed so far are attached to it (:func:`partial_solution`)."""
            solution = torch.empty(len(t), *self.y0.shape, dtype=self.y0.dtype, device=self.y0.device)
            solution[0] = self.y0
            t = t.to(self.dtype)
            rows = solution.view(len(t), -1).unbind(0)  # each saved state is written in place
            done = 1
            try:
                self._before_integrate(t)
                for i, ti in enumerate(t.tolist()[1:], 1):
                    self._advance(ti, rows[i])
                    done = i + 1
            except BaseException as exc:
                exc._fhrn_partial = solution[:done]
                raise
            return solution

        def _advance(self, next_t: float, out: torch.Tensor) -> None:
            """Step until ``next_t`` is passed, then write the dense-output state at ``next_t`` into ``out`` (flat)."""
            n_steps = 0
            while next_t > self._t1:
                if not (n_steps < self.max_num_steps):
                    raise RuntimeError("max_num_steps exceeded ({}>={})".format(n_steps, self.max_num_steps))
                self._step()
                n_steps += 1
            t0, t1 = self._dense_t
            if not (t0 <= next_t <= t1):
                raise RuntimeError("invalid interpolation, fails `t0 <= t <= t1`: {}, {}, {}".format(t0, next_t, t1))
            if next_t == t1 == self._t_end:  # a step ended on the last save time: its own y1, no fit
                out.copy_(self._y1f)
                return
            y0f, coeffT = self._dense
            x = (next_t - t0) / (t1 - t0) if t1 > t0 else 0.0
            # one tensor from a list: 4x cheaper than four element assignments into a buffer
            xp = torch.tensor([x, x * x, x ** 3, x ** 4], dtype=y0f.dtype, device=y0f.device)
            torch.addmv(y0f, coeffT, xp, out=out)

        def _advance_until_event(self, event_fn):
            raise TypeError(f"{type(self).__name__} does not support event_fn; use torchdiffeq.odeint")

        def _optimal_step(self, dt: float, error_ratio: float) -> float:
            """torchdiffeq's ``_optimal_step_size`` on floats."""
            if error_ratio == 0:
                return dt * self._ifactor
            dfactor = 1.0 if error_ratio < 1 else self._dfactor
            factor = min(self._ifactor, max(self._safety / error_ratio ** (1.0 / self.order), dfactor))
            return dt * factor

        def _error_ratio(self, j: int, y0, y1) -> float:
            """torchdiffeq's ``_compute_error_ratio``: rms of err / (atol + rtol max(|y0|, |y1|))."""
            err = self._err[j]
            if not self._scalar_tol:
                return float(_T["_compute_error_ratio"](err, self.rtol, self.atol, y0, y1, self.norm))
            if self._np:
                a1 = np.abs(self._y_np[j], out=self._abs_np[j])
                tol = np.add(np.maximum(self._a1_np, a1, out=self._tol_np), self._atol_f / self._rtol_f,
                             out=self._tol_np)
                q = np.divide(self._err_np[j], tol, out=self._err_np[j])
                return math.sqrt(float(np.dot(q, q))) / (self._rtol_f * self._sqrt_m)
            a1 = torch.abs(y1, out=self._abs[j])
            # err / (atol + rtol m) = (err / rtol) / (m + atol / rtol): one op less
            tol = torch.maximum(self._a1, a1, out=self._tol).add_(self._atol_f / self._rtol_f)
            q = err.div_(tol)
            if self._groups is not None:
                return float(self._groups._of_ratio(q)) / self._rtol_f
            return float(torch.linalg.vector_norm(q)) / (self._rtol_f * math.sqrt(q.numel()))

        def _step(self) -> None:
            t0, dt, y0, f0 = self._t1, self._dt, self._y1, self._f1
            if not math.isfinite(dt):
                dt = self._min_step
            dt = min(max(dt, self._min_step), self._max_step)
            func = self.func
            func.callback_step(t0, y0, dt)
            t1 = t0 + dt
            if t1 > self._t_end:  # the last step ends on the last save time (_before_integrate)
                t1 = self._t_end
                dt = t1 - t0
            if not (t1 > t0):
                raise RuntimeError("underflow in dt {}".format(dt))
            j = 1 - self._last
            krow, kT, ybuf, yv = self._krow[j], self._kT[j], self._y[j], self._yv[j]
            krow[0].copy_(f0)
            y0f = self._y1f
            call, tdt, dev, as_float = self._call, self._t_dtype, y0.device, self._float_t
            for i, (alpha_i, beta_i) in enumerate(zip(self._alphas, self._betas)):
                ti = math.nextafter(t1, -math.inf) if alpha_i == 1.0 else t0 + alpha_i * dt
                torch.addmv(y0f, kT[i], beta_i, alpha=dt, out=ybuf)
                krow[i + 1].copy_(call(ti if as_float else torch.scalar_tensor(ti, dtype=tdt, device=dev), yv))
            # error estimate and interpolation coefficients in one product
            torch.mm(self._R, self._k[j], out=self._z[j]).mul_(dt)
            error_ratio = self._error_ratio(j, y0, yv)
            if not math.isfinite(error_ratio) and not bool(torch.isfinite(y0).all()):
                raise RuntimeError("non-finite values in the state")
            accept = error_ratio <= 1
            if dt > self._max_step:
                accept = False
            if dt <= self._min_step:
                accept = True
            if accept:
                func.callback_accept_step(t0, y0, dt)
                self._t1, self._y1, self._y1f, self._f1 = t1, yv, ybuf, krow[-1]
                self._a1 = self._abs[j] if self._scalar_tol else None
                if self._np:
                    self._a1_np = self._abs_np[j]
                self._dense = (y0f, self._zT[j])
                self._dense_t = (t0, t1)
                self._last = j
            else:
                func.callback_reject_step(t0, y0, dt)
            self._dt = min(max(self._optimal_step(dt, error_ratio), self._min_step), self._max_step)

    class StageMajorDopri5(_StageMajor, _T["Dopri5Solver"]):
        """torchdiffeq's dopri5 (Dormand-Prince 5(4), 7 stages, FSAL) on the stage-major loop."""

    class StageMajorDopri8(_StageMajor, _T["Dopri8Solver"]):
        """torchdiffeq's dopri8 (Dormand-Prince 8(7), 14 stages with the FSAL stage) on the stage-major loop."""

    _SOLVERS = {**_T["SOLVERS"], "dopri5": StageMajorDopri5, "dopri8": StageMajorDopri8}


#: The methods the stage-major loop runs (torchdiffeq's tableaus; every other method runs on torchdiffeq).
STAGE_MAJOR_METHODS: tuple[str, ...] = ("dopri5", "dopri8")


def odeint_stage_major(func, y0, t, *, rtol=1e-7, atol=1e-9, options=None, method: str = "dopri5"):
    """``torchdiffeq.odeint(func, y0, t, method=method, ...)`` run on the stage-major solver
    (``method`` one of :data:`STAGE_MAJOR_METHODS`).

    Same input handling as torchdiffeq (tuples of tensors, norms, decreasing ``t``) through its
    ``_check_inputs``. No autograd through the solver (the stage buffers are written in place): the
    state must not require grad (use ``torchdiffeq.odeint``/``odeint_adjoint`` for gradients).
    Without the fast path (:data:`FAST_PATH_PROBLEM`), this is ``torchdiffeq.odeint``.
    """
    if not fast_path_available():
        return torchdiffeq.odeint(func, y0, t, rtol=rtol, atol=atol, method=method, options=options)
    if method not in STAGE_MAJOR_METHODS:
        raise ValueError(f"odeint_stage_major runs {', '.join(STAGE_MAJOR_METHODS)}, not {method!r}")
    shapes, func, y0, t, rtol, atol, method, options, event_fn, _ = _T["_check_inputs"](
        func, y0, t, rtol, atol, method, options, None, _SOLVERS)
    solver = _SOLVERS[method](func=func, y0=y0, rtol=rtol, atol=atol, **options)
    try:
        solution = solver.integrate(t)
    except BaseException as exc:
        part = getattr(exc, "_fhrn_partial", None)
        if part is not None and shapes is not None:
            exc._fhrn_partial = _T["_flat_to_shape"](part, (part.shape[0],), shapes)
        raise
    if shapes is not None:
        solution = _T["_flat_to_shape"](solution, (len(t),), shapes)
    return solution


def partial_solution(exc: BaseException):
    """The saved states computed before ``exc`` stopped :func:`odeint_stage_major` (``(k, ...)`` tensor, or a
    tuple for tuple states, ``k >= 1`` including ``y0``), or None (the exception did not come from it, or the
    fallback solver ran)."""
    return getattr(exc, "_fhrn_partial", None)
