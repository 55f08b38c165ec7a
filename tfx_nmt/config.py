"""The one typed configuration object of a run.

A `RunConfig` holds every knob of a pipeline run: data, cleaning, subword tokenizer, model, training,
decoding and blessing. Presets (`tfx_nmt.pipeline.presets`) are named `RunConfig`s; the CLI overrides
any field with a flag of the same name. Components receive the fields they need as execution
properties, and the Trainer receives the `training_config()` dict through `custom_config` (and takes the
model's shape from it, `model_config()`), so the same values reach a local run and a Kubeflow run.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import math
import posixpath
from typing import Any, Dict, List

from tfx_nmt.contract import EXTRA_TEST_SPLIT_PREFIX, EXTRA_TEST_STEM
from tfx_nmt.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Shape of the encoder-decoder Transformer (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762):
    the RunConfig fields of the same names (`RunConfig.model_config()`), which hold the defaults and the
    `--help` texts; `TransformerTranslator` takes exactly these constructor arguments (and the loss's
    `label_smoothing`).

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

    vocabulary_size: int
    d_model: int
    num_encoder_layers: int
    num_decoder_layers: int
    num_heads: int
    ff_dim: int
    dropout: float
    max_source_length: int
    max_target_length: int
    normalize_first: bool
    tie_embeddings: bool


STRATEGIES = ("mirrored", "multi_worker")
ON_BAD_LINE_CHOICES = ("error", "drop")
TOKENIZER_MODEL_TYPES = ("unigram", "bpe")
# How the evaluator compares a candidate with the baseline (`tfx_nmt.scoring.blessing`).
BLESSING_RULES = ("significance", "threshold")
MIXED_PRECISIONS = ("off", "bf16", "fp16")
# The fields that take one of a few values, and the least value of the numeric fields that have one.
FIELD_CHOICES = {"strategy": STRATEGIES, "on_bad_line": ON_BAD_LINE_CHOICES,
                 "tokenizer_model_type": TOKENIZER_MODEL_TYPES, "blessing_rule": BLESSING_RULES,
                 "mixed_precision": MIXED_PRECISIONS}
_MINIMUMS = {
    **dict.fromkeys(("d_model", "num_encoder_layers", "num_decoder_layers", "num_heads", "ff_dim", "max_tokens",
                     "train_steps", "tokens_per_batch", "steps_per_epoch", "eval_batches", "replicas",
                     "decode_batch_size", "beam_size"), 1),
    **dict.fromkeys(("lid_min_chars", "max_train_pairs", "max_eval_pairs", "max_test_pairs", "max_train_seconds",
                     "warmup_steps", "checkpoint_every_steps", "average_checkpoints", "validation_bleu_sentences",
                     "max_decode_length_b", "length_penalty_alpha", "dropout", "label_smoothing", "seed"), 0),
    # BOS, EOS and one token.
    **dict.fromkeys(("max_source_length", "max_target_length"), 3),
    # SentencePiece's 256 byte-fallback pieces, the 4 specials and at least one character.
    "vocabulary_size": 261,
    "log_every_steps": 0,
}
# Keras's `set_random_seed` takes seeds below 2**32.
_MAXIMUMS = {"seed": 2 ** 32 - 1}
# Fractions: at least 0 (above) and below 1.
_FRACTIONS = ("dropout", "label_smoothing")
# Probabilities: at least 0 and at most 1.
_PROBABILITIES = ("lid_min_probability", "max_p")


def _knob(default: Any, help_text: str) -> Any:
    """A RunConfig field with its `--help` text (`metadata["help"]`), which the command line shows."""
    return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every knob of one `tfx-nmt run`; each field's `metadata["help"]` says what it does (the command line
    shows it, and README.md, "Options", adds more). Presets are in `tfx_nmt.pipeline.presets`."""

    preset: str = "quick"
    # Data.
    source: str = _knob("en", "source language: the suffix of the source files (train.en, ...)")
    target: str = _knob("de", "target language: the suffix of the target files (train.de, ...)")
    train_pattern: str = _knob("train.*", "the train split's files: a glob relative to the data directory (TFX's "
                               "split pattern); {SPAN} (and {VERSION}) in it select the latest span, e.g. "
                               "span-{SPAN}/train.*")
    eval_pattern: str = _knob("val.*", "the eval split's files: a glob relative to the data directory, as "
                              "--train-pattern")
    test_pattern: str = _knob("test_2016_flickr.*", "the test split's files: a glob relative to the data "
                              "directory, as --train-pattern")
    extra_test_sets: str = _knob(
        "", "further test sets scored beside the test split, by file stem, comma-separated (test_2017_flickr,"
        "test_2017_mscoco): the <stem>.* files in the test split's directory. Default: every test_<name> pair "
        "found there when the run starts locally; on Kubeflow, whose data root is a runtime parameter, only the "
        "sets named here")
    dataset: str = _knob(
        "multi30k", "the corpus named in the model card: multi30k (the default corpus; the card gives its Hugging "
        "Face id, licence and terms), or your corpus's name or Hugging Face dataset id when --data-dir holds another")
    on_bad_line: str = _knob(
        "error", "a line that is not UTF-8, or a TSV row without exactly one tab: stop naming the file and line "
        "(error), or drop the pair and count it in the cleaning report (drop; in the test split it stays an error)")
    # Cleaning (train and eval splits only; the test split is normalized, never filtered).
    max_tokens: int = _knob(80, "drop train/eval pairs with a side longer than this many whitespace-separated words")
    max_length_ratio: float = _knob(3.0, "drop train/eval pairs whose longer side has more than this many times "
                                         "the words of the shorter")
    lid: bool = _knob(True, "language identification (py3langid): drop train/eval pairs with a side that it assigns to "
                            "another language than --source/--target with at least --lid-min-probability")
    lid_min_probability: float = _knob(0.999, "drop a pair only when its side's most probable language is another with "
                                              "at least this probability (0 to 1)")
    lid_min_chars: int = _knob(20, "never judge the language of a side shorter than this many characters")
    lid_languages: str = _knob("en,de,fr,es,it,pt,nl,ru", "the languages the identifier chooses from, comma-separated "
                                                        "ISO 639-1 codes, --source and --target always among them "
                                                        "(all: py3langid's 97)")
    drop_copies: bool = _knob(True, "drop train/eval pairs whose source equals their target (untranslated copies)")
    drop_test_overlap: bool = _knob(True, "drop train pairs whose source is the source of an eval or test pair")
    deduplicate: bool = _knob(True, "drop repeated train pairs, keeping the first")
    max_train_pairs: int = _knob(0, "read at most this many train pairs, the first of the file (0: all)")
    max_eval_pairs: int = _knob(0, "read at most this many eval pairs (0: all)")
    max_test_pairs: int = _knob(0, "read at most this many test pairs (0: all)")
    # Subword tokenizer.
    vocabulary_size: int = _knob(8000, "SentencePiece pieces of the joint source/target vocabulary, specials "
                                       "included")
    tokenizer_model_type: str = _knob("unigram", "SentencePiece model: unigram or bpe")
    # Model.
    d_model: int = _knob(256, "width of embeddings and hidden states")
    num_encoder_layers: int = _knob(3, "encoder layers")
    num_decoder_layers: int = _knob(3, "decoder layers")
    num_heads: int = _knob(4, "attention heads per layer; must divide d_model")
    ff_dim: int = _knob(1024, "width of the feed-forward layers")
    dropout: float = _knob(0.1, "dropout rate of embeddings, attention and feed-forward outputs")
    max_source_length: int = _knob(128, "longest source in subword tokens, BOS/EOS included: longer training "
                                        "pairs are dropped, longer serving inputs truncated")
    max_target_length: int = _knob(128, "longest target in subword tokens, BOS/EOS included; also the cap of "
                                        "decoded outputs")
    normalize_first: bool = _knob(True, "pre-layer-normalization (else post-LN, as in Vaswani et al. 2017)")
    tie_embeddings: bool = _knob(True, "output projection tied to the shared source/target embedding (else its "
                                       "own matrix)")
    # Training.
    train_steps: int = _knob(100000, "stop training at this optimizer step")
    max_train_seconds: float = _knob(0.0, "also stop after this many seconds of training, validation included, "
                                          "those of a resumed run too (0: no cap)")
    tokens_per_batch: int = _knob(4096, "padded tokens per batch: length buckets hold about this many")
    learning_rate: float = _knob(1e-3, "peak learning rate, reached after warmup_steps, then 1/sqrt(step) decay")
    warmup_steps: int = _knob(4000, "steps of linear learning-rate warm-up")
    label_smoothing: float = _knob(0.1, "label smoothing of the cross-entropy loss")
    steps_per_epoch: int = _knob(500, "steps between validations and epoch-end checkpoints")
    eval_batches: int = _knob(20, "validation batches at each epoch end (the loss and perplexity curve)")
    checkpoint_every_steps: int = _knob(
        0, "also write a checkpoint every this many steps (0: at epoch ends only): a finer cadence for "
        "average_checkpoints")
    average_checkpoints: int = _knob(
        0, "export the mean of the weights of the last N checkpoints (Vaswani et al. 2017, section 6.1; fairseq's "
        "average_checkpoints.py); 0 or 1: the final weights")
    log_every_steps: int = _knob(
        50, "write the training loss, learning rate and target tokens/s to TensorBoard every this many optimizer "
        "steps, against the step (0: at epoch ends only)")
    validation_bleu_sentences: int = _knob(64, "validation pairs translated greedily at each epoch end for a "
                                               "validation BLEU curve (0: none)")
    replicas: int = _knob(1, "MirroredStrategy replicas: on a CPU, this many logical devices")
    strategy: str = _knob("mirrored", "mirrored: one machine; multi_worker: every worker of TF_CONFIG "
                                      "(README.md, Several machines)")
    warm_start: bool = _knob(False, "start from the latest blessed model when its tokenizer and shape match "
                                    "(README.md, Continuous training)")
    jit_compile: bool = _knob(False, "compile the training step with XLA")
    mixed_precision: str = _knob(
        "off", "train in Keras mixed precision: bf16 (mixed_bfloat16; on a CPU without native bfloat16 it falls "
        "back to float32 with a warning), fp16 (mixed_float16 with loss scaling, for GPUs) or off (float32); "
        "the exported models are float32 either way")
    seed: int = _knob(42, "seed of weight initialization, dropout and shuffling")
    # Decoding.
    max_decode_length_a: float = _knob(1.5, "outputs are capped at a x source tokens + b (this is a)")
    max_decode_length_b: int = _knob(10, "outputs are capped at a x source tokens + b (this is b)")
    decode_batch_size: int = _knob(64, "sentences per batch when the evaluator translates the test split")
    beam_size: int = _knob(4, "beam size of serving_default's beam search")
    length_penalty_alpha: float = _knob(0.6, "GNMT length penalty alpha of the beam search (Wu et al. 2016)")
    # Blessing.
    min_bleu: float = _knob(0.0, "bless only a model whose test BLEU reaches this")
    blessing_rule: str = _knob("significance", "how a candidate compares with the last blessed model (both need "
                               "--min-bleu): significance: rejected only when its BLEU is below the baseline's and "
                               "the paired bootstrap test (sacreBLEU) gives p < --max-p; threshold: rejected when "
                               "more than --max-bleu-drop below the baseline's BLEU")
    max_p: float = _knob(0.05, "significance rule: a BLEU below the baseline's rejects the candidate when the paired "
                               "bootstrap p-value is below this")
    max_bleu_drop: float = _knob(1.0, "threshold rule: bless only a model at most this many BLEU points below the "
                                      "last blessed one")
    # Push.
    model_name: str = _knob("translator", "pushed as serving/<model_name>/<version>/")

    def __post_init__(self):
        """Checks every field before anything runs, so that a bad value fails at once, not after hours.

        Raises:
            ConfigError (a ValueError): naming the first field whose value cannot work and the rule.
        """
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if type(field.default) is float and type(value) is int:
                # A float field given a whole number (a preset's `max_train_seconds=1380`) stays a float.
                value = float(value)
                object.__setattr__(self, field.name, value)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{field.name} must be a finite number, got {value}")
        for name, allowed in FIELD_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name, minimum in _MINIMUMS.items():
            if getattr(self, name) < minimum:
                raise ConfigError(f"{name} must be >= {minimum}, got {getattr(self, name)}")
        for name, maximum in _MAXIMUMS.items():
            if getattr(self, name) > maximum:
                raise ConfigError(f"{name} must be <= {maximum}, got {getattr(self, name)}")
        for name in _FRACTIONS:
            if getattr(self, name) >= 1:
                raise ConfigError(f"{name} must be < 1, got {getattr(self, name)}")
        for name in _PROBABILITIES:
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not self.lid_languages.replace(",", "").strip():
            raise ConfigError("lid_languages is empty; give comma-separated ISO 639-1 codes, or all for py3langid's 97")
        for name in ("learning_rate", "max_length_ratio", "max_decode_length_a"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.d_model % self.num_heads:
            raise ConfigError(f"num_heads ({self.num_heads}) must divide d_model ({self.d_model})")
        for name in self.extra_test_set_names():
            if not EXTRA_TEST_STEM.fullmatch(name):
                raise ConfigError(f"extra_test_sets: {name!r} is not a file stem starting with "
                                  f"{EXTRA_TEST_SPLIT_PREFIX!r} (letters, digits, _ and - only)")
            if fnmatch.fnmatch(name + ".x", posixpath.basename(self.test_pattern)):
                raise ConfigError(f"extra_test_sets: {name!r} is the test split itself (test_pattern "
                                  f"{self.test_pattern!r})")
        # TFX resolves one span for all splits together, and only from patterns that all have {SPAN}.
        with_span = [split for split, pattern in self.split_patterns().items() if "{SPAN}" in pattern]
        if with_span and len(with_span) < len(self.split_patterns()):
            raise ConfigError("{SPAN} must be in every split pattern or in none; it is in " + ", ".join(
                f"{split}_pattern {pattern!r}" for split, pattern in self.split_patterns().items()
                if split in with_span) + " only")

    def split_patterns(self) -> Dict[str, str]:
        """{split: split pattern} for `train`, `eval`, `test` (ParallelCorpusExampleGen's `input_config`)."""
        return {"train": self.train_pattern, "eval": self.eval_pattern, "test": self.test_pattern}

    def extra_test_set_names(self) -> List[str]:
        """The stems of `extra_test_sets`, in the order given, without blanks or repeats."""
        return list(dict.fromkeys(name.strip() for name in self.extra_test_sets.split(",") if name.strip()))

    def extra_test_split_patterns(self) -> Dict[str, str]:
        """{stem: split pattern} of the further test sets named by `extra_test_sets`: `<stem>.*` in the
        directory part of `test_pattern` (`span-{SPAN}/test_2017_flickr.*`); {} when none is named."""
        directory = posixpath.dirname(self.test_pattern)
        return {name: posixpath.join(directory, name + ".*") for name in self.extra_test_set_names()}

    def model_config(self) -> ModelConfig:
        """The Transformer's shape: this run's fields named as ModelConfig's."""
        return ModelConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(ModelConfig)})

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

