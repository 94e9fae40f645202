"""`fhrn-ode integrate`: output contract, determinism, bad input (exit 2, one line, nothing written)."""

import json

import numpy as np
import pytest

from fhrn_ode import FHRNParams, ring_radius
from fhrn_ode.cli import main

SUMMARY_KEYS = {"status", "message", "t_final", "t_diverged", "diverged", "final_norm", "V_final", "spectral_abscissa_final",
                "operator", "dim", "n_init", "params", "solver", "param_sources", "wr_source"}


def test_default_run_shows_the_ring(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["integrate", "--wr", "antisym", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ring radius" in text and "success" in text
    z = np.load(out / "trajectory.npz")
    assert set(z.files) == {"t", "y", "y0", "W", "diverged", "t_diverged"}
    assert z["t"].shape == (401,) and z["y"].shape == (401, 8, 2) and z["y0"].shape == (8, 2) and z["W"].shape == (2, 2)
    s = json.loads((out / "summary.json").read_text())
    assert set(s) == SUMMARY_KEYS
    assert set(s["operator"]) == {"name", "norm2", "spectral_abscissa", "antisym_norm", "sym_norm"}
    assert set(s["solver"]) == {"method", "rtol", "atol", "nfe"}
    assert set(s["params"]) == set(FHRNParams().to_dict())
    r = ring_radius(10.0, 1.0, 1.0)
    np.testing.assert_allclose(s["final_norm"], r, atol=1e-6)
    np.testing.assert_allclose(s["V_final"], 0.25 * (r ** 2 - 1) ** 2, atol=1e-6)
    # at the ring, rho(J) = -kappa r^2 + sqrt(kappa^2 r^4 - gamma^2) < 0 (closed form for the 2x2 Jacobian)
    kr2 = 10.0 * r * r
    np.testing.assert_allclose(s["spectral_abscissa_final"], -kr2 + np.sqrt(kr2 ** 2 - 1.0), atol=1e-5)
    assert (out / "phase.png").stat().st_size > 1000


def test_json_mode_prints_only_the_summary(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["integrate", "--wr", "mixed", "--dim", "5", "--out", str(out), "--json", "--t1", "2",
                 "--n-points", "11", "--n-init", "3", "--seed", "4", "--memory", "hebbian", "--drive", "0.1"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s == json.loads((out / "summary.json").read_text())
    assert s["dim"] == 5 and len(s["final_norm"]) == 3 and s["params"]["memory"] == "hebbian"
    assert (out / "phase.png").exists()  # PCA projection for d > 2


def test_same_seed_same_numbers(tmp_path, capsys):
    for name in ("a", "b"):
        main(["integrate", "--wr", "random", "--dim", "4", "--seed", "7", "--t1", "1", "--n-points", "5",
              "--out", str(tmp_path / name), "--no-plot", "--json"])
    capsys.readouterr()
    za, zb = np.load(tmp_path / "a" / "trajectory.npz"), np.load(tmp_path / "b" / "trajectory.npz")
    np.testing.assert_array_equal(za["y"], zb["y"])
    assert not (tmp_path / "a" / "phase.png").exists()


def test_operator_from_file_and_diverged_status(tmp_path, capsys):
    np.save(tmp_path / "W.npy", np.array([[1.0, 0.0], [0.0, -1.0]]))
    out = tmp_path / "o"
    rc = main(["integrate", "--wr", str(tmp_path / "W.npy"), "--gamma", "3", "--kappa", "0", "--out", str(out),
               "--json", "--no-plot"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 0 and s["status"] == "diverged" and any(t is not None for t in s["t_diverged"])
    assert s["operator"]["name"].endswith("W.npy")
    z = np.load(out / "trajectory.npz")
    # stopped trajectories are NaN from their t_diverged on, the others finite to t1
    assert np.isfinite(z["y"][:, ~z["diverged"]]).all() and np.isnan(z["y"][-1, z["diverged"]]).all()


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--wr", "spiral"], "is not a built-in kind"),
        (["--wr", "missing.npy"], "does not exist"),
        (["--gamma", "-1"], "`gamma` must be >= 0"),
        (["--lam", "-1", "--memory", "hebbian"], "`lam` must be >= 0"),
        (["--method", "rk45"], "invalid choice"),
        (["--rtol", "0"], "`rtol` must be > 0"),
        (["--n-points", "1"], "`n_points` must be >= 2"),
        (["--dim", "1"], "`--dim` must be >= 2"),
        (["--drive", "1,x"], "`--drive` must be a number"),
        (["--bogus"], "unrecognized arguments"),
        (["--t1", "abc"], "invalid float value"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["integrate", "--out", str(out), *argv]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_matrix_files(tmp_path, capsys):
    np.save(tmp_path / "rect.npy", np.ones((2, 3)))
    np.save(tmp_path / "nan.npy", np.array([[np.nan, 0], [0, 1.0]]))
    np.save(tmp_path / "big.npy", np.eye(3))
    for f, needle in (("rect.npy", "must be square"), ("nan.npy", "must be finite"), ("big.npy", "the dimension is 2")):
        extra = ["--dim", "2"] if f == "big.npy" else []
        with pytest.raises(SystemExit) as exc:
            raise SystemExit(main(["integrate", "--wr", str(tmp_path / f), *extra, "--out", str(tmp_path / "o")]))
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
