"""TFDV anomalies, as ExampleValidator writes them, become one readable message that stops the run."""
import os

import tensorflow as tf
import tensorflow_data_validation as tfdv

from tf_examples import make_pair_example
from tfx_nmt.components.text_cleaner import read_anomalies


def _statistics(tmp_path, name, examples):
    path = str(tmp_path / f"{name}.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for example in examples:
            writer.write(example.SerializeToString())
    return tfdv.generate_statistics_from_tfrecord(path)


def test_missing_target_and_empty_split_are_named(tmp_path):
    pairs = [tf.train.Example.FromString(make_pair_example(i, f"s{i} x", f"t{i} y")) for i in range(1, 301)]
    no_target = []
    for example in pairs[:50]:
        copy = tf.train.Example()
        copy.CopyFrom(example)
        del copy.features.feature["target"]
        no_target.append(copy)
    schema = tfdv.infer_schema(_statistics(tmp_path, "train", pairs))
    anomalies_uri = tmp_path / "anomalies"
    for split, examples in (("train", pairs), ("eval", no_target), ("test", [])):
        anomalies = tfdv.validate_statistics(_statistics(tmp_path, split, examples), schema)
        os.makedirs(anomalies_uri / f"Split-{split}")
        (anomalies_uri / f"Split-{split}" / "SchemaDiff.pb").write_bytes(anomalies.SerializeToString())
    assert read_anomalies(str(anomalies_uri), ["train", "eval", "test"]) == [
        "eval: feature 'target': Column dropped (Column is completely missing)",
        "test: dataset: no examples (the split is empty)",
    ]
