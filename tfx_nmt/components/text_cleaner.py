"""TextCleaner: a Beam pipeline that normalizes, filters and deduplicates the parallel corpus.

It first reads ExampleValidator's anomalies and stops the run when TFDV found any, so that training
never starts on a corpus whose statistics do not match its schema.
"""
import json
import logging
import os
from typing import Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.types import artifact_utils

from tfx_nmt.components.artifacts import CleaningReport
from tfx_nmt.components.cleaning import DROP_REASONS, KEPT, CleaningRules, clean_pair
from tfx_nmt.components.corpus import INGEST_DROP_REASONS, SAMPLE_SIZE
from tfx_nmt.components.examples_io import (ReadSplit, WriteSplit, bytes_feature, line_number,
                                            make_pair_example)
from tfx_nmt.components.parallel_corpus_example_gen import read_ingest_report
from tfx_nmt.errors import UserError

REPORT_FILE = "cleaning_report.json"
SAMPLES_FILE = "rejected_samples.json"
# Ingest drops (only with on_bad_line="drop") come first: they happen first.
ALL_DROP_REASONS = INGEST_DROP_REASONS + DROP_REASONS
FILTERED_SPLITS = ("train", "eval")
DEDUPLICATED_SPLITS = ("train",)
log = logging.getLogger(__name__)


class AnomaliesFoundError(UserError, RuntimeError):
    """TFDV's ExampleValidator reported anomalies in the corpus."""


def read_anomalies(anomalies_uri: str, splits: Iterable[str]) -> List[str]:
    """Human-readable lines `split: feature 'name': short description (description)`, one per TFDV anomaly
    in ExampleValidator's `Split-<split>/SchemaDiff.pb` files; an empty split (TFDV's `data_missing`)
    is one too."""
    found = []
    for split in splits:
        path = os.path.join(anomalies_uri, f"Split-{split}", "SchemaDiff.pb")
        if not tf.io.gfile.exists(path):
            continue
        anomalies = anomalies_pb2.Anomalies.FromString(tf.io.gfile.GFile(path, "rb").read())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            found.append(f"{split}: feature '{feature}': {info.short_description} ({info.description})")
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            found.append(f"{split}: dataset: {info.short_description} ({info.description})")
        if anomalies.data_missing:
            found.append(f"{split}: dataset: no examples (the split is empty)")
    return found


def _clean_record(record: bytes, rules: CleaningRules, filter_pairs: bool) -> Tuple:
    """(line number, raw source, raw target, clean source, clean target, outcome) of a serialized pair."""
    example = tf.train.Example.FromString(record)
    source = bytes_feature(example, "source").decode("utf-8")
    target = bytes_feature(example, "target").decode("utf-8")
    return (line_number(example), source, target) + clean_pair(source, target, rules, filter_pairs)


def assemble_report(counts: Iterable[Dict], splits: Iterable[str],
                    ingest: Optional[Dict[str, Dict]] = None) -> Dict[str, Dict]:
    """Builds the CleaningReport from `{split, outcome, count}` rows and the ingest report.

    The `kept` row counts pairs that passed the filter before deduplication; duplicates are moved from
    it to `dropped.duplicate`, so that per split `input == kept + sum(dropped.values())`. Pairs that
    ParallelCorpusExampleGen dropped (`ingest`, see its `ingest_report.json`) count in `input` and in
    `dropped` under their reason.
    """
    report = {split: {"input": 0, "kept": 0, "dropped": {r: 0 for r in ALL_DROP_REASONS}} for split in splits}
    for row in counts:
        entry = report[row["split"]]
        if row["outcome"] == "duplicate":
            entry["dropped"]["duplicate"] += row["count"]
            entry["kept"] -= row["count"]
            continue
        entry["input"] += row["count"]
        if row["outcome"] == KEPT:
            entry["kept"] += row["count"]
        else:
            entry["dropped"][row["outcome"]] += row["count"]
    for split, entry in (ingest or {}).items():
        for reason, count in entry["dropped"].items():
            report[split]["input"] += count
            report[split]["dropped"][reason] += count
    return report


