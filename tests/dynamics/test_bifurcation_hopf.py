"""The sweep AT the Hopf point of the 2-D ring (antisymmetric ``W*``, kappa = leak / theta^2 = 1, docs/model.md
§1.9): the origin is non-hyperbolic (eigenvalues ``+-i``) and its stability is not decided by the linearisation
(``stable`` None, JSON null); no cycle exists there (the spiral decays like ``t^-1/2``)."""

import json

import numpy as np

from fhrn_ode.cli import main
from fhrn_ode.dynamics.bifurcation import _linear_stability, bifurcation_sweep, fhrn_family
from fhrn_ode.operators import make_operator
from fhrn_ode.params import FHRNParams

_KEYS = {"x", "norm", "kind", "unstable_dim", "stable", "eigenvalues_max_real", "residual"}


def test_linear_stability_decides_only_what_the_eigenvalues_decide():
    assert _linear_stability("stable focus", 0) is True
    assert _linear_stability("saddle", 1) is False and _linear_stability("unstable focus", 2) is False
    assert _linear_stability("non-hyperbolic", 0) is None  # a zero real part: the nonlinear terms decide
    assert _linear_stability("non-hyperbolic", 1) is False  # an eigenvalue with Re > 0: unstable anyway


def test_sweep_through_the_hopf_point_labels_the_origin_undecided_and_finds_no_cycle_there():
    d = bifurcation_sweep(fhrn_family(make_operator("antisym", 2), FHRNParams(), "kappa"), [0.5, 1.0, 1.5],
                          param="kappa", n_init=2, n_starts=16, exponents=False)
    (e0,), (e1,), (e2,) = d.equilibria
    assert [e["kind"] for e in (e0, e1, e2)] == ["stable focus", "non-hyperbolic", "unstable focus"]
    assert [e["stable"] for e in (e0, e1, e2)] == [True, None, False]
    assert e1["norm"] == 0.0 and e1["eigenvalues_max_real"] == 0.0 and set(e1) == _KEYS
    assert d.cycles[1] == [] and d.label == ["equilibrium", "not settled", "cycle"]
    assert abs(d.cycles[2][0]["radius_mean"] - np.sqrt(1 - 1 / 1.5)) < 1e-8
    hopf = [b for b in d.bifurcations if b.kind == "hopf"]
    assert len(hopf) == 1 and abs(hopf[0].value - 1.0) < 1e-9
    from fhrn_ode.figures.dynamics import plot_bifurcation  # the figure draws the third state, neither filled nor open red

    legend = [t.get_text() for t in plot_bifurcation(d).axes[0].get_legend().get_texts()]
    assert legend[:3] == ["stable equilibrium", "unstable equilibrium",
                          "equilibrium, stability not decided by linearisation"]


def test_cli_at_the_hopf_point_writes_null_stability_and_says_it_is_not_decided(tmp_path, capsys):
    argv = ["bifurcation", "--wr", "antisym", "--param", "kappa", "--range", "0.5:1.5:3", "--n-init", "2",
            "--n-starts", "16", "--no-exponents", "--no-plot", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.strip().startswith("kappa = 1 "))
    assert "not settled" in line and "|y| 0 non-hyperbolic, stability not decided by linearisation" in line
    assert "kappa = 0.5        equilibrium     {'equilibrium': 2}; equilibria: |y| 0 stable focus" in out
    res = json.loads((tmp_path / "bifurcation.json").read_text())
    assert [[e["stable"] for e in eqs] for eqs in res["equilibria"]] == [[True], [None], [False]]
    assert all(set(e) == _KEYS for eqs in res["equilibria"] for e in eqs) and res["cycles"][1] == []
    assert '"stable": null' in (tmp_path / "bifurcation.json").read_text()
