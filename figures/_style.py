"""One consistent, publication-quality matplotlib style for every figure, and the checks it promises.

* sizes: tick labels 9 pt, axis labels 10 pt, legends :data:`LEGEND_PT` (>= 8 pt at the saved size: the
  figures are saved at their drawn size in inches, so point sizes are the printed sizes);
* :func:`panel_letters` on multi-panel figures ((a), (b), ... in bold at the top left of each panel);
* :func:`zero_centred_ticks` for colour bars of signed quantities (ticks on both sides of zero);
* :func:`figure_problems` lists what a reader would trip over: a legend below :data:`LEGEND_PT`, text outside
  the canvas (the figure's tight bounding box must lie inside it, so nothing is clipped even when saved
  without ``bbox_inches="tight"``). ``tests/analysis/test_figures.py`` runs it on what the commands write.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: Smallest legend font size (points at the saved size).
LEGEND_PT = 8.0

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": LEGEND_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
}

__all__ = ["LEGEND_PT", "STYLE", "new_figure", "apply_style", "panel_letters", "zero_centred_ticks",
           "figure_problems"]


def new_figure(w: float = 4.2, h: float = 3.6, **kw):
    """A figure and axes under the house style (constrained layout unless ``layout`` is given)."""
    if kw.pop("constrained_layout", True):
        kw.setdefault("layout", "constrained")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(w, h), **kw)
    return fig, ax


def apply_style() -> None:
    """Make :data:`STYLE` the global matplotlib style."""
    plt.rcParams.update(STYLE)


def panel_letters(axes, *, start: str = "a") -> None:
    """Bold ``(a)``, ``(b)``, ... at the top left of each axes (outside the data area)."""
    for i, ax in enumerate(np.ravel(axes)):
        ax.text(-0.02, 1.02, f"({chr(ord(start) + i)})", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=11, fontweight="bold")


def zero_centred_ticks(cbar, lo: float, hi: float, n: int = 3) -> None:
    """Ticks of a colour bar over ``[lo, hi]`` that show both signs: 0 and ``n`` round values each side present."""
    ticks = [0.0] if lo <= 0 <= hi else []
    for end in (lo, hi):
        if end != 0 and np.isfinite(end):
            ticks += list(np.linspace(0, end, n + 1)[1:])
    from matplotlib.ticker import FixedLocator

    cbar.locator = FixedLocator(sorted(set(float(f"{t:.2g}") for t in ticks)))
    cbar.update_ticks()


def figure_problems(fig, *, legend_pt: float = LEGEND_PT, slack_px: float = 2.0) -> list[str]:
    """What a reader would trip over in ``fig`` (empty list: none).

    Returns:
        One line per problem: a legend text below ``legend_pt`` points, or text reaching outside the
        canvas (the tight bounding box of the figure is not inside ``fig.bbox`` within ``slack_px``).
    """
    fig.canvas.draw()
    out = []
    for leg in fig.findobj(matplotlib.legend.Legend):
        for t in leg.get_texts():
            if t.get_visible() and t.get_text() and t.get_fontsize() < legend_pt - 1e-9:
                out.append(f"legend text {t.get_text()!r} is {t.get_fontsize():g} pt < {legend_pt:g}")
    r = fig.canvas.get_renderer()
    tb = fig.get_tightbbox(r).transformed(fig.dpi_scale_trans)  # inches -> display pixels
    W, H = fig.bbox.width, fig.bbox.height
    if tb.x0 < -slack_px or tb.y0 < -slack_px or tb.x1 > W + slack_px or tb.y1 > H + slack_px:
        out.append(f"content reaches outside the canvas: tight bbox ({tb.x0:.0f}, {tb.y0:.0f}, {tb.x1:.0f}, "
                   f"{tb.y1:.0f}) px vs canvas {W:.0f} x {H:.0f}")
    return out
