"""Metrics of a whole gain sweep (one trained model per gamma) beside the paper's headline claims.

:func:`sweep_report` loads every ``gamma_*/`` checkpoint under a sweep folder (safetensors + JSON
only), computes :func:`model_metrics` on seeded random bytes, and :func:`compare_with_paper` states,
claim by claim, whether our numbers agree with the paper's (docs/model.md §4):

- IRR grows about proportionally with gamma (we fit IRR = c·gamma through the origin; R² >= 0.9 and
  IRR increasing = agree);
- ESRI stays near 0 (agree: every ESRI < 0.1);
- the RDP peak stays near f ≈ 0.225 (agree: |f − 0.225| <= 0.03 for most gains);
- a reflective band at gamma ≈ 0.10-0.20 (we test: is the validation loss lowest inside that band,
  and is the RDP strength highest there);
- W_r stays bounded (|W_r|_2 at the largest gamma <= 2x that at the smallest gamma > 0) and more
  structured at moderate gain (effective rank lower in the band than at gamma = 0, where W_r gets no
  gradient and keeps its random init).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fhrn_ode._errors import FHRNInputError
from fhrn_ode._io import read_json

from ._seeds import by_gain, seed_stats
from .metrics import model_metrics

__all__ = ["SweepReport", "sweep_report", "compare_with_paper", "PAPER_CLAIMS", "SeedSweepReport", "SEED_KEYS",
           "flatten_result", "load_seed_results", "seeds_needed", "seed_sweep_report", "compare_seed_sweep",
           "paired_tests", "config_label", "CONFIG_FIELDS"]

#: Smallest validation-loss difference (nats/byte) the band verdict treats as real (one seed per gain).
BAND_RESOLUTION = 0.05  # seeds 0-2 of the quick preset spread by ~0.03 nats at a fixed gain

#: The discrete paper's claims about the gain sweep, by the key the comparison rows use.
PAPER_CLAIMS = {
    "irr": "IRR grows about proportionally with gamma",
    "esri": "ESRI stays near 0",
    "rdp": "RDP peak frequency stays near f = 0.225 cycles/token",
    "band": "reflective band at gamma = 0.10-0.20",
    "wr": "W_r stays bounded and more structured at moderate gain",
}


@dataclass(frozen=True)
class SweepReport:
    """One row per gain (sorted by gamma) and the claim-by-claim comparison."""

    rows: list[dict]  # gamma, val_loss, unigram_nats, irr, esri, rdp_frequency, rdp_strength, wr_* , path
    comparison: list[dict] = field(default_factory=list)  # {claim, paper, ours, agree}

    def to_dict(self) -> dict:
        return {"rows": self.rows, "comparison": self.comparison}


def sweep_report(sweep_dir: str | os.PathLike, *, n_seq: int = 32, seed: int = 0) -> SweepReport:
    """Metrics of every ``gamma_*`` checkpoint folder in ``sweep_dir`` (sorted by gamma)."""
    from fhrn_ode.discrete.checkpoint import load_checkpoint

    root = Path(sweep_dir)
    if not root.is_dir():
        raise FHRNInputError(f"sweep folder {str(root)!r} does not exist")
    subs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("gamma_"))
    if not subs:
        raise FHRNInputError(f"sweep folder {str(root)!r} holds no gamma_*/ checkpoint folders")
    rows = []
    for sub in subs:
        model, cfg = load_checkpoint(sub)
        m = model_metrics(model, n_seq=n_seq, seed=seed).to_dict()
        met = {}
        if (sub / "metrics.json").is_file():
            try:
                met = read_json(sub / "metrics.json", "metrics")
            except FHRNInputError:  # an unreadable metrics.json only loses the loss columns
                met = {}
            met = met if isinstance(met, dict) else {}
        m.update(val_loss=met.get("val_loss"), unigram_nats=met.get("unigram_nats"), path=str(sub))
        rows.append(m)
    rows.sort(key=lambda r: r["gamma"])
    return SweepReport(rows=rows, comparison=compare_with_paper(rows))


def _proportional_fit(g: np.ndarray, irr: np.ndarray) -> tuple[float, float, bool]:
    """Least-squares ``IRR = c gamma`` over the gains > 0: ``(c, R^2, IRR non-decreasing in gamma)``."""
    pos = g > 0
    c = float((g[pos] @ irr[pos]) / (g[pos] @ g[pos]))
    resid = irr[pos] - c * g[pos]
    r2 = float(1 - (resid @ resid) / max(((irr[pos] - irr[pos].mean()) ** 2).sum(), 1e-300))
    mono = bool(np.all(np.diff(irr[np.argsort(g)]) >= 0))
    return c, r2, mono


def compare_with_paper(rows: list[dict]) -> list[dict]:
    """Claim-by-claim verdicts (``agree`` True/False/None = not testable) for sweep rows."""
    g = np.array([r["gamma"] for r in rows], float)
    out = []
    irr = np.array([r["irr"] for r in rows], float)
    pos = g > 0
    if pos.sum() >= 2:
        c, r2, mono = _proportional_fit(g, irr)
        out.append(dict(claim="irr", paper=PAPER_CLAIMS["irr"],
                        ours=f"IRR = {c:.3g}·gamma (R² {r2:.3f}), increasing: {mono}; IRR(0) = {irr[~pos].tolist()}",
                        agree=bool(r2 >= 0.9 and mono)))
    else:
        out.append(dict(claim="irr", paper=PAPER_CLAIMS["irr"], ours="needs >= 2 gains > 0", agree=None))
    es = np.array([r["esri"] for r in rows], float)
    out.append(dict(claim="esri", paper=PAPER_CLAIMS["esri"],
                    ours=f"ESRI in [{es.min():.3g}, {es.max():.3g}]", agree=bool(es.max() < 0.1)))
    f = np.array([r["rdp_frequency"] for r in rows], float)
    near = np.abs(f - 0.225) <= 0.03
    out.append(dict(claim="rdp", paper=PAPER_CLAIMS["rdp"],
                    ours=f"peak f = {', '.join(f'{v:.3f}' for v in f)} ({int(near.sum())}/{len(f)} within 0.03)",
                    agree=bool(near.mean() > 0.5)))
    band = (g >= 0.1 - 1e-9) & (g <= 0.2 + 1e-9)
    vl = np.array([np.nan if r.get("val_loss") is None else r["val_loss"] for r in rows], float)
    st = np.array([r["rdp_strength"] for r in rows], float)
    if band.any() and (~band).any() and np.isfinite(vl).all():
        best_g = g[int(np.argmin(vl))]
        best_s = g[int(np.argmax(st))]
        # A band is only claimed when the best in-band loss beats the best out-of-band loss by more
        # than BAND_RESOLUTION nats (one seed gives no error bar; differences below it are noise).
        gap = float(np.min(vl[~band]) - np.min(vl[band]))
        agree = None if abs(gap) <= BAND_RESOLUTION else bool(gap > 0)
        out.append(dict(claim="band", paper=PAPER_CLAIMS["band"],
                        ours=f"lowest val loss at gamma={best_g:g}; in-band advantage {gap:+.3g} nats "
                             f"({'not resolved: within' if agree is None else 'beyond'} {BAND_RESOLUTION} nats); "
                             f"strongest RDP peak at gamma={best_s:g}",
                        agree=agree))
    else:
        out.append(dict(claim="band", paper=PAPER_CLAIMS["band"], ours="needs gains in and outside 0.10-0.20",
                        agree=None))
    sn = np.array([r["wr_spectral_norm"] for r in rows], float)
    er = np.array([r["wr_effective_rank"] for r in rows], float)
    # bounded: |W_r|_2 does not blow up with the gain (largest gamma vs smallest gamma > 0; at gamma = 0
    # W_r gets no gradient and stays at its random init, so it is not a fair reference for the norm)
    gp = np.argsort(np.where(pos, g, np.inf))
    bounded = bool(sn[gp[pos.sum() - 1]] <= 2 * sn[gp[0]]) if pos.any() else bool(np.isfinite(sn).all())
    structured = None
    if band.any() and (g == 0).any():
        structured = bool(er[band].mean() < er[g == 0].mean())
    out.append(dict(claim="wr", paper=PAPER_CLAIMS["wr"],
                    ours=f"|W_r|_2 = {', '.join(f'{v:.3g}' for v in sn)}; gamma·|W_r|_2 = "
                         f"{', '.join(f'{v:.2f}' for v in g * sn)}; eff. rank {', '.join(f'{v:.1f}' for v in er)}",
                    agree=bool(bounded and structured) if structured is not None else bounded))
    return out


# ---------------------------------------------------------------------------------------------------
# Many seeds per gain: mean ± standard error, seeds needed, Welch tests against gamma = 0
# ---------------------------------------------------------------------------------------------------

#: Per-seed quantities aggregated per gain (keys of a train task's ``result.json`` / its ``metrics``).
SEED_KEYS = ("val_loss", "irr", "esri", "rdp_frequency", "rdp_strength", "wr_spectral_norm",
             "wr_effective_rank", "wr_antisymmetric_fraction")
BAND = (0.10, 0.20)


@dataclass(frozen=True)
class SeedSweepReport:
    """Seed-aggregated sweep (JSON keys: docs/sweeps.md).

    ``rows``: per gain ``gamma``, ``n`` (seeds), ``seeds`` and for each of :data:`SEED_KEYS`
    ``<key>_mean``, ``<key>_sem`` (standard error, ``std / sqrt(n)``, None for n = 1), ``<key>_std``
    and ``<key>_values``. ``variance``: the seed-to-seed spread of the validation loss and the seeds
    needed to resolve ``delta`` nats (unpaired and paired). ``tests``: Welch t-tests of each gain (and
    of the band) against gamma = 0. ``paired``: the same comparisons paired by seed
    (:func:`paired_tests`). ``friedman``: a rank test of "no difference between the gains" over the
    seeds that have every gain (None with fewer than 2 such seeds or 3 gains). ``comparison``: claim
    by claim with error bars.
    """

    rows: list[dict]
    variance: dict
    tests: list[dict]
    comparison: list[dict]
    paired: list[dict] = field(default_factory=list)
    friedman: dict | None = None

    def to_dict(self) -> dict:
        return {"rows": self.rows, "variance": self.variance, "tests": self.tests, "paired": self.paired,
                "friedman": self.friedman, "comparison": self.comparison}


#: Fields of a train task that change what a seed measures: results differing in one are never pooled.
CONFIG_FIELDS = ("preset", "steps", "batch_size", "eval_batches", "n_bytes", "metrics_seq", "metrics_seed")


def config_label(task: dict | None, preset: str | None = None) -> str:
    """The training configuration of a train task as one label: ``quick`` or ``quick (steps 10, n_bytes 20000)``."""
    t = task if isinstance(task, dict) else {}
    base = str(t.get("preset", preset))
    extra = [f"{k} {t[k]}" for k in CONFIG_FIELDS[1:5] if t.get(k) is not None]
    return base + (f" ({', '.join(extra)})" if extra else "")


def flatten_result(res: dict) -> dict:
    """One train task's ``result.json`` as a flat dict: gamma, seed, preset, config, val_loss, unigram_nats + metrics."""
    m = res.get("metrics") or {}
    out = {k: res.get(k) for k in ("gamma", "seed", "preset", "val_loss", "unigram_nats", "step")}
    out["config"] = config_label(res.get("task"), res.get("preset"))
    out.update({k: m.get(k) for k in SEED_KEYS if k != "val_loss"})
    return out


