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
    assert f"(the zero crossing at {r_claims} for `gamma = 1`, next to `r* = {r_star}`)" in _text("docs/figures.md")
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
