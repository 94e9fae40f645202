"""The claims report: each verdict is asserted with its numbers; the CLI writes valid outputs."""

import json

import numpy as np
import pytest

import fhrn_ode.analysis.claims as claims_mod
from fhrn_ode import ring_radius
from fhrn_ode.cli import main


@pytest.fixture(scope="module")
def report():
    return claims_mod.check_claims(quick=True)


def by_id(report, cid):
    return next(c for c in report.claims if c.id == cid)


def test_ring_radius_claim(report):
    c = by_id(report, "ring-radius")
    assert c.verdict == "does_not_hold"
    np.testing.assert_allclose(c.numbers["final_radius"], c.numbers["predicted_r_star"], atol=1e-5)
    assert c.numbers["final_radius"][0] < 1e-6  # kappa = 0.5 < leak: no ring
    # at the threshold kappa = leak, r^2 decays like 1/(2 kappa t) from r0 -> compare with the exact law
    assert c.numbers["kappa_1_final_radius_t30"] == pytest.approx(c.numbers["kappa_1_algebraic_prediction"], rel=0.05)


def test_zero_contour_claim(report):
    c = by_id(report, "zero-contour")
    n = c.numbers
    assert n["rho_at_ring"] == pytest.approx(n["rho_at_ring_closed_form"], abs=1e-10)
    assert n["rho_at_ring"] < 0
    assert n["zero_contour_radius"] < n["r_star"] == pytest.approx(ring_radius(10.0))
    radii = n["zero_contour_radius_for_gamma_1_0.3_0.1_0"]
    assert radii == sorted(radii)  # moves out to the ring as gamma -> 0


def test_v_and_radius_claims(report):
    v = by_id(report, "V-monotone")
    assert v.verdict == "does_not_hold"
    assert v.numbers["fraction_steps_V_increases"][1] > 0.1  # start between r* and 1 ...
    assert v.numbers["V_end"][1] > 3 * v.numbers["V_start"][1]  # ... climbs V to the ring
    assert v.numbers["fraction_steps_V_increases"][0] == 0.0  # a start inside r* descends all the way
    assert v.numbers["fraction_steps_V_increases"][2] > 0.0  # a start outside crosses |y| = 1, then climbs to r*
    r = by_id(report, "radius-monotone")
    assert r.numbers["antisym_sign_changes_of_d|y|/dt"] == 0


def test_operator_claims(report):
    c = by_id(report, "re-boundary")
    assert c.numbers["sym_dominant_positive"]["r_e_at_exact_boundary"] == pytest.approx(1.0, abs=1e-8)
    assert c.numbers["antisym"]["r_e_at_exact_boundary"] is None
    for k in ("sym_dominant_negative", "mixed", "random_64"):
        assert c.numbers[k]["r_e_at_exact_boundary"] > 1.0
        n = c.numbers[k]
        assert n["r_e_at_exact_boundary"] == pytest.approx(n["norm2_W"] / n["rho_W"], rel=1e-6)
    f4 = by_id(report, "fig4-beta-tradeoff")
    assert np.all(np.diff(f4.numbers["wr_crit"]) > 0)
    s = by_id(report, "sym-saddle-mixed-spiral")
    assert s.numbers["sym_late_winding_rad"] < 1e-3 and s.numbers["mixed_late_winding_rad"] > 1.0


def test_memory_claim(report):
    c = by_id(report, "bounded-ISS")
    assert c.numbers["eta/lam = 3 > kappa"]["status"] in ("diverged", "failed")
    assert c.numbers["eta/lam = 3 > kappa"]["max_norm"] > 10 * c.numbers["eta/lam = 0.5 < kappa"]["max_norm"]


def test_claims_cli_writes_markdown_json_and_figures(tmp_path, capsys, monkeypatch, report):
    monkeypatch.setattr(claims_mod, "check_claims", lambda quick=False, progress=None: report)
    out = tmp_path / "c"
    assert main(["claims", "--quick", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    on_disk = json.loads((out / "claims.json").read_text())
    assert printed == on_disk
    assert set(on_disk) == {"counts", "settings", "claims", "symbolic"}
    assert set(on_disk["claims"][0]) == {"id", "source", "claim", "verdict", "finding", "numbers"}
    md = (out / "claims.md").read_text()
    assert "does not hold" in md and "| ring-radius |" in md
    assert (out / "claims.png").stat().st_size > 10_000 and (out / "claims.pdf").exists()
