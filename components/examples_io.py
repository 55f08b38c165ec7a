"""Reading and writing the splits of a TFX Examples artifact: `<uri>/Split-<name>/*.gz`, GZIP TFRecords of
serialized tf.train.Example, the layout TFX's own ExampleGen writes and StatisticsGen/Trainer read.

tf.train.Examples are parsed and serialized with tfx_bsl's coders (C++, over Apache Arrow), not with
TensorFlow's protobuf classes: Beam worker processes import this module, and importing TensorFlow (and
TFX) would add seconds to the start of every worker of every Beam pipeline (BENCHMARKS.md, data
components). Only `iterate_examples`, which runs in the launching process, reads with TensorFlow.
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems
from tfx_bsl.coders import example_coder

RECORD_PREFIX = "data_tfrecord"
# int64 feature: the 1-based line of a pair in its corpus file, so that "the first N" rejected pairs and
# the test order survive Beam's unordered processing.
LINE_NUMBER = "line_number"
# Examples encoded (or decoded) per call in Beam: the coders work on batches.
MAX_BATCH_SIZE = 1024
# Parsed tf.train.Example: feature name -> values (np.ndarray of bytes objects or of int64; None for a
# feature present without values).
Features = Dict[str, Optional[np.ndarray]]


def split_uri(artifact_uri: str, split: str) -> str:
    """The directory of one split inside an Examples artifact."""
    return os.path.join(artifact_uri, f"Split-{split}")


def split_files(artifact_uri: str, split: str) -> List[str]:
    """Sorted paths of the TFRecord files of one split (any filesystem Beam knows: local, gs://)."""
    pattern = os.path.join(split_uri(artifact_uri, split), "*")
    return sorted(m.path for result in FileSystems.match([pattern]) for m in result.metadata_list)


class WriteSplit(beam.PTransform):
    """Writes a PCollection of serialized tf.train.Example bytes as one split of an Examples artifact, in
    files `Split-<split>/data_tfrecord<suffix>-<shard>-of-<shards>.gz` (one per bundle).

    Args:
        artifact_uri: the Examples artifact's directory.
        split: the split's name.
        suffix: after RECORD_PREFIX in the file names, to write one split with several transforms.
    """

    def __init__(self, artifact_uri: str, split: str, suffix: str = ""):
        super().__init__()
        self._prefix = os.path.join(split_uri(artifact_uri, split), RECORD_PREFIX + suffix)

    def expand(self, records):
        return records | beam.io.WriteToTFRecord(self._prefix, file_name_suffix=".gz")


class ReadSplit(beam.PTransform):
    """Reads one split of an Examples artifact as a PCollection of serialized tf.train.Example bytes."""

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._pattern = os.path.join(split_uri(artifact_uri, split), "*")

    def expand(self, pipeline):
        return pipeline | beam.io.ReadFromTFRecord(self._pattern)


class ReadSplitBatches(beam.PTransform):
    """Reads one split of an Examples artifact as a PCollection of lists of serialized tf.train.Example
    bytes, MAX_BATCH_SIZE per list (fewer in the last list of a bundle), for DoFns that decode a batch at
    a time (`first_values`): in Beam each element costs a step of its own."""

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._artifact_uri = artifact_uri
        self._split = split

    def expand(self, pipeline):
        return (pipeline
                | ReadSplit(self._artifact_uri, self._split)
                | beam.BatchElements(min_batch_size=MAX_BATCH_SIZE, max_batch_size=MAX_BATCH_SIZE))


def decode_examples(records: List[bytes]) -> pa.RecordBatch:
    """Serialized tf.train.Examples -> one row each, one list column per feature any of them has
    (tfx_bsl's `ExamplesToRecordBatchDecoder`, without a schema); read a column with `first_values`."""
    return example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(records)


def first_values(batch: pa.RecordBatch, name: str, default) -> list:
    """The first value of feature `name` in each row of `batch` (from `decode_examples`), as a list:
    bytes for a bytes feature, int for an int64 feature; `default` for a row without values, and for
    every row when no Example of the batch has the feature."""
    if name not in batch.schema.names:
        return [default] * batch.num_rows
    column = batch.column(name)
    if column.null_count == 0 and pc.all(pc.equal(pc.list_value_length(column), 1)).as_py() is not False:
        return column.flatten().to_pylist()
    return [values[0] if values else default for values in column.to_pylist()]


def parse_example(record: bytes) -> Features:
    """The features of one serialized tf.train.Example (tfx_bsl's `ExampleToNumpyDict`)."""
    return example_coder.ExampleToNumpyDict(record)


def iterate_examples(artifact_uri: str, split: str) -> Iterator[Features]:
    """Yields the parsed Examples of one split (see `parse_example`), in file order (eager, for
    small-to-medium splits). Records are read in batches of MAX_BATCH_SIZE: one eager tf.data step per
    record cost 8 s on the 29,000-pair train split on a 2-core CPU, batches 0.5 s."""
    # Imported here: the launching process has TensorFlow loaded already; Beam workers never call this.
    import tensorflow as tf

    files = split_files(artifact_uri, split)
    batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(MAX_BATCH_SIZE)
    for batch in batches.as_numpy_iterator():
        for record in batch:
            yield parse_example(record)


def bytes_feature(example: Features, name: str) -> bytes:
    """The first bytes value of feature `name`; b"" when the feature is absent or empty."""
    values = example.get(name)
    return values[0] if values is not None and len(values) else b""


def int64_feature(example: Features, name: str) -> List[int]:
    """The int64 values of feature `name`; [] when the feature is absent or empty."""
    values = example.get(name)
    return [] if values is None else [int(v) for v in values]


def line_number(example: Features) -> int:
    """The `line_number` feature of an example; 0 when it has none."""
    numbers = int64_feature(example, LINE_NUMBER)
    return numbers[0] if numbers else 0


def encode_examples(batch: pa.RecordBatch) -> List[bytes]:
    """Serializes each row of `batch` as a tf.train.Example (tfx_bsl's `RecordBatchToExamplesEncoder`).

    Args:
        batch: one column per feature, each a list array: of binary for a bytes_list, of int64 for an
            int64_list; a null row is a feature without values.

    Returns:
        One serialized tf.train.Example per row, in row order.
    """
    return example_coder.RecordBatchToExamplesEncoder().encode(batch)


def _text_column(texts: Iterable[str]) -> pa.Array:
    """One single-valued bytes feature per text (UTF-8), as a column for `encode_examples`."""
    return pa.array([[text.encode("utf-8")] for text in texts], pa.list_(pa.binary()))


def pair_examples(pairs: Sequence[Tuple[int, str, str]]) -> List[bytes]:
    """Serializes (line number, source, target) pairs as tf.Examples: `source`, `target` (UTF-8 bytes)
    and `line_number` (int64)."""
    return encode_examples(pa.RecordBatch.from_arrays([
        _text_column(s for _, s, _ in pairs),
        _text_column(t for _, _, t in pairs),
        pa.array([[n] for n, _, _ in pairs], pa.list_(pa.int64())),
    ], ["source", "target", LINE_NUMBER]))

