"""What each training lever adds: the preset's model trained for the same wall-clock budget once as the
preset has it and once per variant that moves one lever, each scored on the Multi30k test split.

Every variant learns from the same cleaned, tokenized train split (one SentencePiece model, learned once),
with the same seed, for `--train-seconds` of training (`TrainingMonitor`, the Trainer's time cap; the
inverse-square-root schedule does not depend on the step count), then translates the 1,000 test sentences
greedily (`translate_greedy`) and prints cased sacreBLEU, the lowercased Moses-tokenized BLEU
(BENCHMARKS.md, BLEU procedures), the steps trained and the difference to the preset. A variant is a
comma-separated list of RunConfig overrides (`label_smoothing=0`); `input=naive` trains on fixed-size
batches padded to the longest sequence of the corpus instead of length buckets (train_throughput's
baseline); `vocabulary_size=N` learns a joint SentencePiece model of N pieces for that variant;
`separate_vocabulary=N` learns a SentencePiece model of N pieces on each side's train text
instead of the preset's joint one, and gives the model a source embedding of its own
(`TransformerTranslator(source_vocabulary_size=...)`; the output projection stays tied to the target
embedding unless `tie_embeddings=0`).

The budget is shorter than a real run's, so the figures say what a lever adds early in training; one seed
each, and two quick runs of the same preset differed by 1.7 BLEU, so differences under about 1 BLEU are not
significant (BENCHMARKS.md, levers).

    python bench/levers.py --data-dir DIR [--train-seconds 600] [--variants "label_smoothing=0" "warmup_steps=100"]
"""
import argparse
import os
import tempfile
from typing import Optional, Tuple

import keras
from checkpoint_averaging import translations
from machine import machine_line
from train_throughput import cleaned_train_pairs, naive_dataset, parse_overrides, write_ids, write_tokenized

from tfx_nmt.components import corpus
from tfx_nmt.scoring.translation_metrics import comparable_bleu, corpus_bleu
from tfx_nmt.models.callbacks import TrainingMonitor
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text import subword
from tfx_nmt.text.normalization import normalize

NAIVE_INPUT = "input=naive"
SEPARATE_VOCABULARY = "separate_vocabulary="
DEFAULT_VARIANTS = ["label_smoothing=0", "dropout=0", NAIVE_INPUT]
NAIVE_BATCH = 64


def split_variant(spec: str) -> Tuple[str, bool, Optional[int]]:
    """A variant's RunConfig overrides (comma-separated), whether it trains on naive batches, and its
    per-side vocabulary size (None: the preset's joint vocabulary)."""
    items = [item for item in spec.split(",") if item]
    sizes = [int(item[len(SEPARATE_VOCABULARY):]) for item in items if item.startswith(SEPARATE_VOCABULARY)]
    overrides = [item for item in items if item != NAIVE_INPUT and not item.startswith(SEPARATE_VOCABULARY)]
    return ",".join(overrides), NAIVE_INPUT in items, sizes[0] if sizes else None


def write_joint_tokenized(data_dir: str, workdir: str, vocabulary_size: int) -> Tuple[str, bytes]:
    """The train split tokenized with a joint SentencePiece model of `vocabulary_size` pieces, in a
    directory of its own: (path of the GZIP TFRecord file, model proto)."""
    joint_dir = os.path.join(workdir, f"joint_{vocabulary_size}")
    os.makedirs(joint_dir)
    _, proto = write_tokenized(data_dir, joint_dir, vocabulary_size)
    return os.path.join(joint_dir, "train.gz"), proto


def write_separately_tokenized(data_dir: str, workdir: str, vocabulary_size: int) -> Tuple[str, bytes, bytes]:
    """Learns a SentencePiece model of `vocabulary_size` pieces on each side of the cleaned train split and
    writes the split tokenized with them.

    Returns (path of the GZIP TFRecord file, source model proto, target model proto)."""
    cleaned = cleaned_train_pairs(data_dir)
    source_proto = subword.train_sentencepiece((s for s, _ in cleaned), vocabulary_size)
    target_proto = subword.train_sentencepiece((t for _, t in cleaned), vocabulary_size)
    path = os.path.join(workdir, f"train_separate_{vocabulary_size}.gz")
    write_ids(path, cleaned, subword.SubwordEncoder(source_proto), subword.SubwordEncoder(target_proto))
    return path, source_proto, target_proto


