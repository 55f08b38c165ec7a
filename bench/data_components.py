"""Wall seconds of cleaning plus tokenization of the Multi30k train split: the components' Beam code on
the DirectRunner (1 worker: in process; 2 workers: 2 worker processes; `direct_runner_args`) against a
plain single-process Python loop doing the same transforms (normalize, filter, deduplicate,
SentencePiece-encode, serialize).

The SentencePiece model is learned once beforehand (not timed: both paths use the same model).

    python bench/data_components.py --data-dir DIR
"""
import argparse
import collections
import os
import tempfile
import time

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from machine import machine_line

from tfx_nmt.components import corpus
from tfx_nmt.components.cleaning import KEPT, CleaningRules, clean_pair
from tfx_nmt.components.examples_io import bytes_feature, iterate_examples, make_text_example, split_uri
from tfx_nmt.components.subword_tokenizer import tokenize_examples
from tfx_nmt.components.text_cleaner import clean_examples, read_json_lines
from tfx_nmt.pipeline.local_runner import direct_runner_args
from tfx_nmt.text import subword


def plain_loop(raw_uri: str, output_path: str, rules: CleaningRules, encoder: subword.SubwordEncoder) -> int:
    """The same transforms in one Python process, from the raw Examples the Beam path reads to a GZIP
    TFRecord file of tokenized Examples, counting the outcomes as the TextCleaner's report does; returns
    the number of examples written."""
    seen, outcomes = set(), collections.Counter()
    with tf.io.TFRecordWriter(output_path, "GZIP") as writer:
        for example in iterate_examples(raw_uri, "train"):
            source, target, outcome = clean_pair(bytes_feature(example, "source").decode("utf-8"),
                                                 bytes_feature(example, "target").decode("utf-8"), rules, True)
            if outcome == KEPT and (source, target) in seen:
                outcome = "duplicate"
            outcomes[outcome] += 1
            if outcome != KEPT:
                continue
            seen.add((source, target))
            example = tf.train.Example.FromString(make_text_example({"source": source, "target": target}))
            example.features.feature["source_ids"].int64_list.value.extend(encoder.encode(source))
            example.features.feature["target_ids"].int64_list.value.extend(encoder.encode(target))
            writer.write(example.SerializeToString())
    return outcomes[KEPT]


def beam_components(raw_uri: str, workdir: str, workers: int, rules: CleaningRules, model_proto: bytes) -> None:
    """TextCleaner's then SubwordTokenizer's Beam pipelines, as the components run them."""
    cleaned, tokenized = os.path.join(workdir, "cleaned"), os.path.join(workdir, "tokenized")
    with beam.Pipeline(options=PipelineOptions(direct_runner_args(workers))) as p:
        clean_examples(p, raw_uri, cleaned, ["train"], rules, os.path.join(workdir, "counts"),
                       os.path.join(workdir, "samples"))
    read_json_lines(os.path.join(workdir, "counts"))
    read_json_lines(os.path.join(workdir, "samples"))
    with beam.Pipeline(options=PipelineOptions(direct_runner_args(workers))) as p:
        tokenize_examples(p, cleaned, tokenized, ["train"], model_proto)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    pairs = corpus.read_corpus(args.data_dir, "en", "de", {})["train"]
    rules = CleaningRules()
    model_proto = subword.train_sentencepiece((x for pair in pairs for x in pair), args.vocabulary_size)
    encoder = subword.SubwordEncoder(model_proto)
    with tempfile.TemporaryDirectory() as workdir:
        raw = os.path.join(workdir, "raw")
        os.makedirs(split_uri(raw, "train"))
        with tf.io.TFRecordWriter(os.path.join(split_uri(raw, "train"), "data.gz"), "GZIP") as writer:
            for s, t in pairs:
                writer.write(make_text_example({"source": s, "target": t}))
        started = time.time()
        produced = plain_loop(raw, os.path.join(workdir, "loop.gz"), rules, encoder)
        loop_seconds = time.time() - started
        print(f"{'path':32s} {'seconds':>8s} {'x loop':>7s}", flush=True)
        print(f"{'plain Python loop':32s} {loop_seconds:>8.1f} {1.0:>7.2f}   ({produced} examples)", flush=True)
        for workers in (1, 2):
            started = time.time()
            beam_components(raw, os.path.join(workdir, f"w{workers}"), workers, rules, model_proto)
            seconds = time.time() - started
            print(f"{f'Beam DirectRunner, {workers} worker(s)':32s} {seconds:>8.1f} {seconds / loop_seconds:>7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
