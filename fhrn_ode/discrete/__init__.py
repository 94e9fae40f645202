"""The discrete FH-RL layer and Tiny-GPT (docs/model.md §3): layer, model, checkpoints, data, training."""

from .checkpoint import load_checkpoint, reference_model_path, save_checkpoint
from .data import Corpus, load_corpus, synthetic_corpus, unigram_baseline
from .layer import FHRL, FHRLConfig, draw_noise, fhrl_step, homeostatic_gain
from .model import VOCAB_SIZE, GPTConfig, TinyGPT
from .training import PRESETS, SWEEP_GAMMAS, TrainOptions, TrainResult, preset, train

__all__ = [
    "Corpus", "FHRL", "FHRLConfig", "GPTConfig", "PRESETS", "SWEEP_GAMMAS", "TinyGPT", "TrainOptions",
    "TrainResult", "VOCAB_SIZE", "draw_noise", "fhrl_step", "homeostatic_gain", "load_checkpoint",
    "load_corpus", "preset", "reference_model_path", "save_checkpoint", "synthetic_corpus", "train",
    "unigram_baseline",
]
