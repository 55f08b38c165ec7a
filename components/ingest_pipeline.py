"""The Beam transform of ParallelCorpusExampleGen: the files of one split -> serialized tf.Examples
{source, target, line_number}, streamed.

`ReadCorpusSplit` starts from one element, the split's files, and one DoFn reads the aligned pair of
files (or the TSV file) line by line (`corpus.SplitReader`), emitting the pairs as serialized Examples in
batches of MAX_BATCH_SIZE encodes; `WriteExamplesSplit` reshuffles them in lists and writes them. Neither file can be split between workers: a gzip stream is
read from its start, and the line numbers of two aligned files come from reading both in step, so a
split is read by one worker, whatever the runner; what follows (writing, and every later component) is
spread over the workers.

What the read counted (lines, drops by reason, their first samples) and the error that stopped it, if
any, leave the pipeline as one row of data per split (`summary_rows`): a CorpusError raised inside a
DoFn would reach the executor only as the runner's text of a traceback (and a retried bundle would raise
it again), so the executor raises it from the row, as the same UserError.

This module imports neither TensorFlow nor TFX: Beam worker processes import it (see
`tests/pipeline/test_beam_workers.py`).
"""
from typing import Dict, Iterator, List, Sequence

import apache_beam as beam

from tfx_nmt.components import corpus
from tfx_nmt.components.examples_io import MAX_BATCH_SIZE, WriteSplit, pair_examples
from tfx_nmt.components.summary_rows import WriteRows

# The tag of ReadSplitPairs' output of one row per split: {split, files, lines, dropped, samples, error}.
INGEST = "ingest"


class ReadSplitPairs(beam.DoFn):
    """(split, paths) -> serialized tf.Examples {source, target, line_number} of the split's pairs, in
    file order; INGEST output: one row, the split's `SplitIngest.report()` with `split` and `error` (the
    CorpusError's message, or None)."""

    def __init__(self, max_pairs: int, on_bad_line: str):
        super().__init__()
        self._max_pairs = max_pairs
        self._on_bad_line = on_bad_line

    def process(self, element) -> Iterator:
        split, paths = element
        reader = corpus.SplitReader(split, paths, self._max_pairs, self._on_bad_line)
        error = None
        batch: List[corpus.Pair] = []
        try:
            for pair in reader:
                batch.append(pair)
                if len(batch) == MAX_BATCH_SIZE:
                    yield from pair_examples(batch)
                    batch = []
            if batch:
                yield from pair_examples(batch)
        except corpus.CorpusError as e:
            error = str(e)
        yield beam.pvalue.TaggedOutput(INGEST, {"split": split, **reader.ingest.report(), "error": error})


class ReadCorpusSplit(beam.PTransform):
    """Reads one split's files (`corpus.find_split_files`) into a PCollection of serialized tf.Examples;
    writes the split's ingest row with `summary_rows.WriteRows(rows_prefix)`.

    Args:
        split: the split's name.
        paths: (source file, target file) or (TSV file,).
        max_pairs: keep the first N lines when N > 0.
        on_bad_line: `error` or `drop` (`corpus.SplitReader`).
        rows_prefix: where the ingest row goes (in files starting with `<rows_prefix>-<split>`);
            `summary_rows.read_rows(rows_prefix)` reads back those of every split.
    """

    def __init__(self, split: str, paths: Sequence[str], max_pairs: int, on_bad_line: str, rows_prefix: str):
        super().__init__()
        self._element = (split, tuple(paths))
        self._read = ReadSplitPairs(max_pairs, on_bad_line)
        self._rows_prefix = f"{rows_prefix}-{split}"

    def expand(self, pipeline):
        outputs = (pipeline
                   | "Files" >> beam.Create([self._element])
                   | "Read" >> beam.ParDo(self._read).with_outputs(INGEST, main="examples"))
        _ = outputs[INGEST] | "WriteIngestRow" >> WriteRows(self._rows_prefix)
        return outputs.examples


class WriteExamplesSplit(beam.PTransform):
    """Writes serialized tf.Examples as one split of an Examples artifact (`examples_io.WriteSplit`: the
    `Split-<name>/data_tfrecord-*.gz` files TFX's ExampleGen writes), reshuffled in lists of MAX_BATCH_SIZE
    records, so that the writes, and the readers of the split's files, spread over the workers.

    TFX's own `write_split.WriteSplit` reshuffles record by record; on the DirectRunner in process that
    GroupByKey holds every record of the split under a random key of its own, about 950 bytes a pair:
    500,000 pairs peaked at 1,539 MB against 1,064 MB for 29,000 (BENCHMARKS.md, ingest at scale). In
    lists, it holds little more than the records' bytes.
    """

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._artifact_uri = artifact_uri
        self._split = split

    def expand(self, records):
        return (records
                | "Batch" >> beam.BatchElements(min_batch_size=MAX_BATCH_SIZE, max_batch_size=MAX_BATCH_SIZE)
                | "Shuffle" >> beam.Reshuffle()
                | "Unbatch" >> beam.FlatMap(lambda batch: batch)
                | "Write" >> WriteSplit(self._artifact_uri, self._split))


def ingest_rows_by_split(rows: Sequence[Dict]) -> Dict[str, Dict]:
    """{split: row} of the rows ReadSplitPairs wrote (one per split), without the `split` key."""
    return {row["split"]: {k: v for k, v in row.items() if k != "split"} for row in rows}
