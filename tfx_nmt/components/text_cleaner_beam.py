"""The Beam pipeline of the TextCleaner component: normalize, filter and deduplicate every split.

This module and what it imports (the rules in `cleaning`, the coders in `examples_io`) import neither
TensorFlow nor TFX: Beam worker processes import it to run its functions, and those imports would add
seconds to the start of every worker (BENCHMARKS.md, data components). `tests/test_beam_workers.py`
checks it.
"""
import json
from typing import List, Tuple

import apache_beam as beam

from tfx_nmt.components.cleaning import KEPT, SAMPLE_SIZE, CleaningRules, clean_pair
from tfx_nmt.components.examples_io import (PairsToExamples, ReadSplit, WriteSplit, bytes_feature, line_number,
                                            parse_example)

FILTERED_SPLITS = ("train", "eval")
DEDUPLICATED_SPLITS = ("train",)


def clean_record(record: bytes, rules: CleaningRules, filter_pairs: bool) -> Tuple:
    """(line number, raw source, raw target, clean source, clean target, outcome) of a serialized pair."""
    example = parse_example(record)
    source = bytes_feature(example, "source").decode("utf-8")
    target = bytes_feature(example, "target").decode("utf-8")
    return (line_number(example), source, target) + clean_pair(source, target, rules, filter_pairs)


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
            | f"Clean[{split}]" >> beam.Map(clean_record, rules, split in FILTERED_SPLITS)
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
            | f"Pair[{split}]" >> beam.Map(lambda o: (o[0], o[3], o[4]))
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
            | f"ByReason[{split}]" >> beam.Map(lambda o: (o[5], (o[0], o[1], o[2])))
            | f"FirstLines[{split}]" >> beam.combiners.Top.SmallestPerKey(SAMPLE_SIZE)
            | f"SampleRow[{split}]" >> beam.MapTuple(lambda reason, first, split=split: json.dumps({
                "split": split, "reason": reason,
                "samples": [{"line": n, "source": s, "target": t} for n, s, t in first]}))
        )
    _ = all_counts | "AllCounts" >> beam.Flatten() | "WriteCounts" >> beam.io.WriteToText(counts_prefix)
    _ = all_samples | "AllSamples" >> beam.Flatten() | "WriteSamples" >> beam.io.WriteToText(samples_prefix)
