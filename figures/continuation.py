"""Figures of continuation results (docs/continuation.md): AUTO/MatCont-style bifurcation diagrams (solid stable,
dashed unstable, special points labelled LP/H/BP/PD/NS/LPC), the two-parameter plane (with the FHRN
small-gain line when asked), and basin images."""

from __future__ import annotations

import numpy as np

from ._style import apply_style, new_figure

__all__ = ["plot_branches", "plot_codim2", "plot_basins", "plot_fig4_exact"]

_COLORS = {"equilibria": "C0", "cycles": "C3", "fold": "C1", "hopf": "C2"}


def _segments(p, y, stability):
    """Runs of equal stability as (p, y, style) with the joint point shared."""
    out, start = [], 0
    for k in range(1, len(p) + 1):
        if k == len(p) or stability[k] != stability[start]:
            style = "-" if stability[start] == "stable" else "--"
            out.append((p[start:k + 1], y[start:k + 1], style))
            start = k
    return out


def _measure(b, component):
    if b.kind == "cycles":
        return b.data["amplitude"], "amplitude (cycles)"
    return b.x[:, component], f"x[{component}]"


def plot_branches(branches, *, component: int = 0, title: str = ""):
    """Bifurcation diagram of one-parameter branches: ``x[component]`` of equilibria and the amplitude of
    cycles against the parameter; two-parameter curves are skipped here (see :func:`plot_codim2`)."""
    apply_style()
    one = [b for b in branches if b.p2 is None and len(b)]
    two = [b for b in branches if b.p2 is not None and len(b)]
    fig, axes = new_figure(9.6 if two else 5.2, 4.0, ncols=2 if two else 1)
    ax = axes[0] if two else axes
    for b in one:
        y, lab = _measure(b, component)
        for ps, ys, style in _segments(b.p, y, b.stability):
            ax.plot(ps, ys, style, color=_COLORS.get(b.kind, "k"), lw=1.6)
        for sp in b.special:
            yy = sp.data.get("amplitude", sp.x[component] if b.kind != "cycles" else np.nan)
            ax.plot(sp.p, yy, "o", ms=5, color="k", zorder=3)
            lab = sp.kind + (f" (l1 = {sp.normal_form['l1']:.3g})" if "l1" in sp.normal_form else "")
            ax.annotate(lab, (sp.p, yy), textcoords="offset points", xytext=(4, 4), fontsize=9)
    if one:
        ax.set_xlabel(one[0].param)
        ax.set_ylabel(f"x[{component}] (equilibria), amplitude (cycles)")
    ax.set_title(title or "solid: stable, dashed: unstable")
    if two:
        plot_codim2(two, ax=axes[1])
    return fig


def plot_codim2(curves, *, ax=None, small_gain=None, title: str = ""):
    """Fold/Hopf curves in the ``(param2, param)`` plane with their codim-2 points; ``small_gain`` an optional
    ``(p2 values, p values)`` line (the paper's small-gain boundary) drawn dotted."""
    apply_style()
    fig = None
    if ax is None:
        fig, ax = new_figure(5.2, 4.0)
    for b in curves:
        ax.plot(b.p2, b.p, "-", color=_COLORS.get(b.kind, "k"), lw=1.6, label=f"{b.kind} curve")
        for sp in b.special:
            ax.plot(sp.p2, sp.p, "o", ms=5, color="k")
            ax.annotate(sp.kind, (sp.p2, sp.p), textcoords="offset points", xytext=(4, 4), fontsize=9)
    if small_gain is not None:
        ax.plot(small_gain[0], small_gain[1], ":", color="0.3", lw=1.6, label="small gain (r_e = 1)")
    if curves:
        ax.set_xlabel(curves[0].param2)
        ax.set_ylabel(curves[0].param)
    ax.legend(fontsize=8)
    ax.set_title(title or "two-parameter curves")
    return fig if fig is not None else ax.figure


def plot_basins(b, *, title: str = ""):
    """The labels of a :class:`~fhrn_ode.dynamics.continuation.Basins` as an image, attractors marked."""
    from matplotlib.colors import ListedColormap

    apply_style()
    fig, ax = new_figure(5.0, 4.4)
    k = len(b.attractors)
    cmap = ListedColormap(["0.15", "0.6"] + [f"C{i}" for i in range(max(k, 1))])
    ax.imshow(b.labels + 2, origin="lower", cmap=cmap, vmin=-0.5, vmax=k + 1.5, interpolation="nearest",
              extent=[b.xs[0], b.xs[-1], b.ys[0], b.ys[-1]], aspect="auto")
    i, j = b.dims
    for n, a in enumerate(b.attractors):
        name = f"{a['kind']} {n}"
        ax.plot(a["state"][i], a["state"][j], "o" if a["kind"] == "equilibrium" else "s", color="w", mec="k",
                label=f"{name}: {100 * b.fractions[name]:.1f}%")
    ax.set_xlabel(f"x[{i}]")
    ax.set_ylabel(f"x[{j}]")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or "basins of attraction (dark: diverged, grey: not settled)")
    return fig


def plot_fig4_exact(d):
    """The continued exact boundary against the small-gain line in the ``(beta, |W_r|)`` plane, from the
    :class:`~fhrn_ode.analysis.exact_boundary.Fig4ExactData` of ``fig4_exact_data``."""
    fig = plot_codim2([d.curve], small_gain=(d.betas, d.small_gain),
                      title=f"exact boundary by continuation vs small gain\n"
                            f"rho(W_hat) = {d.rho_W_hat:.3g}, ratio 1/rho = {1 / d.rho_W_hat:.3g}")
    ax = fig.axes[0]
    ax.lines[0].set_label(f"exact boundary ({d.curve.kind} curve)")
    ax.legend(fontsize=8)
    ax.set_ylim(0, None)
    return fig

