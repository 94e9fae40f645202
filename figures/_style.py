"""One consistent, publication-quality matplotlib style for every figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def new_figure(w: float = 4.2, h: float = 3.6, **kw):
    """A figure and axes under the house style."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(w, h), **kw)
    return fig, ax


def apply_style() -> None:
    plt.rcParams.update(STYLE)
