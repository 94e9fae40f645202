"""The figures of ``fhrn-ode map`` (``map.png``) and ``fhrn-ode lyapunov`` (``lyapunov.png``). Thin: no numerics."""

from __future__ import annotations

import numpy as np

from ._style import apply_style, new_figure, panel_letters

__all__ = ["plot_spectral_map", "plot_lyapunov_traces"]


def plot_spectral_map(m, *, title: str = ""):
    """``rho(J(y))`` over the plane (a :class:`fhrn_ode.analysis.spectra.SpectralMap`), C 10-11.

    Diverging colours centred at 0 (blue: locally contracting, red: expanding; each sign gets half the
    colour bar even when the range is lopsided), the ``rho = 0`` contour drawn and labelled, NaN (the
    gain pole) left blank.
    """
    from matplotlib.colors import TwoSlopeNorm

    apply_style()
    rho = np.asarray(m.spectral_abscissa)
    fig, ax = new_figure(5.0, 4.4)
    finite = rho[np.isfinite(rho)]
    lo = float(finite.min()) if finite.size else -1.0
    hi = float(finite.max()) if finite.size else 1.0
    norm = TwoSlopeNorm(0.0, min(lo, -1e-9), max(hi, 1e-9))
    im = ax.pcolormesh(m.y1, m.y2, rho, shading="auto", cmap="RdBu_r", norm=norm)
    fig.colorbar(im, ax=ax, label="rho(J(y)) = max Re lambda (0 at the white)")
    if finite.size and lo < 0 < hi:
        cs = ax.contour(m.y1, m.y2, rho, levels=[0.0], colors="k", linewidths=1.2)
        ax.clabel(cs, fmt={0.0: "rho = 0"}, fontsize=7, inline=True)
        ax.plot([], [], "k-", lw=1.2, label="rho(J) = 0")
        ax.legend(loc="lower right", fontsize=8, frameon=True)
    frac = float((finite < 0).mean()) if finite.size else float("nan")
    ax.set(xlabel="y1 (basis[:, 0])", ylabel="y2 (basis[:, 1])", aspect="equal")
    ax.set_title((title + "\n" if title else "") + f"rho in [{lo:.3g}, {hi:.3g}], {100 * frac:.0f}% of the plane "
                 f"rho < 0", fontsize=8)
    return fig


def plot_lyapunov_traces(L, *, theta: float, ring_radius: float | None = None, tol: float = 0.0):
    """``|y(t)|``, ``V(y(t))`` and ``dV/dt`` of :class:`fhrn_ode.analysis.lyapunov.LyapunovTraces` (C 13-14).

    ``theta`` (dashed) and the ring ``r*`` (dotted, when given and > 0) are marked on ``|y|``; samples
    with ``dV/dt > tol`` (a violation of the Lyapunov decrease) are red dots on top in the ``dV/dt`` panel.
    """
    import matplotlib

    apply_style()
    fig, axs = new_figure(12.0, 3.6, ncols=3)
    n = L.radius.shape[1]
    cols = matplotlib.colormaps["viridis"](np.linspace(0.05, 0.9, n))
    for k in range(n):
        axs[0].plot(L.t, L.radius[:, k], lw=1.1, color=cols[k], label=f"|y0| = {L.init_radii[k]:g}")
        axs[1].plot(L.t, L.V[:, k], lw=1.1, color=cols[k])
        axs[2].plot(L.t, L.dVdt[:, k], lw=1.1, color=cols[k], zorder=3)
    axs[0].axhline(theta, color="k", ls="--", lw=0.9, label=f"theta = {theta:g}")
    if ring_radius is not None and ring_radius > 0:
        axs[0].axhline(ring_radius, color="C3", ls=":", lw=1.4, label=f"ring r* = {ring_radius:.4g}")
    axs[0].set(xlabel="t", ylabel="|y(t)|", title="radius")
    axs[0].legend(fontsize=8, loc="best")
    axs[1].set(xlabel="t", ylabel="V(y(t))", title="V = (|y|^2 - theta^2)^2 / 4")
    V = np.asarray(L.V)
    if np.nanmax(V) > 0 and np.nanmax(V) / max(np.nanmin(V[V > 0]) if np.any(V > 0) else 1.0, 1e-300) > 1e3:
        axs[1].set_yscale("symlog", linthresh=max(1e-12, float(np.nanmin(V[V > 0]))))
    dV = np.asarray(L.dVdt)
    bad = np.isfinite(dV) & (dV > tol)
    tt = np.broadcast_to(np.asarray(L.t)[:, None], dV.shape)
    axs[2].axhline(0.0, color="k", lw=0.6)
    if bad.any():  # small open circles under the curves, and a rug of the times on top: the curves stay visible
        axs[2].plot(tt[bad], dV[bad], "o", mfc="none", mec="C3", mew=0.6, ms=2.5, zorder=1, alpha=0.6,
                    label=f"dV/dt > {tol:g}: {int(bad.sum())} samples")
        t_bad = np.unique(tt[bad])
        axs[2].plot(t_bad, np.full(t_bad.shape, 0.985), "|", color="C3", ms=6, mew=0.8,
                    transform=axs[2].get_xaxis_transform(), clip_on=False, label="times with dV/dt > tol")
    else:
        axs[2].plot([], [], "o", mfc="none", mec="C3", ms=3.5, label=f"dV/dt > {tol:g}: none")
    fin = np.abs(dV[np.isfinite(dV) & (dV != 0)])
    lin = max(1e-12, float(np.percentile(fin, 5))) if fin.size else 1e-6
    axs[2].set_yscale("symlog", linthresh=lin)
    top = float(np.log10(max(fin.max(), lin))) if fin.size else 0.0
    dec = 10.0 ** np.arange(np.ceil(np.log10(lin)) + 1, np.floor(top) + 1, 3)  # every 3rd decade above lin
    axs[2].set_yticks(np.concatenate([-dec[::-1], [0.0], dec]))
    axs[2].set(xlabel="t", ylabel="dV/dt (symlog)", title="dV/dt (> 0: V increases)")
    axs[2].legend(fontsize=8, loc="lower right")
    n_bad = int(bad.sum())
    fig.suptitle(f"V decreases along every trajectory (dV/dt <= {tol:g})" if n_bad == 0 else
                 f"V increases at {n_bad} of {int(np.isfinite(dV).sum())} samples (dV/dt > {tol:g}): "
                 f"not a Lyapunov function on this run", color="tab:green" if n_bad == 0 else "tab:red")
    panel_letters(axs)
    fig.set_layout_engine("constrained")
    return fig
