"""Stable-region check of a trained model's effective reentry operators ``W*`` (docs/model.md §5, C 5-7).

At each context's operating point (the model's ``gamma``, ``beta`` and the measured radius ``|y|``),
the **primary verdict** is the loop's own linearization at ``h`` (docs/companions.md §2): the FH-RL
layer applies the homeostatic normalisation once, inside ``H``, so ``J_H`` already contains its
derivative and the loop's Jacobian is ``gamma W*`` (``W* = J_H W_r``). Its continuous relaxation
``dy/dt = -y + gamma W* y`` gives

* exact: spectral abscissa ``rho(-I + gamma W*)`` (``< 0``: locally stable),
* small gain: ``r_e = gamma |W*|_2`` (``< 1``: sufficient only),
* logarithmic norm ``mu_2(-I + gamma W*)`` (``< 0``: contraction in the 2-norm) and the relative
  Henrici departure from normality of ``W*`` (0: normal).

The **paper's criterion** ``rho(-I + gamma g(|y|) W*)`` with ``g(r) = 1 / (1 + beta (r^2 - 1))`` (C 2;
docs/model.md §5) multiplies by the gain a second time (docs/findings.md, "Where the gain sits"); it is
kept alongside as ``paper_*`` arrays and the ``paper_criterion`` summary, labelled as such.
``gamma = 0`` gives ``-I`` under both: stable, ``r_e = 0``. Pure functions returning dataclasses; no plotting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from fhrn_ode._errors import FHRNInputError
from fhrn_ode.homeostasis import POLE_THRESHOLD, gain, gain_denominator
from fhrn_ode.operators import decompose

from ._seeds import by_gain, seed_stats
from fhrn_ode.dynamics.jacobians import henrici, log_norm, spectral_abscissa

__all__ = ["PRIMARY_OPERATOR", "PAPER_OPERATOR", "ContextChecks", "LayerCheck", "TrainedCheck", "check_contexts",
           "check_trained", "operator_split", "sweep_stability"]

#: The operator of the primary verdict: the loop's own linearization (the normalisation is inside J_H).
PRIMARY_OPERATOR = "-I + gamma W*"
#: The paper's criterion, reported alongside as ``paper_criterion`` (an extra factor g).
PAPER_OPERATOR = "-I + gamma g(|y|) W*"


@dataclass(frozen=True)
class ContextChecks:
    """Per-context numbers, each ``(C,)``: primary (``-I + gamma W*``) and ``paper_*`` (``-I + gamma g W*``)."""

    layer: np.ndarray
    gain: np.ndarray
    radius: np.ndarray
    spectral_abscissa: np.ndarray
    r_e: np.ndarray
    wr_norm: np.ndarray
    log_norm: np.ndarray
    henrici: np.ndarray
    stable: np.ndarray
    stable_small_gain: np.ndarray
    paper_spectral_abscissa: np.ndarray
    paper_r_e: np.ndarray
    paper_stable: np.ndarray


@dataclass(frozen=True)
class LayerCheck:
    """Summary of one layer over its contexts (margin = ``-spectral_abscissa``; primary operator ``-I + gamma W*``).

    ``paper_criterion``: the same summary for the paper's ``-I + gamma g(|y|) W*`` (keys ``operator``,
    ``stable``, ``fraction_stable``, ``fraction_small_gain``, ``spectral_abscissa``, ``r_e``).
    """

    layer: int
    n_contexts: int
    stable: bool
    fraction_stable: float
    fraction_small_gain: float
    spectral_abscissa: float  # max over contexts
    spectral_abscissa_median: float
    worst_margin: float
    median_margin: float
    r_e: float  # max
    r_e_median: float
    log_norm: float  # max
    henrici_median: float
    radius_median: float
    gain_median: float
    wr_norm_median: float
    antisym_fraction: float  # |W_a|_F^2 / |W*|_F^2 of the mean W*
    sym_fraction: float
    antisym_norm2: float
    sym_norm2: float
    mean_w_star_norm2: float
    paper_criterion: dict
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TrainedCheck:
    """Check of all contexts of one model (JSON keys: :meth:`to_dict`); ``operator`` names the primary
    verdict's operator, ``paper_criterion`` summarises the paper's (:data:`PAPER_OPERATOR`)."""

    gamma: float
    beta: float
    operator: str
    stable: bool
    spectral_abscissa: float
    spectral_abscissa_median: float
    r_e: float
    r_e_median: float
    fraction_stable: float
    fraction_small_gain: float
    log_norm: float
    henrici_median: float
    n_contexts: int
    per_layer: tuple
    paper_criterion: dict
    contexts: ContextChecks = field(repr=False)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("contexts", "per_layer")}
        d["per_layer"] = [lc.to_dict() for lc in self.per_layer]
        return d


def operator_split(W) -> dict:
    """Antisymmetric/symmetric split of ``W`` (Section 3): Frobenius energy fractions and 2-norms."""
    W = np.asarray(W, dtype=np.float64)
    Wa, Ws = decompose(W)
    f2 = float(np.sum(W * W))
    fa = float(np.sum(Wa * Wa)) / f2 if f2 > 0 else 0.0
    return {"antisym_fraction": fa, "sym_fraction": (1.0 - fa) if f2 > 0 else 0.0,
            "antisym_norm2": float(np.linalg.norm(Wa, 2)), "sym_norm2": float(np.linalg.norm(Ws, 2)),
            "norm2": float(np.linalg.norm(W, 2))}


def _abscissa_and_log_norm(W: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rho`` and ``mu_2`` of ``-I + c_i W_i`` for ``W`` ``(C, d, d)`` and ``c`` ``(C,)``."""
    M = c[:, None, None] * W - np.eye(W.shape[-1])[None]
    return (np.asarray(spectral_abscissa(M), dtype=np.float64), np.asarray(log_norm(M), dtype=np.float64))


