"""The Beam pipeline of the TextCleaner component: normalize, filter and deduplicate every split.

This module and what it imports (the rules in `cleaning`, the coders in `examples_io`) import neither
TensorFlow nor TFX: Beam worker processes import it to run its functions, and those imports would add
seconds to the start of every worker (BENCHMARKS.md, data components). `tests/test_beam_workers.py`
checks it.
"""
import collections
import json
from typing import Iterator, List, Tuple

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from tfx_nmt.components.cleaning import KEPT, SAMPLE_SIZE, CleaningRules, clean_pair
from tfx_nmt.components.examples_io import (PairsToExamples, ReadSplit, WriteSplit, bytes_feature, line_number,
                                            parse_example)

FILTERED_SPLITS = ("train", "eval")
DEDUPLICATED_SPLITS = ("train",)
# Tags of the additional outputs of CleanPairs and first_copy.
REJECTED = "rejected"
COUNTS = "counts"


class CleanPairs(beam.DoFn):
    """Normalizes and filters serialized pairs (`cleaning.clean_pair`), with every outcome in one step.

    Outputs:
        main: a kept pair, as (line number, clean source, clean target); with `key_by_pair`, as
            ((clean source, clean target), (line number, raw source, raw target)) for deduplication.
        REJECTED: (reason, (line number, raw source, raw target)) of a dropped pair.
        COUNTS: (outcome, count) per bundle, each outcome ("kept" or a reason) once: counting in the
            bundle instead of one (outcome, 1) element per pair saves Beam two steps per pair.
    """

    def __init__(self, rules: CleaningRules, filter_pairs: bool, key_by_pair: bool):
        super().__init__()
        self._rules = rules
        self._filter_pairs = filter_pairs
        self._key_by_pair = key_by_pair
        self._counts = collections.Counter()

    def start_bundle(self):
        self._counts = collections.Counter()

    def process(self, record: bytes) -> Iterator:
        example = parse_example(record)
        number = line_number(example)
        source = bytes_feature(example, "source").decode("utf-8")
        target = bytes_feature(example, "target").decode("utf-8")
        clean_source, clean_target, outcome = clean_pair(source, target, self._rules, self._filter_pairs)
        self._counts[outcome] += 1
        if outcome != KEPT:
            yield beam.pvalue.TaggedOutput(REJECTED, (outcome, (number, source, target)))
        elif self._key_by_pair:
            yield (clean_source, clean_target), (number, source, target)
        else:
            yield number, clean_source, clean_target

    def finish_bundle(self) -> Iterator:
        for outcome, count in self._counts.items():
            yield beam.pvalue.TaggedOutput(COUNTS, WindowedValue((outcome, count), MIN_TIMESTAMP, [GlobalWindow()]))


def first_copy(pair: Tuple[str, str], copies) -> Iterator:
    """The copies of one clean pair -> its first (lowest line number) as (line number, clean source, clean
    target); the others to the REJECTED output as ("duplicate", (line number, raw source, raw target))."""
    first, *duplicates = sorted(copies)
    yield first[0], pair[0], pair[1]
    for copy in duplicates:
        yield beam.pvalue.TaggedOutput(REJECTED, ("duplicate", copy))


def clean_examples(pipeline: beam.Pipeline, examples_uri: str, cleaned_uri: str, splits: List[str],
                   rules: CleaningRules, counts_prefix: str, samples_prefix: str) -> None:
    """Adds the cleaning of every split to `pipeline` (run it to execute).

    Writes the cleaned splits under `cleaned_uri` (tf.Examples {source, target, line_number}),
    `{split, outcome, count}` JSON lines to files starting with `counts_prefix` (`kept` counts the pairs
    the filter kept, before deduplication; `duplicate` the copies dropped after it) and
    `{split, reason, samples}` JSON lines (the first SAMPLE_SIZE rejected pairs per reason, by line
    number) to files starting with `samples_prefix`; read both with `read_json_lines`.
    """
    all_counts, all_samples = [], []
    for split in splits:
        deduplicate = split in DEDUPLICATED_SPLITS
        cleaned = (
            pipeline
            | f"Read[{split}]" >> ReadSplit(examples_uri, split)
            | f"Clean[{split}]" >> beam.ParDo(CleanPairs(rules, split in FILTERED_SPLITS, deduplicate))
            .with_outputs(REJECTED, COUNTS, main="kept")
        )
        kept, rejected, outcome_counts = cleaned.kept, cleaned[REJECTED], cleaned[COUNTS]
        if deduplicate:
            unique = (
                kept
                | f"GroupPairs[{split}]" >> beam.GroupByKey()
                | f"FirstCopy[{split}]" >> beam.FlatMapTuple(first_copy).with_outputs(REJECTED, main="unique")
            )
            kept, duplicates = unique.unique, unique[REJECTED]
            outcome_counts = (
                (outcome_counts, duplicates | f"OneDuplicate[{split}]" >> beam.MapTuple(lambda reason, _: (reason, 1)))
                | f"Merge[{split}]" >> beam.Flatten())
            rejected = (rejected, duplicates) | f"AllRejected[{split}]" >> beam.Flatten()
        _ = (
            kept
            | f"ToExample[{split}]" >> PairsToExamples()
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
            | f"FirstLines[{split}]" >> beam.combiners.Top.SmallestPerKey(SAMPLE_SIZE)
            | f"SampleRow[{split}]" >> beam.MapTuple(lambda reason, first, split=split: json.dumps({
                "split": split, "reason": reason,
                "samples": [{"line": n, "source": s, "target": t} for n, s, t in first]}))
        )
    _ = all_counts | "AllCounts" >> beam.Flatten() | "WriteCounts" >> beam.io.WriteToText(counts_prefix)
    _ = all_samples | "AllSamples" >> beam.Flatten() | "WriteSamples" >> beam.io.WriteToText(samples_prefix)
