"""The scripts in examples/ run (small sizes: FHRN_EXAMPLE_QUICK=1) and print what they promise."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(monkeypatch, capsys, name: str, *args: str) -> str:
    monkeypatch.setenv("FHRN_EXAMPLE_QUICK", "1")
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_every_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py") if p.name != "__init__.py"} == {
        "own_field_gradients.py", "matrix_stability.py", "trained_model_verdict.py", "van_der_pol.py"}


def test_own_field_gradients(monkeypatch, capsys, tmp_path):
    png = tmp_path / "traj.png"
    out = _run(monkeypatch, capsys, "own_field_gradients.py", "--plot", str(png))
    assert out.count("step ") == 3 and "success" in out
    assert png.stat().st_size > 1000 and f"wrote {png}" in out
    direct, adjoint = map(float, re.search(r"direct (\S+), adjoint (\S+)", out).groups())
    assert direct == pytest.approx(adjoint, rel=1e-6) and direct != 0.0


def test_matrix_stability(monkeypatch, capsys, tmp_path):
    W = np.array([[0.5, -1.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, -0.3]])
    np.save(tmp_path / "W.npy", W)
    png = tmp_path / "map.png"
    out = _run(monkeypatch, capsys, "matrix_stability.py", str(tmp_path / "W.npy"), "--gamma", "1.5",
               "--beta", "0", "--plot", str(png))
    # rho(-I + 1.5 W) = -1 + 1.5 * 0.5 = -0.25: stable, although r_e = 1.5 |W|_2 > 1
    assert "STABLE" in out and "rho(-I + gamma g W) = -0.25" in out and "does not certify" in out
    # critical norms: small gain 1/gamma, exact |W|_2 / (gamma rho(W)) = sqrt(1.25) / 0.75
    assert "small gain 0.6667, exact 1.491" in out
    assert png.stat().st_size > 1000


def test_trained_model_verdict(monkeypatch, capsys):
    out = _run(monkeypatch, capsys, "trained_model_verdict.py")
    assert "reference_model" in out and "layer 0:" in out and "integrate: success" in out
    assert "exact critical |W|_2" in out


def test_van_der_pol_field_keeps_the_shape_and_is_exact():
    """(2,) -> (2,) and (N, 2) -> (N, 2); f(x, y) = (y, mu (1 - x^2) y - x) at hand-computed points."""
    import torch

    ns = runpy.run_path(str(EXAMPLES / "van_der_pol.py"))
    f = ns["VanDerPol"](mu=2.0)
    y = torch.tensor([2.0, 3.0], dtype=torch.float64)
    assert f(0.0, y).shape == (2,) and f(0.0, y).tolist() == [3.0, 2.0 * (1 - 4.0) * 3.0 - 2.0]
    Y = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 3.0]], dtype=torch.float64)
    assert f(0.0, Y).tolist() == [[1.0, 2.0], [0.0, -1.0], [3.0, -20.0]] and f.dim == 2
    # the optional closed-form Jacobian equals autograd's, batched and for one state
    J = torch.func.vmap(torch.func.jacrev(lambda z: f(0.0, z)))(Y)
    assert torch.allclose(f.jacobian(Y), J, rtol=0, atol=1e-14) and f.jacobian(Y).shape == (3, 2, 2)
    assert f.jacobian(y).tolist() == [[0.0, 1.0], [-2.0 * 2.0 * 2.0 * 3.0 - 1.0, 2.0 * (1 - 4.0)]]
