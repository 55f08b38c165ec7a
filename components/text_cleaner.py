"""TextCleaner: normalizes, filters and deduplicates the parallel corpus with a Beam pipeline
(`cleaning_pipeline`), and writes the CleaningReport from the counts and samples the pipeline hands back
(`summary_rows`).

It first reads ExampleValidator's anomalies and stops the run when TFDV found any, so that training
never starts on a corpus whose statistics do not match its schema.
"""
import json
import logging
import os
from typing import Dict, Iterable, List, Optional

import apache_beam as beam
import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.types import artifact_utils

from tfx_nmt.components.artifacts import CleaningReport
from tfx_nmt.components.cleaning import DROP_REASONS, KEPT, SAMPLE_SIZE, CleaningRules, parse_languages
from tfx_nmt.components.cleaning_pipeline import FILTERED_SPLITS, clean_examples
from tfx_nmt.components.corpus import INGEST_DROP_REASONS
from tfx_nmt.components.parallel_corpus_example_gen import read_ingest_report
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.contract import CLEANING_REPORT_FILE, REJECTED_SAMPLES_FILE
from tfx_nmt.errors import UserError
from tfx_nmt.text.display import shorten

# Ingest drops (only with on_bad_line="drop") come first: they happen first.
ALL_DROP_REASONS = INGEST_DROP_REASONS + DROP_REASONS
log = logging.getLogger(__name__)


class AnomaliesFoundError(UserError, RuntimeError):
    """TFDV's ExampleValidator reported anomalies in the corpus."""


class NothingKeptError(UserError, RuntimeError):
    """Cleaning dropped every pair of the train or the eval split: nothing to train or validate on."""


def check_pairs_kept(cleaning_report: Dict[str, Dict], report_path: str) -> None:
    """Raises when the train or eval split of `cleaning_report` (see `assemble_report`) kept no pair.

    Raises:
        NothingKeptError: naming each such split, its input count and its drop reasons, and `report_path`.
    """
    empty = [f"{split}: 0 of {entry['input']} pairs kept (dropped: "
             + ", ".join(f"{reason} {n}" for reason, n in entry["dropped"].items() if n) + ")"
             for split, entry in cleaning_report.items() if split in FILTERED_SPLITS and entry["kept"] == 0]
    if empty:
        raise NothingKeptError(f"cleaning left nothing to train or validate on: {'; '.join(empty)}; see {report_path} "
                               f"and the corpus, or relax --max-tokens / --max-length-ratio")


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
    normalization, and cut to `display.DISPLAY_CHARS` characters (`display.shorten`)."""
    samples = {split: {r: [] for r in ALL_DROP_REASONS} for split in splits}
    for row in rows:
        samples[row["split"]][row["reason"]].extend(row["samples"])
    for split, entry in (ingest or {}).items():
        for reason, rejected in entry["samples"].items():
            samples[split][reason].extend(rejected)
    for by_reason in samples.values():
        for reason, rejected in by_reason.items():
            by_reason[reason] = [dict(s, source=shorten(s["source"]), target=shorten(s["target"]))
                                 for s in sorted(rejected, key=lambda s: s["line"])[:SAMPLE_SIZE]]
    return samples


@tfx.dsl.components.component(use_beam=True)
def TextCleaner(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    cleaned_examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    report: tfx.dsl.components.OutputArtifact[CleaningReport],
    max_tokens: tfx.dsl.components.Parameter[int] = CleaningRules.max_tokens,
    max_length_ratio: tfx.dsl.components.Parameter[float] = CleaningRules.max_length_ratio,
    drop_copies: tfx.dsl.components.Parameter[bool] = CleaningRules.drop_copies,
    drop_test_overlap: tfx.dsl.components.Parameter[bool] = CleaningRules.drop_test_overlap,
    deduplicate: tfx.dsl.components.Parameter[bool] = CleaningRules.deduplicate,
    lid: tfx.dsl.components.Parameter[bool] = CleaningRules.lid,
    source_language: tfx.dsl.components.Parameter[str] = CleaningRules.source_language,
    target_language: tfx.dsl.components.Parameter[str] = CleaningRules.target_language,
    lid_min_probability: tfx.dsl.components.Parameter[float] = CleaningRules.lid_min_probability,
    lid_min_chars: tfx.dsl.components.Parameter[int] = CleaningRules.lid_min_chars,
    lid_languages: tfx.dsl.components.Parameter[str] = ",".join(CleaningRules.lid_languages),
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """Normalizes every split; filters train and eval; drops train pairs whose source is an eval or test
    source; deduplicates train (rules in `cleaning`).

    Args:
        examples: tf.Examples {source, target} from ParallelCorpusExampleGen.
        anomalies: ExampleValidator's output; any anomaly stops the run.
        cleaned_examples: output, the same splits and features, cleaned.
        report: output, `cleaning_report.json` (see `assemble_report`) and `rejected_samples.json` (see
            `assemble_samples`).
        max_tokens / max_length_ratio: the filter thresholds, in whitespace-separated words.
        drop_copies / drop_test_overlap / deduplicate / lid: the rules' switches.
        source_language / target_language: the languages expected of the sides (ISO 639-1 codes).
        lid_min_probability / lid_min_chars / lid_languages: language identification's threshold, shortest
            side judged (characters) and candidate languages (comma-separated; `all` for all 97).

    Raises:
        AnomaliesFoundError: TFDV found anomalies; the message lists each.
        NothingKeptError: cleaning dropped every train or eval pair (the report is written first).
    """
    splits = artifact_utils.decode_split_names(examples.split_names)
    problems = read_anomalies(anomalies.uri, splits)
    if problems:
        raise AnomaliesFoundError(
            "ExampleValidator found anomalies in the corpus; fix the data before training:\n  "
            + "\n  ".join(problems))
    rules = CleaningRules(max_tokens=max_tokens, max_length_ratio=max_length_ratio, drop_copies=drop_copies,
                          drop_test_overlap=drop_test_overlap, deduplicate=deduplicate, lid=lid,
                          source_language=source_language, target_language=target_language,
                          lid_min_probability=lid_min_probability, lid_min_chars=lid_min_chars,
                          lid_languages=parse_languages(lid_languages))
    cleaned_examples.split_names = examples.split_names
    counts_prefix = os.path.join(report.uri, "counts")
    samples_prefix = os.path.join(report.uri, "samples")
    with beam_pipeline as p:
        clean_examples(p, examples.uri, cleaned_examples.uri, splits, rules, counts_prefix, samples_prefix)
    ingest = read_ingest_report(examples.uri)
    cleaning_report = assemble_report(read_rows(counts_prefix), splits, ingest)
    samples = assemble_samples(read_rows(samples_prefix), splits, ingest)
    with tf.io.gfile.GFile(os.path.join(report.uri, CLEANING_REPORT_FILE), "w") as f:
        json.dump(cleaning_report, f, indent=2, sort_keys=True)
    with tf.io.gfile.GFile(os.path.join(report.uri, REJECTED_SAMPLES_FILE), "w") as f:
        json.dump(samples, f, indent=2, sort_keys=True, ensure_ascii=False)
    for split, entry in cleaning_report.items():
        log.info("TextCleaner: %s: %d pairs in, %d kept, dropped %s", split, entry["input"], entry["kept"],
                 {k: v for k, v in entry["dropped"].items() if v})
    check_pairs_kept(cleaning_report, os.path.join(report.uri, CLEANING_REPORT_FILE))
