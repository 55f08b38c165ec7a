"""What each training lever adds: the preset's model trained for the same wall-clock budget once as the
preset has it and once per variant that moves one lever, each scored on the Multi30k validation split.

Every variant learns from the same cleaned, tokenized train split (one SentencePiece model, learned once),
with the same seed, for `--train-seconds` of training (`TrainingMonitor`, the Trainer's time cap; the
inverse-square-root schedule does not depend on the step count), then translates the 1,014 validation
sentences with the preset's own decoding (`serving_default`: its beam size and length penalty) and prints
cased sacreBLEU, the lowercased Moses-tokenized BLEU
(BENCHMARKS.md, BLEU procedures), the steps trained and the difference to the preset. A variant is a
comma-separated list of RunConfig overrides (`label_smoothing=0`); `input=naive` trains on fixed-size
batches padded to the longest sequence of the corpus instead of length buckets (train_throughput's
baseline); `vocabulary_size=N` learns a joint SentencePiece model of N pieces for that variant.

Levers are chosen on the validation split only: the test split is decoded once per final configuration
(`make bench-quality`), never to compare variants, so that the published test figures are not tuned on it.

The budget is shorter than a real run's, so the figures say what a lever adds early in training; one seed
each, and two quick runs of the same preset differed by 1.7 BLEU, so differences under about 1 BLEU are not
significant (BENCHMARKS.md, levers).

    python bench/levers.py --data-dir DIR [--train-seconds 600] [--variants "label_smoothing=0" "warmup_steps=100"]
"""
import argparse
import os
import tempfile
from typing import Tuple

import keras
from checkpoint_averaging import translations
from corpora import read_corpus
from machine import machine_line
from train_throughput import naive_dataset, parse_overrides, write_tokenized

from tfx_nmt.scoring.translation_metrics import comparable_bleu, corpus_bleu
from tfx_nmt.models.callbacks import TrainingMonitor
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text import subword
from tfx_nmt.text.normalization import normalize
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

NAIVE_INPUT = "input=naive"
DEFAULT_VARIANTS = ["label_smoothing=0", "dropout=0", NAIVE_INPUT]
NAIVE_BATCH = 64


def split_variant(spec: str) -> Tuple[str, bool]:
    """A variant's RunConfig overrides (comma-separated) and whether it trains on naive batches."""
    items = [item for item in spec.split(",") if item]
    return ",".join(item for item in items if item != NAIVE_INPUT), NAIVE_INPUT in items


def write_joint_tokenized(data_dir: str, workdir: str, vocabulary_size: int) -> Tuple[str, bytes]:
    """The train split tokenized with a joint SentencePiece model of `vocabulary_size` pieces, in a
    directory of its own: (path of the GZIP TFRecord file, model proto)."""
    joint_dir = os.path.join(workdir, f"joint_{vocabulary_size}")
    os.makedirs(joint_dir)
    _, proto = write_tokenized(data_dir, joint_dir, vocabulary_size)
    return os.path.join(joint_dir, "train.gz"), proto


def train_and_score(config, naive: bool, path: str, proto: bytes, train_seconds: float, sources,
                    references) -> dict:
    """Trains one variant for `train_seconds` (seconds), on naive batches if `naive`, and scores its
    beam-search translations of `sources` (the validation split) against `references`. `proto` is the joint
    SentencePiece model."""
    if naive:
        dataset = naive_dataset(path, NAIVE_BATCH, config)
    else:
        dataset = make_dataset([path], config.tokens_per_batch, config.max_source_length,
                               config.max_target_length, training=True, seed=config.seed)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, subword.SubwordEncoder(proto).vocabulary_size)
    model.compile(optimizer=make_optimizer(config))
    monitor = TrainingMonitor(config.train_steps, train_seconds)
    model.fit(dataset, epochs=10 ** 6, steps_per_epoch=config.steps_per_epoch, callbacks=[monitor], verbose=0)
    module = TranslatorServingModule(model, SentencePieceTokenizer(proto), config.max_decode_length_a,
                                     config.max_decode_length_b, config.beam_size, config.length_penalty_alpha)
    hypotheses = translations(module, sources, config.decode_batch_size, beam=True)
    scores = corpus_bleu(hypotheses, references)
    return {"steps": int(model.optimizer.iterations.numpy()), "seconds": monitor.train_seconds,
            "bleu": scores.score, "bleu_lc_tok": comparable_bleu(hypotheses, references, config.target),
            "signature": scores.signature}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--train-seconds", type=float, default=600, help="training budget per variant, seconds")
    parser.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS,
                        help="comma-separated RunConfig overrides or input=naive; one lever each")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir or set TFX_NMT_DATA_DIR")
    print(machine_line(), flush=True)
    base = get_preset(args.preset)
    pairs = read_corpus(args.data_dir, base.source, base.target, {})["eval"]
    sources = [normalize(s) for s, _ in pairs]
    references = [normalize(t) for _, t in pairs]
    with tempfile.TemporaryDirectory() as workdir:
        joint = {}
        print(f"preset {args.preset}, {args.train_seconds:.0f} s of training per variant, "
              f"{len(sources)} validation sentences, beam {base.beam_size}, alpha {base.length_penalty_alpha}", flush=True)
        print(f"{'variant':28s} {'steps':>6s} {'BLEU':>6s} {'lc tok':>7s} {'Δ BLEU':>7s} {'Δ lc tok':>8s}", flush=True)
        preset = None
        for spec in [""] + args.variants:
            overrides, naive = split_variant(spec)
            config = parse_overrides(base, overrides)
            if config.vocabulary_size not in joint:
                joint[config.vocabulary_size] = write_joint_tokenized(args.data_dir, workdir, config.vocabulary_size)
            path, proto = joint[config.vocabulary_size]
            result = train_and_score(config, naive, path, proto, args.train_seconds, sources, references)
            preset = preset or result
            print(f"{spec or '(preset)':28s} {result['steps']:>6d} {result['bleu']:>6.2f} {result['bleu_lc_tok']:>7.2f} "
                  f"{result['bleu'] - preset['bleu']:>+7.2f} {result['bleu_lc_tok'] - preset['bleu_lc_tok']:>+8.2f}",
                  flush=True)
        print(f"BLEU: cased sacreBLEU, {preset['signature']}", flush=True)


if __name__ == "__main__":
    main()
