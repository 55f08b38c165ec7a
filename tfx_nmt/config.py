"""The one typed configuration object of a run.

A `RunConfig` holds every knob of a pipeline run: data, cleaning, subword tokenizer, model, training,
decoding and blessing. Presets (`tfx_nmt.pipeline.presets`) are named `RunConfig`s; the CLI overrides
any field with a flag of the same name. Components receive the fields they need as execution
properties, and the Trainer receives `model_config()` / `training_config()` dicts through
`custom_config`, so the same values reach a local run and a Kubeflow run.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict

from tfx_nmt.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape of the encoder-decoder Transformer (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762).

    Attributes:
        vocabulary_size: size of the joint source/target subword vocabulary (tokens).
        d_model: width of embeddings and hidden states.
        num_encoder_layers / num_decoder_layers: number of stacked layers.
        num_heads: attention heads per layer; must divide `d_model`.
        ff_dim: width of the position-wise feed-forward layer.
        dropout: dropout rate on embeddings, attention outputs and feed-forward outputs.
        max_source_length / max_target_length: longest sequence in subword tokens, BOS/EOS included;
            longer training pairs are dropped, longer serving inputs are truncated.
        normalize_first: pre-layer-normalization (Xiong et al. 2020) when True, else post-LN as in the
            original paper.
        tie_embeddings: when True the output projection is the transposed token embedding (Press & Wolf
            2017); when False it is a separate `[d_model, vocabulary_size]` matrix. Source and target
            embeddings are always shared (one joint vocabulary).
    """

    vocabulary_size: int = 8000
    d_model: int = 256
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    num_heads: int = 4
    ff_dim: int = 1024
    dropout: float = 0.1
    max_source_length: int = 128
    max_target_length: int = 128
    normalize_first: bool = True
    tie_embeddings: bool = True


STRATEGIES = ("mirrored", "multi_worker")
ON_BAD_LINE_CHOICES = ("error", "drop")
TOKENIZER_MODEL_TYPES = ("unigram", "bpe")
# The fields that take one of a few values, and the least value of the numeric fields that have one.
FIELD_CHOICES = {"strategy": STRATEGIES, "on_bad_line": ON_BAD_LINE_CHOICES,
                 "tokenizer_model_type": TOKENIZER_MODEL_TYPES}
