"""Numbers quoted in README.md and docs/ are the numbers the commands compute (issue 21, item 1).

Each test recomputes a quoted number with the function the command writes it from (``claims`` ->
fhrn_ode.analysis.claims, ``figures`` -> fhrn_ode.analysis.paper), formats it as the page quotes it, and
finds the page's sentence. A change of the computation that moves a quoted number fails here until
the page says the new number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _text(page: str) -> str:
    """A page with every run of whitespace (line breaks included) as one space."""
    return re.sub(r"\s+", " ", (ROOT / page).read_text(encoding="utf-8"))


def test_zero_contour_radii_and_their_gammas():
    from fhrn_ode import FHRNParams
    from fhrn_ode.analysis import claims, paper

    claim = claims._zero_contour(True)  # what `fhrn-ode claims` reports, at the default parameters
    r_claims = f"{claim.numbers['zero_contour_radius']:.3f}"
    fig = paper.fig2b_data(resolution=20)  # the drawn Fig. 2(b) (its radius is a root, not a grid value)
    r_fig, r_star = f"{fig.zero_contour_radius:.3f}", f"{fig.ring_radius:.3f}"
    assert (r_claims, r_fig, r_star) == ("0.946", "0.936", "0.949")  # the pages below quote these
    assert FHRNParams().gamma == 1.0 and paper.FIG2_PARAMS.gamma == 2.0
    readme = _text("README.md")
    assert f"crosses 0 at {r_claims} for `gamma = 1`" in readme
    assert f"the drawn Fig. 2(b) uses `gamma = 2`, where it crosses at {r_fig}" in readme
    assert f"(the zero crossing at {r_claims} for `gamma = 1`, a green dot next to the dashed `r* = {r_star}` line)" \
        in _text("docs/figures.md")
    assert f"The zero contour ({r_fig} at the figure's `gamma = 2`)" in _text("docs/figures.md")
    assert f"(r = {r_fig} vs r* = {r_star} at gamma 2, kappa 10)" in _text("docs/findings.md")


def _escape(quick: bool) -> tuple[str, str]:
    from fhrn_ode.analysis import claims

    run = claims._memory_boundedness(quick).numbers["eta/lam = 3 > kappa"]
    assert run["status"] == "failed"  # the escaping run ends at its evaluation budget
    return f"{run['max_norm']:.3g}", f"{run['t_final']:.2g}"


def test_memory_escape_numbers_of_claims_quick():
    norm, t = _escape(True)
    assert f"; {norm} at t = {t} with `--quick`, whose budget is smaller)" in _text("docs/findings.md")
    assert f"its `|y|` and `t` at the stop differ: {norm} at t = {t} instead of" in _text("docs/cli.md")


@pytest.mark.slow
def test_memory_escape_numbers_of_claims():
    norm, t = _escape(False)
    assert f"at \\|y\\| = {norm}, t = {t} (`fhrn-ode claims`;" in _text("docs/findings.md")
    assert f"instead of {norm} at t = {t})" in _text("docs/cli.md")


def test_fig4_exact_ratio_in_figures_md():
    """fig4_exact's title and manifest carry rho(W_hat) (analysis/exact_boundary.py); figures.md quotes it."""
    from fhrn_ode.operators import make_operator
    from fhrn_ode.spectrum import spectral_abscissa

    rho = float(spectral_abscissa(make_operator("mixed", 2, seed=0)))  # the manifest's params.rho_W_hat
    page = _text("docs/figures.md")
    assert f"lies `1/rho(W_hat) = {1 / rho:.1f}` times above the small-gain line" in page
    assert f"(`rho(W_hat) = {rho:.3g}`, in the title and in the manifest's `params`)" in page


def _slots_defaults():
    """The parameters and operator of `fhrn-ode slots` at its defaults (cli/slots.py, analysis/slots.py)."""
    import numpy as np

    from fhrn_ode import FHRNParams
    from fhrn_ode.analysis.slots import regime_operator

    p = FHRNParams(gamma=1.0, kappa=2.0, leak=1.0, lam=1.0, eta=0.3)
    W = regime_operator(4)
    return p, np.diag(W), float(np.max(np.diag(W)))


def _joined(values, fmt) -> str:
    return ", ".join(fmt(v) for v in values)


