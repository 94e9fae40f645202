"""Bogdanov-Takens and zero-Hopf points located on fold and Hopf curves at their exact places.

BogdanovTakens: x' = y, y' = b1 + b2 x + x^2 - x y; the fold curve b2^2 = 4 b1 and the Hopf curve
b1 = 0 (b2 < 0) both end at BT = (0, 0). FoldHopf: the fold curve b1 = 0 carries the eigenvalues 0 and
b2 +- i, so zero-Hopf at b2 = 0. Before the orientation-free tests in dynamics/continuation/_codim2.py,
the fold curve's BT was reported as a cusp 'CP' (the left null vector flipped its sign there).
"""

import pytest

from fhrn_ode.dynamics.continuation import ContinuationOptions, ContinuationProblem, continuation

from ._cont_systems import BogdanovTakens, FoldHopf


def _fold_curve(pr, lo, hi, detect):
    lp = continuation(pr, ContinuationOptions(p_min=lo, p_max=hi, ds=0.05)).points("LP")[0]
    return continuation(pr, ContinuationOptions(p2_min=-1.5, p2_max=1.5, ds=0.05, ds_max=0.2, detect=detect), start=lp)


def test_bogdanov_takens_on_the_fold_curve_is_bt_not_a_cusp():
    pr = ContinuationProblem(x0=[-2.0, 0.0], p0=0.0, make_field=BogdanovTakens, param="b1", param2="b2", p2_0=1.0)
    curve = _fold_curve(pr, -1.0, 1.0, ("BT", "CP", "ZH"))
    assert curve.status == "success", curve.message
    assert [s.kind for s in curve.special] == ["BT"]
    (bt,) = curve.special
    assert bt.p == pytest.approx(0.0, abs=1e-10) and bt.p2 == pytest.approx(0.0, abs=1e-10)
    assert max(abs(v) for v in bt.x) < 1e-10


@pytest.mark.slow  # ~30 s: a Hopf curve solves for the eigenvector at every point
def test_bogdanov_takens_ends_the_hopf_curve():
    pr = ContinuationProblem(x0=[-0.09, 0.0], p0=-0.1, make_field=BogdanovTakens, param="b1", param2="b2", p2_0=-1.0)
    h = continuation(pr, ContinuationOptions(p_min=-0.5, p_max=0.2, ds=0.05)).points("H")[0]
    assert h.p == pytest.approx(0.0, abs=1e-10)
    curve = continuation(pr, ContinuationOptions(p2_min=-1.5, p2_max=0.5, ds=0.05, ds_max=0.2, detect=("BT", "ZH")),
                         start=h)
    (bt,) = curve.points("BT")
    assert bt.p == pytest.approx(0.0, abs=1e-10) and bt.p2 == pytest.approx(0.0, abs=1e-10)
    assert curve.points("ZH") == []


def test_zero_hopf_on_the_fold_curve():
    pr = ContinuationProblem(x0=[-1.0, 0.0, 0.0], p0=-1.0, make_field=lambda b1, b2: FoldHopf(b1, b2), param="b1",
                             param2="b2", p2_0=-1.0)
    curve = _fold_curve(pr, -2.0, 1.0, ("BT", "CP", "ZH"))
    assert curve.status == "success", curve.message
    assert [s.kind for s in curve.special] == ["ZH"]
    (zh,) = curve.special
    assert zh.p == pytest.approx(0.0, abs=1e-10) and zh.p2 == pytest.approx(0.0, abs=1e-8)
    assert max(abs(v) for v in zh.x) < 1e-8
