"""Reading and writing Examples artifacts: the batch decoding the Beam DoFns use, and ExampleGen's writer."""
import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from tf_examples import make_pair_example, make_text_example
from tfx_nmt.components.examples_io import (LINE_NUMBER, WritePairs, bytes_feature, decode_examples, encode_examples,
                                            first_values, iterate_examples, line_number, split_files)
from tfx_nmt.pipeline.local_runner import direct_runner_args


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


def _write_pairs(uri, pairs, workers):
    """The pairs WritePairs wrote, in file order."""
    with beam.Pipeline(options=PipelineOptions(direct_runner_args(workers))) as p:
        _ = p | WritePairs(pairs, uri, "train")
    return [(line_number(e), bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
            for e in iterate_examples(uri, "train")]


def test_example_gen_writes_the_corpus_order_in_process_and_a_file_per_worker_on_two(tmp_path):
    """In process the records keep the corpus order run after run (the Trainer's seeded shuffle then gives
    the same batches); on 2 workers each writes a file."""
    pairs = [(number, f"source {number}", f"Ziel {number}") for number in range(1, 5001)]
    for run in ("one", "one-again"):
        assert _write_pairs(str(tmp_path / run), pairs, 1) == pairs
        assert len(split_files(str(tmp_path / run), "train")) == 1
    assert sorted(_write_pairs(str(tmp_path / "two"), pairs, 2)) == pairs
    assert len(split_files(str(tmp_path / "two"), "train")) == 2
