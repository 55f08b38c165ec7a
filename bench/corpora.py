"""The (source, target) text pairs of a corpus directory's splits, for the bench scripts and the tests.

`tfx_nmt.components.corpus.read_corpus_splits` reads a corpus as the pipeline does, keeping each pair's
line number and the drop counts for the cleaning report; benchmarks and test fixtures only need the
texts.
"""
from typing import Dict, List, Tuple

from tfx_nmt.components.corpus import read_corpus_splits


def read_corpus(data_dir: str, source: str, target: str,
                max_pairs: Dict[str, int]) -> Dict[str, List[Tuple[str, str]]]:
    """The (source, target) pairs of every split (`train`, `eval`, `test`), in file order; `max_pairs`
    keeps only the first N lines of a split when N > 0 (see `read_corpus_splits`).

    Raises:
        CorpusError: as `read_corpus_splits`, for any bad line.
    """
    return {split: [(s, t) for _, s, t in entry.pairs]
            for split, entry in read_corpus_splits(data_dir, source, target, max_pairs).items()}