_BUNDLE_SPEC = {"results": [{"gamma": float, "seed?": (int, type(None)), "preset?": (str, type(None)),
                             "val_loss?": (float, type(None)), "metrics?": (dict, type(None)),
                             "task?": dict}]}


def load_seed_results(folder: str | os.PathLike) -> list[dict]:
    """Flat per-seed results of a ``fhrn-ode sweep`` folder or of a bundle (``gamma_*.json``).

    A sweep folder (``manifest.json``) gives its finished train tasks
    (:func:`fhrn_ode.sweep.finished_results`, the model set ``fhrn-ode check SWEEP`` uses); bundle
    files written into it are then ignored, so nothing is counted twice. A bundle gives its files'
    results. Either way one result per (configuration, gamma, seed) is kept.

    Raises:
        FHRNInputError: a folder with neither; a file of the wrong shape (named, with the key);
            two different results for one (configuration, gamma, seed).
    """
    from fhrn_ode._io import read_typed
    from fhrn_ode.sweep import MANIFEST_NAME, finished_results

    root = Path(folder)
    if not root.is_dir():
        raise FHRNInputError(f"sweep folder {str(root)!r} does not exist")
    if (root / MANIFEST_NAME).is_file():
        raw = [res for _, res in finished_results(root, "train")]
    else:
        raw = []
        for p in sorted(root.glob("gamma_*.json")):
            raw.extend(read_typed(p, "sweep bundle", _BUNDLE_SPEC)["results"])
    if not raw:
        raise FHRNInputError(f"{str(root)!r} holds no finished train tasks (tasks/*/result.json) "
                             f"nor bundle files (gamma_*.json)")
    seen: dict[tuple, dict] = {}
    for r in map(flatten_result, raw):
        k = (r["config"], round(float(r["gamma"]), 6), r["seed"])
        if k in seen and seen[k]["val_loss"] != r["val_loss"]:
            raise FHRNInputError(f"{str(root)!r} holds two different results for {k[0]} gamma={k[1]:g} seed={k[2]}")
        seen.setdefault(k, r)
    return list(seen.values())


