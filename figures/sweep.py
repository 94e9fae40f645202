"""IRR, ESRI, RDP and W_r statistics versus gamma for a trained sweep (thin: no numerics)."""

from __future__ import annotations

from ._style import new_figure

__all__ = ["plot_sweep"]


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
        ax.legend(fontsize=7)
    fig.suptitle("FH-RL Tiny-GPT gain sweep vs the paper's claims")
    return fig
