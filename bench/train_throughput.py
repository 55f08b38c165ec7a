"""Training throughput of the Trainer's model and input pipeline on the real Multi30k train split.

Prints non-padding target tokens per second for each configuration given, after a warm-up. Learns a
SentencePiece model and writes tokenized TFRecords to a temporary directory first (not timed).

    python bench/train_throughput.py --data-dir DIR --configs "d_model=256,num_encoder_layers=3" ...
"""
import argparse
import os
import tempfile
import time

import tensorflow as tf

from tfx_nmt.components import corpus
from tfx_nmt.components.cleaning import CleaningRules, clean_pair
from tfx_nmt.config import RunConfig
from tfx_nmt.models.input_pipeline import make_dataset
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text import subword


def write_tokenized(data_dir: str, workdir: str, vocabulary_size: int):
    """Learns SentencePiece on the cleaned train split and writes it tokenized to `workdir/train.gz`.

    Returns (vocabulary size, SentencePiece model proto bytes)."""
    pairs = corpus.read_corpus(data_dir, "en", "de", {})["train"]
    rules = CleaningRules()
    cleaned = [(s, t) for s, t, outcome in (clean_pair(s, t, rules, True) for s, t in pairs) if outcome == "kept"]
    proto = subword.train_sentencepiece((x for pair in cleaned for x in pair), vocabulary_size)
    encoder = subword.SubwordEncoder(proto)
    with tf.io.TFRecordWriter(os.path.join(workdir, "train.gz"), "GZIP") as writer:
        for s, t in cleaned:
            example = tf.train.Example()
            example.features.feature["source_ids"].int64_list.value.extend(encoder.encode(s))
            example.features.feature["target_ids"].int64_list.value.extend(encoder.encode(t))
            writer.write(example.SerializeToString())
    return encoder.vocabulary_size, proto


def measure(config: RunConfig, files, vocabulary_size: int, steps: int, warmup: int) -> dict:
    dataset = make_dataset(files, config.tokens_per_batch, config.max_source_length, config.max_target_length,
                           training=True)
    model = build_model(config, vocabulary_size)
    model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
    model.fit(dataset, steps_per_epoch=warmup, epochs=1, verbose=0)
    started = time.time()
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.time() - started
    tokens = history.history["target_tokens"][-1]
    return {"tokens_per_sec": tokens / seconds, "seconds": seconds, "tokens": tokens,
            "params": model.count_params(), "loss": history.history["loss"][-1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--configs", nargs="+", default=[""],
                        help="comma-separated field=value overrides of the preset, one set per config")
    args = parser.parse_args()
    base = get_preset(args.preset)
    with tempfile.TemporaryDirectory() as workdir:
        vocabulary_size, _ = write_tokenized(args.data_dir, workdir, base.vocabulary_size)
        print(f"{'config':60s} {'params':>10s} {'tokens/s':>10s} {'loss':>7s}", flush=True)
        for spec in args.configs:
            overrides = {}
            for item in filter(None, spec.split(",")):
                name, value = item.split("=")
                overrides[name] = type(getattr(base, name))(value) if not isinstance(getattr(base, name), bool) \
                    else value.lower() in ("1", "true", "yes")
            result = measure(base.replace(**overrides), [os.path.join(workdir, "train.gz")], vocabulary_size,
                             args.steps, args.warmup)
            print(f"{spec or '(preset)':60s} {result['params']:>10,d} {result['tokens_per_sec']:>10.0f} "
                  f"{result['loss']:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
