"""Reading Examples artifacts: the batch decoding the Beam DoFns use."""
import pyarrow as pa

from tf_examples import make_pair_example, make_text_example
from tfx_nmt.components.examples_io import LINE_NUMBER, decode_examples, encode_examples, first_values


def test_first_values_of_examples_with_one_value_each():
    batch = decode_examples([make_pair_example(7, "a dog", "ein Hund"), make_pair_example(9, "", "Katze")])
    assert first_values(batch, "source", b"?") == [b"a dog", b""]
    assert first_values(batch, "target", b"?") == [b"ein Hund", b"Katze"]
    assert first_values(batch, LINE_NUMBER, 0) == [7, 9]
    assert first_values(batch, "absent", b"?") == [b"?", b"?"]


def test_first_values_of_rows_without_values_or_with_several():
    several = encode_examples(pa.RecordBatch.from_arrays(
        [pa.array([[b"first", b"second"]], pa.list_(pa.binary())), pa.array([[4, 5]], pa.list_(pa.int64()))],
        ["source", LINE_NUMBER]))[0]
    empty = encode_examples(pa.RecordBatch.from_arrays(
        [pa.array([[]], pa.list_(pa.binary())), pa.array([[]], pa.list_(pa.int64()))], ["source", LINE_NUMBER]))[0]
    batch = decode_examples([several, make_text_example({"target": "nur Ziel"}), empty])
    assert first_values(batch, "source", b"") == [b"first", b"", b""]
    assert first_values(batch, LINE_NUMBER, 0) == [4, 0, 0]
    assert first_values(batch, "target", b"") == [b"", b"nur Ziel", b""]
