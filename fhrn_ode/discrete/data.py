"""Byte corpora for Tiny-GPT: an offline, deterministic synthetic corpus with real structure, or any file.

The synthetic corpus (:func:`synthetic_corpus`) is lines of four kinds, mixed by a seeded RNG:

- motif text: words from a fixed random lexicon with Zipf frequencies (local statistics);
- nested brackets: well-formed ``( [ { < >  } ] )`` expressions with words inside (needs a stack);
- long-range copies: ``key=<random token> ... | <same token>`` (needs attention back tens of bytes);
- counting lines: ``3: a b c`` style runs (arithmetic regularity).

:func:`load_corpus` returns train/val byte tensors (last ``val_frac`` of the bytes is validation)
and :func:`unigram_baseline` the cross-entropy (nats/byte) of the train set's byte frequencies on
the validation set (add-one smoothed): a model must beat it to have learned anything beyond counts.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .._errors import FHRNInputError, check_int, check_real

__all__ = ["Corpus", "synthetic_corpus", "load_corpus", "unigram_baseline", "sample_batch", "val_batches"]

_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_OPEN, _CLOSE = "([{<", ")]}>"


def synthetic_corpus(n_bytes: int = 300_000, seed: int = 0) -> bytes:
    """A deterministic structured byte corpus of exactly ``n_bytes`` bytes (see module docstring)."""
    n_bytes = check_int("n_bytes", n_bytes, low=1)
    rng = np.random.default_rng(seed)
    lex = ["".join(chr(c) for c in rng.choice(_LETTERS, size=rng.integers(2, 7))) for _ in range(60)]
    p = 1.0 / np.arange(1, len(lex) + 1)
    p /= p.sum()

    def words(k: int) -> list[str]:
        return [lex[i] for i in rng.choice(len(lex), size=k, p=p)]

    def brackets(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return " ".join(words(int(rng.integers(1, 3))))
        b = int(rng.integers(4))
        inner = " ".join(brackets(depth - 1) for _ in range(int(rng.integers(1, 3))))
        return f"{_OPEN[b]}{inner}{_CLOSE[b]}"

    out: list[str] = []
    total = 0
    while total < n_bytes:
        kind = rng.random()
        if kind < 0.35:
            line = " ".join(words(int(rng.integers(4, 12)))) + "."
        elif kind < 0.6:
            line = brackets(4)
        elif kind < 0.85:
            tok = "".join(chr(c) for c in rng.choice(_LETTERS, size=int(rng.integers(4, 9))))
            line = f"key={tok} " + " ".join(words(int(rng.integers(2, 8)))) + f" | {tok}"
        else:
            start = int(rng.integers(0, 20))
            n = int(rng.integers(3, 7))
            line = f"{n}: " + " ".join(chr(97 + (start + i) % 26) for i in range(n))
        out.append(line + "\n")
        total += len(out[-1])
    return "".join(out).encode("ascii")[:n_bytes]


@dataclass(frozen=True)
class Corpus:
    """Train/validation byte tensors (int64, values 0..255) and where they came from."""

    train: torch.Tensor  # (N_train,) int64
    val: torch.Tensor  # (N_val,) int64
    source: str  # "synthetic(seed=.., n_bytes=..)" or the file path


def load_corpus(path: str | os.PathLike | None = None, *, n_bytes: int = 300_000, seed: int = 0,
                val_frac: float = 0.1, min_len: int = 2) -> Corpus:
    """The synthetic corpus (``path=None``) or the raw bytes of any file, split train/val (last part).

    Raises:
        FHRNInputError: missing/unreadable file, or too few bytes for ``min_len``-long sequences.
    """
    val_frac = check_real("val_frac", val_frac, low=0.0, high=0.5, low_open=True)
    if path is None:
        data = synthetic_corpus(n_bytes, seed)
        source = f"synthetic(seed={seed}, n_bytes={n_bytes})"
    else:
        p = Path(path)
        if not p.is_file():
            raise FHRNInputError(f"`--data` {str(p)!r} is not a readable file")
        from .._limits import format_bytes, memory_limit

        size = p.stat().st_size
        if 9 * size > memory_limit():  # the bytes and their int64 tensor
            raise FHRNInputError(f"`--data` {str(p)!r} is {format_bytes(size)}; training on it needs about "
                                 f"{format_bytes(9 * size)} of memory (limit {format_bytes(memory_limit())}, "
                                 f"FHRN_ODE_MAX_MEMORY); use a smaller file")
        data = p.read_bytes()
        source = str(p)
    arr = torch.tensor(np.frombuffer(data, dtype=np.uint8).astype(np.int64))
    n_val = int(len(arr) * val_frac)
    if n_val < min_len + 1 or len(arr) - n_val < min_len + 1:
        raise FHRNInputError(f"`--data` has {len(arr)} bytes; need at least {math.ceil((min_len + 1) / val_frac)} "
                             f"for sequences of length {min_len}")
    return Corpus(train=arr[: len(arr) - n_val], val=arr[len(arr) - n_val:], source=source)


def unigram_baseline(corpus: Corpus) -> float:
    """Cross-entropy (nats/byte) on ``val`` of add-one-smoothed byte frequencies of ``train``."""
    counts = torch.bincount(corpus.train, minlength=256).double() + 1.0
    logp = torch.log(counts / counts.sum())
    return float(-logp[corpus.val].mean())


def sample_batch(data: torch.Tensor, batch_size: int, T: int, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ``(x, y)`` windows (B, T) with ``y`` shifted by one byte, from ``generator``."""
    ix = torch.randint(0, len(data) - T - 1 + 1, (batch_size,), generator=generator)
    off = torch.arange(T)
    x = data[ix[:, None] + off]
    y = data[ix[:, None] + off + 1]
    return x, y


def val_batches(data: torch.Tensor, batch_size: int, T: int, n_batches: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fixed, evenly spaced validation windows (deterministic, no RNG)."""
    n = batch_size * n_batches
    starts = torch.linspace(0, len(data) - T - 1, n).long()
    off = torch.arange(T)
    xs, ys = data[starts[:, None] + off], data[starts[:, None] + off + 1]
    return [(xs[i * batch_size:(i + 1) * batch_size], ys[i * batch_size:(i + 1) * batch_size]) for i in range(n_batches)]
