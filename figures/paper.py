"""Figures 2-4 of the continuous paper: each function plots the data of ``fhrn_ode.analysis.paper``.

:func:`make_figures` writes ``<name>.png`` and ``<name>.pdf`` per panel plus ``manifest.json`` (atomically).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fhrn_ode._errors import FHRNInputError
from fhrn_ode._io import atomic_savefig, atomic_write_json
from fhrn_ode.analysis import paper as data

from .continuation import plot_fig4_exact
from ._style import apply_style, new_figure, zero_centred_ticks

__all__ = ["FIGURES", "CAPTIONS", "make_figures", "fig2_portrait", "fig2b", "fig3a", "fig3b", "fig4a", "fig4b"]

NOTE = "Parameter values are our choice (the paper gives none); see 'params'."
#: One caption per panel of Figs. 2-4 (written into the figures manifest).
CAPTIONS = {
    "fig2a": "Phase portrait, antisymmetric W*: streamlines, |y| = theta (dashed), ring r* (solid), trajectories.",
    "fig2b": "rho(J(y)) of the 2a system; black: rho = 0 contour, dashed green: ring r*; inset: rho along |y|. The zero contour lies "
             "INSIDE the ring when gamma > 0 (paper: 'aligns').",
    "fig2c": "Phase portrait, symmetric W*: saddle-like flow; nullclines in grey.",
    "fig2d": "Phase portrait, mixed W*: hybrid spiral; nullclines in grey.",
    "fig3a": "Lyapunov landscape V(y) = (|y|^2 - theta^2)^2/4 (C 13) with a trajectory of the 2a system.",
    "fig3b": "|y(t)| for initial radii inside and outside the shell; dashed: theta, dotted: ring r*.",
    "fig4a": "Small-gain boundary |W_r|_crit = 1/(gamma g(|y|)) over (gamma, beta) at |y| = 1.1.",
    "fig4b": "r_e = gamma g |W_r|_2 over (beta, |W_r|) at |y| = 1.1, gamma = 1: r_e = 1 (small-gain, sufficient) "
             "versus the exact boundaries rho(-I + gamma g W) = 0 of three operator directions.",
    "fig4_exact": "Fig. 4, exact: the stability boundary of J_4 = -I + gamma g(|y|) W_r (M19) for the mixed 2-D "
                  "direction, traced by continuing the Hopf point of y = 0 in (beta, |W_r|) (solid), against the "
                  "paper's small-gain line |W_r|_crit = 1/(gamma |g|) (dotted); their ratio is 1/rho(W_hat) (M23).",
}


def _circle(ax, r, **kw):
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(r * np.cos(th), r * np.sin(th), **kw)


def fig2_portrait(d: data.Fig2Data, title: str = ""):
    """Figs. 2(a), 2(c), 2(d): streamlines, nullclines, the circles |y| = theta and r*, trajectories."""
    apply_style()
    P = d.portrait
    fig, ax = new_figure(4.6, 4.2)
    sp = ax.streamplot(P.y1, P.y2, P.U, P.V, color=np.log10(P.speed + 1e-12), cmap="Blues", density=1.1,
                       linewidth=0.7, arrowsize=0.7)
    fig.colorbar(sp.lines, ax=ax, label="log10 |f(y)|")
    for k, lines in enumerate(P.nullclines):
        for i, c in enumerate(lines):
            ax.plot(c[:, 0], c[:, 1], color="0.45", lw=0.9, ls="-" if k == 0 else "-.",
                    label=(f"nullcline f{k + 1} = 0" if i == 0 else None))
    _circle(ax, P.theta, color="k", ls="--", lw=1.2, label="|y| = theta")
    for k in range(P.trajectories.shape[1]):
        ax.plot(P.trajectories[:, k, 0], P.trajectories[:, k, 1], color="C1", lw=1.0,
                label="trajectories (o: start)" if k == 0 else None)
        ax.plot(*P.trajectories[0, k], "o", color="C1", ms=3)
    if P.ring_radius > 0 and d.operator == "antisym":  # drawn last: above the trajectories that end on it
        _circle(ax, P.ring_radius, color="C3", lw=2.0, zorder=6, label=f"ring r* = {P.ring_radius:.3f}")
    ax.set(xlim=(P.y1[0], P.y1[-1]), ylim=(P.y2[0], P.y2[-1]), xlabel="y1", ylabel="y2", aspect="equal",
           title=title or f"W* {d.operator}")
    ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.85)
    return fig


def fig2b(d: data.Fig2bData):
    """Fig. 2(b). Left: rho(J(y)) over the plane (diverging colours centred at 0, ticks on both sides), the zero
    contour and the ring; right: rho along |y| with both radii marked and a legend (no inset over the data)."""
    apply_style()
    m = d.map
    fig, (ax, bx) = new_figure(8.6, 4.0, ncols=2, gridspec_kw={"width_ratios": [1.25, 1.0]})
    from matplotlib.colors import TwoSlopeNorm

    lo, hi = float(np.nanmin(m.spectral_abscissa)), float(np.nanmax(m.spectral_abscissa))
    norm = TwoSlopeNorm(0.0, min(lo, -1e-9), max(hi, 1e-9))  # both signs get the full half of the map
    im = ax.pcolormesh(m.y1, m.y2, m.spectral_abscissa, cmap="RdBu_r", shading="auto", norm=norm)
    cb = fig.colorbar(im, ax=ax, label="rho(J(y)) = max Re lambda")
    zero_centred_ticks(cb, lo, hi)
    cs = ax.contour(m.y1, m.y2, m.spectral_abscissa, levels=[0.0], colors="k", linewidths=1.2)
    ax.plot([], [], color="k", lw=1.2, label=f"rho = 0 (r = {d.zero_contour_radius:.3f})")
    _circle(ax, d.ring_radius, color="C2", ls="--", lw=1.4, label=f"ring r* = {d.ring_radius:.3f}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set(xlabel="y1", ylabel="y2", aspect="equal", title="(b) rho(J) of the 2a system")
    bx.plot(d.profile_r, d.profile_rho, color="k", lw=1.2, label="rho along |y|")
    bx.axhline(0.0, color="0.5", lw=0.7)
    bx.axvline(d.ring_radius, color="C2", ls="--", lw=1.2, label=f"ring r* = {d.ring_radius:.3f}")
    bx.axvline(d.zero_contour_radius, color="k", ls=":", lw=1.2, label=f"rho = 0 at r = {d.zero_contour_radius:.3f}")
    bx.set(xlabel="|y|", ylabel="rho(J)", title="rho along a ray")
    bx.legend(loc="best")
    del cs
    return fig


def fig3a(d: data.Fig3aData):
    """Fig. 3(a): V(y) = (|y|^2 - theta^2)^2/4 (C 13) on a power-law colour scale (V^0.3: the hump at the origin and the zero on |y| = theta both
    visible), with |y| = theta, the ring r* and a trajectory marked."""
    from matplotlib.colors import PowerNorm

    from fhrn_ode.params import ring_radius

    apply_style()
    fig, ax = new_figure(4.8, 4.6)
    im = ax.pcolormesh(d.y1, d.y2, d.V, shading="auto", cmap="viridis", norm=PowerNorm(0.3, vmin=0.0))
    fig.colorbar(im, ax=ax, label="V(y) (colour scale V^0.3)")
    ax.contour(d.y1, d.y2, d.V, levels=np.geomspace(1e-3, float(np.nanmax(d.V)), 8), colors="w", linewidths=0.4)
    theta = float(d.params.get("theta", 1.0))
    r_star = ring_radius(d.params.get("kappa", 10.0), theta, d.params.get("leak", 1.0))
    _circle(ax, theta, color="w", ls="--", lw=1.3, label=f"|y| = theta = {theta:g} (V = 0)")
    if r_star > 0:
        _circle(ax, r_star, color="C1", lw=1.3, label=f"ring r* = {r_star:.3f}")
    ax.plot(d.trajectory[:, 0], d.trajectory[:, 1], color="C3", lw=1.2, label="trajectory (o: start)")
    ax.plot(*d.trajectory[0], "o", color="C3", ms=4)
    ax.set(xlabel="y1", ylabel="y2", aspect="equal", title="(a) Lyapunov landscape V (C 13)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=True, facecolor="0.6")
    return fig


def fig3b(d: data.Fig3bData):
    """Fig. 3(b): |y(t)| from initial radii inside and outside the shell, with theta and r*."""
    apply_style()
    L = d.traces
    fig, ax = new_figure(4.8, 3.6)
    import matplotlib

    cols = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.9, L.radius.shape[1]))
    for k in range(L.radius.shape[1]):
        ax.plot(L.t, L.radius[:, k], color=cols[k], lw=1.2, label=f"|y0| = {L.init_radii[k]:g}")
    ax.axhline(d.params.get("theta", 1.0), color="k", ls="--", lw=0.9, label="theta")
    ax.axhline(d.ring_radius, color="C3", ls=":", lw=1.6, zorder=5, label=f"ring r* = {d.ring_radius:.3f}")
    ax.set(xlabel="t", ylabel="|y(t)|", title="(b) Radial evolution")
    ax.legend(fontsize=8, ncol=2)
    return fig


def fig4a(d: data.Fig4aData):
    """Fig. 4(a): the small-gain boundary |W_r|_crit = 1/(gamma g(|y|)) over (gamma, beta)."""
    apply_style()
    s = d.surface
    fig, ax = new_figure(4.8, 4.0)
    im = ax.pcolormesh(s.gamma, s.beta, np.log10(s.wr_crit), shading="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 |W_r|_crit")
    cs = ax.contour(s.gamma, s.beta, s.wr_crit, levels=[1, 1.5, 2, 3, 5], colors="w", linewidths=0.7)
    ax.clabel(cs, fontsize=7)
    ax.set(xlabel="gamma", ylabel="beta", title=f"(a) |W_r|_crit = 1/(gamma g), |y| = {s.radius:g}")
    return fig


def fig4b(d: data.Fig4bData):
    """Fig. 4(b): r_e over (beta, |W_r|) with r_e = 1 and the exact boundaries of three operator directions."""
    apply_style()
    m = d.map
    fig, ax = new_figure(5.0, 5.4)
    im = ax.pcolormesh(m.beta, m.wr_norm, m.r_e, shading="auto", cmap="cividis")
    fig.colorbar(im, ax=ax, label="r_e = gamma g(|y|) |W_r|_2")
    ax.contour(m.beta, m.wr_norm, m.r_e, levels=[1.0], colors="C1", linewidths=1.8)
    ax.plot([], [], color="C1", lw=1.8, label="r_e = 1 (small gain)")
    for k, name in enumerate(m.operators):
        crit = m.wr_crit_exact[k]
        if np.all(~np.isfinite(crit) | (crit > m.wr_norm[-1])):
            ax.plot([], [], " ", label=f"{name}: exact boundary above the plot")
            continue
        ax.plot(m.beta, np.where(crit <= m.wr_norm[-1], crit, np.nan), lw=1.4, ls="--", color=f"C{k + 2}",
                label=f"exact, {name}")
    ax.set(xlabel="beta", ylabel="|W_r|_2", ylim=(m.wr_norm[0], m.wr_norm[-1]),
           title=f"(b) |y| = {m.radius:g}, gamma = {m.gamma:g}")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1)  # off the boundary lines
    return fig


#: Panel name -> the function that draws it from its ``fhrn_ode.analysis.paper`` data.
FIGURES = {
    "fig2a": lambda d: fig2_portrait(d, "(a) antisymmetric W*"),
    "fig2b": fig2b,
    "fig2c": lambda d: fig2_portrait(d, "(c) symmetric W*"),
    "fig2d": lambda d: fig2_portrait(d, "(d) mixed W*"),
    "fig3a": fig3a,
    "fig3b": fig3b,
    "fig4a": fig4a,
    "fig4b": fig4b,
    "fig4_exact": plot_fig4_exact,
}


def _summary(name: str, d) -> dict:
    out: dict = {}
    if name == "fig2b":
        out = dict(ring_radius=d.ring_radius, rho_at_ring=d.rho_at_ring, zero_contour_radius=d.zero_contour_radius)
    elif name == "fig3b":
        out = dict(violations=d.traces.violations.to_dict(), ring_radius=d.ring_radius,
                   final_radius=d.traces.radius[-1].tolist())
    elif name == "fig4b":
        out = dict(operators=list(d.map.operators), wr_crit_exact_at_beta0=d.map.wr_crit_exact[:, 0].tolist(),
                   wr_crit_small_gain_at_beta0=float(d.map.wr_crit_small_gain[0]))
    return out


def make_figures(out, *, only=None, resolution: int = 60, seed: int = 0, progress: bool = True) -> dict:
    """Compute, plot and save the panels (PNG + PDF) and ``manifest.json``; returns the manifest.

    ``progress``: one line per few seconds on stderr (a bar on a terminal; ``fhrn_ode._progress``).
    """
    import matplotlib.pyplot as plt

    from fhrn_ode.analysis.dynamics_panels import DYN_PANEL_DATA

    from .dynamics import CAPTIONS as DYN_CAPTIONS, PANELS as DYN_PANELS  # dynamics panels (figures/dynamics.py)

    data_of, plot_of = {**data.FIGURE_DATA, **DYN_PANEL_DATA}, {**FIGURES, **DYN_PANELS}
    caption_of = {**CAPTIONS, **DYN_CAPTIONS}
    names = list(plot_of) if not only else list(only)
    bad = [n for n in names if n not in plot_of]
    if bad:
        raise FHRNInputError(f"`only` must name panels among {', '.join(plot_of)}; got {', '.join(bad)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"note": NOTE, "resolution": resolution, "seed": seed, "figures": {}}
    from fhrn_ode._progress import Progress

    bar = Progress(len(names), "figures", unit="panel", enabled=progress)
    for name in names:
        bar.update(0, panel=name)
        d = data_of[name](resolution=resolution, seed=seed)
        fig = plot_of[name](d)
        files = [atomic_savefig(fig, out / f"{name}.{ext}") for ext in ("png", "pdf")]
        plt.close(fig)
        manifest["figures"][name] = dict(files=[p.name for p in files], caption=caption_of[name] + " " + NOTE,
                                         params=d.params, **_summary(name, d))
        bar.update(1)
    bar.close()
    atomic_write_json(out / "manifest.json", manifest)
    return manifest