def check_contexts(W_star, gamma: float, beta: float, radius, layer=None) -> ContextChecks:
    """Per-context stability numbers of ``W*`` of shape ``(C, d, d)`` (module docstring).

    Args:
        W_star: ``(C, d, d)`` (or ``(d, d)``) effective reentry operators ``J_H W_r``.
        gamma: reentry gain >= 0.
        beta: gain modulation >= 0 (only the paper's criterion uses it, through ``g(radius)``).
        radius: ``(C,)`` or scalar operating radius ``|y|``.
        layer: ``(C,)`` layer index per context (default all 0).

    Returns:
        :class:`ContextChecks`: primary ``rho(-I + gamma W*)``, ``r_e = gamma |W*|_2``, ``mu_2``; and
        ``paper_spectral_abscissa`` / ``paper_r_e`` / ``paper_stable`` of ``-I + gamma g W*``.

    Raises:
        FHRNInputError: a bad shape, non-finite entries, negative gains, or a radius on the gain pole.
    """
    W = np.asarray(W_star, dtype=np.float64)
    if W.ndim == 2:
        W = W[None]
    if W.ndim != 3 or W.shape[-1] != W.shape[-2] or W.shape[0] == 0:
        raise FHRNInputError(f"`W_star` must have shape (C, d, d), got {W.shape}")
    if not np.all(np.isfinite(W)):
        raise FHRNInputError("`W_star` contains non-finite entries")
    C = W.shape[0]
    gamma, beta = float(gamma), float(beta)
    if not (np.isfinite(gamma) and gamma >= 0 and np.isfinite(beta) and beta >= 0):
        raise FHRNInputError(f"`gamma` and `beta` must be finite and >= 0, got gamma={gamma}, beta={beta}")
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (C,)).copy()
    lay = np.zeros(C, dtype=np.int64) if layer is None else np.asarray(layer, dtype=np.int64).reshape(C)
    if not np.all(np.isfinite(r)) or np.any(gain_denominator(r * r, beta) < POLE_THRESHOLD):
        # on the pole (near_pole) or inside it (g < 0, beta > 1)
        raise FHRNInputError(f"the operating radius sits on or beyond the gain pole of g (beta={beta:g})")
    g = gain(r * r, beta)
    nrm = np.linalg.svd(W, compute_uv=False)[:, 0]
    if gamma == 0.0:  # -I: W* irrelevant
        rho = mu = rho_p = np.full(C, -1.0)
    else:
        rho, mu = _abscissa_and_log_norm(W, np.full(C, gamma))
        rho_p = _abscissa_and_log_norm(W, gamma * g)[0]
    r_e, r_e_p = gamma * nrm, gamma * g * nrm
    return ContextChecks(lay, g, r, rho, r_e, nrm, mu, np.asarray(henrici(W)), rho < 0, r_e < 1,
                         rho_p, r_e_p, rho_p < 0)


def _paper_summary(rho: np.ndarray, r_e: np.ndarray) -> dict:
    return {"operator": PAPER_OPERATOR, "stable": bool(np.all(rho < 0)), "fraction_stable": float(np.mean(rho < 0)),
            "fraction_small_gain": float(np.mean(r_e < 1)), "spectral_abscissa": float(rho.max()),
            "r_e": float(r_e.max())}


def _verdict(lc: dict, gamma: float) -> str:
    L = lc["layer"]
    if gamma == 0.0:
        return f"layer {L}: gamma = 0, no reentry: -I is trivially stable (r_e = 0)."
    if lc["fraction_stable"] == 1.0:
        how = "also by small gain (r_e < 1)" if lc["fraction_small_gain"] == 1.0 else \
            f"though small gain certifies only {100 * lc['fraction_small_gain']:.0f}%"
        return (f"layer {L}: stable at every context (worst margin {lc['worst_margin']:.3g}, max r_e "
                f"{lc['r_e']:.3g}), {how}.")
    return (f"layer {L}: UNSTABLE at {100 * (1 - lc['fraction_stable']):.1f}% of contexts (max spectral "
            f"abscissa {lc['spectral_abscissa']:.3g}, max r_e {lc['r_e']:.3g}).")


