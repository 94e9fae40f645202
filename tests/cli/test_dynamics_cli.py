import json

import numpy as np
import pytest

from fhrn_ode.cli import main


def _run(capsys, *argv):
    rc = main(list(argv))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_fixed_points_json_keys_and_figure(tmp_path, capsys):
    rc, out, _ = _run(capsys, "fixed-points", "--wr", "sym", "--n-starts", "48", "--out", str(tmp_path), "--json")
    assert rc == 0
    res = json.loads(out)
    assert set(res) >= {"points", "slow_points"} and len(res["points"]) == 5
    for p in res["points"]:
        assert set(p) >= {"x", "residual", "kind", "eigenvalues_max_real", "unstable_dim", "stable"}
        assert p["residual"] < 1e-10 and p["stable"] == (p["kind"] == "stable node")
    assert (tmp_path / "fixed_points.png").stat().st_size > 0
    assert json.loads((tmp_path / "fixed_points.json").read_text()) == res


def test_exponents_lorenz_sum(tmp_path, capsys):
    rc, out, _ = _run(capsys, "exponents", "--system", "lorenz", "--t1", "1", "--n-init", "2", "--t-transient", "1",
                      "--out", str(tmp_path), "--json", "--no-plot")
    assert rc == 0
    res = json.loads(out)
    assert len(res["exponents"]) == 3 and res["exponents"] == sorted(res["exponents"], reverse=True)
    assert abs(res["sum"] - (-(10 + 1 + 8 / 3))) < 1e-3 and res["spread"] >= 0


def test_cycles_ring(tmp_path, capsys):
    rc, out, _ = _run(capsys, "cycles", "--wr", "antisym", "--kappa", "1.5", "--n-init", "2", "--t-transient", "10",
                      "--t-record", "15", "--out", str(tmp_path), "--json")
    assert rc == 0
    c = json.loads(out)["cycles"]
    assert len(c) == 1 and abs(c[0]["period"] - 2 * np.pi) < 1e-6
    mu = sorted(abs(complex(*m)) for m in c[0]["floquet_multipliers"])
    assert abs(mu[1] - 1) < 1e-6 and abs(c[0]["radius_mean"] - np.sqrt(1 - 1 / 1.5)) < 1e-7


def test_bifurcation_hopf_in_kappa(tmp_path, capsys):
    rc, out, _ = _run(capsys, "bifurcation", "--param", "kappa", "--range", "0.7:1.4:2", "--n-init", "1",
                      "--n-starts", "16", "--t-transient", "10", "--no-exponents", "--out", str(tmp_path), "--json")
    assert rc == 0
    res = json.loads(out)
    assert [b["kind"] for b in res["bifurcations"]] == ["hopf"] and abs(res["bifurcations"][0]["value"] - 1) < 1e-9
    assert (tmp_path / "bifurcation.png").stat().st_size > 0


@pytest.mark.parametrize("argv, msg", [
    (["bifurcation", "--param", "kappa", "--range", "0:1"], "`--range` must be A:B:N"),
    (["bifurcation", "--param", "kappa", "--range=-1:1:3"], "`--range` '-1:1:3' reaches kappa = -1"),
    (["fixed-points", "--wr", "nope"], "is not a built-in kind"),
    (["exponents", "--system", "lorenz", "--t1", "0.1"], "t1` must be at least `"),
    (["exponents", "--system", "lorenz", "--grid", "kappa=1:2:3"], "`--grid` must be NAME=SPEC with NAME one of sigma"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, msg):
    rc, out, err = _run(capsys, *argv, "--out", str(tmp_path / "o"))
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and lines[0].startswith(f"fhrn-ode {argv[0]}: error:")
    assert not (tmp_path / "o").exists()


def test_exponents_grid_solves_the_family_in_one_call(tmp_path, capsys):
    rc, out, _ = _run(capsys, "exponents", "--system", "lorenz", "--grid", "rho=24:32:3", "--t1", "1", "--n-init", "2",
                      "--t-transient", "1", "--out", str(tmp_path), "--json")
    assert rc == 0
    res = json.loads(out)
    assert res["grid"] == "rho" and res["values"] == [24.0, 28.0, 32.0] and res["stacked"] is True
    for m in res["members"]:  # the exact sum -(sigma + 1 + b) for every rho
        assert abs(m["sum"] - (-(10 + 1 + 8 / 3))) < 1e-3
    assert json.loads((tmp_path / "exponents.json").read_text()) == res


def test_max_nfe_stops_exponents_with_a_message(tmp_path, capsys):
    rc, out, _ = _run(capsys, "exponents", "--system", "lorenz", "--t1", "1", "--n-init", "1", "--max-nfe", "50",
                      "--out", str(tmp_path), "--json", "--no-plot")
    res = json.loads(out)
    assert rc == 1 and res["status"] == "failed" and "max_nfe=50" in res["message"] and "--max-nfe" in res["message"]
