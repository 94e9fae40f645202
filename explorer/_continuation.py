"""The continuation panel of ``fhrn-ode explore``: the one-parameter bifurcation diagram of the slider moved.

Computed by the library's pseudo-arclength continuation (:func:`fhrn_ode.dynamics.continuation.continuation`,
docs/continuation.md) of the memory-free field family :func:`fhrn_ode.dynamics.fhrn_family` over the
slider's whole range (:data:`SLIDER_RANGE`, the page's own), started from every equilibrium that
:func:`fhrn_ode.dynamics.find_fixed_points` finds at the current parameters (Newton from a grid of starts
on the view's plane). The answer is data only: per branch ``p``, ``|x*|`` and the stability of each point
('stable' / 'unstable' / 'neutral'), and the located special points (LP fold, H Hopf, BP branch point,
...) with their normal-form coefficients. Limit cycles are not continued here (one shooting solve per
step: seconds each); the phase plane shows them as trajectories.
"""

from __future__ import annotations

import numpy as np

from fhrn_ode._errors import FHRNInputError, check_choice

from ._spec import ViewSpec
from ._panels import SLIDERS
from ._views import jsonable, resolve, view_plane

__all__ = ["SLIDER_RANGE", "MAX_BRANCHES", "continuation_diagram"]

#: The sliders' ranges on the page (explorer/static/app.js SLIDERS): the diagram's window.
SLIDER_RANGE = dict(gamma=(0.0, 3.0), kappa=(0.0, 20.0), theta=(0.0, 2.0), leak=(0.0, 3.0), beta=(0.0, 4.0),
                    wr_scale=(0.0, 3.0))
#: At most this many equilibria are continued (the nearest to the plane's origin first).
MAX_BRANCHES = 6
#: Starts per side of the plane grid for the equilibria at the current value (odd: the origin is one).
_STARTS = 5


def _current(spec: ViewSpec, params, param: str) -> float:
    if param == "wr_scale":
        if spec.wr_scale is None:
            raise FHRNInputError("`param` wr_scale: |W*| is a slider of the built-in operators only")
        return float(spec.wr_scale)
    return float(getattr(params, param))


def _equilibria(W, params, spec: ViewSpec) -> list[np.ndarray]:
    import torch

    from fhrn_ode.dynamics import find_fixed_points
    from fhrn_ode.field import FHRNField

    o, B, _ = view_plane(W)
    ax = np.linspace(-spec.extent, spec.extent, _STARTS) * 0.8
    U, V = np.meshgrid(ax, ax)
    S = o + U.reshape(-1, 1) * B[:, 0] + V.reshape(-1, 1) * B[:, 1]
    with torch.enable_grad():
        res = find_fixed_points(FHRNField(W, params), starts=S, n_minimise=0, n_newton=30, seed=spec.seed)
    pts = sorted((np.asarray(p.x, dtype=np.float64) for p in res.points), key=lambda x: float(np.linalg.norm(x)))
    return pts[:MAX_BRANCHES]


def _branch_json(br) -> dict:
    norm = np.linalg.norm(np.asarray(br.x, dtype=np.float64), axis=1) if len(br.p) else np.zeros(0)
    return dict(p=jsonable(br.p), norm=jsonable(norm), stability=list(br.stability), status=br.status,
                message=br.message)


def _special_json(s) -> dict:
    nf = {k: float(v) for k, v in (s.normal_form or {}).items() if isinstance(v, (int, float))}
    return dict(kind=s.kind, p=float(s.p), norm=float(np.linalg.norm(np.asarray(s.x, dtype=np.float64))),
                normal_form=nf, message=s.message)


def continuation_diagram(spec: ViewSpec, param: str) -> dict:
    """The bifurcation diagram of ``param`` over its slider range (see the module docstring), JSON-ready.

    Returns ``param``, ``current``, ``range``, ``branches`` (``p``, ``norm`` = ``|x*|``, ``stability``,
    ``status``, ``message``), ``special`` (``kind``, ``p``, ``norm``, ``normal_form``, ``message``; one entry
    per located point, duplicates of two branches through the same point merged) and ``note``.

    Raises:
        FHRNInputError: an unknown ``param``, ``wr_scale`` for a non-built-in operator, or a bad view.
    """
    from fhrn_ode.dynamics import fhrn_family
    from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation

    param = check_choice("param", param, SLIDERS)
    op, params = resolve(spec)
    free = params.replace(memory="none")
    cur = _current(spec, free, param)
    lo, hi = SLIDER_RANGE[param]
    lo, hi = min(lo, cur), max(hi, cur)
    family = fhrn_family(op.W, free, param)
    opts = ContinuationOptions(p_min=lo, p_max=hi, ds=0.02 * (hi - lo), ds_max=0.05 * (hi - lo), max_steps=80)
    branches, special = [], []
    for x in _equilibria(op.W, free, spec):
        br = continuation(ContinuationProblem(x0=x, p0=cur, make_field=family, param=param), opts)
        if br.status == "failed":
            continue
        branches.append(_branch_json(br))
        for s in br.special:
            sj = _special_json(s)
            if not any(o["kind"] == sj["kind"] and abs(o["p"] - sj["p"]) <= 1e-8 * (1 + abs(sj["p"]))
                       and abs(o["norm"] - sj["norm"]) <= 1e-6 for o in special):
                special.append(sj)
    return dict(param=param, current=cur, range=[lo, hi], branches=branches, special=special,
                note=(f"continuation of {len(branches)} equilibrium branch(es) over {param} in [{lo:g}, {hi:g}] "
                      "(memory-free field; limit cycles not continued)"))
