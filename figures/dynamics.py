"""Figures of the dynamics analyses: fixed points on the phase plane, exponent convergence, bifurcation diagram.

Each ``plot_*`` takes the result dataclass of ``fhrn_ode.analysis`` (fixed_points, exponents, bifurcation) and
returns a matplotlib figure. :data:`PANELS` lists the panels ``fhrn-ode figures`` draws (their data:
:mod:`fhrn_ode.analysis.dynamics_panels`).
"""

from __future__ import annotations

import numpy as np

from ._style import apply_style, new_figure

__all__ = ["plot_fixed_points", "plot_exponents", "plot_bifurcation", "PANELS", "CAPTIONS"]

_MARK = {"stable node": ("o", "C2", True), "stable focus": ("o", "C0", True), "saddle": ("X", "C1", True),
         "unstable node": ("o", "C3", False), "unstable focus": ("o", "C4", False),
         "non-hyperbolic": ("D", "0.3", False)}


def plot_fixed_points(result, field=None, *, lim: float = 1.6, title: str = ""):
    """Fixed points (marker by kind) and slow points (grey crosses) on the ``(y1, y2)`` plane, over the
    streamlines of ``field`` (an ``nn.Module`` on 2-D states, optional)."""
    import torch

    apply_style()
    fig, ax = new_figure(4.8, 4.2)
    if field is not None:
        g = np.linspace(-lim, lim, 41)
        Y1, Y2 = np.meshgrid(g, g)
        Z = np.zeros((Y1.size, result.dim))
        Z[:, 0], Z[:, 1] = Y1.ravel(), Y2.ravel()
        with torch.no_grad():
            F = field(torch.tensor(0.0), torch.as_tensor(Z)).numpy()
        U, V = F[:, 0].reshape(Y1.shape), F[:, 1].reshape(Y1.shape)
        ax.streamplot(g, g, U, V, color="0.7", density=1.0, linewidth=0.6, arrowsize=0.6)
    seen = set()
    for p in result.points:
        m, c, filled = _MARK[p.kind]
        lab = p.kind if p.kind == "saddle" or p.kind not in seen else None
        lab = f"{p.kind} (unstable dim {p.unstable_dim})" if p.kind == "saddle" else lab
        if lab in seen:
            lab = None
        seen.add(lab)
        seen.add(p.kind)
        ax.plot(p.x[0], p.x[1], m, ms=9, mec=c, mfc=c if filled else "white", mew=1.6, label=lab, zorder=3)
    for k, s in enumerate(result.slow_points):
        ax.plot(s.x[0], s.x[1], "+", ms=10, color="k", label="slow point" if k == 0 else None, zorder=3)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="y1", ylabel="y2", aspect="equal",
           title=title or f"{_count(len(result.points), 'fixed point')}, {_count(len(result.slow_points), 'slow point')}")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_exponents(spec, *, title: str = ""):
    """Running Lyapunov-exponent estimates against time (mean over initial states), with the final values."""
    apply_style()
    fig, ax = new_figure(5.0, 3.6)
    for i in range(spec.running.shape[1]):
        ax.plot(spec.times, spec.running[:, i], lw=1.2, label=f"lambda_{i + 1} = {spec.exponents[i]:.4g}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set(xlabel="averaging time", ylabel="running estimate",
           title=title or f"Lyapunov spectrum, sum {spec.sum:.4g}, spread {spec.spread:.2g}")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=8)
    return fig


#: Equilibrium marker by its ``stable`` entry (None: a non-hyperbolic point the linearisation does not decide).
_STABILITY = {True: ("o", "C0", None, "stable equilibrium"), False: ("o", "C3", "white", "unstable equilibrium"),
              None: ("D", "0.45", "white", "equilibrium, stability not decided by linearisation")}


