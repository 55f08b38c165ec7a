"""The Beam transform of ParallelCorpusExampleGen: the files of one split -> serialized tf.Examples
{source, target, line_number}, streamed.

`ReadCorpusSplit` starts from one element, the split's files, and one DoFn reads the aligned pair of
files (or the TSV file) line by line (`corpus.SplitReader`), emitting the pairs as serialized Examples in
batches of MAX_BATCH_SIZE encodes; `WriteExamplesSplit` writes them to FILES_PER_SPLIT files in the same
step, without a shuffle (it says why). Neither corpus file can be split between workers: a gzip stream is
read from its start, and the line numbers of two aligned files come from reading both in step, so a
split is read and written by one worker, whatever the runner (a range-sharded read would read a gzip
file, or both files up to the shard's first line, once per shard); the later components read the split's
FILES_PER_SPLIT files on as many workers at once.

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

# The files a split is written to (WriteExamplesSplit): how many workers can read it at once later, as
# many as `--beam-workers 2` starts. Each file is a WriteToTFRecord of its own, whose small stages cost
# the in-process runner about 1.5 s a run (WriteExamplesSplit's docstring): a few files, not one for
# each worker of a cluster.
FILES_PER_SPLIT = 2
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
    """Writes serialized tf.Examples as one split of an Examples artifact: the GZIP TFRecord files
    `Split-<name>/data_tfrecord-<k>-*.gz` (TFX's ExampleGen layout, any number of files), FILES_PER_SPLIT of
    them, the records of a bundle dealt to them in turn, MAX_BATCH_SIZE at a time (`BlocksToFiles`), each
    file by a `beam.io.WriteToTFRecord` of its own.

    No GroupByKey on the way: the read is one DoFn call on one worker (module docstring), so a shuffle
    would only move the split through the runner, and the in-process DirectRunner (the FnApiRunner) holds
    a GroupByKey's whole input in memory. TFX's own `write_split.WriteSplit` reshuffles record by record:
    500,000 pairs peaked at 1,539 MB against 1,064 MB for 29,000; a reshuffle of lists of 1,024 records
    still held about 0.85 KB a pair (the read and the write alone, in a process without TensorFlow:
    200,000 pairs peaked 190 MB above the 229 MB of its imports, 400,000 358 MB; the component on 2,000,000,
    3,171 MB in all). Written in the read's step, the split streams (the same process, dealt to 4 files:
    23 MB and 25 MB above the imports; one WriteToTFRecord, 22 and 21 MB; the component on 2,000,000 pairs,
    1,028 MB in all, as on 29,000: BENCHMARKS.md, ingest at scale). The files, not a shuffle, spread
    the work of the later components: a GZIP file is read by one worker. Each file costs a WriteToTFRecord
    of its own: on
    Multi30k's three splits in process (read and write alone, medians of 3 alternated rounds on a loaded
    2-core machine) one file a split took 11.9 s, 2 files 16.3 s, 4 files 29.9 s (fastest round 19.6 s),
    the reshuffle in lists 20.6 s (fastest 11.1 s). In process each file holds its records in corpus
    order, the same run after run.
    """

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._artifact_uri = artifact_uri
        self._split = split

    def expand(self, records):
        names = [str(number) for number in range(FILES_PER_SPLIT)]
        parts = records | "ToFiles" >> beam.ParDo(BlocksToFiles()).with_outputs(*names)
        return [parts[name] | f"Write[{name}]" >> WriteSplit(self._artifact_uri, self._split, f"-{name}")
                for name in names]


class BlocksToFiles(beam.DoFn):
    """Deals the elements of a bundle to the outputs tagged "0" .. str(FILES_PER_SPLIT - 1) in turn,
    MAX_BATCH_SIZE at a time, in the order they come."""

    def start_bundle(self):
        self._count = 0

    def process(self, element) -> Iterator:
        yield beam.pvalue.TaggedOutput(str(self._count // MAX_BATCH_SIZE % FILES_PER_SPLIT), element)
        self._count += 1


def ingest_rows_by_split(rows: Sequence[Dict]) -> Dict[str, Dict]:
    """{split: row} of the rows ReadSplitPairs wrote (one per split), without the `split` key."""
    return {row["split"]: {k: v for k, v in row.items() if k != "split"} for row in rows}