def seeds_needed(std: float, delta: float, *, alpha: float = 0.05, power: float = 0.8, m: int = 1,
                 paired: bool = False) -> int:
    """Seeds per group for a two-sided test to detect a mean difference ``delta``.

    Two independent samples of spread ``std``: ``n = 2 (z_{1 - alpha/(2m)} + z_{power})^2 std^2 / delta^2``;
    ``paired=True`` (one sample of per-seed differences of spread ``std``): the same without the
    factor 2. Normal approximation, ``m`` comparisons with a Bonferroni correction, rounded up.
    """
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / (2 * m)) + norm.ppf(power)
    return int(np.ceil((1 if paired else 2) * z * z * std * std / (delta * delta)))


def _welch(a: list, b: list) -> dict:
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)) if a.size > 1 and b.size > 1 else None
    if se is None or se == 0:
        return {"diff": d, "diff_sem": se, "t": None, "dof": None, "p": None}
    r = stats.ttest_ind(a, b, equal_var=False)  # Welch-Satterthwaite degrees of freedom in r.df
    return {"diff": d, "diff_sem": se, "t": float(r.statistic), "dof": float(r.df), "p": float(r.pvalue)}


def _in_band(g: float) -> bool:
    return BAND[0] - 1e-9 <= g <= BAND[1] + 1e-9


