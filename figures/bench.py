"""Scaling figure of the integrate bench: seconds vs N (d = 2) and vs d (N = 256), log-log (no numerics).

Drawn by ``fhrn-ode bench --plot`` from the rows of the same run (the JSON written next to the
figure); see docs/performance.md.
"""

from __future__ import annotations

import math
import re

from ._style import new_figure, panel_letters

__all__ = ["plot_bench_scaling", "scaling_series"]

_SIZE = re.compile(r"^integrate/d(\d+)_n(\d+)/vs_(\w+)$")
#: baseline key in the row name -> legend label
PEERS = {
    "vectorised": "scipy solve_ivp RK45, one stacked call",
    "diffrax": "diffrax Dopri5, jax.jit (run only)",
    "torchode": "torchode Dopri5 (eager)",
    "torchdiffeq": "torchdiffeq dopri5 (plain)",
    "loop": "scipy solve_ivp, one call per state",
}


def scaling_series(rows: list[dict]) -> dict[str, dict[tuple[int, int], float]]:
    """``{"ours": {(d, n): s}, "<peer>": {...}, "matmul": {...}}`` from integrate rows (t1 = 20 only)."""
    out: dict[str, dict[tuple[int, int], float]] = {"ours": {}, "matmul": {}}
    for r in rows:
        m = _SIZE.match(str(r.get("name", "")))
        if not m or r.get("error") or r.get("t1") not in (None, 20.0) or r.get("device", "cpu") != "cpu":
            continue
        d, n, peer = int(m.group(1)), int(m.group(2)), m.group(3)
        if r.get("ours_s") is not None:
            out["ours"][(d, n)] = float(r["ours_s"])
        if r.get("matmul_floor_s") is not None:
            out["matmul"][(d, n)] = float(r["matmul_floor_s"])
        if r.get("baseline_s") is not None and peer in PEERS:
            out.setdefault(peer, {})[(d, n)] = float(r["baseline_s"])
    return out


def plot_bench_scaling(rows: list[dict], *, note: str = ""):
    """Two log-log panels: wall seconds vs N at d = 2 and vs d at N = 256, ours and every peer.

    The right panel also shows the matmul floor (``nfe`` x one float64 ``(N, d) @ (d, d)`` product,
    measured in the same run), with the d = 192 point marked: no solver of this field can go below it.
    """
    series = scaling_series(rows)
    fig, axes = new_figure(10, 5.0, ncols=2, constrained_layout=True)
    styles = {"ours": dict(c="k", marker="o", lw=2.0, label="ours: fhrn_ode.integrate (dopri5)")}
    for i, (peer, label) in enumerate(PEERS.items()):
        styles[peer] = dict(c=f"C{i}", marker="s^vDx"[i], lw=1.2, label=label)
    panels = [(axes[0], lambda key: key[0] == 2, lambda key: key[1], "states N (d = 2)", "seconds vs N, d = 2"),
              (axes[1], lambda key: key[1] == 256, lambda key: key[0], "state dimension d (N = 256)",
               "seconds vs d, N = 256")]
    for ax, keep, xof, xlabel, title in panels:
        for name in ["ours", *PEERS]:
            pts = sorted((xof(k), v) for k, v in series.get(name, {}).items() if keep(k) and v > 0)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], **styles[name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("wall time [s], best of k")
        ax.set_title(title)
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
    mm = sorted((k[0], v) for k, v in series["matmul"].items() if k[1] == 256 and v > 0)
    if mm:
        axes[1].plot([p[0] for p in mm], [p[1] for p in mm], ls="--", c="0.4", lw=1.0,
                     label="matmul floor: nfe x (N,d)@(d,d)")
        d192 = [v for d, v in mm if d == 192]
        if d192:
            axes[1].axhline(d192[0], ls=":", c="0.4", lw=0.8)
            axes[1].text(0.02, d192[0], f"matmul limit at d = 192: {d192[0]:.2g} s", fontsize=8, color="0.3",
                         transform=axes[1].get_yaxis_transform(), va="bottom")  # above the dotted line, left
    handles, labels = {}, []
    for ax in axes:  # one legend for both panels, under them: no series hidden behind it
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=3, fontsize=8)
    panel_letters(axes)
    title = "FHRN ring field, dopri5 rtol 1e-7 / atol 1e-9, t1 = 20, 401 saved times"
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=9)
    if not any(math.isfinite(v) for s in series.values() for v in s.values()):
        axes[0].text(0.5, 0.5, "no integrate rows at t1 = 20", transform=axes[0].transAxes, ha="center")
    return fig
