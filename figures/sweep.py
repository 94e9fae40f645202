"""IRR, ESRI, RDP and W_r statistics versus gamma for a trained sweep (thin: no numerics)."""

from __future__ import annotations

from ._style import new_figure, panel_letters

__all__ = ["plot_sweep", "plot_seed_sweep"]


def plot_sweep(rows: list[dict]):
    """2×3 panels vs gamma from :func:`fhrn_ode.analysis.sweeps.sweep_report` rows; paper marks dashed."""
    fig, axes = new_figure(11, 6.2, nrows=2, ncols=3, constrained_layout=True)
    g = [r["gamma"] for r in rows]
    panels = [("irr", "IRR"), ("esri", "ESRI"), ("rdp_frequency", "RDP peak f (cycles/token)"),
              ("wr_spectral_norm", "|W_r|_2"), ("wr_effective_rank", "eff. rank W_r"),
              ("val_loss", "val loss (nats/byte)")]
    for ax, (key, label) in zip(axes.flat, panels):
        ax.plot(g, [r.get(key) if r.get(key) is not None else float("nan") for r in rows], "o-", label="ours")
        ax.set_xlabel("gamma")
        ax.set_ylabel(label)
        ax.axvspan(0.10, 0.20, color="0.9", zorder=0, label="paper: reflective band")
    axes[0, 1].axhline(0.0, ls="--", c="k", lw=0.8, label="paper: ~0")
    axes[0, 2].axhline(0.225, ls="--", c="k", lw=0.8, label="paper: 0.225")
    axes[0, 2].set_ylim(0, 0.5)
    if rows and rows[0].get("unigram_nats") is not None:
        axes[1, 2].axhline(rows[0]["unigram_nats"], ls=":", c="C3", label="unigram baseline")
    for ax in axes.flat:
        ax.legend(fontsize=8)
    fig.suptitle("FH-RL Tiny-GPT gain sweep vs the paper's claims")
    return fig


def plot_seed_sweep(rows: list[dict], stability: list[dict] | None = None, paired: list[dict] | None = None):
    """Mean ± standard error per gain (error bars) with every seed as a dot, from seed-aggregated rows.

    ``rows``: :func:`fhrn_ode.analysis.sweeps.seed_sweep_report` rows (``<key>_mean``, ``<key>_sem``,
    ``<key>_values``). ``stability``: optional per-gain rows of
    :func:`fhrn_ode.analysis.trained.sweep_stability` (fraction of contexts stable), a panel.
    ``paired``: optional :func:`fhrn_ode.analysis.sweeps.paired_tests` rows, a panel of the per-seed
    differences of the validation loss from gamma = 0 (mean ± SE, each seed a dot).
    """
    import numpy as np

    panels = [("val_loss", "val loss (nats/byte)"), ("irr", "IRR"), ("esri", "ESRI"),
              ("rdp_frequency", "RDP peak f (cycles/token)"), ("rdp_strength", "RDP peak strength"),
              ("wr_spectral_norm", "|W_r|_2"), ("wr_effective_rank", "eff. rank W_r")]
    gain_rows = [t for t in (paired or []) if isinstance(t["gamma"], float) and t["n"]]
    if gain_rows:
        panels.insert(1, ("paired", "Δ val loss vs γ=0, same seed"))
    if stability:
        op = stability[0].get("operator", "-I + gamma g(|y|) W*")
        panels.append(("fraction_stable", f"fraction stable under\n{op}"))
    ncols = min((4, 3, 5), key=lambda c: (-(-len(panels) // c) * c - len(panels), -c))  # fewest empty slots
    nrows = -(-len(panels) // ncols)
    fig, axes = new_figure(3.2 * ncols, 3.0 * nrows, nrows=nrows, ncols=ncols, constrained_layout=True)
    axes = np.atleast_1d(axes).ravel()
    for ax, (key, label) in zip(axes, panels):
        if key == "paired":  # rows of paired_tests: diff / diff_sem / diff_values
            src = [{"gamma": t["gamma"], "paired_mean": t["diff"], "paired_sem": t["diff_sem"],
                    "paired_values": t["diff_values"]} for t in gain_rows]
            ax.axhline(0.0, ls=":", c="k", lw=0.8, label="no change from γ=0")
        else:
            src = stability if key == "fraction_stable" else rows
        g = np.array([r["gamma"] for r in src], float)
        mean = np.array([np.nan if r.get(f"{key}_mean") is None else r[f"{key}_mean"] for r in src], float)
        sem = np.array([0.0 if r.get(f"{key}_sem") is None else r[f"{key}_sem"] for r in src], float)
        for gg, r in zip(g, src):
            vals = r.get(f"{key}_values") or []
            ax.plot([gg] * len(vals), vals, ".", c="0.6", ms=4, zorder=1)
        ax.errorbar(g, mean, yerr=sem, fmt="o-", c="C0", capsize=3, zorder=2, label="mean ± SE over seeds")
        ax.axvspan(0.10, 0.20, color="0.92", zorder=0, label="paper: reflective band")
        ax.set_xlabel("gamma")
        ax.set_ylabel(label)
    ax_of = {k: a for (k, _), a in zip(panels, axes)}
    ax_of["esri"].axhline(0.0, ls="--", c="k", lw=0.8, label="paper: ~0")
    ax_of["rdp_frequency"].axhline(0.225, ls="--", c="k", lw=0.8, label="paper: 0.225")
    ax_of["rdp_frequency"].set_ylim(0, 0.5)
    if "fraction_stable" in ax_of:
        ax_of["fraction_stable"].set_ylim(top=1.01)
        ax_of["fraction_stable"].axhline(1.0, ls=":", c="k", lw=0.8, label="every context stable")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    lim = axes[0].get_xlim()
    for ax in axes[:len(panels)]:
        ax.set_xlim(lim)  # the paired panel has no gamma = 0 point: same gamma axis as the others
        ax.legend(fontsize=8)
    panel_letters(axes[:len(panels)])
    n = sorted({r["n"] for r in rows})
    fig.suptitle(f"FH-RL Tiny-GPT gain sweep: mean ± SE over {n[0]}-{n[-1]} seeds per gain (grey: each seed)"
                 if len(n) > 1 else (f"FH-RL Tiny-GPT gain sweep: mean ± SE over {n[0]} seeds per gain (grey: each seed)"
                                     if n[0] > 1 else "FH-RL Tiny-GPT gain sweep: one seed per gain (no error bars)"))
    return fig
