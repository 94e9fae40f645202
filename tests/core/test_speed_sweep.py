"""Whole parameter sweeps in one call (issue 12 item 2): same results as separate integrate calls."""

import numpy as np
import pytest
import torch

import fhrn_ode as F
from fhrn_ode import FHRNParams, integrate, integrate_sweep, parse_grid
from fhrn_ode.integration import initial_conditions
from fhrn_ode.operators import make_operator

W2 = make_operator("antisym", 2, seed=0)


@pytest.mark.parametrize("error_control", ["group", "shared"])
def test_gamma_sweep_matches_separate_calls(error_control):
    y0 = initial_conditions(6, 2, 2.0, seed=1)
    gammas = np.linspace(0.0, 1.0, 5)
    res = integrate_sweep(W2, y0, gamma=gammas, beta=0.3, t1=5.0, n_points=51, error_control=error_control)
    assert res.status == "success" and res.y.shape == (51, 5, 6, 2)
    for p, g in enumerate(gammas):
        one = integrate(W2, y0, params=FHRNParams(gamma=float(g), beta=0.3), t1=5.0, n_points=51)
        np.testing.assert_allclose(res.y[:, p].numpy(), one.y.numpy(), rtol=0, atol=1e-6)


def test_every_parameter_and_a_W_stack_match_separate_calls():
    rng = np.random.default_rng(0)
    Ws = np.stack([make_operator(k, 3, seed=i) for i, k in enumerate(["antisym", "mixed", "random"])])
    vals = dict(gamma=[0.5, 1.0, 0.8], kappa=[2.0, 5.0, 10.0], beta=[0.0, 0.4, 0.9], leak=[1.0, 0.5, 0.2],
                theta=[1.0, 1.2, 0.8])
    drive = rng.normal(size=(3, 3)) * 0.1
    y0 = initial_conditions(4, 3, 1.5, seed=2)
    res = integrate_sweep(Ws, y0, drive=drive, t1=4.0, n_points=41, **vals)
    assert res.status == "success"
    for p in range(3):
        prm = FHRNParams(**{k: v[p] for k, v in vals.items()}, drive=tuple(drive[p]))
        one = integrate(Ws[p], y0, params=prm, t1=4.0, n_points=41)
        np.testing.assert_allclose(res.y[:, p].numpy(), one.y.numpy(), rtol=0, atol=1e-6)


def test_group_control_is_at_least_as_strict_as_separate_calls():
    """Against a tight reference, each set's error in the batch is within 2x of its own call's error."""
    y0 = initial_conditions(8, 2, 2.0, seed=0)
    gammas = np.array([0.2, 3.0])  # a slow and a fast rotation: very different step needs
    res = integrate_sweep(W2, y0, gamma=gammas, t1=5.0, n_points=26)
    for p, g in enumerate(gammas):
        prm = FHRNParams(gamma=float(g))
        ref = integrate(W2, y0, params=prm, t1=5.0, n_points=26, rtol=1e-12, atol=1e-14)
        one = integrate(W2, y0, params=prm, t1=5.0, n_points=26)
        e_batch = float((res.y[:, p] - ref.y).abs().max())
        e_one = float((one.y - ref.y).abs().max())
        assert e_batch <= 2.0 * e_one + 1e-12


def test_y0_per_set_and_divergence_per_trajectory():
    y0 = np.stack([initial_conditions(3, 2, 1.0, seed=s).numpy() for s in range(2)])
    Ws = np.stack([W2, make_operator("sym", 2, seed=0)])
    res = integrate_sweep(Ws, y0, gamma=[1.0, 3.0], kappa=[1.0, 0.0], t1=20.0, n_points=41)
    # set 1: symmetric W*, gamma 3, no homeostasis: |y| grows without bound -> stopped; set 0 reaches t1
    assert res.status == "diverged" and res.t_final == pytest.approx(20.0) and res.diverged[1].any()
    assert not res.diverged[0].any() and torch.isfinite(res.y[:, 0]).all()
    summary = res.summary()
    assert summary["n_sets"] == 2 and len(summary["t_diverged"]) == 2


def test_pole_sweep_stops_pole_bound_trajectories():
    res = integrate_sweep(W2, initial_conditions(4, 2, 2.0, seed=0), kappa=2.0, beta=[0.5, 2.0], t1=10.0,
                          n_points=21)
    assert not res.diverged[0].any() and res.diverged[1].any()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(gamma=[1.0, 2.0], kappa=[1.0, 2.0, 3.0]), "length 1 or P = 3"),
        (dict(kappa=[-1.0]), "`kappa` must be >= 0"),
        (dict(theta=[0.0]), "`theta` must be > 0"),
        (dict(gamma=[np.nan]), "`gamma` must be a finite"),
        (dict(error_control="local"), "`error_control`"),
        (dict(y0=np.zeros((2, 3, 2)), gamma=[1.0, 2.0, 3.0]), "`y0` must have shape"),
        (dict(params=FHRNParams(memory="hebbian")), "memory must be 'none'"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(F.FHRNInputError, match=match):
        integrate_sweep(W2, **kwargs)


@pytest.mark.parametrize("spec,want", [("0:1:5", np.linspace(0, 1, 5)), ("0.1,0.2", [0.1, 0.2]), ("3", [3.0])])
def test_parse_grid(spec, want):
    np.testing.assert_allclose(parse_grid(spec, "gamma"), want)


@pytest.mark.parametrize("spec", ["0:1", "a:b:3", "0:1:0", "1,,2", "nan", ""])
def test_parse_grid_rejects(spec):
    with pytest.raises(F.FHRNInputError, match="`gamma`"):
        parse_grid(spec, "gamma")


def test_cli_grid_is_one_batched_solve_matching_the_library(tmp_path, capsys):
    import json

    from fhrn_ode.cli import main

    out = tmp_path / "g"
    assert main(["integrate", "--grid", "gamma=0:1:3", "--grid", "kappa=1,10", "--n-init", "2", "--t1", "2",
                 "--n-points", "11", "--out", str(out), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["status"] == "success" and s["grid_shape"] == [3, 2] and s["n_sets"] == 6
    z = np.load(out / "trajectory.npz")
    assert z["y"].shape == (11, 6, 2, 2)
    np.testing.assert_allclose(z["grid_gamma"], np.repeat([0.0, 0.5, 1.0], 2))
    one = integrate(W2, initial_conditions(2, 2, 2.0, seed=0), params=FHRNParams(gamma=0.5, kappa=10.0), t1=2.0,
                    n_points=11)
    np.testing.assert_allclose(z["y"][:, 3], one.y.numpy(), rtol=0, atol=1e-6)
    assert main(["integrate", "--grid", "gamma=1:2", "--out", str(tmp_path / "x")]) == 2
    assert "`--grid gamma` must be 'a:b:n'" in capsys.readouterr().err
    assert not (tmp_path / "x" / "trajectory.npz").exists()
