"""Figures of the companion systems (docs/companions.md): loop halting vs the ODE verdict, the saliency map, slots.

Thin plotting only: every number comes from ``fhrn_ode.analysis`` results passed in.
"""

from __future__ import annotations

import numpy as np

from ._style import STYLE, new_figure, panel_letters

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
    # the three often coincide (every context ODE-stable: agreement = halting): wide solid, medium, dashed open
    for vals, lab, kw in (([r.converged.mean() for r in rs], "loop halts", dict(fmt="o-", lw=3.0, ms=7)),
                          ([r.ode_stable.mean() for r in rs], "ODE stable", dict(fmt="s-", lw=1.6, ms=5)),
                          ([r.agreement for r in rs], "agreement", dict(fmt="^--", lw=1.2, ms=7, mfc="none"))):
        a.plot(g, vals, kw.pop("fmt"), label=lab, **kw)
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


def plot_saliency(report, bif: dict, scan, below=None):
    """Two figures of the saliency map ``Z <- kappa (1 - 1/Z)``.

    Cobweb: the map, the diagonal and the orbit of ``report`` (with ``Z±``), next to a below-threshold
    orbit at ``kappa = 3.8`` that collapses. Bifurcation: the branches ``Z+`` (stable, solid) and ``Z-``
    (unstable, dashed) against ``kappa`` with the orbit tails from ``bif['z0']``, and the escape time below
    ``kappa_c`` (iterated, closed form, and the law ``2 pi / sqrt(4 - kappa)``) on log axes.

    ``below``: the below-threshold report of the cobweb's right panel; by default
    ``analysis.saliency.saliency_report(3.8, report.z0, 60)`` (``Z_0 = 10`` if ``report.z0 <= 0``).
    """
    if below is None:
        from fhrn_ode.analysis.saliency import saliency_report

        below = saliency_report(3.8, report.z0 if report.z0 > 0 else 10.0, 60)
    figs = []
    fig, axes = _fig(9.6, 4.0, 2)
    for ax, rep in zip(axes, (report, below)):
        orb = np.asarray(rep.orbit)
        fin = orb[np.isfinite(orb)]
        hi = max(2.5 * rep.kappa, float(np.max(fin)) * 1.1 if fin.size else 1.0, 4.0)
        z = np.linspace(-0.5 * hi, hi, 2000)
        with np.errstate(divide="ignore", invalid="ignore"):
            fz = rep.kappa * (1 - 1 / z)
        fz[np.abs(fz) > 3 * hi] = np.nan  # no line through the pole at Z = 0
        ax.plot(z, fz, color="C0", lw=1.4, label=r"$f(Z)=\kappa(1-1/Z)$")
        ax.plot(z, z, color="0.5", lw=0.8, ls=":")
        xs, ys = [orb[0]], [0.0]
        for a, b in zip(orb[:-1], orb[1:]):
            if not (np.isfinite(a) and np.isfinite(b)):
                break
            xs += [a, b]
            ys += [b, b]
        ax.plot(xs, ys, color="C3", lw=0.9, alpha=0.85, label=f"orbit from $Z_0$={rep.z0:g}")
        for zf, s in zip(rep.fixed_points, rep.stable):
            ax.plot([zf], [zf], "o", color="k" if s else "w", mec="k", ms=6, zorder=3,
                    label=f"$Z_+$ = {zf:.3g} (stable)" if s else f"$Z_-$ = {zf:.3g} (unstable)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlim(z[0], hi)
        ax.set_ylim(-0.5 * hi, hi)
        ax.set_xlabel(r"$Z_t$")
        ax.set_ylabel(r"$Z_{t+1}$")
        esc = "escapes (Z<=0) at t=%g" % rep.escape_time if np.isfinite(rep.escape_time) else "no escape"
        ax.set_title(rf"cobweb, $\kappa$={rep.kappa:g} ({rep.regime}; {esc})", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    panel_letters(axes)
    fig.tight_layout()
    figs.append(fig)

    fig, (a, b) = _fig(10.0, 4.0, 2)
    k = bif["kappa"]
    tails = bif["tail"]
    kk = np.repeat(k[:, None], tails.shape[1], 1)
    a.plot(kk.ravel(), tails.ravel(), "o", color="C3", ms=4, mew=0, alpha=0.35, zorder=1,
           label=rf"orbit tails from $Z_0$={bif['z0']:g}")  # under the branch lines: both stay visible
    a.plot(k, bif["z_plus"], "k-", lw=1.2, zorder=3, label=r"$Z_+$ (stable, $f'=Z_-/Z_+$)")
    a.plot(k, bif["z_minus"], "k--", lw=1.2, zorder=3, label=r"$Z_-$ (unstable, $f'=Z_+/Z_-$)")
    a.axvline(4.0, color="C0", lw=0.8, ls=":", label=r"$\kappa_c=4$")
    a.set_xlabel(r"gain $\kappa$")
    a.set_ylabel(r"$Z$")
    a.set_title(rf"bifurcation of $Z_{{t+1}}=\kappa(1-1/Z_t)$", fontsize=9)
    a.legend(fontsize=8)
    eps = 4.0 - scan.kappa
    b.loglog(eps, scan.escape_time, "o", ms=3, label="iterated")
    b.loglog(eps, scan.closed_form, "-", lw=1, label="closed form (rotation number)")
    b.loglog(eps, scan.law, "k--", lw=1, label=r"$2\pi/\sqrt{4-\kappa}$")
    b.set_xlabel(r"$4-\kappa$")
    b.set_ylabel(rf"escape time from $Z_0$={scan.z0:g}")
    b.set_title("collapse below the critical gain", fontsize=9)
    b.legend(fontsize=8)
    panel_letters((a, b))
    fig.tight_layout()
    figs.append(fig)
    return figs


def plot_slots(reg):
    """Four panels of :class:`analysis.slots.SlotRegimes`: (a) slot similarity ``s_k(t)`` and norm ``|m_k|(t)`` of
    one run (aligned slots settle at ``(eta/lam)|y|``, unused ones decay as ``e^{-lam t}``, dotted); (b) ``|y|`` at
    equilibrium vs the number of aligned slots K (closed form line); (c) the equilibrium's spectral abscissa vs K
    (closed form line: stable for every K, margin shrinking like 1/K) and, without homeostasis, the growth rate
    of ``|y|`` (crossing 0 at ``K_crit``); (d) heavy decay: max deviation from the memory-free trajectory vs lam."""
    fig, axes = new_figure(11.0, 8.0, nrows=2, ncols=2)
    a, b, c, e = axes.ravel()
    a2 = a.twinx()
    for k in range(reg.slot_norms.shape[1]):
        a.plot(reg.t, reg.slot_similarity[:, k], color=f"C{k}", lw=1.2, label=f"$s_{k + 1}$")
        a2.semilogy(reg.t, reg.slot_norms[:, k], color=f"C{k}", lw=1.0, ls="--")
    for k in reg.unused:
        a2.semilogy(reg.t, reg.slot_norms[0, k] * np.exp(-reg.params["lam"] * reg.t), color="k", lw=0.8, ls=":")
    a.set_ylim(-1.05, 1.05)
    a.set_ylabel(r"$s_k=\cos(m_k, y)$")
    a2.set_ylabel(r"$|m_k|$")
    a.set_xlabel("t")
    a.set_title(r"(a) $s_k$ (solid), $|m_k|$ (dashed), $e^{-\lambda t}$ (dotted)")
    a.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.14))  # under the axes: off the data
    ks = reg.ks
    b.plot(ks, reg.radius_vs_k, "o", label="integrated")
    b.plot(ks, reg.radius_vs_k_closed_form, "-", lw=1, label="closed form")
    b.set_xlabel("aligned slots K")
    b.set_ylabel(r"$|y|$ at equilibrium")
    b.set_title("(b) slots raise the set-point radius")
    b.legend(fontsize=8)
    c.plot(ks, reg.abscissa_vs_k, "o", color="C0", label=r"spectral abscissa, $\kappa>0$ (Newton+autograd)")
    c.plot(ks, reg.abscissa_vs_k_closed_form, "-", color="C0", lw=1, label="closed form")
    c.plot(ks, reg.growth_no_homeostasis, "s", color="C3", label=r"growth rate of $|y|$, $\kappa=0$")
    c.plot(ks, reg.growth_no_homeostasis_closed_form, "-", color="C3", lw=1)
    c.axhline(0, color="k", lw=0.6)
    c.axvline(reg.k_critical, color="C3", lw=0.8, ls=":", label=r"$K_{crit}$ ($\kappa=0$)")
    c.set_xlabel("slots K")
    c.set_ylabel("rate")
    c.set_title("(c) too many slots")
    c.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    e.loglog(reg.lams, reg.deviation_vs_lam, "o-", label="max |y_slots - y_memory-free|")
    e.loglog(reg.lams, reg.deviation_vs_lam[-1] * reg.lams[-1] / reg.lams, "k--", lw=0.8, label=r"$\propto 1/\lambda$")
    e.set_xlabel(r"slot decay $\lambda$")
    e.set_ylabel("max distance to the memory-free y(t)")
    e.set_title("(d) heavy decay: stateless")
    e.legend(fontsize=8)
    return fig