def _by_gain_and_seed(results: list[dict], key: str) -> dict[float, dict[int, float]]:
    """``{gamma: {seed: value of key}}`` of the results that have a seed and a value."""
    table: dict[float, dict[int, float]] = {}
    for r in results:
        if r.get("seed") is not None and r.get(key) is not None:
            table.setdefault(round(float(r["gamma"]), 6), {})[int(r["seed"])] = float(r[key])
    return table


def _paired(diffs: dict) -> dict:
    """One-sample t-test of per-seed differences ``{seed: d}`` (``scipy.stats.ttest_1samp``, = ``ttest_rel``)."""
    from scipy import stats

    seeds = sorted(diffs)
    d = np.array([diffs[k] for k in seeds], float)
    out = {"seeds": seeds, "n": int(d.size), "diff": float(d.mean()) if d.size else None,
           "diff_values": d.tolist(), "diff_sem": None, "t": None, "dof": None, "p": None}
    if d.size > 1:
        se = float(d.std(ddof=1) / np.sqrt(d.size))
        out.update(diff_sem=se, dof=float(d.size - 1))
        if se > 0:
            r = stats.ttest_1samp(d, 0.0)
            out.update(t=float(r.statistic), p=float(r.pvalue))
    return out


def paired_tests(results: list[dict], *, key: str = "val_loss") -> list[dict]:
    """The comparisons of :func:`seed_sweep_report`, paired by seed (seed = block).

    A seed fixes the weight initialisation and the batch order of a training run whatever the gain
    (``fhrn_ode.discrete``), so the runs of one seed at different gains are paired, and much of the
    seed-to-seed spread cancels in their difference. For each gain > 0: the per-seed difference
    ``key(gamma, s) - key(0, s)`` over the seeds run at both, tested against 0 (two-sided; ``p_bonferroni``
    over the gains > 0). ``"band"``: per seed, the mean over the band gains (0.10-0.20) minus gamma = 0;
    ``"all"``: per seed, the mean over every gain > 0 minus gamma = 0 (does reentry help at all);
    ``"band_vs_rest"``: per seed, the band mean minus the mean over the other gains > 0 (seeds that
    have every gain involved). Negative ``diff``: the first group has the lower ``key``.
    """
    table = _by_gain_and_seed(results, key)
    gains = sorted(table)
    pos = [g for g in gains if g > 0]
    band = [g for g in pos if _in_band(g)]
    rest = [g for g in pos if not _in_band(g)]
    m = max(1, len(pos))
    zero = table.get(0.0)
    out = []

    def complete(gs):
        return set.intersection(*(set(table[g]) for g in gs)) if gs else set()

    if zero is not None:
        for g in pos:
            t = _paired({s: table[g][s] - zero[s] for s in set(table[g]) & set(zero)})
            t.update(gamma=g, p_bonferroni=None if t["p"] is None else min(1.0, m * t["p"]))
            out.append(t)
        if band:
            seeds = complete(band) & set(zero)
            t = _paired({s: np.mean([table[g][s] for g in band]) - zero[s] for s in seeds})
            out.append({**t, "gamma": "band", "p_bonferroni": t["p"]})
        if pos:
            seeds = complete(pos) & set(zero)
            t = _paired({s: np.mean([table[g][s] for g in pos]) - zero[s] for s in seeds})
            out.append({**t, "gamma": "all", "p_bonferroni": t["p"]})
    if band and rest:
        seeds = complete(band) & complete(rest)
        t = _paired({s: np.mean([table[g][s] for g in band]) - np.mean([table[g][s] for g in rest]) for s in seeds})
        out.append({**t, "gamma": "band_vs_rest", "p_bonferroni": t["p"]})
    return out


