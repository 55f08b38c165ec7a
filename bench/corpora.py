"""The (source, target) text pairs of a corpus directory's splits, and raw Examples written from pairs held
in memory, for the bench scripts and the tests.

`tfx_nmt.components.corpus.read_corpus_splits` reads a corpus as the pipeline does, keeping each pair's
line number and the drop counts for the cleaning report; benchmarks and test fixtures only need the
texts.
"""
from typing import Dict, List, Sequence, Tuple

import apache_beam as beam

from tfx_nmt.components.corpus import read_corpus_splits
from tfx_nmt.components.examples_io import MAX_BATCH_SIZE, pair_examples
from tfx_nmt.components.ingest_pipeline import WriteExamplesSplit


def read_corpus(data_dir: str, source: str, target: str,
                max_pairs: Dict[str, int]) -> Dict[str, List[Tuple[str, str]]]:
    """The (source, target) pairs of every split (`train`, `eval`, `test`), in file order; `max_pairs`
    keeps only the first N lines of a split when N > 0 (see `read_corpus_splits`).

    Raises:
        CorpusError: as `read_corpus_splits`, for any bad line.
    """
    return {split: [(s, t) for _, s, t in entry.pairs]
            for split, entry in read_corpus_splits(data_dir, source, target, max_pairs).items()}


class WritePairs(beam.PTransform):
    """Writes (line number, source, target) tuples held in memory as one split of an Examples artifact, as
    ParallelCorpusExampleGen writes the pairs it reads (`ingest_pipeline.WriteExamplesSplit`), for
    benchmarks and tests that start from pairs they made, not from corpus files. The pipeline itself never
    holds a split in memory: ParallelCorpusExampleGen streams it from the files.

    The pairs enter Beam in lists of MAX_BATCH_SIZE (`beam.Create`), encoded a list at a time.
    """

    def __init__(self, pairs: Sequence[Tuple[int, str, str]], artifact_uri: str, split: str):
        super().__init__()
        self._chunks = [pairs[i:i + MAX_BATCH_SIZE] for i in range(0, len(pairs), MAX_BATCH_SIZE)]
        self._artifact_uri = artifact_uri
        self._split = split

    def expand(self, pipeline):
        return (pipeline
                | beam.Create(self._chunks)
                | beam.FlatMap(pair_examples)
                | WriteExamplesSplit(self._artifact_uri, self._split))
