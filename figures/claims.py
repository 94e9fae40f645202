"""The claims report's figure: one panel per computed claim (data from ``analysis.claims``)."""

from __future__ import annotations

import numpy as np

from fhrn_ode.analysis.claims import ClaimsReport

from ._style import apply_style, new_figure, panel_letters

__all__ = ["plot_claims"]


def plot_claims(report: ClaimsReport):
    """A 2x3 figure: zero contour vs ring, V along trajectories, |y(t)|, ring radius vs kappa,
    Fig. 4 beta trade-off, memory-driven growth; panel letters (a)-(f), each title ends with the verdict on
    the paper's claim. Returns the matplotlib figure."""
    apply_style()
    c = {cl.id: cl for cl in report.claims}
    fig, axs = new_figure(13, 7.6, nrows=2, ncols=3)
    ax = axs[0, 0]
    p = c["zero-contour"].panel
    ax.plot(p["r"], p["rho"], color="C0", label=r"$\rho(J(r e_1))$")
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(p["r_star"], color="C3", ls="--", label=f"ring r* = {p['r_star']:.3f}")
    ax.plot(p["r_zero"], 0.0, "o", color="C2", ms=6, zorder=3, label=f"rho = 0 at {p['r_zero']:.3f}")
    ax.axvline(1.0, color="0.5", ls="-.", lw=0.8, label="|y| = 1")
    ax.set(xlabel="|y|", ylabel="spectral abscissa", title="Fig. 2(b): zero contour vs ring", ylim=(-3, 10))
    ax.legend(fontsize=8)
    ax = axs[0, 1]
    p = c["V-monotone"].panel
    for V, lab in zip(p["V"], p["labels"]):
        ax.semilogy(p["t"], np.maximum(V, 1e-12), label=lab)
    ax.set(xlabel="t", ylabel="V(y(t))", title="Fig. 3(a): V is not monotone")
    ax.legend(fontsize=8)
    ax = axs[0, 2]
    p = c["radius-monotone"].panel
    for k, r in enumerate(p["r"]):
        ax.plot(p["t"], r, lw=1, color="C0", alpha=0.8, label=f"|y(t)|, {len(p['r'])} starts" if k == 0 else None)
    ax.axhline(p["r_star"], color="C3", ls="--", zorder=3, label=f"r* = {p['r_star']:.3f}")
    ax.axhline(1.0, color="0.5", ls="-.", label="|y| = 1")
    ax.set(xlabel="t", ylabel="|y(t)|", title="Fig. 3(b): radius settles at r*, not 1", xlim=(0, 2))
    ax.legend(fontsize=8)
    ax = axs[1, 0]
    p = c["ring-radius"].panel
    ax.semilogx(p["kappa"], p["final_radius"], "o", zorder=3, label="integrated")
    ax.semilogx(p["kappa_curve"], p["r_star_curve"], "-", label=r"$\sqrt{\theta^2 - leak/\kappa}$")
    ax.axhline(1.0, color="0.5", ls="-.", label="paper: |y| = 1")
    ax.set(xlabel=r"$\kappa$ (leak = 1)", ylabel="ring radius", title="ring radius vs homeostasis")
    ax.legend(fontsize=8)
    ax = axs[1, 1]
    p = c["fig4-beta-tradeoff"].panel
    ax.plot(p["beta"], p["wr_crit"], "o-")
    ax.set(xlabel=r"$\beta$", ylabel=r"$|W_r|_{crit}$ at |y| = 1.1, $\gamma$ = 1", title="Fig. 4: beta raises the bound")
    ax = axs[1, 2]
    p = c["bounded-ISS"].panel
    for k, (lab, run) in enumerate(p.items()):
        ax.semilogy(run["t"], run["r"], color=f"C{k}", label=lab)
        status = c["bounded-ISS"].numbers.get(lab, {}).get("status", "success")
        t_end = np.asarray(run["t"])[np.isfinite(run["r"])]
        if status != "success" and len(t_end):
            ax.plot(t_end[-1], np.nanmax(run["r"]), "x", color=f"C{k}", ms=8, mew=2,
                    label=f"stopped: status '{status}'")
    ax.set(xlabel="t", ylabel="max |y(t)|", title="Hebbian memory vs homeostasis (kappa = 1)")
    ax.legend(fontsize=8)
    ids = ["zero-contour", "V-monotone", "radius-monotone", "ring-radius", "fig4-beta-tradeoff", "bounded-ISS"]
    for a, cid in zip(axs.ravel(), ids):
        a.set_title(f"{a.get_title()}\nclaim: {c[cid].verdict.replace('_', ' ')}")
    panel_letters(axs)
    return fig