def train_and_score(config, naive: bool, path: str, proto: bytes, train_seconds: float, sources, references,
                    source_proto: Optional[bytes] = None) -> dict:
    """Trains one variant for `train_seconds` (seconds), on naive batches if `naive`, and scores its greedy
    test translations. `proto` is the joint SentencePiece model, or with `source_proto` the target's."""
    if naive:
        dataset = naive_dataset(path, NAIVE_BATCH, config)
    else:
        dataset = make_dataset([path], config.tokens_per_batch, config.max_source_length,
                               config.max_target_length, training=True, seed=config.seed)
    keras.utils.set_random_seed(config.seed)
    source_vocabulary_size = None if source_proto is None else subword.SubwordEncoder(source_proto).vocabulary_size
    model = build_model(config, subword.SubwordEncoder(proto).vocabulary_size, source_vocabulary_size)
    model.compile(optimizer=make_optimizer(config))
    monitor = TrainingMonitor(config.train_steps, train_seconds)
    model.fit(dataset, epochs=10 ** 6, steps_per_epoch=config.steps_per_epoch, callbacks=[monitor], verbose=0)
    module = TranslatorServingModule(model, proto, config.max_decode_length_a, config.max_decode_length_b,
                                     config.beam_size, config.length_penalty_alpha,
                                     source_tokenizer_model=source_proto)

    hypotheses = translations(module, sources, config.decode_batch_size, beam=False)
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
                        help="comma-separated RunConfig overrides, input=naive or separate_vocabulary=N; "
                             "one lever each")
    args = parser.parse_args()
    if not args.data_dir:
        parser.error("pass --data-dir or set TFX_NMT_DATA_DIR")
    print(machine_line(), flush=True)
    base = get_preset(args.preset)
    pairs = corpus.read_corpus(args.data_dir, base.source, base.target, {})["test"]
    sources = [normalize(s) for s, _ in pairs]
    references = [normalize(t) for _, t in pairs]
    with tempfile.TemporaryDirectory() as workdir:
        joint = {}
        print(f"preset {args.preset}, {args.train_seconds:.0f} s of training per variant, "
              f"{len(sources)} test sentences, greedy", flush=True)
        print(f"{'variant':28s} {'steps':>6s} {'BLEU':>6s} {'lc tok':>7s} {'Δ BLEU':>7s} {'Δ lc tok':>8s}", flush=True)
        preset = None
        for spec in [""] + args.variants:
            overrides, naive, separate_vocabulary_size = split_variant(spec)
            config = parse_overrides(base, overrides)
            if separate_vocabulary_size:
                path, source_proto, target_proto = write_separately_tokenized(args.data_dir, workdir,
                                                                              separate_vocabulary_size)
            else:
                if config.vocabulary_size not in joint:
                    joint[config.vocabulary_size] = write_joint_tokenized(args.data_dir, workdir,
                                                                          config.vocabulary_size)
                (path, target_proto), source_proto = joint[config.vocabulary_size], None
            result = train_and_score(config, naive, path, target_proto, args.train_seconds, sources, references,
                                     source_proto)
            preset = preset or result
            print(f"{spec or '(preset)':28s} {result['steps']:>6d} {result['bleu']:>6.2f} {result['bleu_lc_tok']:>7.2f} "
                  f"{result['bleu'] - preset['bleu']:>+7.2f} {result['bleu_lc_tok'] - preset['bleu_lc_tok']:>+8.2f}",
                  flush=True)
        print(f"BLEU: cased sacreBLEU, {preset['signature']}", flush=True)


if __name__ == "__main__":
    main()
