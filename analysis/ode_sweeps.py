"""The table of an ODE sweep (``fhrn-ode sweep --task ode``): one row per parameter set, mean ± SE over seeds.

Each finished ODE task writes ``tasks/<key>/result.json`` (``fhrn_ode.sweep``): its ``task`` (gain, kappa,
theta, leak, beta, operator, dim, t1, seed), ``status``, ``final_radius_mean``,
``spectral_abscissa_final_max`` and ``nfe``. Pure functions; no plotting.
"""

from __future__ import annotations

import os
from pathlib import Path

from fhrn_ode._errors import FHRNInputError
from fhrn_ode._io import read_json

from ._seeds import seed_stats

__all__ = ["ODE_GROUP_KEYS", "load_ode_results", "ode_sweep_table"]

#: The task fields that define a parameter set (rows group the seeds of one set).
ODE_GROUP_KEYS = ("operator", "dim", "gain", "kappa", "theta", "leak", "beta", "t1")


def load_ode_results(folder: str | os.PathLike) -> list[dict]:
    """The ``result.json`` of every finished ODE task in a sweep folder (``[]`` when there is none).

    Raises:
        FHRNInputError: the folder does not exist.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FHRNInputError(f"sweep folder {str(root)!r} does not exist")
    out = []
    for p in sorted(root.glob("tasks/*/result.json")):
        try:
            r = read_json(p, "task result")
        except FHRNInputError:  # unreadable: an unfinished task
            continue
        if isinstance(r, dict) and r.get("task", {}).get("kind") == "ode":
            out.append(r)
    return out


def ode_sweep_table(results: list[dict]) -> list[dict]:
    """One row per parameter set (:data:`ODE_GROUP_KEYS`), sorted by them.

    Args:
        results: ``result.json`` objects of ODE tasks (:func:`load_ode_results`).

    Returns:
        Rows with the group keys (``gain`` as ``gamma``), ``n`` (seeds), ``seeds``, ``statuses``
        (``{status: count}``), ``final_radius_mean_<mean|sem>`` (mean over seeds of each task's mean final
        ``|y|``), ``spectral_abscissa_final_max`` (max over seeds) and ``nfe_mean``.
    """
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        t = r["task"]
        groups.setdefault(tuple(t.get(k) for k in ODE_GROUP_KEYS), []).append(r)
    rows = []
    for key in sorted(groups, key=lambda k: tuple((v is None, str(v) if isinstance(v, str) else v) for v in k)):
        rs = groups[key]
        row = dict(zip(ODE_GROUP_KEYS, key))
        row["gamma"] = row.pop("gain")
        statuses: dict[str, int] = {}
        for r in rs:
            statuses[r.get("status", "unknown")] = statuses.get(r.get("status", "unknown"), 0) + 1
        rad = seed_stats([r.get("final_radius_mean") for r in rs])
        rho = [r.get("spectral_abscissa_final_max") for r in rs if r.get("spectral_abscissa_final_max") is not None]
        row.update(n=len(rs), seeds=sorted(r["task"].get("seed") for r in rs), statuses=statuses,
                   final_radius_mean_mean=rad["mean"], final_radius_mean_sem=rad["sem"],
                   spectral_abscissa_final_max=max(rho) if rho else None,
                   nfe_mean=seed_stats([r.get("nfe") for r in rs])["mean"])
        rows.append(row)
    return rows
