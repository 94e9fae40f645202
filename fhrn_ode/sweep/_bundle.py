"""Small per-gain result files of a sweep (no models): what ``fhrn-ode sweep-report`` needs to redo its table and figure.

A bundle folder holds ``gamma_<g>.json`` (``{"gamma", "results": [result.json of each seed, without
the loss history]}``), optionally ``stability.json`` (the ``per_gain`` rows of ``fhrn-ode check``)
and ``sweep_manifest.json`` (a copy of the sweep's manifest, for the record). The quick-preset sweep is bundled as
``fhrn_ode/data/sweep_quick/`` (:func:`bundled_sweep_path`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import FHRNInputError
from .._io import atomic_write_json
from ._manifest import finished_results, load_manifest

__all__ = ["BUNDLED_SWEEPS", "bundled_sweep_path", "write_bundle", "STABILITY_NAME", "BUNDLED_MANIFEST"]

#: The file of a bundle that holds the per-gain stability rows of ``check``.
STABILITY_NAME = "stability.json"
#: The manifest file of a bundled sweep.
BUNDLED_MANIFEST = "sweep_manifest.json"  # not manifest.json: a bundle is no sweep folder to resume


#: Presets with a bundled sweep (``fhrn_ode/data/sweep_<preset>/``, docs/sweeps.md).
BUNDLED_SWEEPS = ("quick", "paper")


def bundled_sweep_path(preset: str = "quick") -> Path:
    """The bundled gain sweep of ``preset`` (``fhrn_ode/data/sweep_<preset>/``, docs/sweeps.md)."""
    if preset not in BUNDLED_SWEEPS:
        raise FHRNInputError(f"`preset` must be one of {', '.join(map(repr, BUNDLED_SWEEPS))} (a bundled sweep); "
                             f"got {preset!r}")
    return Path(__file__).resolve().parent.parent / "data" / f"sweep_{preset}"


def write_bundle(sweep_dir: str | os.PathLike, out: str | os.PathLike, *, stability: list | None = None) -> list[Path]:
    """Write the bundle of the finished train tasks of ``sweep_dir`` (a ``fhrn-ode sweep`` folder) into ``out``.

    Raises:
        FHRNInputError: ``sweep_dir`` has no manifest or no finished train task.
    """
    src, out = Path(sweep_dir), Path(out)
    m = load_manifest(src)
    by: dict[str, list[dict]] = {}
    for _, res in finished_results(src, "train"):
        res = {k: v for k, v in res.items() if k != "history"}
        by.setdefault(f"gamma_{float(res['gamma']):.3f}.json", []).append(res)
    if not by:
        raise FHRNInputError(f"sweep folder {str(src)!r} has no finished train tasks to bundle")
    files = []
    for name, rs in sorted(by.items()):
        rs.sort(key=lambda r: r["seed"])
        files.append(atomic_write_json(out / name, {"gamma": rs[0]["gamma"], "results": rs}))
    if stability is not None:
        files.append(atomic_write_json(out / STABILITY_NAME, {"per_gain": stability}))
    files.append(atomic_write_json(out / BUNDLED_MANIFEST, m.to_dict()))
    return files