def _friedman(results: list[dict], key: str = "val_loss") -> dict | None:
    """Friedman rank test (``scipy.stats.friedmanchisquare``) over the seeds that have every gain."""
    from scipy import stats

    table = _by_gain_and_seed(results, key)
    gains = sorted(table)
    seeds = sorted(set.intersection(*(set(v) for v in table.values()))) if table else []
    if len(gains) < 3 or len(seeds) < 2:
        return None
    x = np.array([[table[g][s] for s in seeds] for g in gains])  # (gains, seeds)
    r = stats.friedmanchisquare(*x)
    ranks = np.mean([stats.rankdata(x[:, j]) for j in range(x.shape[1])], axis=0)
    return {"statistic": float(r.statistic), "p": float(r.pvalue), "seeds": seeds, "gammas": gains,
            "mean_rank": ranks.tolist(), "dof": len(gains) - 1}


def _seed_blocks(results: list[dict]) -> dict:
    """Spread of the seed effect: std over seeds of each seed's mean over the gains (seeds with every gain)."""
    table = _by_gain_and_seed(results, "val_loss")
    seeds = sorted(set.intersection(*(set(v) for v in table.values()))) if table else []
    if len(seeds) < 2 or len(table) < 2:
        return {"seed_effect_std": None, "residual_std": None, "n_complete_seeds": len(seeds)}
    x = np.array([[table[g][s] for s in seeds] for g in sorted(table)])  # (gains, seeds)
    # two-way layout without replication: x = mu + a_gain + b_seed + e
    res = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    dof = (x.shape[0] - 1) * (x.shape[1] - 1)
    return {"seed_effect_std": float(x.mean(0).std(ddof=1)),
            "residual_std": float(np.sqrt((res ** 2).sum() / dof)), "n_complete_seeds": len(seeds)}


