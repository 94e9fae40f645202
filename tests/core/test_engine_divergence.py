"""Per-trajectory divergence, kept prefixes on failure and interrupt (issue 10 items 2-3, integrate part)."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import fhrn_ode as F
from fhrn_ode import FHRNParams
from fhrn_ode.integration import MAX_GAIN, initial_conditions, integrate
from fhrn_ode.operators import make_operator

W2 = make_operator("antisym", 2, seed=0)


def test_singular_gain_cli_ends_fast_and_keeps_every_trajectory(tmp_path):
    """The gain pole on the ring (kappa 2, beta 2): stopped trajectories keep their data, run ends in seconds."""
    out = tmp_path / "pole"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fhrn_ode", "integrate", "--wr", "antisym", "--kappa", "2",
                           "--beta", "2", "--t1", "40", "--out", str(out), "--no-plot", "--json"],
                          capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["status"] == "diverged" and "gain pole" in s["message"]
    assert s["t_final"] == pytest.approx(40.0)  # the run went on to t1
    z = np.load(out / "trajectory.npz")
    t, y, div, tdiv = z["t"], z["y"], z["diverged"], z["t_diverged"]
    assert t[-1] == pytest.approx(40.0) and y.shape == (401, 8, 2)
    assert s["diverged"] == div.tolist() and div.any()
    pole = FHRNParams(kappa=2.0, beta=2.0).pole_radius
    for k in range(8):
        if div[k]:
            stop = int(np.searchsorted(t, tdiv[k]))
            assert s["t_diverged"][k] == pytest.approx(tdiv[k]) and 0 < tdiv[k] < 40.0
            assert np.isfinite(y[:stop, k]).all() and np.isnan(y[stop:, k]).all()
            r = np.linalg.norm(y[stop - 1, k])  # the last kept state is near the pole, on its side
            assert abs(r - pole) < 0.05
        else:
            assert s["t_diverged"][k] is None and np.isfinite(y[:, k]).all()
    assert s["solver"]["nfe"] < 20_000
    print(f"singular-gain CLI run: {wall:.1f} s wall (subprocess, loaded machine), nfe {s['solver']['nfe']}")


def test_pole_trajectories_stop_while_the_others_reach_t1():
    """Outside the pole's basin a trajectory is integrated to t1 while the pole-bound ones are stopped."""
    p = FHRNParams(kappa=2.0, beta=2.0)
    y0 = torch.tensor([[0.3, 0.0], [0.0, 0.05], [1.2, 0.0], [0.0, 1.0]], dtype=torch.float64)
    res = integrate(W2, y0, params=p, t1=10.0, n_points=101, max_gain=MAX_GAIN)
    assert res.t_final == pytest.approx(10.0)
    assert res.diverged.any()
    g = 1.0 / (1.0 + p.beta * (res.y_final.pow(2).sum(-1) - 1.0))
    assert torch.all(g[torch.as_tensor(res.diverged)].abs() > 0.5 * MAX_GAIN)


def test_budget_failure_keeps_the_prefix():
    """An exhausted evaluation budget keeps every saved time computed before it, inside the chunk too."""
    p = FHRNParams(kappa=2.0, beta=2.0)
    res = integrate(W2, initial_conditions(8, 2, 2.0, seed=0), params=p, t1=40.0, max_gain=None, max_nfe=3000)
    assert res.status == "failed" and "max_nfe" in res.message
    assert 0.0 < res.t_final < 40.0 and res.y.shape[0] == res.t.shape[0] > 2
    assert res.y.shape[0] > 1 and torch.isfinite(res.y[: res.y.shape[0]]).any()
    # the kept prefix is the prefix of an unconstrained run (same steps up to there)
    ref = integrate(W2, initial_conditions(8, 2, 2.0, seed=0), params=p, t1=40.0, max_gain=None, max_nfe=6000)
    n = min(res.y.shape[0], ref.y.shape[0])
    np.testing.assert_allclose(res.y[:n].numpy(), ref.y[:n].numpy(), rtol=0, atol=1e-9)


def test_keyboard_interrupt_raises_with_the_prefix(monkeypatch):
    """Ctrl-C inside the solve raises IntegrationInterrupted (a KeyboardInterrupt) carrying the prefix."""
    field = F.FHRNField(W2, FHRNParams())
    real = type(field)._forward_columns
    calls = {"n": 0}

    def interrupting(self, t, yT):
        calls["n"] += 1
        if calls["n"] == 1500:
            raise KeyboardInterrupt
        return real(self, t, yT)

    monkeypatch.setattr(type(field), "_forward_columns", interrupting)
    with pytest.raises(F.IntegrationInterrupted) as info:
        integrate(field, initial_conditions(8, 2, 2.0, seed=0), t1=20.0)
    assert isinstance(info.value, KeyboardInterrupt) and not info.value.sigterm
    res = info.value.result
    assert res.status == "interrupted" and "interrupted" in res.message
    assert 0.0 < res.t_final < 20.0 and res.y.shape == (res.t.shape[0], 8, 2)
    monkeypatch.setattr(type(field), "_forward_columns", real)
    full = integrate(F.FHRNField(W2, FHRNParams()), initial_conditions(8, 2, 2.0, seed=0), t1=20.0)
    np.testing.assert_allclose(res.y.numpy(), full.y[: res.y.shape[0]].numpy(), rtol=0, atol=1e-9)


def test_max_gain_is_validated():
    with pytest.raises(F.FHRNInputError, match="`max_gain` must be > 1"):
        integrate(W2, max_gain=0.5)


def test_beta_one_pole_at_the_origin_stops_a_decaying_trajectory_at_the_analytic_time():
    """beta = 1: g = 1/|y|^2, a pole at the origin (docs/model.md (M6a) with r_pole = 0).

    kappa = 0 and an antisymmetric W*: y.W*y = 0, so |y| = r0 exp(-leak t) exactly while the rotation
    speed gamma g grows like 1/|y|^2. The guard stops the trajectory where |g| = 1/|y|^2 first exceeds
    max_gain, i.e. at t* = ln(r0 sqrt(max_gain)) / leak, instead of chasing the singular rotation.
    """
    p = FHRNParams(beta=1.0, kappa=0.0, leak=1.0)
    y0 = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    res = integrate(W2, y0, params=p, t1=5.0, n_points=501, max_gain=MAX_GAIN)
    assert res.status == "diverged" and "gain pole |y| = 0 " in res.message
    t_star = np.log(np.array([1.0, 2.0]) * np.sqrt(MAX_GAIN))
    assert res.diverged.all()
    np.testing.assert_allclose(res.t_diverged, t_star, atol=0.011)  # saved grid step 0.01
    keep = res.t.numpy() < t_star[0] - 0.011
    r = res.y[keep, 0].norm(dim=-1).numpy()
    np.testing.assert_allclose(r, np.exp(-res.t.numpy()[keep]), rtol=1e-5)  # the exact radius up to the stop
    assert res.nfe < 5000


def test_beta_one_refuses_a_start_at_the_origin():
    with pytest.raises(F.FHRNInputError, match=r"`y0`\[1\] sits on the gain pole \|y\| = 0 of g \(beta=1\)"):
        integrate(W2, torch.tensor([[0.5, 0.0], [0.0, 0.0]], dtype=torch.float64), params=FHRNParams(beta=1.0))
