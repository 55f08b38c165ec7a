"""Training throughput of the Trainer's model and input pipeline on the real Multi30k train split,
against a naive baseline in the same run.

Ours: `tfx_nmt.models.input_pipeline.make_dataset` (length buckets of about `tokens_per_batch` padded
tokens, prefetching). Baseline: the same model and optimizer on fixed-size batches of `--baseline-batch`
sentences, every sequence padded to the longest in the corpus, no bucketing, no prefetch, no XLA.
Prints non-padding target tokens per second after a warm-up; the two sides' timed steps alternate in
`--rounds` chunks, so that the ratio holds when the machine's speed changes during the run. Learns a
SentencePiece model and writes tokenized TFRecords to a temporary directory first (not timed).

    python bench/train_throughput.py --data-dir DIR [--preset quick] [--configs "d_model=128,ff_dim=512" ...]
"""
import argparse
import os
import tempfile
import time
from typing import Dict, List, Tuple

import tensorflow as tf
from corpora import read_corpus
from machine import machine_line

from tfx_nmt.components.cleaning import KEPT, CleaningRules, PairCleaner
from tfx_nmt.config import RunConfig
from tfx_nmt.models.input_pipeline import make_dataset, parse_tokenized
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text import subword


def cleaned_train_pairs(data_dir: str) -> List[Tuple[str, str]]:
    """The Multi30k train split's (source, target) pairs that the TextCleaner's pair rules keep (no
    deduplication, no train/test overlap)."""
    pairs = read_corpus(data_dir, "en", "de", {})["train"]
    return [(s, t) for s, t, outcome in PairCleaner(CleaningRules()).clean(pairs, True) if outcome == KEPT]


def write_ids(path: str, pairs: List[Tuple[str, str]], encoder: subword.SubwordEncoder) -> None:
    """Writes `pairs` as a GZIP TFRecord file of Examples with `source_ids` and `target_ids` (int64)."""
    with tf.io.TFRecordWriter(path, "GZIP") as writer:
        for s, t in pairs:
            example = tf.train.Example()
            example.features.feature["source_ids"].int64_list.value.extend(encoder.encode(s))
            example.features.feature["target_ids"].int64_list.value.extend(encoder.encode(t))
            writer.write(example.SerializeToString())


def write_tokenized(data_dir: str, workdir: str, vocabulary_size: int):
    """Learns one joint SentencePiece model on the cleaned train split and writes it tokenized to
    `workdir/train.gz`.

    Returns (vocabulary size, SentencePiece model proto bytes)."""
    cleaned = cleaned_train_pairs(data_dir)
    proto = subword.train_sentencepiece((x for pair in cleaned for x in pair), vocabulary_size)
    encoder = subword.SubwordEncoder(proto)
    write_ids(os.path.join(workdir, "train.gz"), cleaned, encoder)
    return encoder.vocabulary_size, proto


def naive_dataset(path: str, batch_size: int, config: RunConfig) -> tf.data.Dataset:
    """Fixed-size batches padded to the longest sequence of the corpus; no bucketing, no prefetch."""
    records = tf.data.TFRecordDataset([path], compression_type="GZIP").map(parse_tokenized)
    records = records.filter(lambda s, t: tf.logical_and(tf.size(s) <= config.max_source_length,
                                                         tf.size(t) <= config.max_target_length))
    longest = int(records.reduce(0, lambda m, st: tf.maximum(m, tf.maximum(tf.size(st[0]), tf.size(st[1])))))
    batches = records.repeat().padded_batch(batch_size, padded_shapes=([longest], [longest]))
    return batches.map(lambda s, t: ({"source_ids": s, "target_in": t[:, :-1]}, t[:, 1:]))


def measure_interleaved(sides: Dict[str, Tuple[RunConfig, tf.data.Dataset]], vocabulary_size: int, steps: int,
                        warmup: int, rounds: int) -> Dict[str, dict]:
    """Trains one model per side: `warmup` untimed steps each, then `steps` timed steps each, in `rounds`
    alternating chunks (side A's chunk, side B's chunk, A, B, ...), so that a change of the machine's speed
    during the run weighs on every side alike. A step is `train_on_batch` on the next batch of the side's
    iterator; the time of `next` counts (the baseline has no prefetch).

    Returns:
        {side: {"tokens_per_sec", "seconds", "params"}}: non-padding target tokens per second of the timed
        steps (the model's `target_tokens` metric), their wall seconds, and the model's parameter count.
    """
    state = {}
    for name, (config, dataset) in sides.items():
        model = build_model(config, vocabulary_size)
        model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
        iterator = iter(dataset)
        logs = {"target_tokens": 0.0}  # The metric is a Sum over steps: its value after the warm-up.
        for _ in range(warmup):
            logs = model.train_on_batch(*next(iterator), return_dict=True)
        state[name] = {"model": model, "iterator": iterator, "tokens_before": float(logs["target_tokens"]),
                       "tokens_after": float(logs["target_tokens"]), "seconds": 0.0}
    chunks = [steps // rounds + (1 if r < steps % rounds else 0) for r in range(rounds)]
    for chunk in filter(None, chunks):
        for side in state.values():
            started = time.time()
            for _ in range(chunk):
                logs = side["model"].train_on_batch(*next(side["iterator"]), return_dict=True)
            side["seconds"] += time.time() - started
            side["tokens_after"] = float(logs["target_tokens"])
    return {name: {"tokens_per_sec": (side["tokens_after"] - side["tokens_before"]) / side["seconds"],
                   "seconds": side["seconds"], "params": side["model"].count_params()}
            for name, side in state.items()}


def parse_overrides(base: RunConfig, spec: str) -> RunConfig:
    """`"a=1,b=2"` -> `base` with fields a and b replaced (values cast to the field's type)."""
    overrides = {}
    for item in filter(None, spec.split(",")):
        name, value = item.split("=")
        kind = type(getattr(base, name))
        overrides[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return base.replace(**overrides)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4,
                        help="the timed steps of each side are split into this many chunks, alternating sides")
    parser.add_argument("--baseline-batch", type=int, default=64, help="sentences per naive batch")
    parser.add_argument("--configs", nargs="+", default=[""],
                        help="comma-separated field=value overrides of the preset, one set per config")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    base = get_preset(args.preset)
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "train.gz")
        vocabulary_size, _ = write_tokenized(args.data_dir, workdir, base.vocabulary_size)
        print(f"{'config':56s} {'input pipeline':>16s} {'params':>10s} {'tokens/s':>9s}", flush=True)
        for spec in args.configs:
            config = parse_overrides(base, spec)
            naive_config = config.replace(jit_compile=False)
            sides = {
                "length buckets": (config, make_dataset([path], config.tokens_per_batch, config.max_source_length,
                                                        config.max_target_length, training=True)),
                "naive baseline": (naive_config, naive_dataset(path, args.baseline_batch, naive_config)),
            }
            results = measure_interleaved(sides, vocabulary_size, args.steps, args.warmup, args.rounds)
            for name, result in results.items():
                print(f"{spec or '(preset ' + args.preset + ')':56s} {name:>16s} "
                      f"{result['params']:>10,d} {result['tokens_per_sec']:>9.0f}", flush=True)
            ratio = results["length buckets"]["tokens_per_sec"] / results["naive baseline"]["tokens_per_sec"]
            print(f"{'':56s} {'speed-up':>16s} {'':>10s} {ratio:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
