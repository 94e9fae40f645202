"""Seed-aggregated sweep statistics (analysis.sweeps), per-gain stability (analysis.trained), sweep-report CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from fhrn_ode import FHRNInputError
from fhrn_ode.analysis.sweeps import load_seed_results, seed_sweep_report, seeds_needed
from fhrn_ode.analysis.trained import sweep_stability
from fhrn_ode.cli import main
from fhrn_ode.sweep import bundled_sweep_path


def _fake(gamma, seed, val, irr=None):
    return {"gamma": gamma, "seed": seed, "val_loss": val, "unigram_nats": 5.0, "irr": 0.5 * gamma if irr is None else irr,
            "esri": 0.05, "rdp_frequency": 0.03, "rdp_strength": 2.0, "wr_spectral_norm": 2.0 + gamma,
            "wr_effective_rank": 70.0 - 10 * gamma, "wr_antisymmetric_fraction": 0.5}


def _grid(means, sd, n, seed=0):
    rng = np.random.default_rng(seed)
    return [_fake(g, s, float(m + sd * rng.standard_normal())) for g, m in means.items() for s in range(n)]


def test_seeds_needed_matches_the_textbook_rule():
    # two-sided alpha 0.05, power 0.8: n = 2 (1.96 + 0.84)^2 (s/delta)^2 = 15.7 (s/delta)^2 (Lehr's "16")
    assert seeds_needed(1.0, 1.0) == 16
    assert seeds_needed(0.03, 0.01) == int(np.ceil(15.6978 * 9))
    z = stats.norm.ppf(1 - 0.05 / 12) + stats.norm.ppf(0.8)
    assert seeds_needed(0.006, 0.01, m=6) == int(np.ceil(2 * z * z * 0.36))


def test_rows_are_mean_and_standard_error_per_gain():
    res = _grid({0.0: 1.10, 0.1: 1.09}, 0.01, 5)
    rep = seed_sweep_report(res)
    for row in rep.rows:
        v = np.array([r["val_loss"] for r in res if r["gamma"] == row["gamma"]])
        assert row["n"] == 5 and row["seeds"] == [0, 1, 2, 3, 4]
        assert row["val_loss_mean"] == pytest.approx(v.mean())
        assert row["val_loss_sem"] == pytest.approx(stats.sem(v))
    within = [np.array([r["val_loss"] for r in res if r["gamma"] == g]) for g in (0.0, 0.1)]
    pooled = np.sqrt(sum(((w - w.mean()) ** 2).sum() for w in within) / 8)
    assert rep.variance["pooled_std"] == pytest.approx(pooled) and rep.variance["pooled_dof"] == 8


def test_welch_tests_match_scipy_and_bonferroni():
    res = _grid({0.0: 1.10, 0.05: 1.10, 0.15: 1.05, 0.2: 1.06}, 0.01, 6)
    rep = seed_sweep_report(res)
    base = [r["val_loss"] for r in res if r["gamma"] == 0.0]
    for t in rep.tests:
        if t["gamma"] in ("band", "band_vs_rest"):
            a = [r["val_loss"] for r in res if 0.1 <= r["gamma"] <= 0.2]
            assert t["n"] == 12
            if t["gamma"] == "band_vs_rest":  # against the gains > 0 outside the band
                base_ = [r["val_loss"] for r in res if r["gamma"] == 0.05]
                ref = stats.ttest_ind(a, base_, equal_var=False)
                assert t["p"] == pytest.approx(ref.pvalue) and t["n0"] == 6
                continue
        else:
            a = [r["val_loss"] for r in res if r["gamma"] == t["gamma"]]
            ref = stats.ttest_ind(a, base, equal_var=False)
            assert t["p_bonferroni"] == pytest.approx(min(1.0, 3 * ref.pvalue))
        ref = stats.ttest_ind(a, base, equal_var=False)
        assert t["p"] == pytest.approx(ref.pvalue) and t["dof"] == pytest.approx(ref.df)
        assert t["diff"] == pytest.approx(np.mean(a) - np.mean(base))
    band = {c["claim"]: c for c in rep.comparison}["band"]
    assert band["agree"] is True and band["better_than_zero"] and band["better_than_rest"]
    assert "0.15" in band["ours"]
    # reentry helps but no band: every gain > 0 equally good -> the band claim is refuted
    same = seed_sweep_report(_grid({0.0: 1.10, 0.05: 1.09, 0.15: 1.09, 0.3: 1.09}, 0.002, 10))
    band = {c["claim"]: c for c in same.comparison}["band"]
    assert band["better_than_zero"] is True and band["better_than_rest"] is False and band["agree"] is False


def test_band_verdicts_none_and_false():
    noisy = seed_sweep_report(_grid({0.0: 1.10, 0.15: 1.095}, 0.03, 3))
    assert {c["claim"]: c for c in noisy.comparison}["band"]["agree"] is None
    # many seeds, no effect: an improvement of 0.01 nats is excluded
    flat = seed_sweep_report(_grid({0.0: 1.10, 0.15: 1.10}, 0.003, 20, seed=3))
    assert {c["claim"]: c for c in flat.comparison}["band"]["agree"] is False
    one = seed_sweep_report(_grid({0.0: 1.10, 0.15: 1.09}, 0.01, 1))
    assert one.rows[0]["val_loss_sem"] is None and one.tests[0]["p"] is None
    assert {c["claim"]: c for c in one.comparison}["band"]["agree"] is None
    with pytest.raises(FHRNInputError, match="`results`"):
        seed_sweep_report([])


def _blocked(means, seed_sd, noise_sd, n, seed=0):
    """Val losses with a seed effect shared by every gain (the design of a sweep: same init per seed)."""
    rng = np.random.default_rng(seed)
    b = seed_sd * rng.standard_normal(n)
    return [_fake(g, s, float(m + b[s] + noise_sd * rng.standard_normal())) for g, m in means.items() for s in range(n)]


def test_paired_tests_match_scipy_ttest_rel_and_see_through_the_seed_effect():
    means = {0.0: 1.10, 0.05: 1.095, 0.15: 1.092, 0.2: 1.093, 0.3: 1.096}
    res = _blocked(means, 0.02, 0.001, 8)
    rep = seed_sweep_report(res)
    val = {g: np.array([r["val_loss"] for r in res if r["gamma"] == g]) for g in means}  # seed order 0..7
    pos = [g for g in means if g > 0]
    for t in rep.paired:
        if isinstance(t["gamma"], float):
            ref = stats.ttest_rel(val[t["gamma"]], val[0.0])
            assert t["p_bonferroni"] == pytest.approx(min(1.0, 4 * ref.pvalue))
            assert t["diff"] == pytest.approx((val[t["gamma"]] - val[0.0]).mean())
        elif t["gamma"] == "band":
            ref = stats.ttest_rel((val[0.15] + val[0.2]) / 2, val[0.0])
        elif t["gamma"] == "all":
            ref = stats.ttest_rel(np.mean([val[g] for g in pos], axis=0), val[0.0])
        else:
            ref = stats.ttest_rel((val[0.15] + val[0.2]) / 2, (val[0.05] + val[0.3]) / 2)
        assert t["n"] == 8 and t["seeds"] == list(range(8)) and t["dof"] == 7
        assert t["p"] == pytest.approx(ref.pvalue) and t["t"] == pytest.approx(ref.statistic)
    # the seed effect (sd 0.02) swamps the unpaired tests; the paired ones see the 0.005-0.008 gains
    welch = {t["gamma"]: t for t in rep.tests}
    paired = {t["gamma"]: t for t in rep.paired}
    assert all(welch[g]["p"] > 0.05 for g in pos) and all(paired[g]["p"] < 0.01 for g in pos)
    v = rep.variance
    assert v["seed_effect_std"] > 5 * v["residual_std"] and v["pooled_std"] > 5 * v["paired_std"]
    assert v["seeds_needed_paired"] == seeds_needed(v["paired_std"], 0.01, paired=True)
    assert v["seeds_needed"] > 10 * v["seeds_needed_paired"]
    band = {c["claim"]: c for c in rep.comparison}["band"]
    assert band["method"] == "paired" and band["better_than_zero"] is True
    assert band["better_than_rest"] is True and band["agree"] is True  # 0.003 nats better, paired p < 0.05
    # the two-way decomposition is exact on noise-free data: residual 0, seed sd = sd of the offsets
    exact = seed_sweep_report(_blocked({0.0: 1.1, 0.1: 1.09, 0.2: 1.08}, 0.02, 0.0, 5, seed=1))
    offsets = np.array([r["val_loss"] for r in _blocked({0.0: 1.1}, 0.02, 0.0, 5, seed=1)])
    assert exact.variance["residual_std"] == pytest.approx(0.0, abs=1e-12)
    assert exact.variance["seed_effect_std"] == pytest.approx(offsets.std(ddof=1))


def test_seeds_needed_paired_drops_the_factor_two():
    assert seeds_needed(1.0, 1.0, paired=True) == 8  # (1.96 + 0.84)^2 = 7.85
    assert seeds_needed(0.005, 0.01, paired=True, m=6) == int(np.ceil((stats.norm.ppf(1 - 0.05 / 12)
                                                                       + stats.norm.ppf(0.8)) ** 2 / 4))


def test_friedman_matches_scipy_and_uses_only_complete_seeds():
    res = _blocked({0.0: 1.10, 0.1: 1.09, 0.2: 1.095}, 0.01, 0.003, 6, seed=2)
    res = [r for r in res if not (r["gamma"] == 0.2 and r["seed"] == 5)]  # seed 5 lacks one gain
    f = seed_sweep_report(res).friedman
    assert f["seeds"] == [0, 1, 2, 3, 4] and f["gammas"] == [0.0, 0.1, 0.2] and f["dof"] == 2
    x = [[r["val_loss"] for r in res if r["gamma"] == g and r["seed"] < 5] for g in (0.0, 0.1, 0.2)]
    ref = stats.friedmanchisquare(*x)
    assert f["statistic"] == pytest.approx(ref.statistic) and f["p"] == pytest.approx(ref.pvalue)
    assert sum(f["mean_rank"]) == pytest.approx(6.0)  # ranks 1..3 per seed
    assert seed_sweep_report(_grid({0.0: 1.1, 0.1: 1.0}, 0.01, 4)).friedman is None  # < 3 gains


def test_mixed_presets_are_refused_unless_one_is_picked():
    res = _grid({0.0: 1.10, 0.1: 1.09}, 0.01, 3)
    other = [dict(r, preset="paper", val_loss=r["val_loss"] - 0.3) for r in res]
    res = [dict(r, preset="quick") for r in res]
    with pytest.raises(FHRNInputError, match=r"mix training configurations \['paper', 'quick'\] \(one gain would pool them\); pick one with `preset`"):
        seed_sweep_report(res + other)
    rep = seed_sweep_report(res + other, preset="paper")
    assert rep.rows[0]["val_loss_mean"] == pytest.approx(np.mean([r["val_loss"] for r in other[:3]]))
    with pytest.raises(FHRNInputError, match="`preset` 'tiny' matches no result"):
        seed_sweep_report(res, preset="tiny")


def test_sweep_stability_per_gain():
    checks = [{"gamma": 0.1, "seed": s, "fraction_stable": f, "fraction_small_gain": 0.5, "spectral_abscissa": a,
               "r_e": 1.0} for s, f, a in ((0, 1.0, -0.2), (1, 0.75, 0.3), (2, 1.0, -0.1))]
    checks.append({"gamma": 0.0, "seed": 0, "fraction_stable": 1.0, "fraction_small_gain": 1.0,
                   "spectral_abscissa": -1.0, "r_e": 0.0})
    rows = sweep_stability(checks)
    assert [r["gamma"] for r in rows] == [0.0, 0.1]
    r = rows[1]
    assert r["fraction_stable_mean"] == pytest.approx(2.75 / 3)
    assert r["fraction_stable_sem"] == pytest.approx(stats.sem([1.0, 0.75, 1.0]))
    assert r["seeds_leaving"] == [1] and r["all_stable"] is False and rows[0]["fraction_stable_sem"] is None


def test_bundled_quick_sweep_reproduces_the_table(tmp_path, capsys):
    root = bundled_sweep_path()
    res = load_seed_results(root)
    gammas = sorted({r["gamma"] for r in res})
    assert gammas[0] == 0.0 and len(gammas) == 7
    assert main(["sweep-report", "--out", str(tmp_path), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert [r["gamma"] for r in obj["rows"]] == gammas and obj["stability"]
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "sweep_report.json").read_text())["rows"] == obj["rows"]
    # the gamma = 0 models get no reentry: IRR exactly 0
    assert obj["rows"][0]["irr_mean"] == 0.0


def test_report_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "tasks").mkdir()
    assert main(["sweep-report", str(tmp_path)]) == 2
    assert "holds no finished train tasks" in capsys.readouterr().err
    assert main(["sweep-report", "--check", str(tmp_path / "nope.json")]) == 2
    assert "`--check` file" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    from fhrn_ode.sweep import run_sweep, train_grid

    out = tmp_path_factory.mktemp("tiny_sweep")
    run_sweep(train_grid([0.0, 0.3], [0, 1], presets=("tiny",), steps=4, batch_size=4, eval_batches=1,
                         n_bytes=20_000, metrics_seq=4), out, workers=2, progress=False)
    return out


def test_check_and_report_on_a_sweep_folder_then_from_its_bundle(tiny_sweep, tmp_path, capsys):
    assert main(["check", str(tiny_sweep), "--contexts", "4", "--out", str(tmp_path / "chk"), "--json"]) == 0
    chk = json.loads(capsys.readouterr().out)
    assert [(m["gamma"], m["seed"]) for m in chk["models"]] == [(0.0, 0), (0.0, 1), (0.3, 0), (0.3, 1)]
    per = chk["per_gain"]
    assert [(g["gamma"], g["n"], g["seeds"]) for g in per] == [(0.0, 2, [0, 1]), (0.3, 2, [0, 1])]
    assert per[0]["fraction_stable_mean"] == 1.0 and per[0]["spectral_abscissa_values"] == [-1.0, -1.0]
    want = np.mean([m["fraction_stable"] for m in chk["models"] if m["gamma"] == 0.3])
    assert per[1]["fraction_stable_mean"] == pytest.approx(want)

    b = tmp_path / "bundle"
    assert main(["sweep-report", str(tiny_sweep), "--check", str(tmp_path / "chk" / "check.json"),
                 "--bundle", str(b), "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in b.iterdir()) == ["gamma_0.000.json", "gamma_0.300.json", "stability.json",
                                                    "sweep_manifest.json"]
    assert not any(p.suffix == ".safetensors" for p in b.rglob("*"))
    assert main(["sweep-report", str(b), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["rows"] == direct["rows"] and again["tests"] == direct["tests"] and again["stability"] == per
    assert direct["rows"][1]["n"] == 2 and direct["rows"][1]["val_loss_sem"] is not None


def test_bundled_paper_runs_report_without_training(tmp_path, capsys):
    """fhrn_ode/data/sweep_paper/: the paper-preset runs (one seed per gain) report like any sweep."""
    res = load_seed_results(bundled_sweep_path("paper"))
    assert {r["preset"] for r in res} == {"paper"} and 0.0 in {r["gamma"] for r in res}
    assert main(["sweep-report", "--bundled", "paper", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert [r["n"] for r in obj["rows"]] == [1] * len(obj["rows"]) and obj["friedman"] is None
    assert all(t["p"] is None for t in obj["paired"])  # one seed: differences without error bars
    assert {c["claim"]: c for c in obj["comparison"]}["band"]["agree"] is None
    assert main(["sweep-report", str(tmp_path), "--bundled", "paper"]) == 2
    assert "give either a sweep folder" in capsys.readouterr().err
    with pytest.raises(FHRNInputError, match="`preset` must be one of 'quick', 'paper'"):
        bundled_sweep_path("tiny")
