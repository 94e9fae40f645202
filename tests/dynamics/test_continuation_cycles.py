"""Limit cycles continued from a Hopf point: the Brusselator near onset (period 2 pi, amplitude
2 sqrt(2/3) sqrt(b - 2) from l1 = -1/4, docs/continuation.md), the FHRN ring (exact radius and period)."""

import math

import numpy as np
import pytest
import torch

from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation
from fhrn_ode.field import FHRNField
from fhrn_ode.params import FHRNParams

from ._cont_systems import Brusselator


def test_brusselator_cycles_near_onset():
    pr = ContinuationProblem(x0=[1.0, 1.0], p0=1.0, make_field=Brusselator, param="b")
    h = continuation(pr, ContinuationOptions(p_min=0.5, p_max=3.0, ds=0.2, ds_max=0.5)).points("H")[0]
    cyc = continuation(pr, ContinuationOptions(p_max=2.3, ds=0.02, ds_max=0.05, max_steps=4), start=h)
    assert cyc.kind == "cycles" and cyc.status == "success", cyc.message
    assert np.all(cyc.p > 2.0) and np.all(np.diff(cyc.data["amplitude"]) > 0)
    # centre-manifold prediction: |z| = sqrt(-Re(lambda) / (w l1)) = sqrt(2 (b - 2)); y = 2 Re(z q), |q_y| = 1/sqrt(3)
    ratio = cyc.data["amplitude"] / np.sqrt(cyc.p - 2.0)
    assert np.allclose(ratio, 2 * math.sqrt(2 / 3), rtol=2e-3)
    assert np.allclose(cyc.data["period"], 2 * math.pi, rtol=1e-4)
    assert set(cyc.stability) == {"stable"}  # supercritical: the cycles are stable


@pytest.mark.slow  # ~18 s: strong radial contraction makes each shooting solve long
def test_fhrn_ring_radius_and_period_exact():
    """For W = [[a, -b], [b, a]], beta = 0: the ring r*^2 = theta^2 + (gamma a - leak) / kappa, T = 2 pi / (gamma b)."""
    a, b, gamma = -0.3, 0.8, 2.0
    W = np.array([[a, -b], [b, a]])
    mk = lambda k: FHRNField(W, FHRNParams(gamma=gamma, kappa=float(k)))  # noqa: E731
    pr = ContinuationProblem(x0=torch.zeros(2), p0=1.0, make_field=mk, param="kappa")
    h = continuation(pr, ContinuationOptions(p_min=0.0, p_max=3.0, ds=0.2, ds_max=0.5)).points("H")[0]
    cyc = continuation(pr, ContinuationOptions(p_max=2.5, ds=0.05, ds_max=0.2, max_steps=3), start=h)
    r = np.sqrt(1.0 + (gamma * a - 1.0) / cyc.p)
    assert np.allclose(cyc.data["amplitude"], r, rtol=1e-4)  # half peak-to-peak of 201 samples per period
    assert np.allclose(cyc.data["period"], 2 * math.pi / (gamma * b), rtol=1e-7)
    # near onset r is steep in kappa (dr/dkappa ~ 4): the shooting tolerance 1e-7 on u gives ~1e-5 in r
    assert np.allclose(np.linalg.norm(cyc.x, axis=1), r, rtol=5e-5)
    # multipliers: 1 (phase) and exp(-2 kappa r^2 T) (radial rate 2 kappa r^2)
    mu = np.sort(np.abs(cyc.eigenvalues), axis=1)
    assert np.allclose(mu[:, 0], np.exp(-2 * cyc.p * r ** 2 * cyc.data["period"]), rtol=1e-4, atol=1e-12)
    assert pytest.approx(1.0, abs=1e-6) == mu[0, 1]
