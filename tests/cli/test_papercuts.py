"""CLI papercuts of issue 21: usage on a bare call, --wr suggestions, --no-plot, one list syntax, --max-nfe,
sweep-report on an ODE sweep, singular/plural counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fhrn_ode.cli import main


def test_bare_command_prints_usage_and_a_hint():
    r = subprocess.run([sys.executable, "-m", "fhrn_ode"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("usage: fhrn-ode") and "`fhrn-ode --help` lists them" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("wr, close", [("antisim", "antisym"), ("mixd", "mixed"), ("refrence", "reference")])
def test_wr_typo_gets_a_suggestion(wr, close, tmp_path, capsys):
    assert main(["integrate", "--wr", wr, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"did you mean {close!r}?" in err[0]


def test_map_and_lyapunov_no_plot(tmp_path, capsys):
    assert main(["map", "--grid", "8", "--no-plot", "--out", str(tmp_path / "m"), "--json"]) == 0
    capsys.readouterr()
    assert (tmp_path / "m" / "map.npz").is_file() and not (tmp_path / "m" / "map.png").exists()
    assert main(["lyapunov", "--t1", "1", "--no-plot", "--out", str(tmp_path / "l"), "--json"]) == 0
    capsys.readouterr()
    assert (tmp_path / "l" / "lyapunov.npz").is_file() and not (tmp_path / "l" / "lyapunov.png").exists()


@pytest.mark.parametrize("cmd", ["integrate", "map", "lyapunov", "fixed-points", "exponents", "bifurcation", "claims",
                                 "check", "halting", "saliency"])
def test_every_plotting_command_has_no_plot(cmd):
    from fhrn_ode.cli import _options, _subparser, build_parser

    p = build_parser()
    assert "--no-plot" in _options(_subparser(p, cmd))


@pytest.mark.parametrize("values", [["0,.05"], ["0", ".05"], ["0,", ".05"], ["0", ",.05"]])
def test_one_list_syntax_train(values):
    from fhrn_ode.cli import _subparser, build_parser

    ns = _subparser(build_parser(), "train").parse_args(["--sweep", "--gammas", *values, "--out", "x"])
    assert ns.gammas == [0.0, 0.05]


@pytest.mark.parametrize("values", [["0,0.1"], ["0", "0.1"], ["0", "0.1,"]])
def test_one_list_syntax_sweep(values):
    from fhrn_ode.cli import _subparser, build_parser

    ns = _subparser(build_parser(), "sweep").parse_args(["--gamma", *values, "--seeds", "0", "1", "--out", "x"])
    assert ns.gamma == "0,0.1" and ns.seeds == "0,1"


def test_list_of_non_numbers_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["slots", "--ks", "1,x"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "expected integers separated by spaces or commas" in err[0]


def test_negative_range_is_a_value():
    from fhrn_ode.cli import _subparser, build_parser

    ns = _subparser(build_parser(), "bifurcation").parse_args(["--param", "gamma", "--range", "-0.5:0.5:3"])
    assert ns.range == "-0.5:0.5:3"


def test_integrate_max_nfe_is_the_budget(tmp_path, capsys):
    argv = ["integrate", "--t1", "50", "--n-init", "1", "--no-plot", "--json"]
    assert main([*argv, "--max-nfe", "50", "--out", str(tmp_path / "a")]) == 1
    small = json.loads(capsys.readouterr().out)
    assert small["status"] == "failed" and "50 evaluations" in small["message"]
    assert main([*argv, "--max-nfe", "100000", "--out", str(tmp_path / "b")]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "success"
    assert main(["integrate", "--max-nfe", "0", "--out", str(tmp_path / "c")]) == 2
    assert "`--max-nfe` must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_sweep_report_on_an_ode_sweep_prints_the_table(tmp_path, capsys):
    out = tmp_path / "sw"
    assert main(["sweep", "--task", "ode", "--gamma", "0", "0.1", "--seeds", "0,1", "--t1", "1", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["sweep-report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 parameter set(s)" in text and "| antisym | 2 | 0.1 | 10 | 1 | 1 | 0 | 1 | 2 | success 2 |" in text
    assert main(["sweep-report", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    # antisymmetric W*, kappa 10, theta 1, leak 1: the ring |y| = sqrt(1 - leak/(kappa theta^2)) = sqrt(0.9)
    assert [r["gamma"] for r in rows] == [0.0, 0.1] and all(r["n"] == 2 for r in rows)
    assert rows[1]["final_radius_mean_mean"] == pytest.approx(0.9 ** 0.5, abs=1e-3)


def _ode_result(gamma, seed, radius, status="success"):
    task = {"kind": "ode", "gain": gamma, "seed": seed, "operator": "antisym", "dim": 2, "kappa": 10.0,
            "theta": 1.0, "leak": 1.0, "beta": 0.0, "t1": 2.0, "n_init": 8, "init_radius": 2.0}
    return {"task": task, "gamma": gamma, "seed": seed, "status": status, "final_radius_mean": radius,
            "spectral_abscissa_final_max": -0.5 * seed, "nfe": 100 + seed}


def test_sweep_report_ode_table_from_task_files(tmp_path, capsys):
    """Means and SE over seeds by hand: radii 1 and 3 -> mean 2, SE = std/sqrt(2) = sqrt(2)/sqrt(2) = 1."""
    for g, s, r in ((0.0, 0, 1.0), (0.0, 1, 3.0), (0.2, 0, 0.5)):
        d = tmp_path / "sw" / "tasks" / f"t{g}_{s}"
        d.mkdir(parents=True)
        (d / "result.json").write_text(json.dumps(_ode_result(g, s, r)))
    assert main(["sweep-report", str(tmp_path / "sw"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["gamma"], r["n"]) for r in rows] == [(0.0, 2), (0.2, 1)]
    assert rows[0]["final_radius_mean_mean"] == pytest.approx(2.0) and rows[0]["final_radius_mean_sem"] == pytest.approx(1.0)
    assert rows[0]["spectral_abscissa_final_max"] == 0.0 and rows[0]["nfe_mean"] == 100.5
    assert main(["sweep-report", str(tmp_path / "sw")]) == 0
    assert "| antisym | 2 | 0 | 10 | 1 | 1 | 0 | 2 | 2 | success 2 | 2 ± 1 |" in capsys.readouterr().out
    assert main(["sweep-report", str(tmp_path / "sw"), "--check", "x.json"]) == 2
    assert "applies to a sweep of train tasks" in capsys.readouterr().err