def test_slot_closed_forms_in_companions_md():
    """companions.md §5 quotes the closed forms `fhrn-ode slots` writes next to its measurements."""
    from fhrn_ode.analysis.slots import (aligned_abscissa, aligned_radius, critical_slot_count,
                                         growth_rate_no_homeostasis, rotating_slot_state)

    p, eigs, w = _slots_defaults()
    ks = (0, 1, 2, 4, 6, 8)  # the command's default --ks
    page = _text("docs/companions.md")
    radii = _joined((aligned_radius(p, w, k) for k in ks), lambda v: f"{v:.3f}")
    assert f"aligned slots {radii} (closed form to 1e-6)" in page
    absc = _joined((aligned_abscissa(p, eigs, k) for k in ks[1:]), lambda v: f"{v:.3f}")
    assert f"spectral abscissa {absc} (closed form)" in page
    growth = _joined((growth_rate_no_homeostasis(p, w, k) for k in ks[1:]), lambda v: f"{v:+.3f}")
    assert f"the growth rate of `|y|` is {growth} for K = 1, 2, 4, 6, 8" in page
    assert f"`K_crit = {critical_slot_count(p, w):.2f}`" in page
    omega = [rotating_slot_state(p, k)[0] for k in ks]
    r = [rotating_slot_state(p, k)[1] for k in ks]
    assert f"The rotation rate is {_joined(omega, lambda v: f'{v:.3g}')} for K = 0, 1, 2, 4, 6, 8" in page
    assert f"the radius grows {r[0]:.3f} to {r[-1]:.3f}" in page


def test_slot_measurements_in_companions_md():
    """The measured numbers of `fhrn-ode slots` (defaults, t1 = 40) that companions.md quotes: the fastest growth
    without homeostasis (K = 8, stopped at |y| = 1e12 before t1: measured on the finite part) and heavy decay."""
    from fhrn_ode.analysis.slots import slot_regimes

    reg = slot_regimes(ks=(8,), lams=(100.0,))
    assert reg.growth_no_homeostasis[0] == pytest.approx(reg.growth_no_homeostasis_closed_form[0], rel=1e-6)
    assert reg.diverged_no_homeostasis[0]
    page = _text("docs/companions.md")
    assert f"0.101, 0.036, {reg.deviation_vs_lam[0]:.2g} for `lam` = 1, 3, 10, 30, 100" in page
    err = f"{reg.unused_decay_error:.1e}".replace("e-0", "e-")
    assert f"decay as `|m_k(0)| e^{{-lam t}}` to a relative {err}" in page


def _g3(v) -> str:
    """A median as companions.md prints it: 3 significant digits, ``n/a`` for NaN/None, ``0`` for zero."""
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return "0" if v == 0 else f"{v:.3g}"


def halting_rows(table: list[dict], *, verdicts: bool = True) -> list[str]:
    """The rows of companions.md §3's tables from the ``table`` of ``halting.json`` (``fhrn-ode halting --out``)."""
    rows = []
    for r in table:
        g = f"{r['gamma'] if verdicts else r['trained_gamma']:g}"
        if verdicts and r["gamma"] == r["trained_gamma"]:
            g = f"**{g} (trained)**"
        cells = [g, str(r["n_contexts"]), f"{r['fraction_converged']:.3f}", f"{r['fraction_ode_stable']:.3f}",
                 f"**{r['agreement']:.3f}**" if verdicts and r["gamma"] == r["trained_gamma"] else f"{r['agreement']:.3f}",
                 str(r["ode_only"])]
        if verdicts:
            cells.append(str(r["loop_only"]))
        cells += [f"{r['iterations_median']:g}", _g3(r["rate_median"]), _g3(r["multiplier_max_abs_median"]),
                  _g3(r["multiplier_ex_max_abs_median"])]
        if verdicts:
            v = r["verdict_ex_counts"]
            cells.append(f"{v['both_stable']} / {v['ode_only']} / {v['both_unstable']}")
        rows.append("| " + " | ".join(cells) + " |")
    return rows


@pytest.mark.slow
def test_halting_reference_table_in_companions_md(tmp_path):
    """companions.md §3's reference table is the table of `fhrn-ode halting reference --contexts 64 --gammas 0 0.1
    0.25 0.5 1 2 4` (minutes: slow)."""
    import json

    import numpy as np

    from fhrn_ode.cli import main

    argv = ["halting", "reference", "--contexts", "64", "--gammas", "0", "0.1", "0.25", "0.5", "1", "2", "4"]
    assert main([*argv, "--out", str(tmp_path), "--no-plot"]) == 0
    res = json.loads((tmp_path / "halting.json").read_text())
    page = (ROOT / "docs/companions.md").read_text(encoding="utf-8")
    for row in halting_rows(res["table"]):
        assert row in page, row
    page = _text("docs/companions.md")
    unstable = [c for m in res["models"] for c in m["contexts"] if not c["ode_stable"]]
    halted = sum(c["converged"] for c in unstable)
    assert f"Of the {len(unstable)} ODE-unstable contexts (all gains) the loop halted at {halted or 'none'}." in page
    trained = next(m for m in res["models"] if m["gamma"] == m["trained_gamma"])
    its = [c["iterations"] for c in trained["contexts"] if c["converged"]]
    n = len(trained["contexts"])
    assert f"{len(its)}/{n} contexts of the reference model halt (tol 1e-10, median {np.median(its):g} iterations, " \
           f"max {max(its)})" in page
    g = [c["predicted_rate"] / c["multiplier_ex_max_abs"] for c in trained["contexts"] if c["multiplier_ex_max_abs"] > 0]
    assert f"`g` is between {min(g):.3f} and {max(g):.3f} (median {np.median(g):.3g}" in page
