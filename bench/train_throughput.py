"""Training throughput of the Trainer's model and input pipeline on the real Multi30k train split, side by
side in one run.

Sides: `naive baseline` (fixed-size batches of `--baseline-batch` sentences, every sequence padded to the
longest in the corpus, no bucketing, no prefetch, no XLA, the step of `before`); `before` (the Trainer's
length buckets of about `tokens_per_batch` padded tokens with prefetching, and the training step before the
loss on non-padding positions: `BeforeTranslator`, float32); `preset P` (the preset as it is: the model's
own step, its `mixed_precision` and `jit_compile`); and one side per `--configs` override set. Prints
non-padding target tokens per second after a warm-up; the sides' timed steps alternate in `--rounds`
chunks, and ratios are medians over the rounds of the ratio within a round, so that they hold when the
machine's speed changes during the run. `--loss-curve-steps N` prints the training loss of the first N
steps instead (float32 with two seeds, the noise, and each `--configs` side). Learns a SentencePiece model
and writes tokenized TFRecords to a temporary directory first (not timed).

    python bench/train_throughput.py --data-dir DIR [--preset quick] [--configs "mixed_precision=off" ...]
"""
import argparse
import os
import statistics
import tempfile
import time
from typing import Dict, List, Tuple

import keras
import tensorflow as tf
from corpora import read_corpus
from machine import machine_line

from tfx_nmt.components.cleaning import KEPT, CleaningRules, PairCleaner
from tfx_nmt.config import RunConfig
from tfx_nmt.models.input_pipeline import make_dataset, parse_tokenized
from tfx_nmt.models.precision import training_dtype_policy
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.models.transformer import TransformerTranslator
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


class BeforeTranslator(TransformerTranslator):
    """The training step as it was before the loss on non-padding positions (the reference side "before"):
    logits for every target position `[B, T, V]`, `log_softmax`, a gather of the labels' log-probabilities
    and a padding mask, float32. Kept here, not in the model, only to measure against."""

    def train_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            log_probs = tf.nn.log_softmax(self(inputs, training=True), axis=-1)
            nll = -tf.gather(log_probs, labels, axis=-1, batch_dims=2)
            nll = (1.0 - self.label_smoothing) * nll - self.label_smoothing * tf.reduce_mean(log_probs, axis=-1)
            mask = tf.cast(tf.not_equal(labels, 0), tf.float32)
            loss_sum, tokens = tf.reduce_sum(nll * mask), tf.reduce_sum(mask)
            loss = loss_sum / tf.maximum(tokens, 1.0)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_sum_tracker.update_state(loss_sum)
        self.token_tracker.update_state(tokens)
        return self._metrics_result()


