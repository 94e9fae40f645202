"""Period doubling and Neimark-Sacker on cycle branches at their exact parameters (p = 1): a Hopf cycle
r^2 = p with a transverse pair whose multipliers are known in closed form (tests/dynamics/_cont_systems.py:
TwistedCycle -exp((sqrt(p) - 1) T); TorusCycle exp((p - 1) T +- i w2 T))."""

import math

import numpy as np
import pytest

from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation

from ._cont_systems import TorusCycle, TwistedCycle


def _cycles(cls):
    pr = ContinuationProblem(x0=[0.0] * 4, p0=-0.5, make_field=cls, param="p")
    h = continuation(pr, ContinuationOptions(p_min=-1, p_max=0.5, ds=0.1)).points("H")[0]
    assert h.p == pytest.approx(0.0, abs=1e-10)
    return continuation(pr, ContinuationOptions(p_max=1.4, ds=0.1, ds_max=0.3, max_steps=30), start=h)


@pytest.mark.slow  # ~50 s: 4-D shooting with the monodromy at every point
def test_period_doubling_at_p_equal_1():
    cyc = _cycles(TwistedCycle)
    assert cyc.status == "success", cyc.message
    assert [s.kind for s in cyc.special] == ["PD"]
    (pd,) = cyc.special
    assert pd.p == pytest.approx(1.0, abs=1e-7)
    mu = np.array([complex(*z) for z in pd.eigenvalues])
    assert np.min(np.abs(mu + 1)) < 1e-6  # a multiplier at -1
    assert pd.data["period"] == pytest.approx(math.pi, rel=1e-7)


@pytest.mark.slow  # ~50 s
def test_neimark_sacker_at_p_equal_1():
    cyc = _cycles(TorusCycle)
    assert cyc.status == "success", cyc.message
    assert [s.kind for s in cyc.special] == ["NS"]
    (ns,) = cyc.special
    assert ns.p == pytest.approx(1.0, abs=1e-7)
    mu = np.array([complex(*z) for z in ns.eigenvalues])
    pair = mu[np.abs(mu.imag) > 1e-6]
    assert np.allclose(np.abs(pair), 1.0, atol=1e-6)
    assert np.allclose(np.abs(np.angle(pair)), 0.3 * math.pi, atol=1e-6)  # w2 T = 0.3 pi