def _layer_check(cc: ContextChecks, W: np.ndarray, L: int, gamma: float) -> LayerCheck:
    s = cc.layer == L
    rho = cc.spectral_abscissa[s]
    lc = dict(layer=int(L), n_contexts=int(s.sum()), stable=bool(np.all(rho < 0)),
              fraction_stable=float(np.mean(rho < 0)), fraction_small_gain=float(np.mean(cc.r_e[s] < 1)),
              spectral_abscissa=float(rho.max()), spectral_abscissa_median=float(np.median(rho)),
              worst_margin=float(-rho.max()), median_margin=float(-np.median(rho)),
              r_e=float(cc.r_e[s].max()), r_e_median=float(np.median(cc.r_e[s])),
              log_norm=float(cc.log_norm[s].max()), henrici_median=float(np.median(cc.henrici[s])),
              radius_median=float(np.median(cc.radius[s])), gain_median=float(np.median(cc.gain[s])),
              wr_norm_median=float(np.median(cc.wr_norm[s])))
    sp = operator_split(W[s].mean(axis=0))
    lc.update(antisym_fraction=sp["antisym_fraction"], sym_fraction=sp["sym_fraction"],
              antisym_norm2=sp["antisym_norm2"], sym_norm2=sp["sym_norm2"], mean_w_star_norm2=sp["norm2"],
              paper_criterion=_paper_summary(cc.paper_spectral_abscissa[s], cc.paper_r_e[s]))
    lc["verdict"] = _verdict(lc, gamma)
    return LayerCheck(**lc)


def check_trained(W_star, gamma: float, beta: float, radius, layer=None) -> TrainedCheck:
    """Stable-region check of a trained model (docs/model.md §5): per context, per layer and overall.

    Args:
        W_star, gamma, beta, radius, layer: as in :func:`check_contexts`.

    Returns:
        :class:`TrainedCheck`; the primary verdict (``stable``, ``fraction_stable``, ...) is that of
        ``-I + gamma W*``, ``paper_criterion`` that of ``-I + gamma g(|y|) W*``.

    Raises:
        FHRNInputError: as :func:`check_contexts`.
    """
    cc = check_contexts(W_star, gamma, beta, radius, layer)
    W = np.asarray(W_star, dtype=np.float64).reshape(cc.layer.size, *np.shape(W_star)[-2:])
    per = [_layer_check(cc, W, L, float(gamma)) for L in sorted(set(cc.layer.tolist()))]
    rho = cc.spectral_abscissa
    return TrainedCheck(gamma=float(gamma), beta=float(beta), operator=PRIMARY_OPERATOR, stable=bool(np.all(rho < 0)),
                        spectral_abscissa=float(rho.max()), spectral_abscissa_median=float(np.median(rho)),
                        r_e=float(cc.r_e.max()), r_e_median=float(np.median(cc.r_e)),
                        fraction_stable=float(np.mean(rho < 0)), fraction_small_gain=float(np.mean(cc.r_e < 1)),
                        log_norm=float(cc.log_norm.max()), henrici_median=float(np.median(cc.henrici)),
                        n_contexts=int(rho.size), per_layer=tuple(per),
                        paper_criterion=_paper_summary(cc.paper_spectral_abscissa, cc.paper_r_e), contexts=cc)


def sweep_stability(checks: list[dict]) -> list[dict]:
    """Per-gain stability over seeds from per-model check dicts (:meth:`TrainedCheck.to_dict` + ``seed``).

    Each row: ``gamma``, ``n`` (models), ``seeds`` and, for ``fraction_stable``,
    ``fraction_small_gain``, ``spectral_abscissa`` (max over contexts) and ``r_e`` (max), the
    ``<key>_mean``, ``<key>_sem`` (``std/sqrt(n)``, None for n = 1) and ``<key>_values`` over seeds;
    ``all_stable`` (every context of every seed) and ``seeds_leaving`` (seeds with some unstable context);
    ``operator`` (the primary verdict's, :data:`PRIMARY_OPERATOR`) and, where the checks carry it,
    ``paper_fraction_stable_<mean|sem|values>`` of the paper's criterion (:data:`PAPER_OPERATOR`).

    Args:
        checks: per-model dicts with ``gamma``, ``fraction_stable``, ``fraction_small_gain``,
            ``spectral_abscissa``, ``r_e`` (optionally ``seed`` and ``paper_criterion``).

    Returns:
        One row per gain, ascending.
    """
    rows = []
    for g, cs in by_gain(checks):
        row: dict = {"gamma": g, "n": len(cs), "seeds": [c.get("seed") for c in cs],
                     "operator": cs[0].get("operator", PRIMARY_OPERATOR)}
        for k in ("fraction_stable", "fraction_small_gain", "spectral_abscissa", "r_e"):
            st = seed_stats([c[k] for c in cs])
            row.update({f"{k}_{q}": st[q] for q in ("mean", "sem", "values")})
        if all("paper_criterion" in c for c in cs):
            st = seed_stats([c["paper_criterion"]["fraction_stable"] for c in cs])
            row.update({f"paper_fraction_stable_{q}": st[q] for q in ("mean", "sem", "values")})
        row["all_stable"] = bool(all(c["fraction_stable"] == 1.0 for c in cs))
        row["seeds_leaving"] = [c.get("seed") for c in cs if c["fraction_stable"] < 1.0]
        rows.append(row)
    return rows