def before_model(config: RunConfig, vocabulary_size: int) -> BeforeTranslator:
    """`build_model` of `config` in float32 with the step of `BeforeTranslator`."""
    model = build_model(config.replace(mixed_precision="off"), vocabulary_size)
    before = BeforeTranslator.from_config(model.get_config())
    before({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    return before


def measure_interleaved(sides: Dict[str, Tuple[RunConfig, tf.data.Dataset, bool]], vocabulary_size: int,
                        steps: int, warmup: int, rounds: int) -> Dict[str, dict]:
    """Trains one model per side: `warmup` untimed steps each, then `steps` timed steps each, in `rounds`
    alternating chunks (side A's chunk, side B's chunk, A, B, ...), so that a change of the machine's speed
    during the run weighs on every side alike. A step is `train_on_batch` on the next batch of the side's
    iterator; the time of `next` counts (the baseline has no prefetch). Sides with the same input pipeline
    see the same batches in the same chunks (one seed). A side is (config, dataset, before): `before` trains
    `before_model`, else `build_model`, each with the seed of the config.

    Returns:
        {side: {"tokens_per_sec", "round_tokens_per_sec", "seconds", "params"}}: non-padding target tokens
        per second of all timed steps (the model's `target_tokens` metric) and of each round, their wall
        seconds, and the model's parameter count.
    """
    state = {}
    for name, (config, dataset, before) in sides.items():
        keras.utils.set_random_seed(config.seed)
        model = before_model(config, vocabulary_size) if before else build_model(config, vocabulary_size)
        model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
        iterator = iter(dataset)
        logs = {"target_tokens": 0.0}  # The metric is a Sum over steps: its value after the warm-up.
        for _ in range(warmup):
            logs = model.train_on_batch(*next(iterator), return_dict=True)
        state[name] = {"model": model, "iterator": iterator, "tokens": float(logs["target_tokens"]),
                       "rounds": [], "seconds": 0.0, "counted": 0.0}
    chunks = [steps // rounds + (1 if r < steps % rounds else 0) for r in range(rounds)]
    for chunk in filter(None, chunks):
        for side in state.values():
            started = time.time()
            for _ in range(chunk):
                logs = side["model"].train_on_batch(*next(side["iterator"]), return_dict=True)
            seconds = time.time() - started
            tokens = float(logs["target_tokens"]) - side["tokens"]
            side["tokens"] += tokens
            side["counted"] += tokens
            side["seconds"] += seconds
            side["rounds"].append(tokens / seconds)
    return {name: {"tokens_per_sec": side["counted"] / side["seconds"], "round_tokens_per_sec": side["rounds"],
                   "seconds": side["seconds"], "params": side["model"].count_params()}
            for name, side in state.items()}


def round_ratio(results: Dict[str, dict], side: str, reference: str) -> float:
    """Median over the rounds of `side`'s tokens/s divided by `reference`'s in the same round."""
    return statistics.median(a / b for a, b in zip(results[side]["round_tokens_per_sec"],
                                                   results[reference]["round_tokens_per_sec"]))


def loss_curves(sides: Dict[str, RunConfig], dataset_fn, vocabulary_size: int, steps: int,
                window: int) -> Dict[str, List[float]]:
    """Trains one model per side for `steps` steps on the same batches (`dataset_fn(config)`, one data seed),
    the sides' steps alternating in chunks of `window`; returns {side: mean training loss of each window}."""
    state = {}
    for name, config in sides.items():
        keras.utils.set_random_seed(config.seed)
        model = build_model(config, vocabulary_size)
        model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
        state[name] = (model, iter(dataset_fn(config)), [])
    for _ in range(steps // window):
        for model, iterator, means in state.values():
            model.reset_metrics()
            for _ in range(window):
                logs = model.train_on_batch(*next(iterator), return_dict=True)
            means.append(float(logs["loss"]))  # Keras's Sum metrics: the window's per-token mean.
    return {name: means for name, (_, _, means) in state.items()}


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
    parser.add_argument("--configs", nargs="*", default=[],
                        help="more sides: comma-separated field=value overrides of the preset, one set per side")
    parser.add_argument("--loss-curve-steps", type=int, default=0,
                        help="instead of throughput: the training loss of the first N steps of the preset in "
                             "float32 (seeds 42 and 43: the noise) and of each --configs side (seed 42)")
    parser.add_argument("--window", type=int, default=50, help="steps per point of --loss-curve-steps")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    base = get_preset(args.preset)
    print(f"preset {args.preset}: mixed_precision {base.mixed_precision} "
          f"(trains in {training_dtype_policy(base.mixed_precision)[0]}), jit_compile {base.jit_compile}, "
          f"tokens_per_batch {base.tokens_per_batch}", flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "train.gz")
        vocabulary_size, _ = write_tokenized(args.data_dir, workdir, base.vocabulary_size)

        def buckets(config):
            return make_dataset([path], config.tokens_per_batch, config.max_source_length,
                                config.max_target_length, training=True, seed=config.seed)

        if args.loss_curve_steps:
            float32 = base.replace(mixed_precision="off")
            sides = {"float32, seed 42": float32, "float32, seed 43": float32.replace(seed=43)}
            sides.update({spec: parse_overrides(base, spec) for spec in args.configs})
            # One data order for every side: the dataset's seed stays 42.
            curves = loss_curves(sides, lambda c: buckets(c.replace(seed=42)), vocabulary_size,
                                 args.loss_curve_steps, args.window)
            print(f"{'side: mean loss of the steps up to':40s} " + " ".join(
                f"{(i + 1) * args.window:>6d}" for i in range(args.loss_curve_steps // args.window)), flush=True)
            for name, means in curves.items():
                print(f"{name:40s} " + " ".join(f"{m:6.3f}" for m in means), flush=True)
            return
        before_config = base.replace(mixed_precision="off", jit_compile=False)
        sides = {
            "naive baseline": (before_config, naive_dataset(path, args.baseline_batch, before_config), True),
            "before": (before_config, buckets(before_config), True),
            f"preset {args.preset}": (base, buckets(base), False),
        }
        for spec in args.configs:
            config = parse_overrides(base, spec)
            sides[spec] = (config, buckets(config), False)
        results = measure_interleaved(sides, vocabulary_size, args.steps, args.warmup, args.rounds)
        print(f"{'side':48s} {'params':>10s} {'tokens/s':>9s} {'median of rounds':>17s} {'x before':>9s} "
              f"{'x naive':>8s}", flush=True)
        for name, result in results.items():
            print(f"{name:48s} {result['params']:>10,d} {result['tokens_per_sec']:>9.0f} "
                  f"{statistics.median(result['round_tokens_per_sec']):>17.0f} "
                  f"{round_ratio(results, name, 'before'):>8.2f}x {round_ratio(results, name, 'naive baseline'):>7.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