def seed_sweep_report(results: list[dict], *, delta: float = 0.01, alpha: float = 0.05,
                      power: float = 0.8, preset: str | None = None) -> SeedSweepReport:
    """Aggregate flat per-seed results (:func:`load_seed_results`) per gain and test them against gamma = 0.

    Tests (validation loss, nats/byte): for each gain > 0 a Welch t-test (``scipy.stats.ttest_ind``,
    ``equal_var=False``) of ``mean(gain) - mean(0)``, two-sided, with a Bonferroni correction over
    the gains (``p_adj = min(1, m p)``); and one Welch test of all seeds of the band gains
    (0.10-0.20 pooled) against gamma = 0. ``variance`` holds the pooled within-gain standard
    deviation and :func:`seeds_needed` for ``delta`` at ``alpha`` and ``power`` (one comparison and
    ``m`` Bonferroni-corrected ones). ``paired`` repeats the tests paired by seed (:func:`paired_tests`),
    and ``variance`` adds the spread of those paired differences (``paired_std``, pooled over the gains)
    with the seeds a paired test needs (``seeds_needed_paired``, ``..._bonferroni``), and the size of the
    seed effect (``seed_effect_std``) against the rest (``residual_std``).

    Args:
        preset: keep only the results of this preset; required when ``results`` mix presets.

    Raises:
        FHRNInputError: no results, or results of several presets and no ``preset``.
    """
    if preset is not None:
        results = [r for r in results if r.get("preset") == preset or r.get("config") == preset]
        if not results:
            raise FHRNInputError(f"`preset` {preset!r} matches no result")
    if not results:
        raise FHRNInputError("`results` must hold at least one per-seed result")
    presets = sorted({str(r.get("config") or r.get("preset")) for r in results})
    if len(presets) > 1:
        raise FHRNInputError(f"the results mix training configurations {presets} (one gain would pool them); "
                             f"pick one with `preset` (--preset, the name or the whole label)")
    rows = []
    for g, rs in by_gain(results):
        row: dict = {"gamma": g, "n": len(rs), "seeds": [r.get("seed") for r in rs],
                     "unigram_nats": rs[0].get("unigram_nats")}
        for k in SEED_KEYS:
            s = seed_stats([r.get(k) for r in rs])
            row.update({f"{k}_{q}": s[q] for q in ("mean", "sem", "std", "values")})
        rows.append(row)
    # seed-to-seed spread of the validation loss: pooled over gains with >= 2 seeds
    groups = [np.asarray(r["val_loss_values"], float) for r in rows if len(r["val_loss_values"]) > 1]
    dof = int(sum(v.size - 1 for v in groups))
    pooled = float(np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in groups) / dof)) if dof else None
    m = max(1, sum(r["gamma"] > 0 for r in rows))
    zero = next((r for r in rows if r["gamma"] == 0.0), None)
    variance = {"pooled_std": pooled, "pooled_dof": dof, "delta": delta, "alpha": alpha, "power": power,
                "std_at_gamma0": zero["val_loss_std"] if zero else None, "n_at_gamma0": zero["n"] if zero else 0,
                "seeds_needed": seeds_needed(pooled, delta, alpha=alpha, power=power) if pooled else None,
                "seeds_needed_bonferroni": seeds_needed(pooled, delta, alpha=alpha, power=power, m=m) if pooled else None,
                "comparisons": m}
    paired = paired_tests(results)
    dsd = [np.asarray(t["diff_values"], float) for t in paired if isinstance(t["gamma"], float) and t["n"] > 1]
    pdof = int(sum(v.size - 1 for v in dsd))
    pstd = float(np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in dsd) / pdof)) if pdof else None
    variance.update(paired_std=pstd, paired_dof=pdof,
                    seeds_needed_paired=seeds_needed(pstd, delta, alpha=alpha, power=power, paired=True) if pstd else None,
                    seeds_needed_paired_bonferroni=(seeds_needed(pstd, delta, alpha=alpha, power=power, m=m, paired=True)
                                                    if pstd else None),
                    **_seed_blocks(results))
    tests = []
    band_vals = [v for r in rows if _in_band(r["gamma"]) for v in r["val_loss_values"]]
    if zero is not None:
        base = zero["val_loss_values"]
        for r in rows:
            if r["gamma"] == 0.0:
                continue
            t = _welch(r["val_loss_values"], base)
            t.update(gamma=r["gamma"], n=r["n"], n0=len(base),
                     p_bonferroni=None if t["p"] is None else min(1.0, m * t["p"]))
            tests.append(t)
        if band_vals:
            t = _welch(band_vals, base)
            t.update(gamma="band", n=len(band_vals), n0=len(base), p_bonferroni=t["p"])
            tests.append(t)
    rest = [v for r in rows if r["gamma"] > 0 and not _in_band(r["gamma"]) for v in r["val_loss_values"]]
    if band_vals and rest:
        t = _welch(band_vals, rest)
        t.update(gamma="band_vs_rest", n=len(band_vals), n0=len(rest), p_bonferroni=t["p"])
        tests.append(t)
    return SeedSweepReport(rows=rows, variance=variance, tests=tests, paired=paired, friedman=_friedman(results),
                           comparison=compare_seed_sweep(rows, tests, delta=delta, alpha=alpha, paired=paired))


