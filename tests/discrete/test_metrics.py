"""Reentry metrics (docs/model.md §4): IRR, ESRI, RDP and W_r statistics."""

import numpy as np
import pytest
import torch

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.analysis.metrics import drift, esri, irr, model_metrics, rdp, wr_stats
from fhrn_ode.discrete.model import GPTConfig, TinyGPT

SMALL = dict(d=24, n_layer=2, n_head=2, context=32, rank=3, sigma=0.1)


def _with_gamma(model, gamma):
    from dataclasses import replace
    m = TinyGPT(replace(model.cfg, gamma=gamma))
    m.load_state_dict(model.state_dict())
    return m


def test_irr_zero_at_gamma0_and_proportional_for_fixed_weights():
    base = TinyGPT(GPTConfig(gamma=0.0, **SMALL))
    with torch.no_grad():  # make y non-negligible so the feedback matters
        for layer in base.fhrl_layers:
            for w in (layer.W_q, layer.W_k, layer.W_v):
                w.mul_(3.0)
    assert model_metrics(base, n_seq=4).irr == 0.0
    vals = {g: model_metrics(_with_gamma(base, g), n_seq=4).irr for g in (1e-3, 2e-3, 0.2)}
    assert vals[1e-3] > 0
    assert vals[2e-3] / vals[1e-3] == pytest.approx(2.0, rel=1e-2)  # linear in gamma at small gain
    assert vals[0.2] > vals[2e-3]


def test_irr_definition_by_hand():
    h = np.ones((1, 3, 2))
    r = np.array([[[9.0, 9.0], [0.3, 0.4], [0.0, 1.0]]])  # t = 0 is ignored
    assert irr(r, h) == pytest.approx(np.mean([0.5 / np.sqrt(2), 1.0 / np.sqrt(2)]))


def test_rdp_recovers_periodic_drift_frequency():
    T, f0 = 256, 0.2
    t = np.arange(T)
    dtheta = 0.3 + 0.2 * np.sin(2 * np.pi * f0 * t)
    theta = np.cumsum(dtheta)
    o = np.stack([np.cos(theta), np.sin(theta)], -1)[None]  # (1, T, 2), cos(o_t, o_{t-1}) = cos(dtheta_t)
    res = rdp(drift(o))
    assert abs(res.frequency - f0) <= 1.0 / T
    assert res.strength > 20
    # white drift has no strong peak
    white = rdp(np.random.default_rng(0).normal(size=(16, T)))
    assert white.strength < res.strength / 4


def test_esri_near_zero_for_stationary_and_large_for_drifting_spectra():
    rng = np.random.default_rng(0)
    stat = rng.normal(size=(200, 64, 6))
    assert esri(stat, window=16) < 0.1
    grow = stat * np.exp(np.linspace(0, 3, 64))[None, :, None]
    assert esri(grow, window=16) > 0.3


def test_wr_stats_known_matrices():
    A = np.array([[0.0, 2.0], [-2.0, 0.0]])
    s = wr_stats(A)
    assert s.spectral_norm == pytest.approx(2.0) and s.antisymmetric_fraction == pytest.approx(1.0)
    assert s.effective_rank == pytest.approx(2.0)
    s2 = wr_stats(np.diag([1.0, 0.0, 0.0]))
    assert s2.antisymmetric_fraction == 0.0 and s2.effective_rank == pytest.approx(1.0)


def test_metric_errors():
    with pytest.raises(FHRNInputError, match="square"):
        wr_stats(np.ones((2, 3)))
    with pytest.raises(FHRNInputError, match="outputs"):
        esri(np.ones((3, 4)))
    with pytest.raises(FHRNInputError, match="FH-RL"):
        model_metrics(TinyGPT(GPTConfig(fhrl=False, **SMALL)))


def test_model_metrics_deterministic_and_weights_frozen():
    m = TinyGPT(GPTConfig(gamma=0.2, **SMALL))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    a, b = model_metrics(m, n_seq=4, seed=3).to_dict(), model_metrics(m, n_seq=4, seed=3).to_dict()
    assert a == b and len(a["layers"]) == 2
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())
    assert 0 <= a["rdp_frequency"] <= 0.5


def test_cli_metrics_and_sweep_report(tmp_path, capsys):
    import json

    from fhrn_ode.cli import main
    from fhrn_ode.discrete.checkpoint import save_checkpoint

    base = TinyGPT(GPTConfig(gamma=0.0, **SMALL))
    for g in (0.0, 0.1, 0.2):
        save_checkpoint(_with_gamma(base, g), tmp_path / "sw" / f"gamma_{g:.2f}", metrics={"val_loss": 2.0 + g,
                                                                                         "unigram_nats": 3.0})
    rc = main(["metrics", str(tmp_path / "sw" / "gamma_0.10"), "--n-seq", "4", "--json"])
    one = json.loads(capsys.readouterr().out)
    assert rc == 0 and one["gamma"] == 0.1 and len(one["layers"]) == 2
    rc = main(["sweep-report", str(tmp_path / "sw"), "--n-seq", "4", "--out", str(tmp_path / "rep"), "--json"])
    rep = json.loads(capsys.readouterr().out)
    assert rc == 0 and [r["gamma"] for r in rep["rows"]] == [0.0, 0.1, 0.2]
    assert rep["rows"][0]["irr"] == 0.0 and {c["claim"] for c in rep["comparison"]} >= {"irr", "esri", "rdp"}
    assert (tmp_path / "rep" / "sweep.png").stat().st_size > 1000 and (tmp_path / "rep" / "sweep.pdf").stat().st_size > 1000
    rc = main(["sweep-report", str(tmp_path / "sw")])
    assert rc == 0 and "paper claim vs ours" in capsys.readouterr().out
    for argv, match in ((["metrics", str(tmp_path / "nope")], "not a folder"),
                        (["sweep-report", str(tmp_path / "rep")], "no gamma_"),
                        (["metrics", str(tmp_path / "sw" / "gamma_0.10"), "--n-seq", "0"], "n-seq")):
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2 and match in err and err.count("\n") == 1, err
