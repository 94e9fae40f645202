"""``fhrn-ode continue``: the Hopf point of the origin for an antisymmetric W* (kappa_H = leak, l1 = -kappa/(gamma b),
docs/model.md §1.9), JSON keys, the figure, and one-line errors."""

import json

import pytest

from fhrn_ode.cli import main


def test_continue_hopf_of_the_origin(tmp_path, capsys):
    rc = main(["continue", "--param", "kappa", "--start", "0.5", "--range", "0:2", "--wr", "antisym", "--gamma",
               "2", "--ds", "0.1", "--seed", "0", "--json", "--out", str(tmp_path / "o")])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    (eq,) = out["branches"]
    assert eq["kind"] == "equilibria" and eq["status"] == "success"
    (h,) = eq["special"]
    assert h["kind"] == "H" and h["p"] == pytest.approx(1.0, abs=1e-9)
    assert h["normal_form"]["l1"] == pytest.approx(-0.5, rel=1e-7)
    assert (tmp_path / "o" / "continuation.json").exists() and (tmp_path / "o" / "continuation.png").exists()


@pytest.mark.parametrize("argv,msg", [
    (["--param", "nope"], "not an FHRN parameter"),
    (["--param", "kappa", "--range", "2:1"], "A < B"),
    (["--param", "kappa", "--param2", "gamma"], "--range2"),
    (["--param", "kappa", "--x0", "1,2,3"], "--x0"),
    (["--param", "kappa", "--field", "nowhere_module:Cls"], "importing 'nowhere_module' failed"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, msg):
    rc = main(["continue", *argv, "--out", str(tmp_path / "o"), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and msg in err and len(err.splitlines()) == 1
