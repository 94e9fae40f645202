"""Trained models against the stability bounds (``check``'s figures, docs/model.md §5). Thin: no numerics.

Every number plotted comes from :func:`fhrn_ode.analysis.trained.check_trained` (its per-context
``ContextChecks`` and per-layer summaries): the same ``g``, ``|W*|_2`` and radius as the verdict, so
no marker can contradict it. The operator is the primary verdict's, ``-I + gamma W*`` (the loop's own
linearization; the paper's ``-I + gamma g W*`` is in the JSON as ``paper_criterion``). By the small-gain
theorem ``rho(-I + c W*) <= -1 + c |W*|_2 = r_e - 1``, so a context with ``r_e < 1`` is stable; an "x"
(unstable context) can only sit above ``r_e = 1``. The figure's verdict is its title.
"""

from __future__ import annotations

import numpy as np

from ._style import apply_style, new_figure, panel_letters

__all__ = ["plot_stability_map", "plot_gain_margin"]

_LAYER_COLORS = ("C0", "C1", "C2", "C4", "C5", "C6")


def _ctx(c) -> dict:
    get = c.get if isinstance(c, dict) else (lambda k: getattr(c, k))
    return {k: np.asarray(get(k)) for k in ("layer", "r_e", "spectral_abscissa", "stable")}


