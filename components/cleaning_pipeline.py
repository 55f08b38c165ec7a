"""The Beam pipeline of the TextCleaner component: normalize, filter and deduplicate every split.

The train split's `test_overlap` rule needs the sources of the eval and test splits: their `CleanPairs`
emit their normalized sources, which a `ToSet` gathers into one set that the train split's `CleanPairs`
takes as a side input (`AsSingleton`), built once per bundle in each worker; held-out splits are small
(thousands of pairs), so the set is too, whatever the size of the train split. Nothing leaves the
pipeline for it, and the eval and test splits are read once.

Counts and samples come back to the executor as rows of data (`summary_rows`, which says why).

This module and what it imports (the rules in `cleaning`, the coders in `examples_io`) import neither
TensorFlow nor TFX: Beam worker processes import it to run its functions, and those imports would add
seconds to the start of every worker (BENCHMARKS.md, data components). `tests/pipeline/test_beam_workers.py`
checks it.
"""
import collections
import zlib
from typing import AbstractSet, Iterable, Iterator, List, Optional, Tuple

import apache_beam as beam

from tfx_nmt.components.cleaning import KEPT, SAMPLE_SIZE, CleaningRules, PairCleaner
from tfx_nmt.components.examples_io import (LINE_NUMBER, MAX_BATCH_SIZE, ReadSplitBatches, WriteSplit, decode_examples,
                                            first_values, pair_examples)
from tfx_nmt.components.summary_rows import COUNTS, WriteRows, bundle_counts
from tfx_nmt.contract import is_test_split

FILTERED_SPLITS = ("train", "eval")
DEDUPLICATED_SPLITS = ("train",)
# Pairs of OVERLAP_SPLITS whose source is a source of HELD_OUT_SPLITS (or of a further test set,
# `contract.is_test_split`) are dropped (`test_overlap`).
HELD_OUT_SPLITS = ("eval", "test")
OVERLAP_SPLITS = ("train",)
# Kept pairs go to deduplication in this many groups, by a hash of the clean pair, so that copies of a
# pair meet in one group: Beam moves a few lists per batch between workers instead of one element per
# pair. A group holds 1/DEDUPLICATION_GROUPS of the split in one worker's memory (about 0.3 MB of Multi30k's
# train split; about 300 MB of a 30-million-pair corpus), and at most DEDUPLICATION_GROUPS
# workers deduplicate in parallel.
DEDUPLICATION_GROUPS = 32
# The tag of the rejected pairs' output of CleanPairs and FirstCopies (the other is summary_rows.COUNTS).
REJECTED = "rejected"
# The tag of CleanPairs' output of normalized sources, on the held-out splits.
SOURCES = "sources"
# A kept pair on its way to deduplication: (line number, clean source, clean target, raw source, raw
# target); a raw text is None where it equals the clean one, which is most pairs.
KeptPair = Tuple[int, str, str, Optional[str], Optional[str]]


def deduplication_group(source: str, target: str) -> int:
    """The group, in [0, DEDUPLICATION_GROUPS), of a clean pair: the same in every worker process
    (Python's `hash` of a str is not)."""
    return zlib.crc32(source.encode("utf-8") + b"\t" + target.encode("utf-8")) % DEDUPLICATION_GROUPS


