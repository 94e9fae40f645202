"""``fhrn-ode integrate``: integrate the FHRN ODE and write trajectory, summary and phase plot."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._y0 import add_y0_arg, apply_y0, check_y0_dim
from ._common import (add_model_args, add_operator_args, add_seed_arg, check_out_dir, emit_json, flag_names,
                      param_sources, params_from_args, resolve_wr_args)
from .._errors import FHRNInputError
from .._signals import caught
from .._names import SOLVERS
from ..params import FHRNParams, ring_radius

if TYPE_CHECKING:  # annotations only: numpy and the engine load lazily (fast --help)
    import numpy as np

    from ..integration import IntegrationResult

def register(sub) -> None:
    p = sub.add_parser("integrate", help="integrate the FHRN neural ODE (ring attractor by default)",
                       description="Integrate dy/dt = -leak y + gamma g W* y + A y + g_h(y) + c (C 7-9) on torchdiffeq.")
    add_operator_args(p)
    add_model_args(p)
    g = p.add_argument_group("integration")
    g.add_argument("--t1", type=float, default=20.0, help="final time (default %(default)s)")
    g.add_argument("--n-points", type=int, default=401, help="saved time points (default %(default)s)")
    g.add_argument("--n-init", type=int, default=None, help="number of initial conditions N (default 8)")
    g.add_argument("--init-radius", type=float, default=None,
                   help="initial radii are evenly spaced in (0, R], directions random (default 2.0)")
    add_y0_arg(g)
    g.add_argument("--method", choices=SOLVERS, default="dopri5", help="torchdiffeq method (default %(default)s)")
    g.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance of an adaptive method (default 1e-7; refused for fixed-step methods)")
    g.add_argument("--atol", type=float, default=None,
                   help="absolute tolerance of an adaptive method (default 1e-9; refused for fixed-step methods)")
    g.add_argument("--max-nfe", type=int, default=None,
                   help="budget of vector-field evaluations for the whole run (default 20000; with --grid 100000 per "
                        "parameter set: a set that spends it fails alone); "
                        "a long t1 may need more")
    add_seed_arg(p)
    g.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu",
                   help="where to integrate (default %(default)s; auto: cuda when a GPU is present)")
    g.add_argument("--grid", action="append", metavar="NAME=SPEC", default=None,
                   help="sweep a parameter in ONE batched solve: NAME in gamma, kappa, beta, leak, theta, drive; "
                        "SPEC 'a:b:n' (n values from a to b) or 'v1,v2,...'; repeat for a full outer-product grid "
                        "(e.g. --grid gamma=0:1:64 --grid kappa=1,10). Overrides that parameter's own flag; no memory.")
    o = p.add_argument_group("output")
    o.add_argument("--out", default="runs/integrate", help="output folder (default %(default)s)")
    o.add_argument("--json", action="store_true", help="print summary.json to stdout (and nothing else)")
    o.add_argument("--no-plot", action="store_true", help="do not write phase.png")
    p.set_defaults(func=run)


def summarize(res: IntegrationResult, name: str, W: np.ndarray) -> dict[str, Any]:
    """The ``summary.json`` object (keys documented in the README)."""
    import numpy as np
    import torch

    from ..energy import lyapunov_V
    from ..field import FHRNField
    from ..operators import operator_info
    from ..spectrum import spectral_abscissa

    p = res.params
    last = res.last_index
    yf = res.y_final.detach()  # each trajectory's last kept state (before its t_diverged)
    Af = None if res.A is None else res.A[last, torch.arange(res.A.shape[1])].detach()
    field = FHRNField(W, p)
    rho = spectral_abscissa(field.jacobian(yf, Af))
    info = operator_info(W, name)
    return {
        "status": res.status,
        "message": res.message,
        "t_final": res.t_final,
        "t_diverged": [None if not np.isfinite(v) else float(v) for v in res.t_diverged],
        "diverged": [bool(v) for v in res.diverged],
        "final_norm": yf.norm(dim=-1).tolist(),
        "V_final": lyapunov_V(yf, p.theta).tolist(),
        "spectral_abscissa_final": np.atleast_1d(rho).tolist(),
        "operator": {k: v for k, v in info.to_dict().items() if k != "dim"},
        "dim": int(W.shape[0]),
        "n_init": int(res.y0.shape[0]),
        "params": p.to_dict(),
        "solver": res.solver_dict(),
    }


def _params_line(p: dict, sources: dict | None) -> str:
    def v(k, fmt="{:g}"):
        val = fmt.format(p[k]) if fmt else str(p[k])
        src = (sources or {}).get(k)
        return f"{k}={val}" + (f" ({src})" if src and src != "default" else "")

    return " ".join([v("gamma"), v("kappa"), v("theta"), v("leak"), v("beta"), v("memory", None), v("drive", None)])


def _text_summary(s: dict[str, Any], out: Path, files: list[Path]) -> str:
    import numpy as np

    p = s["params"]
    op = s["operator"]
    norms = np.asarray(s["final_norm"])
    rho = np.asarray(s["spectral_abscissa_final"])
    lines = [
        f"fhrn-ode integrate: {s['status']} - {s['message']}",
        f"  operator  {op['name']} (d={s['dim']}): |W|_2={op['norm2']:.4g}  rho(W)={op['spectral_abscissa']:.4g}  "
        f"|W_a|={op['antisym_norm']:.4g}  |W_s|={op['sym_norm']:.4g}",
        f"  params    {_params_line(p, s.get('param_sources'))}",
        f"  final |y| over {len(norms)} trajectories at t={s['t_final']:.4g}: min {norms.min():.6f}  "
        f"median {np.median(norms):.6f}  max {norms.max():.6f}",
        f"  V = (|y|^2 - theta^2)^2/4 at the end: max {max(s['V_final']):.3g}",
        f"  rho(J) at the final states: min {rho.min():.4g}  max {rho.max():.4g}",
    ]
    if op["sym_norm"] < 1e-12 and p["beta"] == 0 and p["memory"] == "none" and not np.any(p["drive"]):
        r = ring_radius(p["kappa"], p["theta"], p["leak"])
        if r > 0:
            lines.append(f"  antisymmetric W*: the ring radius is sqrt(theta^2 - leak/kappa) = {r:.6f} "
                         f"(max deviation {np.abs(norms - r).max():.2e})")
        else:
            lines.append("  antisymmetric W* below threshold (kappa theta^2 <= leak): the origin attracts, no ring")
    lines.append(f"  wrote {', '.join(str(f) for f in files)}")
    return "\n".join(lines)


def _to_cpu(res: IntegrationResult) -> IntegrationResult:
    """The result with its tensors on the CPU (for writing and the summary)."""
    import torch

    import dataclasses

    moved = {k: getattr(res, k).detach().cpu() for k in ("t", "y", "A", "y0", "W")
             if isinstance(getattr(res, k), torch.Tensor)}
    return dataclasses.replace(res, **moved)


_GRID_NAMES = ("gamma", "kappa", "beta", "leak", "theta", "drive")


def _parse_grids(specs: list[str]) -> dict[str, np.ndarray]:
    import numpy as np

    from ..batched import parse_grid
    from ._common import MAX_MAGNITUDE

    axes: dict[str, np.ndarray] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        if not sep or name not in _GRID_NAMES:
            raise FHRNInputError(f"`--grid` must be NAME=SPEC with NAME one of {', '.join(_GRID_NAMES)}; got {spec!r}")
        if name in axes:
            raise FHRNInputError(f"`--grid` names {name!r} twice")
        axes[name] = parse_grid(text, f"--grid {name}")
        worst = float(np.abs(axes[name]).max())
        if worst > MAX_MAGNITUDE:  # the cap of the parameter's own flag (beyond it the field overflows)
            raise FHRNInputError(f"`--grid` {spec!r}: {name} values must be <= {MAX_MAGNITUDE:g} in magnitude "
                                 f"(as `--{name}`), got {worst:g}")
    n = int(np.prod([v.size for v in axes.values()]))
    if n > 100_000:
        raise FHRNInputError(f"`--grid` spans {n} parameter sets; at most 100000")
    return axes


def _run_grid(args: argparse.Namespace, params: FHRNParams, out: Path, op) -> int:
    """``--grid``: one :func:`fhrn_ode.integrate_sweep` call over the outer product of the axes."""
    import numpy as np

    from .._io import atomic_save_npz, atomic_write_json
    from ..integration import initial_conditions
    from ..operators import operator_info

    from ..batched import integrate_sweep

    axes = _parse_grids(args.grid)
    if params.memory != "none":
        raise FHRNInputError("`--grid` sweeps the field without memory; drop `--memory`")
    if args.method != "dopri5":
        raise FHRNInputError("`--grid` runs dopri5 (one batched solve); drop `--method`")
    names = list(axes)
    mesh = np.meshgrid(*[axes[k] for k in names], indexing="ij")
    per_set = {k: m.ravel() for k, m in zip(names, mesh)}
    name, W = op.name, op.W
    d = W.shape[0]
    with flag_names(n="--n-init", radius="--init-radius"):
        y0 = initial_conditions(args.n_init, d, args.init_radius, seed=args.seed)
    from ..integration import _pick_device

    from .._errors import Interrupted

    nfe = {} if args.max_nfe is None else {"max_nfe": args.max_nfe}
    try:
        res = integrate_sweep(W, y0, params=params, t1=args.t1, n_points=args.n_points,
                              rtol=1e-7 if args.rtol is None else args.rtol, atol=1e-9 if args.atol is None else args.atol,
                              device=_pick_device(args.device, None, None), **nfe, **per_set)
        stop = None
    except Interrupted as exc:  # write the computed prefix (atomically), then exit 130/143
        caught()
        res, stop = exc.result, exc
        if res is None:
            raise
    res.y, res.t = res.y.cpu(), res.t.cpu()
    summary = res.summary()
    summary.update(param_sources=param_sources(args, op), wr_source=op.to_dict(),
                   grid={k: axes[k].tolist() for k in names}, grid_shape=[int(axes[k].size) for k in names],
                   operator={k: v for k, v in operator_info(W, name).to_dict().items() if k != "dim"})
    files = [atomic_save_npz(out / "trajectory.npz", t=res.t, y=res.y, y0=y0, W=W, diverged=res.diverged,
                             t_diverged=res.t_diverged, **{f"grid_{k}": v for k, v in per_set.items()})]
    files.append(atomic_write_json(out / "summary.json", summary))
    if args.json:
        emit_json(summary)
    else:
        how = "one solve" if "failed" not in res.set_status or res.y.shape[1] == 1 else "solved again per set"
        print(f"integrate --grid ({' x '.join(f'{k}[{axes[k].size}]' for k in names)} = {res.y.shape[1]} sets "
              f"x {res.y.shape[2]} states, {how}): {res.status}: {res.message}")
        print(f"  wrote {', '.join(str(f) for f in files)}")
    if stop is not None:
        return _interrupted(stop, res.t_final, out)
    return 1 if res.status == "failed" else 0


def _interrupted(exc: BaseException, t_final: float, out: Path) -> int:
    """The one stderr line of an interrupted run whose computed prefix was written; 130 or 143."""
    import sys

    from .._signals import exit_code

    code = exit_code(exc)
    print(f"fhrn-ode integrate: {'terminated' if code == 143 else 'interrupted'} "
          f"({'SIGTERM' if code == 143 else 'SIGINT'}); kept the saved times t <= {t_final:.4g} in {out}",
          file=sys.stderr)
    return code


def check_sizes(args: argparse.Namespace, d: int | None = None) -> None:
    """Refuse ``--dim``/``--n-init``/``--n-points`` and magnitudes out of reach, before any work (docs/failure-modes.md)."""
    from .._errors import check_int, check_real
    from .._limits import MIN_EVALS, Cost, check_sizes as check, integrate_cost

    n_init = check_int("--n-init", args.n_init, low=1)
    n_points = check_int("--n-points", args.n_points, low=2)
    check_real("--init-radius", args.init_radius, low=0.0, high=1e6, low_open=True)
    check_real("--t1", args.t1, low=0.0, high=1e9, low_open=True)
    if d is None:
        d = 2 if args.dim is None else check_int("--dim", args.dim, low=1)
    kind = getattr(args, "memory", None)
    mem = kind not in (None, "none", "slots")
    k = check_int("--slots", args.slots, low=1, high=10_000) if kind == "slots" else 0  # slots: K extra states
    n_sets = math.prod(len(v) for v in _parse_grids(args.grid).values()) if getattr(args, "grid", None) else 1
    sizes = [("--dim" if args.dim is not None else "the operator size d", d, 1), ("--n-init", n_init, 1),
             ("--n-points", n_points, 2)] + ([("--grid", n_sets, 1)] if n_sets > 1 else [])
    def cost(dd, ni, npt, ns=n_sets):  # slots: the saved (T, N, K, d) slots and K d-vectors per evaluation
        return integrate_cost(dd, ni * ns, npt, memory=mem) + Cost(8.0 * npt * ni * k * dd * 3,
                                                                     MIN_EVALS * ni * k * dd * 4.0)

    check(cost, sizes, what="O(d^3) eigenvalues of the final Jacobians")


def run(args: argparse.Namespace) -> int:
    y0_given = apply_y0(args)  # --y0 (explicit states) or the --n-init/--init-radius defaults
    check_sizes(args)  # every form, --memory slots and --grid included, before anything is built
    if args.max_nfe is not None and getattr(args, "memory", None) == "slots":
        raise FHRNInputError("`--max-nfe` is not supported with --memory slots (its run has no evaluation budget)")
    if getattr(args, "memory", None) == "slots":  # attractor-slot field (docs/companions.md)
        from ._slots_run import run_slots

        return run_slots(args)
    out = check_out_dir(args.out)
    op = resolve_wr_args(args)
    name, W = op.name, op.W
    params: FHRNParams = params_from_args(args, op)
    d = W.shape[0]
    check_sizes(args, d)
    if args.grid:
        return _run_grid(args, params, out, op)
    from .._io import atomic_save_npz, atomic_savefig, atomic_write_json
    from ..integration import IntegrationInterrupted, initial_conditions, integrate

    if y0_given is not None:
        y0 = check_y0_dim(y0_given, d)
    else:
        with flag_names(n="--n-init", radius="--init-radius"):
            y0 = initial_conditions(args.n_init, d, args.init_radius, seed=args.seed)
    nfe = {} if args.max_nfe is None else {"max_nfe": args.max_nfe}
    try:
        with flag_names(max_nfe="--max-nfe"):
            res = integrate(W, y0, params=params, t1=args.t1, n_points=args.n_points, method=args.method,
                            rtol=args.rtol, atol=args.atol, device=args.device, **nfe)
        stop = None
    except IntegrationInterrupted as exc:  # write the computed prefix (atomically), then exit 130/143
        caught()
        res, stop = exc.result, exc
    res = _to_cpu(res)
    summary = summarize(res, name, W)
    summary["param_sources"] = param_sources(args, op)
    summary["wr_source"] = op.to_dict()
    files = [atomic_save_npz(out / "trajectory.npz", t=res.t, y=res.y, y0=res.y0, W=W, diverged=res.diverged,
                             t_diverged=res.t_diverged)]
    files.append(atomic_write_json(out / "summary.json", summary))
    if not args.no_plot:
        from ..figures.trajectories import plot_trajectories

        r = ring_radius(params.kappa, params.theta, params.leak) if d == 2 else None
        fig = plot_trajectories(res.y.detach().numpy(), ring_radius=r or None,
                                title=f"W* = {Path(name).name}, d = {d} ({res.status})", t=res.t.detach().numpy())
        files.append(atomic_savefig(fig, out / "phase.png"))
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        emit_json(summary)
    else:
        print(_text_summary(summary, out, files))
    if stop is not None:  # the computed prefix is written (atomically) above
        return _interrupted(stop, res.t_final, out)
    return 1 if res.status == "failed" else 0
