"""One home per formula (issue 9): the source tree must not re-derive g, V, the pole guard, the critical
scale, the spectral abscissa or the sym/antisym split outside their home modules.

Pattern-based, on code only (strings and comments are dropped with ``tokenize``), over ``fhrn_ode/``, ``dynamics/``,
``analysis/`` and ``figures/``. Each rule lists its homes (allowed files); ``analysis/symbolic.py`` derives
the formulas independently with sympy on purpose (it verifies them), and the benchmark baselines in
``fhrn_ode/bench/`` time the plain alternatives on purpose.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest
import torch

import fhrn_ode as F

ROOT = Path(__file__).resolve().parents[2]
TREES = ("fhrn_ode", "dynamics", "analysis", "figures")
SYMBOLIC = "analysis/symbolic.py"
BENCH = "fhrn_ode/bench/"

RULES = {
    # g = 1/(1 + beta (r2 - 1)): "1 + beta * (" in any spelling
    "gain g": (r"\b1(\.0)?\s*\+\s*[\w.]*beta\w*\s*\*\s*\(", ("fhrn_ode/homeostasis.py", SYMBOLIC)),
    # the pole threshold: only POLE_THRESHOLD / near_pole; no private guards or "den <= 0" tests
    "pole guard": (r"\bPOLE_(GUARD|TOL)\b|\bden\w*\s*[<>]=?\s*[-\d.e]+|\bden\w*\.abs\(\)|np\.abs\(den",
                   ("fhrn_ode/homeostasis.py",)),
    # V = 1/4 (|y|^2 - theta^2)^2 and dV/dt = (|y|^2 - theta^2) y.f
    "lyapunov V": (r"\b0\.25\s*\*\s*\(|\*\*\s*2\s*/\s*4\b", ("fhrn_ode/energy.py", SYMBOLIC)),
    # the exact critical scale 1/rho(W) and the small-gain boundary 1/(gamma g)
    "critical scale": (r"\b1(\.0)?\s*/\s*\(?\s*(rho|\(?c\s*\*\s*a)\b|\b1(\.0)?\s*/\s*\(\s*[\w.\[\]\"']*gamma\b",
                       ("analysis/stability.py", SYMBOLIC)),
    # rho(M) = max Re lambda(M)
    "spectral abscissa": (r"\.real\.(max|amax)\(|\.real\s*,\s*axis", ("fhrn_ode/spectrum.py", BENCH)),
    # W_a = (W - W^T)/2, W_s = (W + W^T)/2
    "sym/antisym split": (r"\b(\w+)\s*[-+]\s*\1\.(T|mT)\b|\b(\w+)\s*[-+]\s*np\.swapaxes\(\s*\3\b",
                          ("fhrn_ode/operators.py", SYMBOLIC)),
}


def _strip(src: str) -> dict[int, str]:
    """Line number -> the code on it, with string literals and comments blanked out (``tokenize``)."""
    lines = src.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(x) for x in lines])
    chars = list(src)
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            i, j = starts[tok.start[0] - 1] + tok.start[1], starts[tok.end[0] - 1] + tok.end[1]
            chars[i:j] = [c if c == "\n" else " " for c in chars[i:j]]
    return {k + 1: line for k, line in enumerate("".join(chars).splitlines())}


def _code_lines(path: Path) -> dict[int, str]:
    return _strip(path.read_text())


def _sources():
    for tree in TREES:
        for p in sorted((ROOT / tree).rglob("*.py")):
            yield p.relative_to(ROOT).as_posix(), p


def _violations(rule: str) -> list[str]:
    pattern, homes = RULES[rule]
    rx = re.compile(pattern)
    bad = []
    for rel, p in _sources():
        if any(rel == h or (h.endswith("/") and rel.startswith(h)) for h in homes):
            continue
        for no, code in _code_lines(p).items():
            if rx.search(code):
                bad.append(f"{rel}:{no}: {code}")
    return bad


@pytest.mark.parametrize("rule", sorted(RULES))
def test_formula_is_not_rederived_outside_its_home(rule):
    bad = _violations(rule)
    assert not bad, f"{rule} re-derived outside {RULES[rule][1]}:\n" + "\n".join(bad)


@pytest.mark.parametrize("snippet, rule", [
    ("g = 1.0 / (1.0 + p.beta * (r2 - 1.0))", "gain g"),
    ("V = 0.25 * (s - 1.0) ** 2", "lyapunov V"),
    ("crit = 1.0 / rho", "critical scale"),
    ("rho = np.linalg.eigvals(J).real.max(axis=-1)", "spectral abscissa"),
    ("Wa = 0.5 * (W - W.T)", "sym/antisym split"),
    ("bad = np.abs(den) < 1e-3", "pole guard"),
])
def test_the_patterns_catch_a_rederivation(snippet, rule):
    """The check can fail: each rule matches a typical re-derivation (as code, not inside a string)."""
    rx = re.compile(RULES[rule][0])
    assert rx.search(_strip(snippet + "\n")[1])
    assert not rx.search(_strip(f"x = {snippet!r}  # {snippet}\n")[1])


def test_the_homes_are_what_everyone_uses():
    """The public names are the home functions themselves, and they compute the formulas."""
    from fhrn_ode import analysis as A
    from fhrn_ode import homeostasis, operators, spectrum

    assert operators.spectral_abscissa is spectrum.spectral_abscissa is A.spectral_abscissa
    assert A.batched_spectral_abscissa is spectrum.spectral_abscissa
    assert F.gain is homeostasis.gain and F.near_pole is homeostasis.near_pole
    r2 = np.array([0.0, 0.5, 2.0])
    np.testing.assert_allclose(F.gain(r2, 0.5), 1.0 / (1.0 + 0.5 * (r2 - 1.0)))
    np.testing.assert_allclose(F.gain_derivative(r2, 0.5), -0.5 * F.gain(r2, 0.5) ** 2)
    assert F.pole_r2(4.0) == pytest.approx(0.75) and F.pole_r2(1.0) == 0.0 and F.pole_r2(0.99) is None
    assert F.near_pole(np.array([0.75, 0.7]), 4.0).tolist() == [True, False]
    assert not F.near_pole(np.array([0.0, 1.0]), 0.9).any()
    t = torch.tensor([0.75 + 1e-5, 0.9], dtype=torch.float64)
    assert F.near_pole(t, 4.0).tolist() == [True, False] and torch.isnan(F.gain_or_nan(t, 4.0)[0])
    y = np.array([[1.5, 0.0], [0.0, 0.5]])
    np.testing.assert_allclose(F.lyapunov_V(y, 1.0), [0.25 * 1.25 ** 2, 0.25 * 0.75 ** 2])
    f = np.array([[1.0, 2.0], [0.0, -1.0]])
    np.testing.assert_allclose(F.lyapunov_V_dot(y, f, 1.0), [1.25 * 1.5, -0.75 * -0.5])
    # batched abscissa against numpy's eigenvalues, d = 2 (closed form) and d = 5
    rng = np.random.default_rng(0)
    for d in (2, 5):
        M = rng.standard_normal((7, d, d))
        np.testing.assert_allclose(F.spectral_abscissa(M), np.linalg.eigvals(M).real.max(-1), rtol=1e-12, atol=1e-12)
        assert isinstance(F.spectral_abscissa(M[0]), float)
    assert np.isnan(F.spectral_abscissa(np.full((3, 3), np.nan)))


def test_exact_critical_scale_matches_brentq_and_the_small_gain_bound():
    from scipy.optimize import brentq

    from fhrn_ode.analysis import exact_critical_scale, wr_crit_small_gain

    W = F.make_operator("mixed", 6, seed=2)
    s = exact_critical_scale(W)
    ref = brentq(lambda x: np.linalg.eigvals(-np.eye(6) + x * W).real.max(), 1e-6, 100.0, xtol=1e-14)
    assert s == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(exact_critical_scale(W, [0.5, 2.0]), [2 * s, s / 2])
    # negative coupling: the boundary is set by rho(-W)
    ref_neg = brentq(lambda x: np.linalg.eigvals(-np.eye(6) - x * W).real.max(), 1e-6, 100.0, xtol=1e-14)
    assert exact_critical_scale(W, -1.0) == pytest.approx(ref_neg, rel=1e-10)
    assert exact_critical_scale(F.make_operator("antisym", 4)) == float("inf")
    assert s >= 1.0 / np.linalg.norm(W, 2)  # small gain is sufficient: s* >= 1/|W|_2
    assert float(wr_crit_small_gain(2.0, 0.5, 1.2)) == pytest.approx((1 + 0.5 * (1.44 - 1)) / 2.0)
