"""Wall seconds of cleaning plus tokenization of the Multi30k train split: the components' Beam code on
the DirectRunner (1 worker: in process; 2 workers: 2 worker processes, as `direct_runner_args` gives
them; and, for comparison, 2 worker threads in one process) against a plain single-process Python loop
doing the same transforms (normalize, filter by every rule, language identification and the train/test
overlap included, deduplicate, SentencePiece-encode, serialize). Every path cleans the eval and test splits
too (their sources are the overlap rule's side input), and tokenizes the train split.

The SentencePiece model is learned once beforehand, and each path's input, the raw train split, is
written beforehand with the path's own runner options by `corpora.WritePairs`, in the files
ParallelCorpusExampleGen writes (`ingest_pipeline.WriteExamplesSplit`): not timed. The last
row times the same two pipelines on 2 worker processes with one element each: the start-up floor.

Each round times every path once, in table order; the table gives the median over `--rounds` rounds and
the fastest and slowest, so that every path meets the same phases of a machine whose speed drifts.

A second table times the TextCleaner's Beam pipeline alone, in process, with every rule on against
without the rules of language identification, copies and the train/test overlap, alternating, and prints
the counts per rule of the first and the rejected pairs of those three rules.

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
from corpora import WritePairs, read_corpus
from machine import machine_line

from tfx_nmt.components.cleaning import KEPT, CleaningRules, PairCleaner
from tfx_nmt.components.cleaning_pipeline import HELD_OUT_SPLITS, clean_examples
from tfx_nmt.components.examples_io import (LINE_NUMBER, MAX_BATCH_SIZE, bytes_feature, iterate_examples,
                                            line_number, split_files)
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.text_cleaner import assemble_report, assemble_samples
from tfx_nmt.components.tokenization_pipeline import tokenize_examples
from tfx_nmt.contract import SPLITS
from tfx_nmt.pipeline.local_runner import direct_runner_args
from tfx_nmt.text import subword

# The rules whose cost the second table measures, and whose rejected pairs it prints.
NEW_RULES = ("copy", "test_overlap", "source_language", "target_language")


def _texts(raw) -> Tuple[str, str]:
    return bytes_feature(raw, "source").decode("utf-8"), bytes_feature(raw, "target").decode("utf-8")


def plain_loop(raw_uri: str, output_path: str, rules: CleaningRules, encoder: subword.SubwordEncoder) -> int:
    """The same transforms in one Python process, from the raw Examples the Beam path reads to a GZIP
    TFRecord file of tokenized Examples, counting the outcomes as the TextCleaner's report does; returns
    the number of train examples written. The pairs go through `PairCleaner` in batches of MAX_BATCH_SIZE,
    as in the Beam pipeline (language identification runs a batch at once); the held-out sources are a
    Python set here."""
    cleaner = PairCleaner(rules)
    held_out_sources = {source for split in HELD_OUT_SPLITS
                        for source, _, _ in cleaner.clean([_texts(raw) for raw in iterate_examples(raw_uri, split)],
                                                          False)}
    train = list(iterate_examples(raw_uri, "train"))
    seen, outcomes = set(), collections.Counter()
    with tf.io.TFRecordWriter(output_path, "GZIP") as writer:
        for start in range(0, len(train), MAX_BATCH_SIZE):
            batch = train[start:start + MAX_BATCH_SIZE]
            for raw, (source, target, outcome) in zip(batch, cleaner.clean([_texts(raw) for raw in batch], True,
                                                                            held_out_sources)):
                if outcome == KEPT and rules.deduplicate and (source, target) in seen:
                    outcome = "duplicate"
                outcomes[outcome] += 1
                if outcome != KEPT:
                    continue
                seen.add((source, target))
                writer.write(_tokenized_example(raw, source, target, encoder))
    return outcomes[KEPT]


def _tokenized_example(raw, source: str, target: str, encoder: subword.SubwordEncoder) -> bytes:
    """A cleaned pair with its line number and subword ids, serialized, as the SubwordTokenizer writes it."""
    example = tf.train.Example()
    example.features.feature["source"].bytes_list.value.append(source.encode("utf-8"))
    example.features.feature["target"].bytes_list.value.append(target.encode("utf-8"))
    example.features.feature[LINE_NUMBER].int64_list.value.append(line_number(raw))
    example.features.feature["source_ids"].int64_list.value.extend(encoder.encode(source))
    example.features.feature["target_ids"].int64_list.value.extend(encoder.encode(target))
    return example.SerializeToString()


def beam_components(raw_uri: str, workdir: str, runner_args: List[str], rules: CleaningRules,
                    model_proto: bytes) -> None:
    """TextCleaner's then SubwordTokenizer's Beam pipelines, as the components run them."""
    cleaned, tokenized = os.path.join(workdir, "cleaned"), os.path.join(workdir, "tokenized")
    clean_only(raw_uri, cleaned, workdir, runner_args, rules)
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        tokenize_examples(p, cleaned, tokenized, ["train"], model_proto, os.path.join(workdir, "token_counts"))
    read_rows(os.path.join(workdir, "token_counts"))


def clean_only(raw_uri: str, cleaned_uri: str, workdir: str, runner_args: List[str],
               rules: CleaningRules) -> Tuple[Dict, Dict]:
    """TextCleaner's Beam pipeline over every split; returns its report and rejected samples."""
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        clean_examples(p, raw_uri, cleaned_uri, list(SPLITS), rules, os.path.join(workdir, "counts"),
                       os.path.join(workdir, "samples"))
    return (assemble_report(read_rows(os.path.join(workdir, "counts")), SPLITS),
            assemble_samples(read_rows(os.path.join(workdir, "samples")), SPLITS))


