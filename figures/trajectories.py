"""Phase plot of integrated trajectories (the ``phase.png`` of ``fhrn-ode integrate``)."""

from __future__ import annotations

import numpy as np

from fhrn_ode.analysis.phase import project

from ._style import apply_style, new_figure, panel_letters

__all__ = ["plot_trajectories"]


def plot_trajectories(y, *, ring_radius: float | None = None, title: str = "", t=None):
    """Plot trajectories ``y`` ``(T, N, d)`` in 2-D (or their PCA projection for d > 2).

    For ``d > 2`` a second panel shows ``|y(t)|`` over all ``d`` dimensions (against ``t`` ``(T,)``
    when given, else the sample index): the top-2 principal plane alone shows only part of the motion.
    Returns the matplotlib figure; the caller saves it.
    """
    apply_style()
    y = np.asarray(y)
    proj = project(y)
    xy = proj.coords  # (T, N, 2)
    if y.shape[-1] > 2:
        fig, (ax, rx) = new_figure(8.8, 4.6, ncols=2)
    else:
        fig, ax = new_figure(4.4, 4.6)
        rx = None
    colors = __import__("matplotlib").colormaps["viridis"](np.linspace(0.05, 0.9, xy.shape[1]))
    for k in range(xy.shape[1]):
        ax.plot(xy[:, k, 0], xy[:, k, 1], lw=1.1, color=colors[k])
        ax.plot(xy[0, k, 0], xy[0, k, 1], "o", ms=3.5, color=colors[k])
        kept = np.nonzero(np.isfinite(xy[:, k]).all(axis=-1))[0]  # NaN after a trajectory's own stop time
        last = kept[-1] if kept.size else 0
        stopped = last < xy.shape[0] - 1
        ax.plot(xy[last, k, 0], xy[last, k, 1], "x" if stopped else "s", ms=5 if stopped else 3.5,
                color="r" if stopped else "k", zorder=4)
    ax.plot([], [], "o", ms=3.5, color=colors[0], label="start y(0)")
    if np.isfinite(xy[-1]).all(axis=-1).any():
        ax.plot([], [], "s", ms=3.5, color="k", label="end y(t1)")
    if not np.isfinite(xy[-1]).all():
        ax.plot([], [], "x", ms=5, color="r", label="stopped (diverged)")
    if ring_radius and proj.kind == "identity":
        th = np.linspace(0, 2 * np.pi, 400)
        ax.plot(ring_radius * np.cos(th), ring_radius * np.sin(th), "k--", lw=1.0, zorder=3,
                label=f"ring r* = {ring_radius:.3f}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8)  # below: never on the data
    if proj.kind == "pca":
        ev = proj.explained
        ax.set_xlabel(f"PC 1 ({100 * ev[0]:.0f}% var.)")
        ax.set_ylabel(f"PC 2 ({100 * ev[1]:.0f}% var.)")
    else:
        ax.set_xlabel("$y_1$")
        ax.set_ylabel("$y_2$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title if rx is None else "top-2 principal plane")
    if rx is not None:
        fig.suptitle(title)
        tt = np.arange(y.shape[0]) if t is None else np.asarray(t, dtype=float)
        rad = np.linalg.norm(y, axis=-1)
        for k in range(rad.shape[1]):
            rx.plot(tt, rad[:, k], lw=1.1, color=colors[k])
        if ring_radius:
            rx.axhline(ring_radius, color="k", ls="--", lw=1.0, label=f"ring r* = {ring_radius:.3f}")
            rx.legend(loc="best")
        if tt.size > 1 and tt[1] > tt[0]:  # the fast transient and the long tail on one axis
            rx.set_xscale("symlog", linthresh=float(tt[1] - tt[0]) * 4)
        rx.set(xlabel=("t" if t is not None else "sample") + " (symlog)", ylabel="|y(t)|",
               title=f"radius over all {y.shape[-1]} dimensions")
        panel_letters((ax, rx))
    return fig
