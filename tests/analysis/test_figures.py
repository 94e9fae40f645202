"""Paper-figure data (analysis/paper.py), phase portraits, `fhrn-ode figures|map|stability|lyapunov`."""

import json

import numpy as np
import pytest

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.analysis import paper, phase_portrait, project
from fhrn_ode.cli import main
from fhrn_ode.operators import make_operator

R = 8  # reduced resolution


def _finite(a):
    return np.all(np.isfinite(np.asarray(a, dtype=float)))


def test_figure_data_shapes_and_finite():
    for kind in ("antisym", "sym", "mixed"):
        d = paper.fig2_data(kind, resolution=R)
        P = d.portrait
        assert P.U.shape == P.V.shape == (R, R) and _finite(P.U) and _finite(P.trajectories)
        assert P.trajectories.shape[1:] == (6, 2) and len(P.nullclines) == 2
    b = paper.fig2b_data(resolution=R)
    assert b.map.spectral_abscissa.shape == (2 * R, 2 * R) and _finite(b.map.spectral_abscissa)
    assert b.rho_at_ring < 0 and b.zero_contour_radius < b.ring_radius
    assert b.profile_r.shape == b.profile_rho.shape and _finite(b.profile_rho)
    a3 = paper.fig3a_data(resolution=R)
    assert a3.V.shape == (2 * R, 2 * R) and _finite(a3.V) and a3.trajectory.shape[1] == 2
    b3 = paper.fig3b_data(resolution=R)
    assert b3.traces.radius.shape[1] == len(paper.FIG3B_RADII) and _finite(b3.traces.radius)
    a4 = paper.fig4a_data(resolution=R)
    assert a4.surface.wr_crit.shape == (R, R) and _finite(a4.surface.wr_crit)
    b4 = paper.fig4b_data(resolution=R)
    assert b4.map.r_e.shape == (R, R) and b4.map.spectral_abscissa.shape == (3, R, R)
    assert _finite(b4.map.r_e) and _finite(b4.map.spectral_abscissa)
    with pytest.raises(FHRNInputError, match="resolution"):
        paper.fig4a_data(resolution=2)


def test_fig4_exact_data_is_the_exact_boundary_and_its_figure_only_plots():
    """fig4_exact: the continued Hopf curve of J_4 (M19) is |W_r|_crit = 1/(gamma |g| rho(W_hat)) (M23) at
    every beta it reaches, 1/rho(W_hat) times the small-gain line (M21); the figure draws that data."""
    from fhrn_ode.analysis import fig4_exact_data, wr_crit_small_gain
    from fhrn_ode.figures.continuation import plot_fig4_exact
    from fhrn_ode.spectrum import spectral_abscissa

    d = paper.FIGURE_DATA["fig4_exact"](resolution=R)
    c = d.curve
    assert c.kind == "hopf" and c.status == "success" and len(c) > 5 and c.p2[0] == 0.0 and c.p2.max() > 4.5
    assert d.rho_W_hat == pytest.approx(float(spectral_abscissa(make_operator("mixed", 2, seed=0))))
    np.testing.assert_allclose(c.p * d.rho_W_hat, wr_crit_small_gain(1.0, c.p2, 1.1), rtol=1e-10)
    np.testing.assert_allclose(d.small_gain, wr_crit_small_gain(1.0, d.betas, 1.1), rtol=0)
    assert d.params == dict(operator="mixed d=2", operator_seed=0, gamma=1.0, radius=1.1, rho_W_hat=d.rho_W_hat)
    fig = plot_fig4_exact(d)
    lines = fig.axes[0].get_lines()
    assert np.array_equal(lines[0].get_xdata(), c.p2) and np.array_equal(lines[-1].get_ydata(), d.small_gain)
    with pytest.raises(FHRNInputError, match="resolution"):
        fig4_exact_data(resolution=3)


def test_phase_portrait_on_plane_and_project_unchanged():
    W = make_operator("random", 4, seed=0)
    B = np.zeros((4, 2)); B[0, 0] = B[2, 1] = 1.0  # noqa: E702
    P = phase_portrait(W, extent=1.0, n=6, n_traj=2, n_points=20, basis=B)
    assert P.U.shape == (6, 6) and P.trajectories.shape == (20, 2, 2)
    # nullcline points are zeros of the projected field (up to grid interpolation)
    pr = project(np.random.default_rng(0).standard_normal((5, 3)))
    assert pr.coords.shape == (5, 2) and pr.kind == "pca"