def write_raw_splits(raw_uri: str, splits: Dict[str, List[Tuple[int, str, str]]], runner_args: List[str]) -> None:
    """The splits as ParallelCorpusExampleGen writes them on `runner_args`."""
    with beam.Pipeline(options=PipelineOptions(runner_args)) as p:
        for split, pairs in splits.items():
            _ = p | f"Write[{split}]" >> WritePairs(pairs, raw_uri, split)


def compare_rules(raw_uri: str, workdir: str, rounds: int) -> None:
    """Times the TextCleaner's pipeline in process with every rule on and without the new ones, alternating;
    prints the medians, the counts per rule of every split and the new rules' rejected pairs."""
    rule_sets = {"every rule": CleaningRules(),
                 "without lid, copy, test overlap": CleaningRules(lid=False, drop_copies=False,
                                                                  drop_test_overlap=False)}
    seconds = {name: [] for name in rule_sets}
    for round_number in range(rounds):
        for number, (name, rules) in enumerate(rule_sets.items()):
            out = os.path.join(workdir, f"rules-round{round_number}-{number}")
            os.makedirs(out)
            started = time.time()
            report, samples = clean_only(raw_uri, os.path.join(out, "cleaned"), out, direct_runner_args(1), rules)
            seconds[name].append(time.time() - started)
            if number == 0:
                every_rule = report, samples
        print(f"cleaning round {round_number + 1} of {rounds}: "
              + ", ".join(f"{times[-1]:.1f}" for times in seconds.values()) + " s", flush=True)
    baseline = statistics.median(seconds["without lid, copy, test overlap"])
    print(f"{'TextCleaner, 1 worker (in process)':36s} {'seconds':>8s} {'ratio':>6s}   fastest-slowest "
          f"(median of {rounds} rounds)")
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"{name:36s} {median:>8.1f} {median / baseline:>6.2f}   {min(times):.1f}-{max(times):.1f}", flush=True)
    report, samples = every_rule
    for split in SPLITS:
        entry = report[split]
        print(f"{split}: {entry['input']} in, {entry['kept']} kept, dropped "
              + (", ".join(f"{reason} {n}" for reason, n in entry["dropped"].items() if n) or "none"))
    for split in SPLITS:
        for reason in NEW_RULES:
            for sample in samples[split][reason]:
                print(f"  {split} {reason} line {sample['line']}: {sample['source']!r} -> {sample['target']!r}")


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
    corpus = read_corpus(args.data_dir, "en", "de", {})
    pairs = corpus["train"]
    rules = CleaningRules()
    model_proto = subword.train_sentencepiece((x for pair in pairs for x in pair), args.vocabulary_size)
    encoder = subword.SubwordEncoder(model_proto)
    numbered = {split: [(number, source, target) for number, (source, target) in enumerate(corpus[split], 1)]
                for split in SPLITS}
    with tempfile.TemporaryDirectory() as workdir:
        beam_runner_args = {
            "Beam DirectRunner, 1 worker": direct_runner_args(1),
            "Beam DirectRunner, 2 processes": direct_runner_args(2),
            "Beam DirectRunner, 2 threads": ["--direct_running_mode=multi_threading", "--direct_num_workers=2"],
        }
        raw = {}
        for number, (path, runner_args) in enumerate(beam_runner_args.items()):
            raw[path] = os.path.join(workdir, f"raw{number}")
            write_raw_splits(raw[path], numbered, runner_args)
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
        compare_rules(raw["Beam DirectRunner, 1 worker"], workdir, args.rounds)


if __name__ == "__main__":
    main()
