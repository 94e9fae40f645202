"""Tiny-GPT with an FH-RL layer in every block (docs/model.md §3), nanoGPT style.

Block (pre-LayerNorm): ``h = x + Attn(LN1(x))``; ``h' = FHRL(h)``; ``out = h' + FFN(LN2(h'))``.
``GPTConfig(fhrl=False)`` builds the same model with the FH-RL layer removed (``h' = h``): the
plain pre-LN GPT baseline.

What "gamma = 0 reduces to a plain GPT" means here: with ``gamma = 0`` the reentry term is exactly
zero, so ``x_t == h_t`` bit for bit and the model equals the same weights run with the reentry
term removed (``reentry=False``), bit for bit (tested). The FH-RL layer still adds its fast-weight
output ``y_t`` (``h' = h + y``), so a gamma = 0 model is *not* a plain transformer; only
``fhrl=False`` (the layer removed) is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._errors import FHRNInputError, check_int, check_real
from .layer import FHRL, FHRLConfig

__all__ = ["GPTConfig", "TinyGPT", "VOCAB_SIZE"]

#: The byte vocabulary of the Tiny-GPT (one token per byte value).
VOCAB_SIZE = 256  # bytes


@dataclass(frozen=True)
class GPTConfig:
    """Tiny-GPT + FH-RL hyper-parameters (defaults: the paper's sizes, docs/model.md §3)."""

    d: int = 192  # model width (embedding size)
    n_layer: int = 3  # number of blocks
    n_head: int = 3  # attention heads per block (d must be divisible by n_head)
    context: int = 128  # maximum sequence length (block size)
    rank: int = 4  # FH-RL fast-weight rank r
    alpha: float = 0.1  # FH-RL EMA rate alpha in (0, 1]
    sigma: float = 0.05  # FH-RL perturbation std sigma >= 0
    beta: float = 0.5  # FH-RL homeostasis beta in [0, 1) (beta >= 1: g has a pole; refused)
    gamma: float = 0.1  # FH-RL reentry gain gamma >= 0
    fhrl: bool = True  # False: the FH-RL layer is removed (plain pre-LN GPT baseline)
    dropout: float = 0.0  # dropout probability (kept 0: the FH-RL recurrence is analysed without it)
    seed: int = 0  # seed of the weight init and of the training-mode noise generator
    eval_noise_seed: int = 1234  # seed of the FH-RL noise in eval mode (drawn afresh per call)

    def __post_init__(self) -> None:
        check_int("d", self.d, low=1)
        check_int("n_layer", self.n_layer, low=1)
        check_int("n_head", self.n_head, low=1)
        if self.d % self.n_head:
            raise FHRNInputError(f"`d` must be divisible by `n_head`, got d={self.d}, n_head={self.n_head}")
        check_int("context", self.context, low=1)
        check_int("seed", self.seed, low=0)
        if not isinstance(self.fhrl, bool):
            raise FHRNInputError(f"`fhrl` must be a bool, got {self.fhrl!r}")
        check_real("dropout", self.dropout, low=0.0, high=1.0)
        if self.dropout != 0.0:
            raise FHRNInputError(f"`dropout` must be 0 (dropout is not supported), got {self.dropout!r}")
        self.layer_config()  # validates rank/alpha/sigma/beta/gamma

    def layer_config(self) -> FHRLConfig:
        return FHRLConfig(d=self.d, rank=self.rank, alpha=self.alpha, sigma=self.sigma, beta=self.beta,
                          gamma=self.gamma, eval_noise_seed=self.eval_noise_seed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: Any) -> "GPTConfig":
        """Build from a JSON dict with every field; unknown or missing keys and wrong types are refused (FHRNInputError)."""
        if not isinstance(obj, dict):
            raise FHRNInputError(f"config must be a JSON object, got {type(obj).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(obj) - set(known))
        if unknown:
            raise FHRNInputError(f"config has unknown keys {unknown}; allowed: {sorted(known)}")
        kw = {}
        for name, value in obj.items():
            ftype = known[name].type
            if ftype == "bool":
                ok = isinstance(value, bool)
            elif ftype == "int":
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:  # float
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            if not ok:
                raise FHRNInputError(f"config key `{name}` must be {ftype}, got {value!r}")
            kw[name] = value
        missing = sorted(set(known) - set(obj))
        if missing:
            raise FHRNInputError(f"config is missing keys {missing} (a checkpoint's config.json lists every field)")
        return cls(**kw)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.d, 3 * cfg.d)
        self.c_proj = nn.Linear(cfg.d, cfg.d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, C)
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.d, 4 * cfg.d)
        self.c_proj = nn.Linear(4 * cfg.d, cfg.d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d)
        self.attn = CausalSelfAttention(cfg)
        self.fhrl = FHRL(cfg.layer_config()) if cfg.fhrl else None
        self.ln_2 = nn.LayerNorm(cfg.d)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, **kw: Any) -> tuple[torch.Tensor, dict | None]:
        h = x + self.attn(self.ln_1(x))
        internals = None
        if self.fhrl is not None:
            h, internals = self.fhrl(h, **kw)
            if internals is not None:
                internals["out"] = h
        return h + self.mlp(self.ln_2(h)), internals


class TinyGPT(nn.Module):
    """Byte-level Tiny-GPT; ``forward(idx (B, T) int64) -> (logits (B, T, 256), loss | None, internals | None)``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        g = torch.random.fork_rng(devices=[])
        with g:
            torch.manual_seed(cfg.seed)
            self.wte = nn.Embedding(VOCAB_SIZE, cfg.d)
            self.wpe = nn.Embedding(cfg.context, cfg.d)
            self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.d)
            self.lm_head = nn.Linear(cfg.d, VOCAB_SIZE, bias=False)
            self.wte.weight = self.lm_head.weight  # weight tying
            for name, p in self.named_parameters():
                if ".fhrl." in name:
                    continue  # FH-RL keeps its own N(0, 1/d) init
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))
                elif p.ndim == 2:
                    nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)
        #: training-mode noise source (its state is saved with checkpoints, for exact resume)
        self.generator = torch.Generator().manual_seed(cfg.seed + 1)

    @property
    def fhrl_layers(self) -> list[FHRL]:
        return [b.fhrl for b in self.blocks if b.fhrl is not None]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *, reentry: bool = True,
                return_internals: bool = False, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None, list[dict] | None]:
        """Logits for every position (never only the last one).

        Args:
            idx: (B, T) byte ids in [0, 256), T <= context.
            targets: optional (B, T) next-byte ids; then ``loss`` is the mean cross-entropy (nats).
            reentry: False removes the reentry term in every FH-RL layer (x_t = h_t).
            return_internals: also return one dict per FH-RL layer (see :meth:`FHRL.forward`, plus
                ``out`` = the layer output ``x + y``).
            generator: training-mode noise source (default: the model's own ``generator``).
        """
        if idx.ndim != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise FHRNInputError(f"`idx` must be a (B, T) integer tensor, got {tuple(idx.shape)} {idx.dtype}")
        B, T = idx.shape
        if T > self.cfg.context:
            raise FHRNInputError(f"sequence length must be <= context {self.cfg.context}, got {T}")
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        gen = generator if generator is not None else self.generator
        all_int = [] if return_internals else None
        for block in self.blocks:
            x, internals = block(x, generator=gen, reentry=reentry, return_internals=return_internals) \
                if block.fhrl is not None else block(x)
            if return_internals and internals is not None:
                all_int.append(internals)
        logits = self.lm_head(self.ln_f(x))  # (B, T, 256)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), targets.reshape(-1))
        return logits, loss, all_int

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