def _pm(mean, sem, fmt=".3g") -> str:
    if mean is None:
        return "n/a"
    return f"{mean:{fmt}} ± {sem:{fmt}}" if sem is not None else f"{mean:{fmt}} (1 seed)"


def compare_seed_sweep(rows: list[dict], tests: list[dict], *, delta: float = 0.01, alpha: float = 0.05,
                       paired: list[dict] | None = None) -> list[dict]:
    """Claim-by-claim verdicts with error bars (``agree`` True / False / None = not resolved).

    The band verdict uses the seed-paired tests (``paired``, :func:`paired_tests`) where they have at
    least 2 seeds, else the Welch tests; its ``method`` says which."""
    from scipy.stats import t as student_t

    g = np.array([r["gamma"] for r in rows], float)
    out = []
    irr, irr_se = (np.array([r[f"irr_{q}"] if r[f"irr_{q}"] is not None else np.nan for r in rows], float)
                   for q in ("mean", "sem"))
    pos = g > 0
    if pos.sum() >= 2:
        c, r2, mono = _proportional_fit(g, irr)
        out.append(dict(claim="irr", paper=PAPER_CLAIMS["irr"], agree=bool(r2 >= 0.9 and mono),
                        ours=f"IRR(mean) = {c:.3g}·gamma (R² {r2:.3f}), increasing: {mono}; "
                             + "; ".join(f"{gg:g}: {_pm(m_, s_)}" for gg, m_, s_ in
                                         zip(g, irr, [r["irr_sem"] for r in rows]))))
    es_hi = [r["esri_mean"] + 2 * (r["esri_sem"] or 0) for r in rows]
    out.append(dict(claim="esri", paper=PAPER_CLAIMS["esri"], agree=bool(max(es_hi) < 0.1),
                    ours="ESRI " + "; ".join(f"{r['gamma']:g}: {_pm(r['esri_mean'], r['esri_sem'])}" for r in rows)
                         + f" (largest mean + 2 SE: {max(es_hi):.3g})"))
    f = np.array([r["rdp_frequency_mean"] for r in rows], float)
    near = np.abs(f - 0.225) <= 0.03
    out.append(dict(claim="rdp", paper=PAPER_CLAIMS["rdp"], agree=bool(near.mean() > 0.5),
                    ours="peak f " + "; ".join(f"{r['gamma']:g}: {_pm(r['rdp_frequency_mean'], r['rdp_frequency_sem'])}"
                                              for r in rows) + f" ({int(near.sum())}/{len(f)} means within 0.03 of 0.225)"))
    use_paired = bool(paired) and all(t["p"] is not None for t in paired if t["gamma"] in ("band", "band_vs_rest")) \
        and any(t["gamma"] == "band" for t in paired)
    pool = paired if use_paired else tests

    def versus(name: str, label: str):
        """(improvement, its SE, one-sided 95% upper bound, p, text) of the band against ``name``'s group."""
        t = next((t for t in pool if t["gamma"] == name), None)
        if t is None or t["p"] is None:
            return None, f"band vs {label}: needs >= 2 seeds in each group"
        imp, se = -t["diff"], t["diff_sem"]  # improvement = mean(other) - mean(band); > 0: the band is better
        hi = imp + student_t.ppf(1 - alpha, t["dof"]) * se
        n = f"{t['n']} seeds, paired" if use_paired else f"n={t['n']} vs {t['n0']}"
        return ((imp, hi, t["p"]), f"band vs {label} ({n}): improvement {imp:+.4f} ± {se:.4f} nats "
                                   f"({'paired t' if use_paired else 'Welch'} p = {t['p']:.3g}; "
                                   f"one-sided 95% upper bound {hi:+.4f})")

    def verdict(v):
        if v is None:
            return None
        imp, hi, p = v
        return True if (p < alpha and imp > 0) else (False if hi < delta else None)

    v0, txt0 = versus("band", "gamma=0")
    vr, txtr = versus("band_vs_rest", "the other gains > 0")
    a0, ar = verdict(v0), verdict(vr)
    # the paper's band: better than no reentry AND better than the gains outside 0.10-0.20
    agree = False if False in (a0, ar) else (True if (a0 and ar) else None)
    sig = [t for t in pool if isinstance(t["gamma"], float) and t["p_bonferroni"] is not None
           and t["p_bonferroni"] < alpha]
    better = [t["gamma"] for t in sig if t["diff"] < 0]
    worse = [t["gamma"] for t in sig if t["diff"] > 0]
    out.append(dict(claim="band", paper=PAPER_CLAIMS["band"], agree=agree, better_than_zero=a0,
                    better_than_rest=ar, method="paired" if use_paired else "welch",
                    ours=f"{txt0}; {txtr}; single gains better than 0 after Bonferroni: {better or 'none'}, "
                         f"worse: {worse or 'none'}"))
    sn = [r["wr_spectral_norm_mean"] for r in rows]
    er = [r["wr_effective_rank_mean"] for r in rows]
    gp = [i for i in np.argsort(g) if g[i] > 0]
    bounded = bool(sn[gp[-1]] <= 2 * sn[gp[0]]) if gp else True
    bmask = np.array([_in_band(x) for x in g], bool)
    structured = bool(np.mean(np.array(er)[bmask]) < np.mean(np.array(er)[g == 0])) if bmask.any() and (g == 0).any() else None
    out.append(dict(claim="wr", paper=PAPER_CLAIMS["wr"],
                    agree=bool(bounded and structured) if structured is not None else bounded,
                    ours="|W_r|_2 " + "; ".join(f"{r['gamma']:g}: {_pm(r['wr_spectral_norm_mean'], r['wr_spectral_norm_sem'])}"
                                               for r in rows)
                         + "; eff. rank " + "; ".join(f"{r['gamma']:g}: {_pm(r['wr_effective_rank_mean'], r['wr_effective_rank_sem'])}"
                                                      for r in rows)))
    return out
