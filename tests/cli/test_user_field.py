"""``--field MODULE:CLASS | FILE.py:CLASS`` with ``--param NAME=VALUE`` on the dynamics commands, against the
exact answers of the Van der Pol oscillator (examples/van_der_pol.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fhrn_ode.cli import main

VDP = str(Path(__file__).resolve().parents[2] / "examples" / "van_der_pol.py") + ":VanDerPol"
#: Period of the Van der Pol cycle at mu = 1 (to 10 digits; Strogatz §7.5 quotes T ~ 6.66).
PERIOD_MU1 = 6.6632868593


def _json(argv, capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mu", [1.0, 0.5, 3.0])
def test_fixed_points_origin_eigenvalues_are_exact(mu, tmp_path, capsys):
    """Only the origin; J = [[0, 1], [-1, mu]], eigenvalues (mu +- sqrt(mu^2 - 4))/2."""
    r = _json(["fixed-points", "--field", VDP, "--param", f"mu={mu}", "--n-starts", "6", "--out", str(tmp_path),
               "--json"], capsys)
    assert len(r["points"]) == 1 and r["dim"] == 2 and r["field_params"] == {"mu": mu}
    p = r["points"][0]
    np.testing.assert_allclose(p["x"], [0.0, 0.0], atol=1e-10)
    lam = np.roots([1.0, -mu, 1.0])
    assert p["eigenvalues_max_real"] == pytest.approx(lam.real.max(), abs=1e-10)
    assert p["kind"] == ("unstable focus" if mu < 2 else "unstable node") and p["unstable_dim"] == 2
    assert (tmp_path / "fixed_points.png").is_file()


def test_fixed_points_text_says_one_fixed_point(tmp_path, capsys):
    assert main(["fixed-points", "--field", VDP, "--n-starts", "4", "--no-plot", "--out", str(tmp_path)]) == 0
    assert "1 fixed point, 0 slow points" in capsys.readouterr().out


def test_cycles_period_and_floquet(tmp_path, capsys):
    r = _json(["cycles", "--field", VDP, "--n-init", "1", "--t-transient", "20", "--t-record", "20", "--t-max", "20",
               "--out", str(tmp_path), "--json"], capsys)
    (c,) = r["cycles"]
    assert c["period"] == pytest.approx(PERIOD_MU1, abs=1e-6) and c["stable"]
    mags = sorted(abs(complex(*m)) if isinstance(m, list) else abs(m) for m in c["floquet_multipliers"])
    assert mags[1] == pytest.approx(1.0, abs=1e-5)  # the trivial multiplier along the orbit
    # the other is exp(integral of div f = mu (1 - x^2) over one period), ~ exp(-1.0590 T)
    assert np.log(mags[0]) / PERIOD_MU1 == pytest.approx(-1.0590, abs=2e-3)


def test_exponents_of_the_cycle(tmp_path, capsys):
    r = _json(["exponents", "--field", VDP, "--n-init", "2", "--t1", "20", "--t-transient", "10", "--no-plot",
               "--out", str(tmp_path), "--json"], capsys)
    lam = r["exponents"]
    assert r["system"] == "field" and len(lam) == 2
    assert abs(lam[0]) < 0.03  # a limit cycle: the largest exponent is 0 (finite-time estimate)
    assert lam[1] == pytest.approx(-1.0590, abs=0.05)


def test_bifurcation_finds_the_hopf_point_at_mu_zero(tmp_path, capsys):
    r = _json(["bifurcation", "--field", VDP, "--param", "mu", "--range", "-0.5:0.5:2", "--n-init", "1",
               "--n-starts", "4", "--t-transient", "10", "--no-exponents", "--no-plot", "--out", str(tmp_path),
               "--json"], capsys)
    hopf = [b for b in r["bifurcations"] if b["kind"] == "hopf"]
    assert len(hopf) == 1 and hopf[0]["value"] == pytest.approx(0.0, abs=1e-8)
    assert r["field"].endswith("van_der_pol.py:VanDerPol") and r["param"] == "mu"


def test_module_colon_class_form(tmp_path, capsys):
    """MODULE:CLASS through sys.path: the library's own Lorenz field."""
    r = _json(["fixed-points", "--field", "fhrn_ode.dynamics.systems:LorenzField", "--param", "rho=0.5",
               "--n-starts", "4", "--no-plot", "--out", str(tmp_path), "--json"], capsys)
    assert len(r["points"]) == 1 and r["points"][0]["kind"] == "stable node"  # rho < 1: the origin only


@pytest.mark.parametrize("argv, msg", [
    (["--field", "examples/van_der_pol.py"], "must be MODULE:CLASS or FILE.py:CLASS"),
    (["--field", "missing_dir/f.py:F"], "file 'missing_dir/f.py' does not exist"),
    (["--field", "no_such_module_xyz:F"], "importing 'no_such_module_xyz' failed: ModuleNotFoundError"),
    (["--field", VDP.replace("VanDerPol", "Nope")], "has no attribute 'Nope'"),
    (["--field", "torch:Tensor"], "a class that is not an nn.Module"),
    (["--field", "math:pi"], "it must name a torch.nn.Module subclass"),
    (["--field", VDP, "--param", "mu"], "`--param` must be NAME=VALUE"),
    (["--field", VDP, "--param", "nu=1"], "VanDerPol(nu=1) failed: TypeError"),
    (["--field", VDP, "--gamma", "0.3"], "--gamma set(s) the FHRN field"),
    (["--field", VDP, "--wr", "sym"], "--wr set(s) the FHRN field"),
    (["--param", "mu=1"], "give --field"),
])
def test_refused_with_one_line(argv, msg, tmp_path, capsys):
    assert main(["fixed-points", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err


def test_import_error_inside_the_users_module(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom at import')\n")
    assert main(["cycles", "--field", f"{bad}:F", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: boom at import" in err[0]


@pytest.mark.parametrize("argv, msg", [
    (["--param", "mu", "--param", "gamma"], "exactly one swept parameter"),
    (["--param", "gama"], "did you mean 'gamma'?"),
    (["--param", "gamma", "--param", "mu=1"], "give --field"),
])
def test_bifurcation_param_forms_refused(argv, msg, tmp_path, capsys):
    assert main(["bifurcation", *argv, "--range", "0:1:2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err


@pytest.mark.parametrize("cmd", ["fixed-points", "cycles", "exponents", "bifurcation"])
def test_help_says_it_runs_the_users_code(cmd, capsys):
    with pytest.raises(SystemExit):
        main([cmd, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--field" in text and "IMPORTS AND RUNS" in text
