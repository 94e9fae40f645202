"""Symbolic checks: the sympy derivations agree with the code, and each verdict is what the algebra says."""

import json

import numpy as np
import pytest
import sympy as sp
import torch

import fhrn_ode as F
from fhrn_ode.analysis.symbolic import VERDICTS, verify_all
from fhrn_ode.cli import main


@pytest.fixture(scope="module")
def report():
    return verify_all()


def test_every_check_has_a_valid_verdict_and_the_counts_add_up(report):
    assert all(c.verdict in VERDICTS for c in report.checks)
    assert sum(report.counts.values()) == len(report.checks) >= 20
    assert len({c.id for c in report.checks}) == len(report.checks)


@pytest.mark.parametrize("cid,verdict", [
    ("C10-11-jacobian", "holds"), ("C2-gain-derivative", "holds"), ("C14-Vdot", "holds"),
    ("S6-leak-bound", "holds_under_conditions"), ("A-iv-sign", "does_not_hold"), ("S12-algebra", "does_not_hold"),
    ("S16-strict-decrease", "does_not_hold"), ("S17-limit-set", "does_not_hold"),
    ("C12-small-gain", "holds_under_conditions"), ("Fig4-beta-tradeoff", "holds_under_conditions"),
    ("S20", "holds"), ("S21-S22", "holds"), ("S23-vector", "holds_under_conditions"),
])
def test_key_verdicts(report, cid, verdict):
    assert report.by_id(cid).verdict == verdict


def test_sympy_jacobian_with_gain_equals_the_field_jacobian_numerically():
    d = 3
    y = sp.Matrix(sp.symbols("y1:4", real=True))
    Wn = F.make_operator("random", d, seed=5)
    gamma, kappa, theta, leak, beta = 0.7, 1.9, 1.2, 0.8, 0.45
    s = (y.T * y)[0]
    g = 1 / (1 + beta * (s - 1))
    f = -leak * y + gamma * g * sp.Matrix(Wn) * y - kappa * (s - theta**2) * y
    Jf = sp.lambdify(list(y), f.jacobian(y), "numpy")
    field = F.FHRNField(Wn, F.FHRNParams(gamma=gamma, kappa=kappa, theta=theta, leak=leak, beta=beta))
    rng = np.random.default_rng(0)
    for _ in range(5):
        pt = rng.normal(size=d)
        np.testing.assert_allclose(field.jacobian(torch.as_tensor(pt)).numpy(), np.array(Jf(*pt), dtype=float), atol=1e-12)


def test_c12_counterexample_is_really_unstable():
    """C 12 as printed accepts y = 0, W = I, gamma = 1, kappa = 1/2; the Jacobian there has eigenvalue +1/2."""
    p = F.FHRNParams(gamma=1.0, kappa=0.5, leak=1.0)
    J = F.FHRNField(np.eye(2), p).jacobian(torch.zeros(2, dtype=torch.float64)).numpy()
    lam_min_minus_Dgh = -0.5  # eig of kappa[(0 - 1) I] at y = 0
    assert np.linalg.norm(np.eye(2), 2) < 1 - lam_min_minus_Dgh  # the paper's condition holds ...
    assert np.linalg.eigvals(J).real.max() == pytest.approx(0.5)  # ... yet the point is unstable


def test_s6_counterexample_numbers():
    s = 0.5
    assert -(s - 1) * s > -((s - 1) ** 2)


def test_verify_cli_json(capsys):
    assert main(["verify", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"counts", "checks"}
    assert set(out["checks"][0]) == {"id", "ref", "statement", "verdict", "condition", "evidence"}
    assert main(["verify"]) == 0
    assert "DOES_NOT_HOLD" in capsys.readouterr().out
