"""Stable-region check of trained W* (docs/model.md §5): analysis.trained and ``fhrn-ode check``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fhrn_ode import FHRNInputError
from fhrn_ode.analysis.stability import check_operator
from fhrn_ode.analysis.trained import check_contexts, check_trained, operator_split
from fhrn_ode.cli import main
from fhrn_ode.discrete.checkpoint import save_checkpoint
from fhrn_ode.discrete.model import GPTConfig, TinyGPT


def test_contracting_operator_is_stable_expanding_is_not():
    d = 6
    con = np.stack([0.5 * np.eye(d), -3.0 * np.eye(d)])
    res = check_trained(con, gamma=1.0, beta=0.0, radius=[1.0, 1.0], layer=[0, 0])
    assert res.stable and res.fraction_stable == 1.0
    assert res.spectral_abscissa == pytest.approx(-0.5, abs=1e-12)
    exp = np.stack([2.0 * np.eye(d)] * 3)
    bad = check_trained(exp, gamma=1.0, beta=0.0, radius=1.0)
    assert not bad.stable and bad.fraction_stable == 0.0
    assert bad.spectral_abscissa == pytest.approx(1.0, abs=1e-12) and bad.r_e == pytest.approx(2.0)
    assert "UNSTABLE" in bad.per_layer[0].verdict


def test_primary_is_gamma_w_star_and_paper_criterion_has_the_gain():
    """Primary: -I + gamma W* (check_operator with beta = 0, g = 1); paper: -I + gamma g(|y|) W*."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 8, 8)) / 2
    radius = np.array([0.8, 1.1, 1.4])
    cc = check_contexts(W, 0.7, 0.4, radius)
    for i in range(3):
        prim = check_operator(W[i], 0.7, 0.0, radius[i])
        assert cc.spectral_abscissa[i] == pytest.approx(prim.spectral_abscissa, abs=1e-10)
        assert cc.r_e[i] == pytest.approx(prim.r_e, rel=1e-12)
        ref = check_operator(W[i], 0.7, 0.4, radius[i])
        assert cc.paper_spectral_abscissa[i] == pytest.approx(ref.spectral_abscissa, abs=1e-10)
        assert cc.paper_r_e[i] == pytest.approx(ref.r_e, rel=1e-12)
        assert cc.gain[i] == pytest.approx(1 / (1 + 0.4 * (radius[i] ** 2 - 1)))


def test_gain_above_one_makes_the_paper_criterion_stricter_not_the_verdict():
    """rho(W) = 2, gamma = 0.4: -I + 0.4 W has abscissa -0.2 (stable); at |y| = 0.2, beta = 0.5 the
    paper's g = 1/(1 + 0.5 (0.04 - 1)) = 1/0.52 gives -1 + 0.8/0.52 = +0.538 (unstable)."""
    W = np.diag([2.0, -1.0, 0.5])[None]
    res = check_trained(W, gamma=0.4, beta=0.5, radius=0.2)
    assert res.stable and res.spectral_abscissa == pytest.approx(-0.2, abs=1e-12)
    assert res.operator == "-I + gamma W*"
    pc = res.paper_criterion
    assert not pc["stable"] and pc["spectral_abscissa"] == pytest.approx(-1 + 0.8 / 0.52, abs=1e-12)
    assert pc["operator"] == "-I + gamma g(|y|) W*" and res.per_layer[0].paper_criterion == pc
    assert res.r_e == pytest.approx(0.8) and pc["r_e"] == pytest.approx(0.8 / 0.52)


def test_non_normal_operator_stable_but_small_gain_fails():
    W = np.array([[-1.0, 5.0], [0.0, -1.0]])
    res = check_trained(W[None], gamma=1.0, beta=0.0, radius=1.0)
    assert res.stable and res.spectral_abscissa == pytest.approx(-2.0)
    assert res.r_e > 1 and res.fraction_small_gain == 0.0 and res.log_norm > 0
    assert res.contexts.henrici[0] > 0.5


def test_gamma_zero_is_minus_identity():
    W = 100.0 * np.eye(4)[None]
    res = check_trained(W, gamma=0.0, beta=0.5, radius=1.0)
    assert res.stable and res.spectral_abscissa == -1.0 and res.r_e == 0.0
    assert "gamma = 0" in res.per_layer[0].verdict


def test_bad_input():
    with pytest.raises(FHRNInputError, match="gain pole"):
        check_contexts(np.eye(2)[None], 1.0, 2.0, 0.1)
    with pytest.raises(FHRNInputError, match="shape \\(C, d, d\\)"):
        check_contexts(np.zeros((2, 3)), 1.0, 0.0, 1.0)


def test_operator_split():
    A = np.array([[0.0, 2.0], [-2.0, 0.0]])
    assert operator_split(A)["antisym_fraction"] == pytest.approx(1.0)
    assert operator_split(np.eye(2))["sym_fraction"] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    for g in (0.0, 0.2):
        save_checkpoint(TinyGPT(GPTConfig(d=16, n_layer=2, n_head=2, context=10, rank=3, gamma=g, seed=1)),
                        root / f"gamma_{g}")
    return root


def test_cli_check_sweep_json_and_figures(sweep, tmp_path, capsys):
    out = tmp_path / "chk"
    assert main(["check", str(sweep), "--contexts", "4", "--out", str(out), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert [m["gamma"] for m in obj["models"]] == [0.0, 0.2]
    m0, m1 = obj["models"]
    assert m0["spectral_abscissa"] == -1.0 and m0["r_e"] == 0.0 and m0["stable"]
    for key in ("stable", "spectral_abscissa", "spectral_abscissa_median", "r_e", "fraction_stable", "per_layer"):
        assert key in m1
    assert len(m1["per_layer"]) == 2 and 0 <= m1["per_layer"][0]["antisym_fraction"] <= 1
    assert (out / "check.json").is_file() and (out / "stability_map.png").is_file() and (out / "gain_margin.png").is_file()


def test_cli_check_single_and_integrate_hook(sweep, tmp_path, capsys):
    assert main(["check", str(sweep / "gamma_0.2"), "--contexts", "3"]) == 0
    assert "fhrn-ode check" in capsys.readouterr().out
    assert main(["integrate", "--wr", f"{sweep / 'gamma_0.2'}:1", "--gamma", "0.2", "--t1", "1", "--n-points", "5",
                 "--n-init", "2", "--no-plot", "--out", str(tmp_path / "i"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["dim"] == 16 and "layer1" in r["operator"]["name"]


@pytest.mark.parametrize("argv, msg", [
    (["/nonexistent/ckpt"], "does not exist"),
    (["--contexts", "-3"], "`--contexts` must be >= 1"),
])
def test_cli_check_bad_input(sweep, capsys, argv, msg):
    args = argv if argv[0].startswith("/") else [str(sweep), *argv]
    assert main(["check", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]


def test_cli_integrate_hook_bad_layer(sweep, tmp_path, capsys):
    assert main(["integrate", "--wr", f"{sweep / 'gamma_0.2'}:9", "--out", str(tmp_path / "i")]) == 2
    err = capsys.readouterr().err
    assert "layer index 9 is out of range" in err and "--layer" not in err
