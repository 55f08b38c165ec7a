"""Reading and writing the splits of a TFX Examples artifact: `<uri>/Split-<name>/*.gz`, GZIP TFRecords of
serialized tf.train.Example, the layout TFX's own ExampleGen writes and StatisticsGen/Trainer read.
"""
from __future__ import annotations

import os
from typing import Dict, Iterator, List

import apache_beam as beam
import tensorflow as tf

RECORD_PREFIX = "data_tfrecord"
# int64 feature: the 1-based line of a pair in its corpus file, so that "the first N" rejected pairs and
# the test order survive Beam's unordered processing.
LINE_NUMBER = "line_number"


def split_uri(artifact_uri: str, split: str) -> str:
    """The directory of one split inside an Examples artifact."""
    return os.path.join(artifact_uri, f"Split-{split}")


def split_files(artifact_uri: str, split: str) -> List[str]:
    """Sorted paths of the TFRecord files of one split."""
    return sorted(tf.io.gfile.glob(os.path.join(split_uri(artifact_uri, split), "*")))


class WriteSplit(beam.PTransform):
    """Writes a PCollection of serialized tf.train.Example bytes as one split of an Examples artifact."""

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._prefix = os.path.join(split_uri(artifact_uri, split), RECORD_PREFIX)

    def expand(self, records):
        return records | beam.io.WriteToTFRecord(self._prefix, file_name_suffix=".gz")


class ReadSplit(beam.PTransform):
    """Reads one split of an Examples artifact as a PCollection of serialized tf.train.Example bytes."""

    def __init__(self, artifact_uri: str, split: str):
        super().__init__()
        self._pattern = os.path.join(split_uri(artifact_uri, split), "*")

    def expand(self, pipeline):
        return pipeline | beam.io.ReadFromTFRecord(self._pattern)


def iterate_examples(artifact_uri: str, split: str) -> Iterator[tf.train.Example]:
    """Yields the parsed tf.train.Examples of one split, in file order (eager, for small-to-medium splits)."""
    files = split_files(artifact_uri, split)
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        yield tf.train.Example.FromString(record)


def bytes_feature(example: tf.train.Example, name: str) -> bytes:
    """The single bytes value of feature `name`; b"" when the feature is absent or empty."""
    values = example.features.feature[name].bytes_list.value
    return values[0] if values else b""


def make_text_example(features: Dict[str, str]) -> bytes:
    """Serializes {name: text} as a tf.train.Example of single-valued UTF-8 bytes features."""
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode("utf-8")]))
        for name, text in features.items()
    })).SerializeToString()


def make_pair_example(line_number: int, source: str, target: str) -> bytes:
    """Serializes a sentence pair as a tf.Example: `source`, `target` (UTF-8 bytes) and `line_number` (int64)."""
    example = tf.train.Example()
    example.features.feature["source"].bytes_list.value.append(source.encode("utf-8"))
    example.features.feature["target"].bytes_list.value.append(target.encode("utf-8"))
    example.features.feature[LINE_NUMBER].int64_list.value.append(line_number)
    return example.SerializeToString()


def line_number(example: tf.train.Example) -> int:
    """The `line_number` feature of an example; 0 when it has none."""
    values = example.features.feature[LINE_NUMBER].int64_list.value
    return values[0] if values else 0
