"""ParallelCorpusExampleGen: aligned source/target text files -> Examples with splits train/eval/test.

Each tf.Example has two bytes features, `source` and `target`, the raw lines (UTF-8). The files are read
and checked (existence, gzip integrity, UTF-8, equal line counts) before anything is written, so a bad
corpus fails here, before any other component runs.
"""
import logging

import apache_beam as beam
from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.dsl.component.experimental.annotations import BeamComponentParameter

from tfx_nmt.components import corpus
from tfx_nmt.components.examples_io import WriteSplit, make_text_example

SPLITS = tuple(corpus.SPLIT_FILE_STEMS)
log = logging.getLogger(__name__)


@tfx.dsl.components.component(use_beam=True)
def ParallelCorpusExampleGen(
    examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    data_dir: tfx.dsl.components.Parameter[str],
    source_language: tfx.dsl.components.Parameter[str] = "en",
    target_language: tfx.dsl.components.Parameter[str] = "de",
    max_train_pairs: tfx.dsl.components.Parameter[int] = 0,
    max_eval_pairs: tfx.dsl.components.Parameter[int] = 0,
    max_test_pairs: tfx.dsl.components.Parameter[int] = 0,
    corpus_fingerprint: tfx.dsl.components.Parameter[str] = "",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """Reads `<stem>.<language>[.gz]` files (stems in `corpus.SPLIT_FILE_STEMS`) into Examples.

    Args:
        examples: output; splits `train`, `eval`, `test` of tf.Examples {source, target}.
        data_dir: directory (local or any TensorFlow filesystem) holding the corpus files.
        source_language / target_language: file name language codes.
        max_*_pairs: keep the first N pairs of a split when N > 0.
        corpus_fingerprint: sizes and modification times of the files, so that the ML Metadata cache
            is not reused when a corpus file changes in place.

    Raises:
        corpus.CorpusError: a missing, truncated, non-UTF-8 or misaligned file.
    """
    del corpus_fingerprint  # Part of the cache key only.
    pairs = corpus.read_corpus(
        data_dir, source_language, target_language,
        {"train": max_train_pairs, "eval": max_eval_pairs, "test": max_test_pairs},
    )
    for split in SPLITS:
        log.info("ParallelCorpusExampleGen: %s: %d pairs read", split, len(pairs[split]))
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    with beam_pipeline as p:
        for split in SPLITS:
            _ = (
                p
                | f"Create[{split}]" >> beam.Create(pairs[split], reshuffle=False)
                | f"ToExample[{split}]" >> beam.MapTuple(
                    lambda s, t: make_text_example({"source": s, "target": t}))
                | f"Write[{split}]" >> WriteSplit(examples.uri, split)
            )
