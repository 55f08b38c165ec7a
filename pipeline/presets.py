"""Named run configurations, overridable knob by knob on the command line.

- `smoke`: CI. A few hundred pairs, a tiny model; the whole DAG in a few minutes.
- `quick`: the default. The full corpus, a joint vocabulary of 4,000 subwords and a small model trained
  for up to 4,000 steps or 23 minutes of wall-clock training time, whichever comes first, so that
  `make run` ends within 30 minutes on a 2-core CPU, the last 3 checkpoints (50 steps apart) averaged.
  The step cap was chosen on the validation split: in one run stopped by the time cap at step 3,627, the
  average of its last 3 checkpoints scored 37.04 validation BLEU (beam) where the average of steps 2,700 to
  2,800, the cap before, scored 36.01; with a second seed 37.28 at step 3,512 against 35.47 (BENCHMARKS.md,
  quality). It trains in `mixed_bfloat16` where the
  CPU has native bfloat16 (1.4x to 1.7x the step before on a Sapphire Rapids, the loss of the first 100 steps within
  0.002 of float32's; float32 elsewhere, BENCHMARKS.md, training throughput).
- `cpu-long`: the full corpus and a model twice as wide as `quick`'s (d_model 256, ff 1024), trained for
  up to 3,400 steps or 105 minutes of wall-clock training time, the last 5 checkpoints (100 steps apart)
  averaged, in `mixed_bfloat16` where the CPU has native bfloat16 (as `quick`). The step cap was chosen on
  the validation split: in one bf16 run of the cap before (8,000 steps; the 105 minutes stopped it at step
  4,104), the average of steps 3,000 to 3,400 scored 39.29 validation BLEU (beam) and the average of its
  last 5 checkpoints (3,800 to 4,104) 38.01: with dropout 0.1 this model overfits Multi30k after about
  3,400 steps (BENCHMARKS.md, quality). Float32 runs on a CPU without bfloat16 reached 2,692 and 3,405
  steps in the 105 minutes.
- `base`: Transformer-base (Vaswani et al. 2017, table 3), for GPUs and clusters.

Each preset has a blessing floor, `min_bleu` (cased test BLEU), that a broken model cannot reach and a
working one always does, so that a first run never pushes garbage. Measured on a 2-core CPU (BENCHMARKS.md,
blessing floors): `smoke` scores 1.14 after its 150 steps and 0.02 after 1 step (every output the same word
repeated), floor 0.5; `quick` scores 30 to 36 at its end and 17 (validation BLEU) at step 400, the least a
2-core CPU at half the slowest speed measured reaches within the 23 minutes, floor 15; `cpu-long` 37.7 to
38.2 at its end and 26.8 (validation) at step 1,000, floor 20; `base`, floor 20.
"""
from __future__ import annotations

import argparse
from typing import Dict

from tfx_nmt.arguments import add_config_flags, config_overrides
from tfx_nmt.config import RunConfig

# Each preset's knobs; its name becomes its RunConfig's `preset`.
_PRESET_KNOBS: Dict[str, Dict] = {
    "smoke": dict(
        max_train_pairs=400, max_eval_pairs=40, max_test_pairs=40,
        vocabulary_size=600,
        d_model=64, num_encoder_layers=1, num_decoder_layers=1, num_heads=2, ff_dim=128, dropout=0.1,
        max_source_length=64, max_target_length=64,
        train_steps=150, steps_per_epoch=50, tokens_per_batch=1024, learning_rate=3e-3, warmup_steps=40,
        eval_batches=4, decode_batch_size=16, validation_bleu_sentences=16, min_bleu=0.5,
    ),
    "quick": dict(
        vocabulary_size=4000,
        d_model=128, num_encoder_layers=3, num_decoder_layers=3, num_heads=4, ff_dim=512, dropout=0.1,
        train_steps=4000, max_train_seconds=1380, steps_per_epoch=200, tokens_per_batch=3072,
        learning_rate=3e-3, warmup_steps=400, eval_batches=20,
        checkpoint_every_steps=50, average_checkpoints=3, min_bleu=15.0, mixed_precision="bf16",
    ),
    "cpu-long": dict(
        vocabulary_size=8000,
        d_model=256, num_encoder_layers=3, num_decoder_layers=3, num_heads=4, ff_dim=1024, dropout=0.1,
        train_steps=3400, max_train_seconds=6300, steps_per_epoch=500, tokens_per_batch=4096,
        learning_rate=1e-3, warmup_steps=1000, eval_batches=20,
        checkpoint_every_steps=100, average_checkpoints=5, min_bleu=20.0, mixed_precision="bf16",
    ),
    "base": dict(
        vocabulary_size=16000,
        d_model=512, num_encoder_layers=6, num_decoder_layers=6, num_heads=8, ff_dim=2048, dropout=0.1,
        max_source_length=256, max_target_length=256,
        train_steps=100000, steps_per_epoch=1000, tokens_per_batch=25000,
        learning_rate=7e-4, warmup_steps=4000, eval_batches=50, min_bleu=20.0,
    ),
}

PRESETS: Dict[str, RunConfig] = {name: RunConfig(preset=name, **knobs) for name, knobs in _PRESET_KNOBS.items()}


def get_preset(name: str) -> RunConfig:
    """The RunConfig of preset `name`.

    Raises:
        KeyError: for an unknown name, listing the known ones.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def add_preset_flags(parser: argparse.ArgumentParser) -> None:
    """Adds `--preset` (default quick) and one flag per RunConfig field (`tfx_nmt.arguments`), whose help
    shows each preset's value, to `parser`."""
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                        help="the run's defaults (default: quick; `tfx-nmt config --preset P` prints them)")
    add_config_flags(parser, PRESETS)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The preset named by `args.preset` with every flag of `add_preset_flags` that was given applied.

    Raises:
        ConfigError: an overridden value is not allowed (see RunConfig).
    """
    return get_preset(args.preset).replace(**config_overrides(args))
