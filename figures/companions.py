"""Figures of the companion systems (docs/companions.md): loop halting vs the ODE verdict, the saliency map, slots.

Thin plotting only: every number comes from ``fhrn_ode.analysis`` results passed in.
"""

from __future__ import annotations

import numpy as np

from ._style import STYLE

__all__ = ["plot_halting", "plot_saliency", "plot_slots"]


def _fig(w, h, ncols):
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(w, h))
    return fig, np.atleast_1d(axes)


def plot_halting(results):
    """(a) per gain: fraction of contexts whose loop halted, ODE-stable fraction, agreement; (b) per context:
    the ODE criterion ``max Re mu`` of ``gamma g W*`` against the loop's ``max |mu|`` at its fixed point
    (lines at 1: the ``Re mu < 1, |mu| > 1`` quadrant is where the ODE verdict fails); (c) the measured
    contraction rate against ``max |mu|`` (identity dashed)."""
    fig, (a, b, c) = _fig(13.0, 3.9, 3)
    rs = sorted(results, key=lambda r: (r.gamma, r.trained_gamma))
    g = np.array([r.gamma for r in rs])
    trained = np.array([r.gamma == r.trained_gamma for r in rs])
    for vals, lab, mk in (([r.converged.mean() for r in rs], "loop halts", "o"),
                          ([r.ode_stable.mean() for r in rs], "ODE stable", "s"),
                          ([r.agreement for r in rs], "agreement", "^")):
        a.plot(g, vals, mk + "-", label=lab, ms=5, alpha=0.85)
    if trained.any() and not trained.all():
        a.plot(g[trained], np.zeros(trained.sum()) - 0.04, "k|", ms=10, label="trained gain")
    a.set_xlabel(r"reentry gain $\gamma$")
    a.set_ylabel("fraction of contexts")
    a.set_ylim(-0.08, 1.05)
    a.set_title("(a) loop vs ODE verdict")
    a.legend(fontsize=8)
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis")
    gmax = max(g.max(), 1e-12)
    for r in rs:
        x = 1.0 + r.ode_abscissa  # max Re mu of gamma g W*
        y = r.multiplier_max_abs
        col = cmap(0.9 * r.gamma / gmax)
        ok = r.converged
        b.scatter(x[ok], y[ok], s=12, color=col, marker="o", alpha=0.8)
        b.scatter(x[~ok], y[~ok], s=22, color=col, marker="x", alpha=0.9)
        fin = np.isfinite(r.rate) & ok
        c.scatter(y[fin], r.rate[fin], s=12, color=col, alpha=0.8)
    b.axvline(1.0, color="k", lw=0.8, ls="--")
    b.axhline(1.0, color="k", lw=0.8, ls="--")
    b.set_xscale("symlog", linthresh=1.0)
    b.set_yscale("log")
    b.set_xlabel(r"ODE criterion max Re $\mu$($\gamma g W^*$)  (stable < 1)")
    b.set_ylabel(r"loop max $|\mu|$ at its fixed point")
    b.set_title("(b) o halted, x did not halt")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, gmax / 0.9))
    fig.colorbar(sm, ax=b, label=r"$\gamma$")
    lim = [1e-4, 1.0]
    c.plot(lim, lim, "k--", lw=0.8)
    c.set_xscale("log")
    c.set_yscale("log")
    c.set_xlabel(r"max $|\mu|$ of $\gamma W_r J_H(x^*)$")
    c.set_ylabel("measured contraction rate")
    c.set_title("(c) rate vs multiplier (halted loops)")
    fig.tight_layout()
    return fig