def assemble_samples(rows: Iterable[Dict], splits: Iterable[str],
                     ingest: Optional[Dict[str, Dict]] = None) -> Dict[str, Dict[str, List[Dict]]]:
    """{split: {reason: the first SAMPLE_SIZE rejected pairs, by line number, as {line, source, target}}}
    from `{split, reason, samples}` rows and the ingest report's samples. Texts are as read, before
    normalization."""
    samples = {split: {r: [] for r in ALL_DROP_REASONS} for split in splits}
    for row in rows:
        samples[row["split"]][row["reason"]].extend(row["samples"])
    for split, entry in (ingest or {}).items():
        for reason, rejected in entry["samples"].items():
            samples[split][reason].extend(rejected)
    for by_reason in samples.values():
        for reason, rejected in by_reason.items():
            by_reason[reason] = sorted(rejected, key=lambda s: s["line"])[:SAMPLE_SIZE]
    return samples


def _deduplicate(kept, split: str):
    """(unique pairs, duplicates): keeps the first occurrence (lowest line number) of each clean pair."""
    grouped = (
        kept
        | f"KeyByPair[{split}]" >> beam.Map(lambda o: ((o[3], o[4]), o))
        | f"GroupPairs[{split}]" >> beam.GroupByKey()
        | f"SortCopies[{split}]" >> beam.MapTuple(lambda pair, copies: sorted(copies))
    )
    unique = grouped | f"First[{split}]" >> beam.Map(lambda copies: copies[0])
    duplicates = grouped | f"Copies[{split}]" >> beam.FlatMap(
        lambda copies: [o[:5] + ("duplicate",) for o in copies[1:]])
    return unique, duplicates


def clean_examples(pipeline: beam.Pipeline, examples_uri: str, cleaned_uri: str, splits: List[str],
                   rules: CleaningRules, counts_prefix: str, samples_prefix: str) -> None:
    """Adds the cleaning of every split to `pipeline` (run it to execute).

    Writes the cleaned splits under `cleaned_uri` (tf.Examples {source, target, line_number}),
    `{split, outcome, count}` JSON lines to files starting with `counts_prefix` and
    `{split, reason, samples}` JSON lines (the first SAMPLE_SIZE rejected pairs per reason, by line
    number) to files starting with `samples_prefix`; read both with `read_json_lines`.
    """
    all_counts, all_samples = [], []
    for split in splits:
        outcomes = (
            pipeline
            | f"Read[{split}]" >> ReadSplit(examples_uri, split)
            | f"Clean[{split}]" >> beam.Map(_clean_record, rules, split in FILTERED_SPLITS)
        )
        kept = outcomes | f"Kept[{split}]" >> beam.Filter(lambda o: o[5] == KEPT)
        rejected = outcomes | f"Rejected[{split}]" >> beam.Filter(lambda o: o[5] != KEPT)
        outcome_counts = outcomes | f"Outcome[{split}]" >> beam.Map(lambda o: (o[5], 1))
        if split in DEDUPLICATED_SPLITS:
            kept, duplicates = _deduplicate(kept, split)
            outcome_counts = (
                (outcome_counts, duplicates | f"OneDuplicate[{split}]" >> beam.Map(lambda o: (o[5], 1)))
                | f"Merge[{split}]" >> beam.Flatten())
            rejected = (rejected, duplicates) | f"AllRejected[{split}]" >> beam.Flatten()
        _ = (
            kept
            | f"ToExample[{split}]" >> beam.Map(lambda o: make_pair_example(o[0], o[3], o[4]))
            | f"Write[{split}]" >> WriteSplit(cleaned_uri, split)
        )
        all_counts.append(
            outcome_counts
            | f"Sum[{split}]" >> beam.CombinePerKey(sum)
            | f"Row[{split}]" >> beam.MapTuple(
                lambda outcome, n, split=split: json.dumps({"split": split, "outcome": outcome, "count": n}))
        )
        all_samples.append(
            rejected
            | f"ByReason[{split}]" >> beam.Map(lambda o: (o[5], (o[0], o[1], o[2])))
            | f"FirstLines[{split}]" >> beam.combiners.Top.SmallestPerKey(SAMPLE_SIZE)
            | f"SampleRow[{split}]" >> beam.MapTuple(lambda reason, first, split=split: json.dumps({
                "split": split, "reason": reason,
                "samples": [{"line": n, "source": s, "target": t} for n, s, t in first]}))
        )
    _ = all_counts | "AllCounts" >> beam.Flatten() | "WriteCounts" >> beam.io.WriteToText(counts_prefix)
    _ = all_samples | "AllSamples" >> beam.Flatten() | "WriteSamples" >> beam.io.WriteToText(samples_prefix)


