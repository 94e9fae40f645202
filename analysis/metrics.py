"""Reentry metrics of a trained FH-RL Tiny-GPT (docs/model.md §4: our definitions).

- IRR  (information reentry ratio): ``|gamma W_r y_{t-1}| / |h_t|`` averaged over t >= 2 and batch.
- ESRI (eigen-spectrum recursion index): covariances ``C_k`` of layer outputs in sliding windows
  along the sequence (pooled over the batch); ``mean_k |lam(C_{k+1}) - lam(C_k)|_1 / |lam(C_k)|_1``
  with sorted eigenvalues (``numpy.linalg.eigvalsh``). Near 0 = spectrally stationary.
- RDP  (representational drift periodicity): drift ``delta_t = 1 - cos(o_t, o_{t-1})``; the
  periodogram (``scipy.signal.periodogram``, mean removed, averaged over the batch); RDP is the
  dominant frequency ``f > 0`` (cycles/token) and ``strength`` = peak power / mean power over f > 0
  (about 1 for white drift, large for a clean oscillation).
- W_r statistics: spectral norm, effective rank ``exp(entropy(s / sum s))`` of the singular values,
  antisymmetric fraction ``|W_a|_F^2 / |W|_F^2`` with ``W_a = (W - W^T)/2``.

All computed with frozen weights on seeded random byte inputs, model in eval mode (so the FH-RL
noise is the fixed eval noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import signal

from fhrn_ode._errors import FHRNInputError, check_int
from fhrn_ode.operators import decompose

__all__ = ["WrStats", "RDPResult", "LayerMetrics", "ModelMetrics", "irr", "esri", "rdp", "drift",
           "wr_stats", "model_metrics"]


@dataclass(frozen=True)
class WrStats:
    """Statistics of one reentry matrix ``W_r``."""

    spectral_norm: float  # largest singular value |W_r|_2
    effective_rank: float  # exp(entropy of normalised singular values), in [1, d]
    antisymmetric_fraction: float  # |W_a|_F^2 / |W|_F^2 in [0, 1]; 0.5 for a random Gaussian matrix


@dataclass(frozen=True)
class RDPResult:
    """Dominant drift frequency and how strong the peak is."""

    frequency: float  # cycles/token of the largest periodogram peak at f > 0
    strength: float  # peak power / mean power over f > 0
    freqs: np.ndarray = field(repr=False)  # periodogram frequencies (f > 0)
    power: np.ndarray = field(repr=False)  # batch-mean periodogram at ``freqs``


@dataclass(frozen=True)
class LayerMetrics:
    """The reentry metrics of one FH-RL layer (docs/model.md §4): IRR, ESRI, the drift spectrum (RDP) and W_r statistics."""

    irr: float
    esri: float
    rdp: RDPResult
    wr: WrStats


@dataclass(frozen=True)
class ModelMetrics:
    """Per-layer metrics and their means over layers (``rdp_frequency`` of the mean drift spectrum)."""

    gamma: float
    layers: list[LayerMetrics]
    irr: float
    esri: float
    rdp_frequency: float
    rdp_strength: float
    wr_spectral_norm: float
    wr_effective_rank: float
    wr_antisymmetric_fraction: float

    def to_dict(self) -> dict:
        def lay(m: LayerMetrics) -> dict:
            return dict(irr=m.irr, esri=m.esri, rdp_frequency=m.rdp.frequency, rdp_strength=m.rdp.strength,
                        wr_spectral_norm=m.wr.spectral_norm, wr_effective_rank=m.wr.effective_rank,
                        wr_antisymmetric_fraction=m.wr.antisymmetric_fraction)
        return dict(gamma=self.gamma, irr=self.irr, esri=self.esri, rdp_frequency=self.rdp_frequency,
                    rdp_strength=self.rdp_strength, wr_spectral_norm=self.wr_spectral_norm,
                    wr_effective_rank=self.wr_effective_rank,
                    wr_antisymmetric_fraction=self.wr_antisymmetric_fraction,
                    layers=[lay(m) for m in self.layers])


def _np(a) -> np.ndarray:
    return a.detach().cpu().double().numpy() if torch.is_tensor(a) else np.asarray(a, dtype=float)


def _check3(name: str, a: np.ndarray) -> None:
    if a.ndim != 3 or a.shape[1] < 2:
        raise FHRNInputError(f"`{name}` must have shape (B, T >= 2, d), got {a.shape}")


def irr(reentry, h) -> float:
    """Mean over t >= 2 (index 1..) and batch of ``|reentry_t| / |h_t|``; both (B, T, d). 0 at gamma = 0."""
    r, hh = _np(reentry), _np(h)
    _check3("h", hh)
    num = np.linalg.norm(r[:, 1:], axis=-1)
    den = np.linalg.norm(hh[:, 1:], axis=-1)
    return float(np.mean(num / np.maximum(den, 1e-300)))


def esri(outputs, window: int = 16, stride: int | None = None) -> float:
    """ESRI of (B, T, d) outputs with windows of ``window`` positions moved by ``stride`` (default window/2)."""
    o = _np(outputs)
    _check3("outputs", o)
    B, T, d = o.shape
    window = check_int("window", window, low=2, high=T)
    stride = check_int("stride", stride if stride is not None else max(1, window // 2), low=1)
    lams = []
    for s in range(0, T - window + 1, stride):
        x = o[:, s:s + window].reshape(-1, d)
        lams.append(np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False).reshape(d, d)))[::-1])
    if len(lams) < 2:
        raise FHRNInputError(f"`window` {window} leaves fewer than two windows in T={T}")
    lams = np.array(lams)
    diff = np.abs(lams[1:] - lams[:-1]).sum(-1)
    return float(np.mean(diff / np.maximum(np.abs(lams[:-1]).sum(-1), 1e-300)))


def drift(outputs) -> np.ndarray:
    """``delta_t = 1 - cos(o_t, o_{t-1})`` of (B, T, d) outputs; shape (B, T-1)."""
    o = _np(outputs)
    _check3("outputs", o)
    a, b = o[:, 1:], o[:, :-1]
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-300)
    return 1.0 - cos


def rdp(delta) -> RDPResult:
    """Dominant frequency of the drift signal(s) ``delta`` ((T,) or (B, T)), mean-removed periodogram."""
    x = np.atleast_2d(_np(delta))
    if x.shape[-1] < 4:
        raise FHRNInputError(f"drift signal needs at least 4 steps, got {x.shape[-1]}")
    f, p = signal.periodogram(x, fs=1.0, detrend="constant", axis=-1)
    p = p.mean(0)
    f, p = f[1:], p[1:]
    i = int(np.argmax(p))
    mean = float(p.mean())
    return RDPResult(frequency=float(f[i]), strength=float(p[i] / mean) if mean > 0 else 0.0, freqs=f, power=p)


def wr_stats(W) -> WrStats:
    """Spectral norm, effective rank and antisymmetric fraction of a square matrix ``W``."""
    w = _np(W)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise FHRNInputError(f"`W_r` must be square, got shape {w.shape}")
    s = np.linalg.svd(w, compute_uv=False)
    tot = s.sum()
    if tot == 0:
        return WrStats(0.0, 0.0, 0.0)
    p = s / tot
    p = p[p > 0]
    wa = decompose(w)[0]
    return WrStats(spectral_norm=float(s[0]), effective_rank=float(np.exp(-(p * np.log(p)).sum())),
                   antisymmetric_fraction=float((wa ** 2).sum() / (w ** 2).sum()))


@torch.no_grad()
def model_metrics(model, *, n_seq: int = 32, seq_len: int | None = None, seed: int = 0,
                  window: int = 16) -> ModelMetrics:
    """IRR, ESRI, RDP and W_r statistics of every FH-RL layer of a ``TinyGPT`` on random bytes.

    Args:
        model: a :class:`fhrn_ode.discrete.TinyGPT` with FH-RL layers (weights are not changed).
        n_seq, seq_len: batch of uniformly random byte sequences (default length: the context).
        seed: seed of the random inputs.
        window: ESRI window (positions).
    """
    layers = getattr(model, "fhrl_layers", None)
    if not layers:
        raise FHRNInputError("model has no FH-RL layers (fhrl=False); metrics need them")
    n_seq = check_int("n_seq", n_seq, low=1)
    T = check_int("seq_len", seq_len if seq_len is not None else model.cfg.context, low=4, high=model.cfg.context)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    idx = torch.randint(0, 256, (n_seq, T), generator=g)
    was = model.training
    model.eval()
    try:
        _, _, ints = model(idx, return_internals=True)
    finally:
        model.train(was)
    per = []
    powers = []
    for layer, it in zip(layers, ints):
        r = rdp(drift(it["out"]))
        powers.append(r)
        per.append(LayerMetrics(irr=irr(it["reentry"], it["h"]), esri=esri(it["out"], window=min(window, T)),
                                rdp=r, wr=wr_stats(layer.W_r)))
    mean_p = np.mean([r.power for r in powers], 0)
    i = int(np.argmax(mean_p))
    return ModelMetrics(
        gamma=float(model.cfg.gamma), layers=per, irr=float(np.mean([m.irr for m in per])),
        esri=float(np.mean([m.esri for m in per])), rdp_frequency=float(powers[0].freqs[i]),
        rdp_strength=float(mean_p[i] / mean_p.mean()),
        wr_spectral_norm=float(np.mean([m.wr.spectral_norm for m in per])),
        wr_effective_rank=float(np.mean([m.wr.effective_rank for m in per])),
        wr_antisymmetric_fraction=float(np.mean([m.wr.antisymmetric_fraction for m in per])))
