"""Grouping per-seed records by gain and their seed statistics (shared by analysis.sweeps and analysis.trained)."""

from __future__ import annotations

import numpy as np


def by_gain(items: list[dict]) -> list[tuple[float, list[dict]]]:
    """``[(gamma, records sorted by seed)]`` in increasing gamma (gamma rounded to 6 digits; no seed last)."""
    by: dict[float, list[dict]] = {}
    for r in items:
        by.setdefault(round(float(r["gamma"]), 6), []).append(r)
    return [(g, sorted(by[g], key=lambda r: (r.get("seed") is None, r.get("seed")))) for g in sorted(by)]


def seed_stats(vals: list) -> dict:
    """``mean``, ``std`` (ddof 1), ``sem`` = std/sqrt(n) and ``values`` of the finite entries (None below 2)."""
    v = np.array([np.nan if x is None else x for x in vals], float)
    v = v[np.isfinite(v)]
    n = v.size
    return {"mean": float(v.mean()) if n else None, "std": float(v.std(ddof=1)) if n > 1 else None,
            "sem": float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else None, "values": v.tolist()}