class CleanPairs(beam.DoFn):
    """Normalizes and filters batches of serialized pairs (`cleaning.PairCleaner`), with every outcome in
    one step.

    Input: lists of serialized tf.Examples {source, target, line_number} (`ReadSplitBatches`); side
        input `held_out_sources` (train, with `drop_test_overlap`): the set of normalized eval and test
        sources.
    Outputs:
        main: without `deduplicate`, the kept pairs as serialized tf.Examples {source, target,
            line_number} (clean texts); with it, (group, [KeptPair, ...]) per `deduplication_group`
            present in the batch, for `FirstCopies`.
        REJECTED: (reason, (line number, raw source, raw target)) of a dropped pair.
        COUNTS: (outcome, count) per bundle, each outcome ("kept" or a reason) once.
        SOURCES: with `emit_sources`, the list of the batch's normalized sources.
    """

    def __init__(self, rules: CleaningRules, filter_pairs: bool, deduplicate: bool, emit_sources: bool = False):
        super().__init__()
        self._rules = rules
        self._filter_pairs = filter_pairs
        self._deduplicate = deduplicate
        self._emit_sources = emit_sources
        self._cleaner: Optional[PairCleaner] = None
        self._counts = collections.Counter()

    def setup(self):
        # Loads the language identifier's model once per DoFn instance, not once per bundle.
        self._cleaner = PairCleaner(self._rules)

    def start_bundle(self):
        self._counts = collections.Counter()

    def process(self, records: List[bytes], held_out_sources: Optional[AbstractSet[str]] = None) -> Iterator:
        batch = decode_examples(records)
        numbers = first_values(batch, LINE_NUMBER, 0)
        raw = [(source.decode("utf-8"), target.decode("utf-8"))
               for source, target in zip(first_values(batch, "source", b""), first_values(batch, "target", b""))]
        cleaned = self._cleaner.clean(raw, self._filter_pairs, held_out_sources)
        if self._emit_sources:
            yield beam.pvalue.TaggedOutput(SOURCES, [clean_source for clean_source, _, _ in cleaned])
        kept, groups = [], collections.defaultdict(list)
        for number, (source, target), (clean_source, clean_target, outcome) in zip(numbers, raw, cleaned):
            self._counts[outcome] += 1
            if outcome != KEPT:
                yield beam.pvalue.TaggedOutput(REJECTED, (outcome, (number, source, target)))
            elif self._deduplicate:
                groups[deduplication_group(clean_source, clean_target)].append(
                    (number, clean_source, clean_target, None if source == clean_source else source,
                     None if target == clean_target else target))
            else:
                kept.append((number, clean_source, clean_target))
        if kept:
            yield from pair_examples(kept)
        yield from groups.items()

    def finish_bundle(self) -> Iterator:
        yield from bundle_counts(self._counts)


class FirstCopies(beam.DoFn):
    """Deduplicates the kept pairs of one `deduplication_group`: of each clean pair, keeps the copy with
    the lowest line number (of copies on the same line number, the one whose raw texts sort first).

    Input: (group, lists of KeptPair from `CleanPairs`).
    Outputs:
        main: the first copies, as serialized tf.Examples {source, target, line_number} (clean texts).
        REJECTED: ("duplicate", (line number, raw source, raw target)) of every other copy.
        COUNTS: ("duplicate", count) per bundle.
    """

    def __init__(self):
        super().__init__()
        self._counts = collections.Counter()

    def start_bundle(self):
        self._counts = collections.Counter()

    def process(self, group: Tuple[int, Iterable[List[KeptPair]]]) -> Iterator:
        # Copies in order of (line number, raw source, raw target), as the samples show them: the same
        # first copy whatever order the GroupByKey hands the lists over, line numbers tied (0 when the
        # Examples have none) or not.
        copies = [(number, source, target, source if raw_source is None else raw_source,
                   target if raw_target is None else raw_target)
                  for pairs in group[1] for number, source, target, raw_source, raw_target in pairs]
        copies.sort(key=lambda copy: (copy[0], copy[3], copy[4]))
        first, seen = [], set()
        for number, source, target, raw_source, raw_target in copies:
            if (source, target) in seen:
                self._counts["duplicate"] += 1
                yield beam.pvalue.TaggedOutput(REJECTED, ("duplicate", (number, raw_source, raw_target)))
                continue
            seen.add((source, target))
            first.append((number, source, target))
            if len(first) == MAX_BATCH_SIZE:
                yield from pair_examples(first)
                first = []
        if first:
            yield from pair_examples(first)

    def finish_bundle(self) -> Iterator:
        yield from bundle_counts(self._counts)


