"""The figures say what the verdicts say: check's markers, symlog margins, map/lyapunov/phase legends, 200 dpi + PDF."""

import json

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import TwoSlopeNorm

from fhrn_ode.analysis.trained import check_trained
from fhrn_ode.cli import main
from fhrn_ode.discrete.checkpoint import save_checkpoint
from fhrn_ode.discrete.model import GPTConfig, TinyGPT
from fhrn_ode.figures.trained import plot_gain_margin, plot_stability_map

matplotlib.use("Agg")


def _checks():
    rng = np.random.default_rng(0)
    out = []
    for gamma in (0.0, 0.5, 3.0):
        W = rng.standard_normal((40, 4, 4)) * np.geomspace(0.05, 5, 40)[:, None, None]
        chk = check_trained(W, gamma, 0.5, np.full(40, 0.8), np.repeat([0, 1], 20))
        out.append((chk.to_dict(), chk.contexts))
    return out


def test_stability_map_markers_follow_the_verdict():
    checks = _checks()
    fig = plot_stability_map([r for r, _ in checks], [c for _, c in checks])
    ax, bx = fig.axes[:2]
    n_unstable = sum(int((~c.stable).sum()) for _, c in checks)
    assert n_unstable > 0 and sum(int(c.stable.sum()) for _, c in checks) > 0
    xs = [ln for ln in ax.lines if ln.get_marker() == "x" and len(ln.get_ydata())]
    assert sum(len(ln.get_ydata()) for ln in xs) == n_unstable
    for ln in xs:  # small gain: r_e < 1 implies stable, so every x sits above r_e = 1
        assert np.all(np.asarray(ln.get_ydata()) > 1.0)
    for ln in bx.lines:  # exact vs small gain: rho <= r_e - 1 for every context
        if ln.get_marker() in ("o", "x") and len(ln.get_xdata()):
            x, y = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
            assert np.all(y <= x - 1 + 1e-9)
            assert np.all(y < 0) if ln.get_marker() == "o" else np.all(y >= 0)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["L0", "L1"] * 3
    assert {t.get_text() for t in ax.texts} >= {"$\\gamma$=0", "$\\gamma$=0.5", "$\\gamma$=3"}


def test_gain_margin_is_readable_with_a_huge_negative_margin():
    checks = _checks()
    res = [r for r, _ in checks]
    assert min(lc["worst_margin"] for r in res for lc in r["per_layer"]) < -10
    fig = plot_gain_margin(res)
    for a in fig.axes[:2]:
        assert a.get_yscale() == "symlog"
        lo, hi = a.get_ylim()
        ys = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in a.lines if len(ln.get_ydata()) > 1])
        assert lo < ys.min() and ys.max() < hi  # nothing clipped
        assert [t.get_text() for t in a.get_xticklabels()] == ["0", "0.5", "3"]


def test_check_writes_200_dpi_png_and_pdf(tmp_path, capsys):
    from PIL import Image

    torch.manual_seed(0)
    for g in (0.0, 0.3):
        save_checkpoint(TinyGPT(GPTConfig(d=8, n_layer=2, n_head=2, context=8, rank=2, gamma=g)),
                        tmp_path / "sw" / f"gamma_{g:.2f}")
    assert main(["check", str(tmp_path / "sw"), "--contexts", "4", "--out", str(tmp_path / "o"), "--json"]) == 0
    json.loads(capsys.readouterr().out)
    for name in ("stability_map", "gain_margin"):
        assert (tmp_path / "o" / f"{name}.pdf").stat().st_size > 1000
        dpi = Image.open(tmp_path / "o" / f"{name}.png").info["dpi"]
        assert dpi[0] == pytest.approx(200, abs=1)


def test_map_lyapunov_phase_figures(tmp_path):
    from fhrn_ode.analysis.lyapunov import lyapunov_traces
    from fhrn_ode.analysis.spectra import spectral_map
    from fhrn_ode.field import FHRNField
    from fhrn_ode.figures.maps import plot_lyapunov_traces, plot_spectral_map
    from fhrn_ode.figures.trajectories import plot_trajectories
    from fhrn_ode.operators import make_operator
    from fhrn_ode.params import FHRNParams, ring_radius

    W = make_operator("antisym", 2)
    p = FHRNParams()
    m = spectral_map(FHRNField(W, p), extent=2.0, n=40)
    fig = plot_spectral_map(m)
    ax = fig.axes[0]
    norm = ax.collections[0].norm
    assert isinstance(norm, TwoSlopeNorm) and norm.vcenter == 0.0
    assert any(t.get_text() == "rho = 0" for t in ax.texts)
    L = lyapunov_traces(W, [0.3, 1.5], params=p, t1=2.0, n_points=41, tol=0.0)
    r = ring_radius(p.kappa, p.theta, p.leak)
    fig = plot_lyapunov_traces(L, theta=p.theta, ring_radius=r, tol=0.0)
    a0, a1, a2 = fig.axes[:3]
    assert any(np.allclose(ln.get_ydata(), r) for ln in a0.lines)
    assert len(a1.lines) == 2 and np.allclose(a1.lines[0].get_ydata(), L.V[:, 0])
    red = [ln for ln in a2.lines if ln.get_marker() == "o"]
    assert len(red) == 1 and len(red[0].get_ydata()) == int((L.dVdt > 0).sum())
    fig = plot_trajectories(L.y, ring_radius=r)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["start y(0)", "end y(t1)"] and labels[2].startswith("ring r*")
