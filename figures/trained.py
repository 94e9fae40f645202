"""Trained models on the stability map (Fig. 4(b) axes) and gain vs stability margin (docs/model.md §5). Thin: no numerics."""

from __future__ import annotations

import numpy as np

from fhrn_ode.analysis.stability import wr_crit_small_gain

from ._style import new_figure

__all__ = ["plot_stability_map", "plot_gain_margin"]


def plot_stability_map(results: list, radius: float | None = None):
    """Each model at (beta, median |W*|_2) per layer, with its own small-gain boundary r_e = 1:
    ``|W|_crit(beta) = 1 / (gamma g(r; beta))`` at the model's median radius (C 2; Fig. 4(b) axes)."""
    import matplotlib.pyplot as plt

    fig, ax = new_figure(5.2, 4.0)
    cmap = plt.get_cmap("viridis")
    gammas = [r["gamma"] for r in results]
    gmax = max(max(gammas), 1e-12)
    b = np.linspace(0.0, 0.99, 200)
    ymax = 0.0
    b = b[1:]  # beta > 0
    for r in results:
        col = cmap(r["gamma"] / gmax * 0.9)
        for lc in r["per_layer"]:
            mk = "o" if lc["stable"] else "x"
            ax.plot(r["beta"], lc["wr_norm_median"], mk, color=col, ms=6)
            ymax = max(ymax, lc["wr_norm_median"])
        if r["gamma"] > 0:
            rad = float(np.median([lc["radius_median"] for lc in r["per_layer"]])) if radius is None else radius
            crit = wr_crit_small_gain(r["gamma"], b, rad)  # small gain r_e = 1 (C 2; Fig. 4(b))
            ax.plot(b, crit, "--", color=col, lw=1, label=f"r_e = 1, gamma={r['gamma']:g}, |y|={rad:.2g}")
    if ymax > 0:
        ax.set_yscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("|W*|_2 (median over contexts)")
    ax.set_title("trained W* on the stability map (o stable, x unstable)")
    if any(r["gamma"] > 0 for r in results):
        ax.legend(fontsize=7)
    return fig


def plot_gain_margin(results: list):
    """Per layer: reentry gain gamma vs worst / median margin ``-rho(-I + gamma g W*)`` and max r_e."""
    fig, ax = new_figure(5.2, 3.8)
    n_layers = max(len(r["per_layer"]) for r in results)
    for L in range(n_layers):
        rows = [(r["gamma"], r["per_layer"][L]) for r in results if L < len(r["per_layer"])]
        g = [x[0] for x in rows]
        ax.plot(g, [x[1]["worst_margin"] for x in rows], "o-", label=f"layer {L} worst margin")
        ax.plot(g, [x[1]["median_margin"] for x in rows], "s:", label=f"layer {L} median margin")
        ax.plot(g, [1.0 - x[1]["r_e"] for x in rows], "^--", label=f"layer {L} 1 - max r_e")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("reentry gain gamma")
    ax.set_ylabel("stability margin")
    ax.legend(fontsize=6, ncol=2)
    return fig
