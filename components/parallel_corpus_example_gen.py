"""ParallelCorpusExampleGen: a parallel corpus (aligned source/target files or `source<TAB>target` TSV, per
split) -> Examples with splits train/eval/test.

Each tf.Example has two bytes features, `source` and `target`, the raw lines (UTF-8), and `line_number`
(int64), the pair's 1-based line in its file. The files are read and checked (existence, gzip integrity,
UTF-8, equal line counts, TSV columns) before anything is written, so a bad corpus fails here, before any
other component runs. With `on_bad_line="drop"` the bad pairs of train and eval are dropped instead (never
those of test), and their counts and first samples go to `ingest_report.json` in the artifact, which
TextCleaner adds to the CleaningReport.
"""
import json
import logging
import os
from typing import Dict

import apache_beam as beam
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.dsl.component.experimental.annotations import BeamComponentParameter

from tfx_nmt.components import corpus
from tfx_nmt.components.examples_io import WritePairs
from tfx_nmt.contract import INGEST_REPORT_FILE

SPLITS = tuple(corpus.SPLIT_FILE_STEMS)
log = logging.getLogger(__name__)


def ingest_report(splits: Dict[str, corpus.SplitCorpus]) -> Dict[str, Dict]:
    """{split: {files, lines, dropped: {reason: count}, samples: {reason: [{line, source, target}]}}}."""
    return {split: {"files": list(entry.paths), "lines": entry.num_lines, "dropped": entry.dropped,
                    "samples": entry.samples} for split, entry in splits.items()}


def read_ingest_report(examples_uri: str) -> Dict[str, Dict]:
    """The `ingest_report.json` of an Examples artifact; {} when it has none."""
    path = os.path.join(examples_uri, INGEST_REPORT_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


@tfx.dsl.components.component(use_beam=True)
def ParallelCorpusExampleGen(
    examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    data_dir: tfx.dsl.components.Parameter[str],
    source_language: tfx.dsl.components.Parameter[str] = "en",
    target_language: tfx.dsl.components.Parameter[str] = "de",
    max_train_pairs: tfx.dsl.components.Parameter[int] = 0,
    max_eval_pairs: tfx.dsl.components.Parameter[int] = 0,
    max_test_pairs: tfx.dsl.components.Parameter[int] = 0,
    on_bad_line: tfx.dsl.components.Parameter[str] = "error",
    corpus_fingerprint: tfx.dsl.components.Parameter[str] = "",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """Reads the corpus files of every split (see `corpus.find_split_files`) into Examples.

    Args:
        examples: output; splits `train`, `eval`, `test` of tf.Examples {source, target, line_number},
            plus `ingest_report.json`.
        data_dir: directory (local or any TensorFlow filesystem) holding the corpus files.
        source_language / target_language: file name language codes.
        max_*_pairs: keep the first N lines of a split when N > 0.
        on_bad_line: `error` (default) or `drop`: what to do with a line of train or eval that is not
            UTF-8 or a TSV row without exactly one tab; in test such a line is always an error.
        corpus_fingerprint: sizes and modification times of the files, so that the ML Metadata cache
            is not reused when a corpus file changes in place.

    Raises:
        corpus.CorpusError: a missing, truncated, non-UTF-8 or misaligned file, gzip data under a name
            without `.gz`, a bad TSV row, or a split left without any pair.
    """
    del corpus_fingerprint  # Part of the cache key only.
    splits = corpus.read_corpus_splits(
        data_dir, source_language, target_language,
        {"train": max_train_pairs, "eval": max_eval_pairs, "test": max_test_pairs}, on_bad_line)
    for split in SPLITS:
        dropped = {k: v for k, v in splits[split].dropped.items() if v}
        log.info("ParallelCorpusExampleGen: %s: %d pairs read%s", split, len(splits[split].pairs),
                 f", dropped {dropped}" if dropped else "")
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    with tf.io.gfile.GFile(os.path.join(examples.uri, INGEST_REPORT_FILE), "w") as f:
        json.dump(ingest_report(splits), f, indent=2, ensure_ascii=False)
    with beam_pipeline as p:
        for split in SPLITS:
            _ = p | f"Write[{split}]" >> WritePairs(splits[split].pairs, examples.uri, split)