def clean_examples(pipeline: beam.Pipeline, examples_uri: str, cleaned_uri: str, splits: List[str],
                   rules: CleaningRules, counts_prefix: str, samples_prefix: str) -> None:
    """Adds the cleaning of every split to `pipeline` (run it to execute).

    Writes the cleaned splits under `cleaned_uri` (tf.Examples {source, target, line_number}),
    `{split, outcome, count}` JSON lines to files starting with `counts_prefix` (`kept` counts the pairs
    the filter kept, before deduplication; `duplicate` the copies dropped after it) and
    `{split, reason, samples}` JSON lines (the first SAMPLE_SIZE rejected pairs per reason, by line
    number) to files starting with `samples_prefix`; read both with `summary_rows.read_rows`.
    """
    all_counts, all_samples = [], []
    held_out = ([split for split in splits if split in HELD_OUT_SPLITS or is_test_split(split)]
                if rules.drop_test_overlap else [])
    held_out_sources, held_out_set = [], None
    # The held-out splits first: the train split's CleanPairs takes their sources as a side input.
    for split in held_out + [split for split in splits if split not in held_out]:
        deduplicate = rules.deduplicate and split in DEDUPLICATED_SPLITS
        clean_pairs = CleanPairs(rules, split in FILTERED_SPLITS, deduplicate, emit_sources=split in held_out)
        side_inputs = {}
        if held_out and split in OVERLAP_SPLITS:
            if held_out_set is None:
                held_out_set = beam.pvalue.AsSingleton(
                    held_out_sources
                    | "AllHeldOutSources" >> beam.Flatten()
                    | "HeldOutSources" >> beam.FlatMap(lambda sources: sources)
                    | "HeldOutSourceSet" >> beam.combiners.ToSet())
            side_inputs["held_out_sources"] = held_out_set
        cleaned = (
            pipeline
            | f"Read[{split}]" >> ReadSplitBatches(examples_uri, split)
            | f"Clean[{split}]" >> beam.ParDo(clean_pairs, **side_inputs).with_outputs(REJECTED, COUNTS, SOURCES,
                                                                                     main="kept")
        )
        if split in held_out:
            held_out_sources.append(cleaned[SOURCES])
        kept, rejected, outcome_counts = cleaned.kept, cleaned[REJECTED], cleaned[COUNTS]
        if deduplicate:
            unique = (
                kept
                | f"GroupPairs[{split}]" >> beam.GroupByKey()
                | f"FirstCopies[{split}]" >> beam.ParDo(FirstCopies()).with_outputs(REJECTED, COUNTS, main="unique")
            )
            kept = unique.unique
            outcome_counts = (outcome_counts, unique[COUNTS]) | f"MergeCounts[{split}]" >> beam.Flatten()
            rejected = (rejected, unique[REJECTED]) | f"AllRejected[{split}]" >> beam.Flatten()
        _ = kept | f"Write[{split}]" >> WriteSplit(cleaned_uri, split)
        all_counts.append(
            outcome_counts
            | f"Sum[{split}]" >> beam.CombinePerKey(sum)
            | f"Row[{split}]" >> beam.MapTuple(
                lambda outcome, n, split=split: {"split": split, "outcome": outcome, "count": n})
        )
        all_samples.append(
            rejected
            | f"FirstLines[{split}]" >> beam.combiners.Top.SmallestPerKey(SAMPLE_SIZE)
            | f"SampleRow[{split}]" >> beam.MapTuple(lambda reason, first, split=split: {
                "split": split, "reason": reason,
                "samples": [{"line": n, "source": s, "target": t} for n, s, t in first]})
        )
    _ = all_counts | "AllCounts" >> beam.Flatten() | "WriteCounts" >> WriteRows(counts_prefix)
    _ = all_samples | "AllSamples" >> beam.Flatten() | "WriteSamples" >> WriteRows(samples_prefix)
