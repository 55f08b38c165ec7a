"""Single tf.train.Examples for the tests' hand-written TFRecord files, serialized as ParallelCorpusExampleGen
and the components write them (`tfx_nmt.components.examples_io`)."""
from typing import Dict

import pyarrow as pa

from tfx_nmt.components.examples_io import encode_examples, pair_examples


def make_pair_example(line_number: int, source: str, target: str) -> bytes:
    """One pair as a serialized tf.Example: `source`, `target` (UTF-8 bytes) and `line_number` (int64), as
    `pair_examples` writes many."""
    return pair_examples([(line_number, source, target)])[0]


def make_text_example(features: Dict[str, str]) -> bytes:
    """Serializes {name: text} as a tf.train.Example of single-valued UTF-8 bytes features."""
    columns = [pa.array([[text.encode("utf-8")]], pa.list_(pa.binary())) for text in features.values()]
    return encode_examples(pa.RecordBatch.from_arrays(columns, list(features)))[0]