def plot_bifurcation(diag, *, title: str = ""):
    """``|y|`` of the equilibria (filled: stable, open: unstable, grey open diamond: not decided by the
    linearisation) and the cycles' ``|y|`` range (bars) against the
    parameter; vertical lines at the located Hopf (dashed) and fold (dotted) points; labels of the attractor."""
    apply_style()
    fig, ax = new_figure(5.6, 4.0)
    kinds = set()
    for v, eqs in zip(diag.values, diag.equilibria):
        for e in eqs:  # on top of the cycles' bars (a small cycle near the Hopf point would hide them)
            st = _STABILITY[e["stable"]]
            ax.plot(v, e["norm"], st[0], ms=5, color=st[1], mfc=st[2], zorder=4)
            kinds.add(e["stable"])
    for v, cs in zip(diag.values, diag.cycles):
        for c in cs:
            ax.plot([v, v], [c["radius_min"], c["radius_max"]], color="C2", lw=3, solid_capstyle="butt", zorder=2)
            ax.plot(v, c["radius_mean"], "s", ms=4, color="C2", zorder=2)
            kinds.add("cycle")
    for key in (True, False, None):
        if key in kinds:
            st = _STABILITY[key]
            ax.plot([], [], st[0], color=st[1], mfc=st[2], ms=5, label=st[3])
    if "cycle" in kinds:
        ax.plot([], [], "s", color="C2", ms=4, label="limit cycle (|y| range)")
    for b in diag.bifurcations:
        ax.axvline(b.value, color="k", lw=0.9, ls="--" if b.kind == "hopf" else ":")
    if any(b.kind == "hopf" for b in diag.bifurcations):
        ax.plot([], [], "k--", lw=0.9, label="Hopf")
    if any(b.kind == "fold" for b in diag.bifurcations):
        ax.plot([], [], "k:", lw=0.9, label="fold (real crossing)")
    top = ax.get_ylim()[1]
    for v, lab in zip(diag.values, diag.label):
        if lab in ("chaos", "divergence", "quasi-periodic"):
            ax.text(v, top, lab[:5], rotation=90, fontsize=8, va="top", ha="center")
    ax.set(xlabel=diag.param, ylabel="|y|", title=title or f"bifurcation diagram in {diag.param}")
    # an opaque frame: the vertical Hopf/fold lines must not run through the legend text
    ax.legend(fontsize=8, loc="best", frameon=True, framealpha=0.95, edgecolor="none")
    return fig


# -- panels of `fhrn-ode figures` (data: fhrn_ode.analysis.dynamics_panels) -------------------------
#: The ``dyn_*`` panels of ``fhrn-ode figures``: name -> the plot of its ``DynPanelData``.
PANELS = {
    "dyn_fixed_points": lambda d: plot_fixed_points(d.result, d.field, title="fixed points, symmetric W*"),
    "dyn_exponents": lambda d: plot_exponents(d.result, title="Lorenz: Lyapunov exponents (Benettin, QR)"),
    "dyn_bifurcation": lambda d: plot_bifurcation(d.result, title="antisymmetric W*: Hopf of the origin in kappa"),
}
#: One caption per ``dyn_*`` panel (written into the figures manifest).
CAPTIONS = {
    "dyn_fixed_points": "Fixed points of the 2-D FHRN field with symmetric W* (marker by kind: stable nodes filled, "
                        "saddles X, the unstable origin open) over the streamlines.",
    "dyn_exponents": "Running Lyapunov-exponent estimates of the Lorenz system (mean over 8 initial states); the sum "
                     "stays at -(sigma + 1 + b) = -13.667 from the first window.",
    "dyn_bifurcation": "|y| of the equilibria and of the limit cycle against kappa (antisymmetric W*): the origin "
                       "loses stability in a Hopf point at kappa = leak/theta^2, located by brentq (dashed).",
}


def _count(k: int, noun: str) -> str:
    """``"1 fixed point"``, ``"2 fixed points"``."""
    return f"{k} {noun}{'' if k == 1 else 's'}"