_MINIMUMS = {
    **dict.fromkeys(("vocabulary_size", "d_model", "num_encoder_layers", "num_decoder_layers", "num_heads", "ff_dim",
                     "max_source_length", "max_target_length", "max_tokens", "train_steps", "tokens_per_batch",
                     "steps_per_epoch", "eval_batches", "replicas", "decode_batch_size", "beam_size"), 1),
    **dict.fromkeys(("max_train_pairs", "max_eval_pairs", "max_test_pairs", "max_train_seconds", "warmup_steps",
                     "checkpoint_every_steps", "average_checkpoints", "validation_bleu_sentences",
                     "max_decode_length_b", "length_penalty_alpha", "dropout", "label_smoothing"), 0),
}
# Fractions: at least 0 (above) and below 1.
_FRACTIONS = ("dropout", "label_smoothing")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every knob of one `tfx-nmt run`. See README.md, "Options", for the meaning of each field."""

    preset: str = "quick"
    # Data.
    source: str = "en"
    target: str = "de"
    # What ingest does with a line that is not UTF-8 or a TSV row without exactly one tab: "error"
    # (stop, naming the file and line) or "drop" (drop the pair and count it in the CleaningReport; in
    # the test split such a line stays an error).
    on_bad_line: str = "error"
    # Cleaning (train and eval splits only; the test split is normalized, never filtered).
    max_tokens: int = 80
    max_length_ratio: float = 3.0
    max_train_pairs: int = 0
    max_eval_pairs: int = 0
    max_test_pairs: int = 0
    # Subword tokenizer.
    vocabulary_size: int = 8000
    tokenizer_model_type: str = "unigram"
    # Model.
    d_model: int = 256
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    num_heads: int = 4
    ff_dim: int = 1024
    dropout: float = 0.1
    max_source_length: int = 128
    max_target_length: int = 128
    normalize_first: bool = True
    # Output projection tied to the shared source/target embedding (ModelConfig.tie_embeddings).
    tie_embeddings: bool = True
    # Training.
    train_steps: int = 100000
    max_train_seconds: float = 0.0
    tokens_per_batch: int = 4096
    learning_rate: float = 1e-3
    warmup_steps: int = 4000
    label_smoothing: float = 0.1
    steps_per_epoch: int = 500
    eval_batches: int = 20
    # Checkpoints are written at the end of every epoch and, when this is > 0, also every
    # `checkpoint_every_steps` optimizer steps: a finer cadence for checkpoint averaging than epochs.
    checkpoint_every_steps: int = 0
    # Export the mean of the model weights of the last N checkpoints instead of the final weights
    # (Vaswani et al. 2017, section 6.1; fairseq's scripts/average_checkpoints.py); 0 or 1: off.
    average_checkpoints: int = 0
    # Validation pairs translated greedily after every epoch for a validation BLEU curve (0: none).
    validation_bleu_sentences: int = 64
    replicas: int = 1
    # `mirrored`: one machine (its GPUs, or `replicas` logical CPU devices); `multi_worker`: every worker
    # named by TF_CONFIG (MultiWorkerMirroredStrategy), see README.md "Several machines".
    strategy: str = "mirrored"
    # Continuous training: start from the latest blessed model when its tokenizer and shape match.
    warm_start: bool = False
    jit_compile: bool = False
    seed: int = 42
    # Decoding.
    max_decode_length_a: float = 1.5
    max_decode_length_b: int = 10
    decode_batch_size: int = 64
    # Beam search of `serving_default`: beam size and GNMT length penalty alpha (Wu et al. 2016).
    beam_size: int = 4
    length_penalty_alpha: float = 0.6
    # Blessing.
    min_bleu: float = 0.0
    max_bleu_drop: float = 1.0
    # Push.
    model_name: str = "translator"

    def __post_init__(self):
        """Checks every field before anything runs, so that a bad value fails at once, not after hours.

        Raises:
            ConfigError (a ValueError): naming the first field whose value cannot work and the rule.
        """
        for name, allowed in FIELD_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name, minimum in _MINIMUMS.items():
            if getattr(self, name) < minimum:
                raise ConfigError(f"{name} must be >= {minimum}, got {getattr(self, name)}")
        for name in _FRACTIONS:
            if getattr(self, name) >= 1:
                raise ConfigError(f"{name} must be < 1, got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.max_length_ratio <= 0 or self.max_decode_length_a <= 0:
            raise ConfigError(f"learning_rate, max_length_ratio and max_decode_length_a must be > 0, got "
                              f"{self.learning_rate}, {self.max_length_ratio} and {self.max_decode_length_a}")
        if self.d_model % self.num_heads:
            raise ConfigError(f"num_heads ({self.num_heads}) must divide d_model ({self.d_model})")

    def model_config(self) -> ModelConfig:
        """The Transformer's shape, taken from this run's fields."""
        names = {f.name for f in dataclasses.fields(ModelConfig)}
        return ModelConfig(**{n: getattr(self, n) for n in names})

    def training_config(self) -> Dict[str, Any]:
        """A JSON-serializable dict of every field, passed to the Trainer's `run_fn` as `custom_config`."""
        return dataclasses.asdict(self)

    def replace(self, **overrides: Any) -> "RunConfig":
        """A copy with `overrides` applied.

        Raises:
            ValueError: when an override names no field of RunConfig.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown RunConfig fields: {', '.join(unknown)}")
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "RunConfig":
        """Rebuilds a RunConfig from `training_config()` output, ignoring unknown keys from newer versions."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