def _symlog(ax, axis: str, values) -> None:
    """Symlog with the linear range down to the smallest positive value's decade (at most 1)."""
    v = np.abs(np.asarray(values, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    lin = 1e-3 if v.size == 0 else 10.0 ** np.floor(np.log10(max(1e-8, min(1.0, float(np.min(v))))))
    (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog", linthresh=lin)


def _verdict(results: list) -> tuple[str, bool]:
    n = sum(r["n_contexts"] for r in results)
    frac = sum(r["fraction_stable"] * r["n_contexts"] for r in results) / max(n, 1)
    ok = all(r["stable"] for r in results)
    word = "STABLE" if ok else "NOT stable"
    return f"{word} at {100 * frac:.1f}% of {n} contexts (-I + gamma W*)", ok


def plot_stability_map(results: list, contexts: list):
    """Left: ``r_e = gamma |W*|_2`` of every context, per model (gain) and layer, against the
    small-gain bound ``r_e = 1``; right: the exact spectral abscissa ``rho(-I + gamma W*)`` against
    ``r_e`` with the bound ``rho <= r_e - 1``. Marker: o = stable context (rho < 0), x = unstable.
    The verdict (all contexts) is the figure's title; axes are linear unless a value exceeds 10 in size.

    Args:
        results: per model the dict of ``check_trained(...).to_dict()`` (``gamma``, ``beta``, ``per_layer``).
        contexts: per model its ``ContextChecks`` (or a dict of the same arrays), same order.
    """
    apply_style()
    fig, (ax, bx) = new_figure(10.0, 4.8, ncols=2)
    labels, ticks = [], []
    all_re = []
    n_layers = max(len(r["per_layer"]) for r in results)
    width = 0.7 / max(n_layers, 1)
    for i, (r, c) in enumerate(zip(results, contexts)):
        c = _ctx(c)
        for j, lc in enumerate(r["per_layer"]):
            s = c["layer"] == lc["layer"]
            x0 = i + (j - (n_layers - 1) / 2) * width
            jit = x0 + (np.linspace(-0.3, 0.3, int(s.sum())) * width if s.sum() > 1 else np.zeros(int(s.sum())))
            col = _LAYER_COLORS[j % len(_LAYER_COLORS)]
            st = c["stable"][s].astype(bool)
            re, rho = c["r_e"][s], c["spectral_abscissa"][s]
            ax.plot(jit[st], re[st], "o", ms=3, mfc="none", color=col, alpha=0.8, clip_on=False)
            ax.plot(jit[~st], re[~st], "x", ms=4, color="C3")
            ax.plot([x0 - 0.4 * width, x0 + 0.4 * width], [lc["r_e_median"]] * 2, "-", color="k", lw=1.2)
            bx.plot(re[st], rho[st], "o", ms=3, mfc="none", color=col, alpha=0.8)
            bx.plot(re[~st], rho[~st], "x", ms=4, color="C3")
            all_re.append(re)
            ticks.append(x0)
            labels.append(f"L{lc['layer']}")
        ax.text(i, 1.01, f"$\\gamma$={r['gamma']:g}", transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=8)
    re_all = np.concatenate(all_re)
    ax.axhline(1.0, color="k", ls="--", lw=1.0, label="r_e = 1 (below: stable by small gain)")
    ax.plot([], [], "o", mfc="none", color="0.4", ms=3, label="stable context")
    ax.plot([], [], "x", color="C3", label="unstable context")
    ax.plot([], [], "-", color="k", lw=1.2, label="median over contexts")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    _symlog(ax, "y", re_all)
    ax.set_ylim(bottom=0.0, top=max(10.0, float(np.nanmax(re_all)) * 30))
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlim(-0.6, len(results) - 0.4)
    ax.set_ylabel("r_e = gamma |W*|_2 per context")
    betas = sorted({r["beta"] for r in results})
    ax.set_title(f"small-gain ratio per context (beta = {', '.join(f'{b:g}' for b in betas)})", pad=18)
    # right: exact vs small gain; every point lies on or below rho = r_e - 1
    hi = max(1.5, float(np.nanmax(re_all)) * 1.2)
    xs = np.concatenate([np.linspace(0, 1.5, 50), np.geomspace(1.5, hi, 100)])
    bx.plot(xs, xs - 1.0, "k--", lw=1.0, label="rho = r_e - 1 (bound)")
    bx.axhline(0.0, color="C3", lw=0.8, label="rho = 0 (stability boundary)")
    bx.axvline(1.0, color="0.5", lw=0.8, ls=":", label="r_e = 1")
    rho_all = np.concatenate([_ctx(c)["spectral_abscissa"] for c in contexts])
    if float(np.nanmax(re_all)) > 10.0 or float(np.nanmax(np.abs(rho_all))) > 10.0:
        bx.set_xscale("symlog", linthresh=1.0)
        bx.set_yscale("symlog", linthresh=1.0)
        bx.set_xlim(left=0.0)
        scale = "symlog, linear below 1"
    else:  # linear: the points near rho = -1 stay apart
        x_hi = max(1.1, float(np.nanmax(re_all)) * 1.1)
        bx.set_xlim(0.0, x_hi)
        lo = float(np.nanmin(rho_all))
        bx.set_ylim(lo - 0.05 * (x_hi - lo), max(0.15, x_hi - 1.0))
        scale = "linear"
    for j in range(n_layers):
        bx.plot([], [], "o", mfc="none", color=_LAYER_COLORS[j % len(_LAYER_COLORS)], label=f"layer {j}, stable")
    bx.plot([], [], "x", color="C3", label="unstable context")
    bx.set_xlabel(f"r_e (small gain; {scale})")
    bx.set_ylabel(f"rho(-I + gamma W*) (exact; {scale.split(',')[0]})")
    bx.set_title("exact spectral abscissa vs r_e")
    bx.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    text, ok = _verdict(results)
    fig.suptitle(f"check: {text}", color="tab:green" if ok else "tab:red")
    panel_letters((ax, bx))
    return fig


def plot_gain_margin(results: list):
    """Per layer vs the gain gamma: exact margin ``-rho(-I + gamma W*)`` (worst and median context)
    and small-gain margin ``1 - max r_e``; symlog axes (linear in [-1, 1]) when a margin is below -1 or above 10,
    so a margin of -120 and one of 0.99 are both readable; linear otherwise. One model: the layers are
    the x axis (a gain axis with one point says nothing). The verdict is the title."""
    if len(results) == 1:
        return _layer_margin(results[0])
    apply_style()
    fig, (ax, bx) = new_figure(10.0, 3.8, ncols=2)
    n_layers = max(len(r["per_layer"]) for r in results)
    gammas = [r["gamma"] for r in results]
    pos = np.arange(len(results))
    vals_a, vals_b = [], []
    for L in range(n_layers):
        col = _LAYER_COLORS[L % len(_LAYER_COLORS)]
        rows = [(k, r["per_layer"][L]) for k, r in enumerate(results) if L < len(r["per_layer"])]
        x = [pos[k] for k, _ in rows]
        worst = [lc["worst_margin"] for _, lc in rows]
        med = [lc["median_margin"] for _, lc in rows]
        sg = [1.0 - lc["r_e"] for _, lc in rows]
        ax.plot(x, worst, "o-", color=col, label=f"layer {L}: worst context")
        ax.plot(x, med, "s:", color=col, mfc="none", label=f"layer {L}: median context")
        bx.plot(x, sg, "^--", color=col, label=f"layer {L}: 1 - max r_e")
        vals_a += worst + med
        vals_b += sg
    for a, vals, title in ((ax, vals_a, "exact margin -rho(-I + gamma W*)"),
                           (bx, vals_b, "small-gain margin 1 - max r_e")):
        a.axhline(0.0, color="k", lw=0.8)
        v = np.asarray(vals, dtype=float)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        if lo < -1.0 or hi > 10.0:  # a margin of -120 next to 0.99: symlog (linear in [-1, 1])
            a.set_yscale("symlog", linthresh=1.0)
            a.set_ylim(min(-1.5, lo * 3), max(1.5, hi * 1.5 + 0.5))
        else:
            pad = 0.08 * max(hi - min(lo, 0.0), 1e-3)
            a.set_ylim(min(lo, 0.0) - pad, hi + pad)
        a.set_xticks(pos, [f"{g:g}" for g in gammas])
        a.set_xlabel("reentry gain gamma (one model each)")
        a.set_title(title)
        a.text(0.99, 0.02, "below 0: unstable / not certified", transform=a.transAxes, ha="right", fontsize=7,
               color="0.3")
        a.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    ax.set_ylabel(f"margin ({'symlog; ' if ax.get_yscale() == 'symlog' else ''}> 0 is stable)")
    text, ok = _verdict(results)
    fig.suptitle(f"check: {text}", color="tab:green" if ok else "tab:red")
    panel_letters((ax, bx))
    return fig


def _layer_margin(r: dict):
    """One model: per layer, the worst and median exact margin and the small-gain margin, side by side."""
    fig, ax = new_figure(6.0, 3.8)
    layers = [lc["layer"] for lc in r["per_layer"]]
    x = np.arange(len(layers))
    series = (("worst_margin", "exact margin, worst context", "o", "C0"),
              ("median_margin", "exact margin, median context", "s", "C1"))
    for k, (key, lab, m, col) in enumerate(series):
        ax.plot(x - 0.15 + 0.15 * k, [lc[key] for lc in r["per_layer"]], m, color=col, ms=7, label=lab)
    ax.plot(x + 0.15, [1.0 - lc["r_e"] for lc in r["per_layer"]], "^", color="C2", ms=7,
            label="small-gain margin 1 - max r_e")
    ax.axhline(0.0, color="k", lw=0.8)
    vals = [v for lc in r["per_layer"] for v in (lc["worst_margin"], lc["median_margin"], 1.0 - lc["r_e"])]
    if min(vals) < -1.0:
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xticks(x, [f"layer {L}" for L in layers])
    ax.set_xlim(-0.6, len(layers) - 0.4)
    ax.set_ylabel("margin (> 0 is stable / certified)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    text, ok = _verdict([r])
    ax.set_title(f"gamma = {r['gamma']:g}: {text}", color="tab:green" if ok else "tab:red", fontsize=10)
    return fig