def read_json_lines(prefix: str) -> List[Dict]:
    """The JSON lines of the files starting with `prefix` (written by `clean_examples`); the files are
    deleted."""
    rows = []
    for path in tf.io.gfile.glob(prefix + "*"):
        with tf.io.gfile.GFile(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
        tf.io.gfile.remove(path)
    return rows


@tfx.dsl.components.component(use_beam=True)
def TextCleaner(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    cleaned_examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: tfx.dsl.components.OutputArtifact[CleaningReport],
    max_tokens: tfx.dsl.components.Parameter[int] = 80,
    max_length_ratio: tfx.dsl.components.Parameter[float] = 3.0,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """Normalizes every split; filters train and eval; deduplicates train (rules in `cleaning`).

    Args:
        examples: tf.Examples {source, target} from ParallelCorpusExampleGen.
        anomalies: ExampleValidator's output; any anomaly stops the run.
        cleaned_examples: output, the same splits and features, cleaned.
        report: output, `cleaning_report.json` (see `assemble_report`) and `rejected_samples.json` (see
            `assemble_samples`).
        max_tokens / max_length_ratio: the filter thresholds, in whitespace-separated words.

    Raises:
        AnomaliesFoundError: TFDV found anomalies; the message lists each.
    """
    splits = artifact_utils.decode_split_names(examples.split_names)
    problems = read_anomalies(anomalies.uri, splits)
    if problems:
        raise AnomaliesFoundError(
            "ExampleValidator found anomalies in the corpus; fix the data before training:\n  "
            + "\n  ".join(problems))
    rules = CleaningRules(max_tokens=max_tokens, max_length_ratio=max_length_ratio)
    cleaned_examples.split_names = examples.split_names
    counts_prefix = os.path.join(report.uri, "counts")
    samples_prefix = os.path.join(report.uri, "samples")
    with beam_pipeline as p:
        clean_examples(p, examples.uri, cleaned_examples.uri, splits, rules, counts_prefix, samples_prefix)
    ingest = read_ingest_report(examples.uri)
    cleaning_report = assemble_report(read_json_lines(counts_prefix), splits, ingest)
    samples = assemble_samples(read_json_lines(samples_prefix), splits, ingest)
    with tf.io.gfile.GFile(os.path.join(report.uri, REPORT_FILE), "w") as f:
        json.dump(cleaning_report, f, indent=2, sort_keys=True)
    with tf.io.gfile.GFile(os.path.join(report.uri, SAMPLES_FILE), "w") as f:
        json.dump(samples, f, indent=2, sort_keys=True, ensure_ascii=False)
    for split, entry in cleaning_report.items():
        log.info("TextCleaner: %s: %d pairs in, %d kept, dropped %s", split, entry["input"], entry["kept"],
                 {k: v for k, v in entry["dropped"].items() if v})
