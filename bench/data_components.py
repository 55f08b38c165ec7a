"""Wall seconds of cleaning plus tokenization of the Multi30k train split: the components' Beam code on
the DirectRunner (1 worker: in process; 2 workers: 2 worker processes, as `direct_runner_args` gives
them; and, for comparison, 2 worker processes started by Beam's own worker entry point instead of
`beam_worker_main`, and 2 worker threads in one process) against a plain single-process Python loop
doing the same transforms (normalize, filter, deduplicate, SentencePiece-encode, serialize).

The SentencePiece model is learned once beforehand, and each path's input, the raw train split, is
written beforehand by ParallelCorpusExampleGen's Beam transform (`WritePairs`) with the path's own runner
options, as a run with those options writes it (with several workers, several files): not timed. The last
row times the same two pipelines on 2 worker processes with one element each: the start-up floor.

Each round times every path once, in table order; the table gives the median over `--rounds` rounds and
the fastest and slowest, so that every path meets the same phases of a machine whose speed drifts.

    python bench/data_components.py --data-dir DIR [--rounds 3]
"""
import argparse
import collections
import logging
import os
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

import apache_beam as beam
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from corpora import read_corpus
from machine import machine_line

from tfx_nmt.components.cleaning import KEPT, CleaningRules, clean_pair
from tfx_nmt.components.cleaning_pipeline import clean_examples
from tfx_nmt.components.examples_io import (LINE_NUMBER, WritePairs, bytes_feature, iterate_examples, line_number,
                                            split_files)
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.tokenization_pipeline import tokenize_examples
from tfx_nmt.pipeline.local_runner import direct_runner_args
from tfx_nmt.text import subword


def plain_loop(raw_uri: str, output_path: str, rules: CleaningRules, encoder: subword.SubwordEncoder) -> int:
    """The same transforms in one Python process, from the raw Examples the Beam path reads to a GZIP
    TFRecord file of tokenized Examples, counting the outcomes as the TextCleaner's report does; returns
    the number of examples written."""
    seen, outcomes = set(), collections.Counter()
    with tf.io.TFRecordWriter(output_path, "GZIP") as writer:
        for raw in iterate_examples(raw_uri, "train"):
            source, target, outcome = clean_pair(bytes_feature(raw, "source").decode("utf-8"),
                                                 bytes_feature(raw, "target").decode("utf-8"), rules, True)
            if outcome == KEPT and (source, target) in seen:
                outcome = "duplicate"
            outcomes[outcome] += 1
            if outcome != KEPT:
                continue
            seen.add((source, target))
            example = tf.train.Example()
            example.features.feature["source"].bytes_list.value.append(source.encode("utf-8"))
            example.features.feature["target"].bytes_list.value.append(target.encode("utf-8"))
            example.features.feature[LINE_NUMBER].int64_list.value.append(line_number(raw))
            example.features.feature["source_ids"].int64_list.value.extend(encoder.encode(source))
            example.features.feature["target_ids"].int64_list.value.extend(encoder.encode(target))
            writer.write(example.SerializeToString())
    return outcomes[KEPT]


def beam_components(raw_uri: str, workdir: str, runner_args: List[str], rules: CleaningRules,
                    model_proto: bytes) -> None:
    """TextCleaner's then SubwordTokenizer's Beam pipelines, as the components run them."""
    cleaned, tokenized = os.path.join(workdir, "cleaned"), os.path.join(workdir, "tokenized")
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        clean_examples(p, raw_uri, cleaned, ["train"], rules, os.path.join(workdir, "counts"),
                       os.path.join(workdir, "samples"))
    read_rows(os.path.join(workdir, "counts"))
    read_rows(os.path.join(workdir, "samples"))
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        tokenize_examples(p, cleaned, tokenized, ["train"], model_proto, os.path.join(workdir, "token_counts"))
    read_rows(os.path.join(workdir, "token_counts"))


def write_raw_split(raw_uri: str, pairs: List[Tuple[int, str, str]], runner_args: List[str]) -> None:
    """The train split as ParallelCorpusExampleGen writes it on `runner_args`."""
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        _ = p | WritePairs(pairs, raw_uri, "train")


def start_up_only(runner_args: List[str], pipelines: int = 2) -> None:
    """Runs `pipelines` Beam pipelines that carry one element each: timed, what the runner costs before
    any data (on worker processes: starting them)."""
    for _ in range(pipelines):
        with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
            _ = p | beam.Create([0]) | beam.Map(abs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3, help="times each path runs; the table gives the median")
    args = parser.parse_args()
    # Worker processes forward their start-up warnings through this logger, several lines per worker.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    print(machine_line(), flush=True)
    pairs = read_corpus(args.data_dir, "en", "de", {})["train"]
    rules = CleaningRules()
    model_proto = subword.train_sentencepiece((x for pair in pairs for x in pair), args.vocabulary_size)
    encoder = subword.SubwordEncoder(model_proto)
    numbered_pairs = [(number, source, target) for number, (source, target) in enumerate(pairs, 1)]
    with tempfile.TemporaryDirectory() as workdir:
        beam_runner_args = {
            "Beam DirectRunner, 1 worker": direct_runner_args(1),
            "Beam DirectRunner, 2 processes": direct_runner_args(2),
            "2 processes, Beam's entry point": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
            "Beam DirectRunner, 2 threads": ["--direct_running_mode=multi_threading", "--direct_num_workers=2"],
        }
        raw = {}
        for number, (path, runner_args) in enumerate(beam_runner_args.items()):
            raw[path] = os.path.join(workdir, f"raw{number}")
            write_raw_split(raw[path], numbered_pairs, runner_args)
            print(f"input of {path}: {len(split_files(raw[path], 'train'))} file(s)", flush=True)
        paths: Dict[str, Callable[[str], Optional[int]]] = {
            "plain Python loop": lambda out: plain_loop(raw["Beam DirectRunner, 1 worker"], os.path.join(out, "loop.gz"),
                                                        rules, encoder),
            **{path: lambda out, path=path, runner_args=runner_args: beam_components(raw[path], out, runner_args,
                                                                                     rules, model_proto)
               for path, runner_args in beam_runner_args.items()},
            "2 processes, start-up only": lambda out: start_up_only(direct_runner_args(2)),
        }
        seconds = {path: [] for path in paths}
        for round_number in range(args.rounds):
            for number, (path, run) in enumerate(paths.items()):
                out = os.path.join(workdir, f"round{round_number}-path{number}")
                os.makedirs(out)
                started = time.time()
                produced = run(out)
                seconds[path].append(time.time() - started)
                if produced is not None:
                    examples = produced
            print(f"round {round_number + 1} of {args.rounds}: "
                  + ", ".join(f"{times[-1]:.1f}" for times in seconds.values()) + " s", flush=True)
        loop_seconds = statistics.median(seconds["plain Python loop"])
        print(f"{'path':32s} {'seconds':>8s} {'x loop':>7s}   fastest-slowest (median of {args.rounds} rounds)")
        for path, times in seconds.items():
            median = statistics.median(times)
            note = {"plain Python loop": f"   ({examples} examples)",
                    "2 processes, start-up only": "   (the same two pipelines, one element each)"}.get(path, "")
            print(f"{path:32s} {median:>8.1f} {median / loop_seconds:>7.2f}   {min(times):.1f}-{max(times):.1f}{note}",
                  flush=True)


if __name__ == "__main__":
    main()
