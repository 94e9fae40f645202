"""The side panels of ``fhrn-ode explore``: equilibria, the Jacobian at a point, the Fig. 4 stability
test (the bifurcation diagram of the slider moved: :mod:`fhrn_ode.explore._continuation`).

All numbers come from the library: :func:`fhrn_ode.dynamics.find_fixed_points` (classified by
:func:`fhrn_ode.dynamics.classify_equilibrium`), :func:`fhrn_ode.dynamics.local_stability`
(:meth:`FHRNField.jacobian`, C 10-11), :func:`fhrn_ode.analysis.check_operator` with the boundaries
:func:`fhrn_ode.analysis.wr_crit_small_gain` and :func:`fhrn_ode.analysis.exact_critical_scale` (Fig. 4).
"""

from __future__ import annotations

import numpy as np

from fhrn_ode._errors import FHRNInputError

from ._spec import ViewSpec
from ._views import jsonable, resolve, view_plane

__all__ = ["SLIDERS", "equilibria", "point_stability", "stability_test"]

#: The sliders a bifurcation diagram can follow (names of :data:`fhrn_ode.dynamics.BIFURCATION_PARAMS`).
SLIDERS = ("gamma", "kappa", "theta", "leak", "beta", "wr_scale")
#: Starts per side of the plane grid for the fixed-point finder (Newton from each, and from -z); odd, so the
#: plane's origin is one of them.
_STARTS = 5


def equilibria(spec: ViewSpec) -> list[dict]:
    """Equilibria of the view's field (with memory: of the full ``(y, A)`` system), projected on the plane.

    Each: ``u, v`` (plane coordinates), ``norm`` ``|y|``, ``off_plane`` (distance of ``y`` from the plane,
    d > 2), ``kind`` ('stable node', 'saddle', ..., 'non-hyperbolic'), eigenvalues ``[[re, im], ...]``.
    """
    import torch

    from fhrn_ode.dynamics import find_fixed_points
    from fhrn_ode.field import FHRNField

    op, params = resolve(spec)
    W = op.W
    d = W.shape[0]
    o, B, _ = view_plane(W)
    ax = np.linspace(-spec.extent, spec.extent, _STARTS) * 0.8
    U, V = np.meshgrid(ax, ax)
    S = o + U.reshape(-1, 1) * B[:, 0] + V.reshape(-1, 1) * B[:, 1]
    if params.memory != "none":
        S = np.concatenate([S, np.zeros((S.shape[0], d * d))], 1)  # flat [y, vec(A)] starts with A = 0
    with torch.enable_grad():
        res = find_fixed_points(FHRNField(W, params), starts=S, n_minimise=0, n_newton=30, seed=spec.seed)
    out = []
    for p in res.points:
        y = p.x[:d]
        uv = (y - o) @ B
        out.append(dict(u=float(uv[0]), v=float(uv[1]), norm=float(np.linalg.norm(y)),
                        off_plane=float(np.linalg.norm(y - o - B @ uv)), kind=p.kind, stable=p.stable,
                        eigenvalues=[[float(z.real), float(z.imag)] for z in p.eigenvalues]))
    return out


def point_stability(spec: ViewSpec, point: tuple[float, float]) -> dict:
    """Eigenvalues of the Jacobian ``J(y)`` (of ``dy/dt`` at ``A = 0``) at the plane point, and a verdict.

    The verdict is 'contracting' (rho(J) < -tol), 'expanding' (rho(J) > tol) or 'not settled' (|rho| <= tol,
    tol = 1e-9 max(1, max |lambda|)); it describes the linearization at that point, and at an
    equilibrium it is its stability.
    """
    import torch

    from fhrn_ode.dynamics import local_stability
    from fhrn_ode.field import FHRNField

    op, params = resolve(spec)
    W = op.W
    o, B, _ = view_plane(W)
    y = o + point[0] * B[:, 0] + point[1] * B[:, 1]
    field = FHRNField(W, params.replace(memory="none"))
    ls = local_stability(field, torch.as_tensor(y)[None])
    lam = ls.eigenvalues[0]
    rho = float(ls.spectral_abscissa[0])
    if not np.all(np.isfinite(lam)):
        return dict(point=list(point), eigenvalues=[], rho=None, verdict="not settled",
                    text="J is not finite here (the gain pole): no eigenvalues")
    tol = 1e-9 * max(1.0, float(np.abs(lam).max()))
    verdict = "contracting" if rho < -tol else "expanding" if rho > tol else "not settled"
    with torch.no_grad():
        speed = float(field.velocity(torch.as_tensor(y)[None]).norm())
    return dict(point=list(point), eigenvalues=[[float(z.real), float(z.imag)] for z in lam], rho=rho,
                log_norm=float(ls.log_norm[0]), speed=speed, verdict=verdict,
                text=(f"rho(J) = {rho:.4g}: {verdict} (|rho| <= {tol:.1e} counts as not settled); "
                      f"|f| = {speed:.3g} here"))


def _test_radius(op, params) -> tuple[float, str]:
    from fhrn_ode.params import ring_radius

    if op.trained and op.radius is not None:
        return float(op.radius), "the trained model's median |y|"
    r = ring_radius(params.kappa, params.theta, params.leak)
    return (r, "the ring radius sqrt(theta^2 - leak/kappa)") if r > 0 else (params.theta, "theta (no ring)")


def stability_test(spec: ViewSpec) -> dict:
    """Small-gain vs exact test of ``J = -I + gamma g(R) W*`` (Fig. 4) at the view's parameters, and the
    Fig. 4 plane ``(beta, |W*|_2)`` with both boundaries and the current point.

    ``R`` is the trained model's median ``|y|`` (a checkpoint), else the ring radius, else theta. At the
    gain pole the test is refused by :func:`~fhrn_ode.analysis.check_operator`: the panel shows why.
    """
    from fhrn_ode.analysis import check_operator, exact_critical_scale, wr_crit_small_gain
    from fhrn_ode.analysis.stability import gain_np

    op, params = resolve(spec)
    W = op.W
    R, why = _test_radius(op, params)
    n2 = float(np.linalg.norm(W, 2))
    b = np.linspace(0.0, max(3.0, 1.5 * params.beta), 151)
    g = gain_np(R, b)
    small = wr_crit_small_gain(params.gamma, b, R)
    What = W / n2 if n2 > 0 else W
    gf = np.where(np.isfinite(g), g, 0.0)
    exact = np.where(np.isfinite(g), exact_critical_scale(What, params.gamma * gf), np.nan) if n2 > 0 else np.full_like(b, np.inf)
    out = dict(radius=R, radius_from=why, beta=params.beta, wr_norm=n2, plane_beta=jsonable(b),
               small_gain_boundary=jsonable(small), exact_boundary=jsonable(exact))
    try:
        c = check_operator(W, params.gamma, params.beta, R)
    except FHRNInputError as exc:
        out.update(ok=False, text=f"no test here: {exc}")
        return out
    out.update(ok=True, check=c.to_dict(), text=(
        f"exact: rho(-I + gamma g W*) = {c.spectral_abscissa:.4g} -> {'stable' if c.stable else 'unstable'}; "
        f"small gain: r_e = gamma |g| |W*|_2 = {c.r_e:.4g} -> "
        f"{'stable (sufficient)' if c.stable_small_gain else 'inconclusive (r_e >= 1)'}"))
    return out
