"""CLI of the companion systems: `halting`, `saliency`, `slots`, and `integrate --memory slots|fast-weights`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fhrn_ode.cli import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_saliency_json_contract(capsys):
    assert main(["saliency", "--kappa", "6", "--z0", "10", "--json"]) == 0
    o = _json(capsys)
    assert o["kappa_critical"] == 4.0 and o["regime"] == "retrieval"
    zm, zp = o["fixed_points"]
    assert zp == pytest.approx(3 + math.sqrt(3)) and zm == pytest.approx(3 - math.sqrt(3))
    assert o["stable"] == [False, True] and o["multipliers"][1] == pytest.approx(zm / zp)
    assert o["asymptotic_period"] == pytest.approx(math.log(zp)) and o["escape_time"] is None  # inf -> null
    assert main(["saliency", "--kappa", "3", "--json"]) == 0
    o = _json(capsys)
    assert o["fixed_points"] == [] and o["regime"] == "collapse" and o["escape_time"] == o["escape_time_closed_form"]


def test_saliency_figures_and_bad_kappa(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["saliency", "--kappa", "4.5", "--out", str(out)]) == 0
    assert "fixed points" in capsys.readouterr().out
    for f in ("saliency.json", "cobweb.png", "bifurcation.png"):
        assert (out / f).stat().st_size > 500
    bad = tmp_path / "bad"
    assert main(["saliency", "--kappa", "-1", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kappa" in err and not bad.exists()


def test_halting_reference_json_contract(capsys):
    assert main(["halting", "reference", "--contexts", "2", "--layer", "0", "--json"]) == 0
    o = _json(capsys)
    assert len(o["contexts"]) == 2 and 0.0 <= o["agreement"] <= 1.0
    for c in o["contexts"]:
        assert {"iterations", "converged", "rate", "multiplier_max_abs", "ode_stable", "agree"} <= set(c)
        assert c["agree"] == (c["converged"] == c["ode_stable"])
    assert o["table"][0]["gamma"] == pytest.approx(0.1)


def test_halting_what_if_gains_and_figure(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["halting", "reference", "--contexts", "2", "--layer", "1", "--gammas", "0", "0.1",
                 "--out", str(out), "--json"]) == 0
    o = _json(capsys)
    assert [r["gamma"] for r in o["table"]] == [0.0, 0.1]
    assert all(c["iterations"] == 1 for c in o["models"][0]["contexts"])  # gamma = 0: x_1 = h
    assert (out / "halting.png").stat().st_size > 1000 and json.loads((out / "halting.json").read_text())["table"]


def test_halting_bad_input(tmp_path, capsys):
    assert main(["halting", str(tmp_path / "nope"), "--contexts", "2"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["halting", "reference", "--tol", "0"]) == 2
    assert "--tol" in capsys.readouterr().err


def test_integrate_with_slot_memory(tmp_path, capsys):
    out = tmp_path / "i"
    assert main(["integrate", "--memory", "slots", "--slots", "2", "--wr", "sym", "--dim", "3", "--t1", "2",
                 "--n-points", "5", "--n-init", "2", "--out", str(out), "--no-plot", "--json"]) == 0
    s = _json(capsys)
    assert s["memory"]["rule"] == "slots" and s["memory"]["n_slots"] == 2 and s["params"]["memory"] == "slots"
    z = np.load(out / "trajectory.npz")
    assert z["M"].shape == (5, 2, 2, 3) and z["y"].shape == (5, 2, 3)


def test_fast_weights_is_the_hebbian_rule(tmp_path, capsys):
    runs = []
    for mem in ("fast-weights", "hebbian"):
        assert main(["integrate", "--memory", mem, "--t1", "1", "--n-points", "3", "--out", str(tmp_path / mem),
                     "--no-plot", "--json"]) == 0
        runs.append(_json(capsys))
    assert runs[0]["params"]["memory"] == "hebbian" and runs[0]["final_norm"] == runs[1]["final_norm"]


def test_slots_command(tmp_path, capsys):
    assert main(["slots", "--dim", "3", "--slots", "2", "--t1", "8", "--ks", "1", "3", "--lams", "10", "--json"]) == 0
    o = _json(capsys)
    assert o["too_many_slots"]["k_critical_without_homeostasis"] == pytest.approx(0.5 / 0.3)
    np.testing.assert_allclose(o["too_many_slots"]["radius"], o["too_many_slots"]["radius_closed_form"], rtol=1e-3)
    assert main(["slots", "--dim", "1"]) == 2
    assert "--dim" in capsys.readouterr().err


def test_fixed_points_command_takes_slot_memory(tmp_path, capsys):
    assert main(["fixed-points", "--memory", "slots", "--slots", "1", "--wr", "sym", "--dim", "2", "--n-starts", "16",
                 "--out", str(tmp_path / "fp"), "--no-plot", "--json"]) == 0
    pts = [p for p in _json(capsys)["points"] if p["stable"] and abs(p["x"][2]) + abs(p["x"][3]) > 1e-3]
    assert pts  # a stable equilibrium with an aligned slot m = (eta/lam) y (eta = 0.5, lam = 1)
    for p in pts:
        np.testing.assert_allclose(p["x"][2:], 0.5 * np.asarray(p["x"][:2]), atol=1e-8)
    assert main(["bifurcation", "--memory", "slots", "--param", "gamma", "--range", "0:1:3",
                 "--out", str(tmp_path / "b")]) == 2
    assert "slots" in capsys.readouterr().err