def test_figures_cli_end_to_end(tmp_path, capsys):
    rc = main(["figures", "--out", str(tmp_path), "--resolution", "8", "--json"])
    assert rc == 0
    man = json.loads(capsys.readouterr().out)
    assert set(man["figures"]) >= {"fig2a", "fig2b", "fig2c", "fig2d", "fig3a", "fig3b", "fig4a", "fig4b"}
    assert {"dyn_fixed_points", "dyn_exponents", "dyn_bifurcation"} <= set(man["figures"])
    for name, m in man["figures"].items():
        assert (tmp_path / f"{name}.png").stat().st_size > 0 and (tmp_path / f"{name}.pdf").stat().st_size > 0
        assert "our choice" in m["caption"] and m["params"]
    assert json.loads((tmp_path / "manifest.json").read_text()) == man
    assert main(["figures", "--out", str(tmp_path / "x"), "--only", "fig4a,nope", "--resolution", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_map_cli(tmp_path, capsys):
    assert main(["map", "--grid", "12", "--extent", "1.5", "--out", str(tmp_path), "--json", "--gamma", "2"]) == 0
    s = json.loads(capsys.readouterr().out)
    z = np.load(tmp_path / "map.npz")
    assert z["y1"].shape == (12,) and z["spectral_abscissa"].shape == (12, 12)
    assert (tmp_path / "map.png").exists() and s["method"] == "closed-form-2x2"
    from fhrn_ode.analysis import fhrn_jacobian
    from fhrn_ode.field import FHRNField
    from fhrn_ode.params import FHRNParams

    f = FHRNField(z["W"], FHRNParams(gamma=2.0))
    i, j = 3, 9
    J = fhrn_jacobian(f, [z["y1"][j], z["y2"][i]]).numpy()[0]
    assert abs(z["spectral_abscissa"][i, j] - np.linalg.eigvals(J).real.max()) < 1e-10
    assert main(["map", "--wr", "random", "--dim", "4", "--plane", "pca", "--grid", "6", "--out",
                 str(tmp_path / "p"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plane"] == "pca"
    for bad, what in ((["--plane", "0,7"], "plane"), (["--grid", "1"], "grid"), (["--extent", "0"], "extent"),
                      (["--wr", "nope"], "wr")):
        assert main(["map", "--out", str(tmp_path / "b"), *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0]


def test_stability_cli(capsys):
    assert main(["stability", "--gamma", "1", "--beta", "0.5", "--radius", "1.1", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["wr_norm_critical_small_gain"] == pytest.approx(1.105)
    assert main(["stability", "--gamma", "1", "--beta", "0.5", "--radius", "1.1", "--wr", "random", "--dim", "8",
                 "--seed", "1", "--wr-scale", "1.5", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["stable"] is True and s["stable_small_gain"] is False and s["r_e"] == pytest.approx(1.5 / 1.105)
    for bad, what in ((["--gamma", "-1", "--beta", "0", "--radius", "1"], "gamma"),
                      (["--gamma", "1", "--beta", "2", "--radius", "0.7071067811865476"], "pole")):
        assert main(["stability", *bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0]


def test_lyapunov_cli(tmp_path, capsys):
    assert main(["lyapunov", "--radii", "0.3,1.5", "--t1", "1", "--n-points", "51", "--out", str(tmp_path),
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["status"] == "success" and rep["violations"]["count"] > 0
    z = np.load(tmp_path / "lyapunov.npz")
    assert z["V"].shape == (51, 2) and (tmp_path / "lyapunov.png").exists()
    assert json.loads((tmp_path / "report.json").read_text())["violations"] == rep["violations"]
    assert main(["lyapunov", "--radii", "a,b", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "radii" in err[0]


def test_project_leaves_stopped_trajectories_out_of_the_fit():
    """A diverged trajectory is NaN after its stop time (docs/failure-modes.md): its NaN rows project to
    NaN and the PCA is that of the finite states alone; infinite values are still refused."""
    from fhrn_ode.analysis.phase import project
    from fhrn_ode import FHRNInputError

    rng = np.random.default_rng(0)
    Y = rng.standard_normal((30, 4, 5)) * np.array([5.0, 2.0, 0.1, 0.1, 0.1])
    with_nan = Y.copy()
    with_nan[20:, 1] = np.nan
    finite = np.concatenate([Y[:20].reshape(-1, 5), np.delete(Y[20:], 1, axis=1).reshape(-1, 5)])
    p_nan, p_ref = project(with_nan), project(finite)
    np.testing.assert_allclose(np.abs(p_nan.basis), np.abs(p_ref.basis), atol=1e-12)
    assert np.isnan(p_nan.coords[20:, 1]).all() and np.isfinite(p_nan.coords[:20]).all()
    with_nan[0, 0, 0] = np.inf
    with pytest.raises(FHRNInputError, match="finite or NaN"):
        project(with_nan)


def test_integrate_cli_plots_trajectories_stopped_at_the_pole(tmp_path, capsys):
    """The gain pole on the ring (kappa 2, beta 2): every trajectory stops on its own; phase.png is drawn."""
    import json

    out = tmp_path / "pole"
    assert main(["integrate", "--wr", "antisym", "--kappa", "2", "--beta", "2", "--t1", "10", "--out", str(out),
                 "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["status"] == "diverged" and all(s["diverged"]) and (out / "phase.png").stat().st_size > 0
    assert all(0 < t <= 10 for t in s["t_diverged"])


# --- every figure the commands write: legends >= 8 pt, nothing outside the canvas (figures/_style.py) ---

def _tiny_sweep(root):
    from fhrn_ode.discrete.checkpoint import save_checkpoint
    from fhrn_ode.discrete.model import GPTConfig, TinyGPT

    for g in (0.0, 0.2):
        save_checkpoint(TinyGPT(GPTConfig(d=16, n_layer=2, n_head=2, context=10, rank=3, gamma=g, seed=1)),
                        root / f"gamma_{g}")
    return root


FIGURE_COMMANDS = {
    "integrate": ["integrate", "--t1", "2", "--n-init", "3", "--n-points", "50"],
    "integrate_d8": ["integrate", "--wr", "random", "--dim", "8", "--t1", "5", "--n-init", "3", "--n-points", "200"],
    "map": ["map", "--grid", "12"],
    "lyapunov": ["lyapunov", "--t1", "2", "--n-points", "60"],
    "fixed-points": ["fixed-points", "--wr", "mixed", "--n-starts", "8"],
    "exponents": ["exponents", "--t1", "4", "--n-init", "2", "--dt", "0.5", "--t-transient", "1"],
    "check": ["check", "{sweep}", "--contexts", "4"],
    "check_one": ["check", "{sweep}/gamma_0.2", "--contexts", "4"],
    "sweep-report": ["sweep-report", "--bundled", "quick"],
    "figures": ["figures", "--only", "fig2a,fig2b,fig3a,fig4b,fig4_exact", "--resolution", "8", "--no-progress"],
    "claims": ["claims", "--quick", "--no-progress"],
    "halting": ["halting", "reference", "--contexts", "2", "--gammas", "0", "0.5"],
    "saliency": ["saliency", "--kappa", "5"],
    "slots": ["slots", "--t1", "3", "--ks", "0,1", "--lams", "1,10"],
    "bifurcation": ["bifurcation", "--param", "kappa", "--range", "0.7:1.4:2", "--n-init", "1", "--n-starts", "8"],
    "continue": ["continue", "--param", "kappa", "--start", "0.2", "--range", "0:3"],
    "bench": ["bench", "--plot", "{out}/bench.png", "--from-json", "{root}/docs/img/bench_scaling.json"],
}


@pytest.mark.parametrize("name", list(FIGURE_COMMANDS))
def test_saved_figures_are_legible_and_unclipped(name, tmp_path, monkeypatch, capsys):
    import fhrn_ode._io as io
    from fhrn_ode.figures._style import figure_problems

    seen = {}
    real = io.atomic_savefig

    def checking_savefig(fig, path, **kw):
        seen[str(path)] = figure_problems(fig)
        return real(fig, path, **kw)

    monkeypatch.setattr(io, "atomic_savefig", checking_savefig)
    import fhrn_ode.figures.paper as paper_figs

    monkeypatch.setattr(paper_figs, "atomic_savefig", checking_savefig)  # imported at its module's top
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    argv = [a.replace("{sweep}", str(tmp_path / "sw")).replace("{root}", str(root)).replace("{out}", str(out))
            for a in FIGURE_COMMANDS[name]]
    if "{sweep}" in " ".join(FIGURE_COMMANDS[name]):
        _tiny_sweep(tmp_path / "sw")
    if "{out}" in " ".join(FIGURE_COMMANDS[name]):  # a command without --out (bench --plot PNG)
        out.mkdir()
    else:
        argv += ["--out", str(out)]
    assert main(argv) in (0, 1)
    capsys.readouterr()
    assert seen, f"{name} saved no figure"
    bad = {p: v for p, v in seen.items() if v}
    assert not bad, bad


def test_figure_problems_catches_small_legends_and_clipped_text():
    import matplotlib.pyplot as plt

    from fhrn_ode.figures._style import figure_problems, new_figure

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], label="tiny")
    ax.legend(fontsize=6)
    ax.set_ylabel("a label pushed out", labelpad=200)
    probs = figure_problems(fig)
    assert any("6 pt < 8" in p for p in probs) and any("outside the canvas" in p for p in probs)
    plt.close(fig)
    fig, ax = new_figure(3, 2)
    ax.plot([0, 1], label="fine")
    ax.legend()
    ax.set_ylabel("a label")
    assert figure_problems(fig) == []
    plt.close(fig)
