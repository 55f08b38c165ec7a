"""ParallelCorpusExampleGen's writer: the files of a split, in process and on 2 worker processes."""
import os

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from tfx_nmt.components.examples_io import (MAX_BATCH_SIZE, bytes_feature, line_number, pair_examples, parse_example,
                                            split_files)
from tfx_nmt.components.ingest_pipeline import FILES_PER_SPLIT, WriteExamplesSplit
from tfx_nmt.pipeline.local_runner import direct_runner_args

PAIRS = [(number, f"source {number}", f"Ziel {number}") for number in range(1, 5001)]


def _write(uri, workers):
    """{file name: the pairs it holds, in file order} of the split WriteExamplesSplit wrote from PAIRS."""
    with beam.Pipeline(options=PipelineOptions(direct_runner_args(workers))) as p:
        _ = p | beam.Create([PAIRS]) | beam.FlatMap(pair_examples) | WriteExamplesSplit(uri, "train")
    import tensorflow as tf

    written = {}
    for path in split_files(uri, "train"):
        records = tf.data.TFRecordDataset([path], compression_type="GZIP").as_numpy_iterator()
        examples = [parse_example(record) for record in records]
        written[os.path.basename(path)] = [(line_number(e), bytes_feature(e, "source").decode(),
                                            bytes_feature(e, "target").decode()) for e in examples]
    return written


def test_a_split_is_dealt_to_its_files_in_blocks_each_in_corpus_order_in_process(tmp_path):
    """The same files run after run (the Trainer's seeded shuffle then gives the same batches)."""
    expected = {f"data_tfrecord-{number}-00000-of-00001.gz":
                [pair for index, pair in enumerate(PAIRS) if index // MAX_BATCH_SIZE % FILES_PER_SPLIT == number]
                for number in range(FILES_PER_SPLIT)}
    assert [len(pairs) for pairs in expected.values()] == [1024 + 1024 + 904, 1024 + 1024]  # 5,000 pairs.
    for run in ("one", "one-again"):
        assert _write(str(tmp_path / run), 1) == expected


def test_two_workers_write_the_same_pairs(tmp_path):
    written = _write(str(tmp_path / "two"), 2)
    assert sorted(pair for pairs in written.values() for pair in pairs) == PAIRS
    assert {name.split("-")[1] for name in written} == {str(number) for number in range(FILES_PER_SPLIT)}
