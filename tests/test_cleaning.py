import json
import os

import apache_beam as beam
import pytest
import tensorflow as tf

from tfx_nmt.components import cleaning
from tfx_nmt.components.examples_io import iterate_examples, bytes_feature, make_text_example, split_uri
from tfx_nmt.components.text_cleaner import assemble_report, clean_examples, read_counts

RULES = cleaning.CleaningRules(max_tokens=5, max_length_ratio=2.0)


@pytest.mark.parametrize("source, target, filter_pairs, expected", [
    ("  A  dog\u00a0runs. ", "Ein Hund\trennt.", True, ("A dog runs.", "Ein Hund rennt.", "kept")),
    ("", "Ein Hund", True, ("", "Ein Hund", "empty")),
    ("\x00 \t", "Ein Hund", True, ("", "Ein Hund", "empty")),
    ("one two three four five six", "eins zwei drei vier", True,
     ("one two three four five six", "eins zwei drei vier", "too_long")),
    ("one", "eins zwei drei", True, ("one", "eins zwei drei", "length_ratio")),
    ("one two", "eins zwei drei vier", True, ("one two", "eins zwei drei vier", "kept")),  # ratio 2.0 is allowed
    ("", "", False, ("", "", "kept")),  # The test split is never filtered.
    ("one", "eins zwei drei", False, ("one", "eins zwei drei", "kept")),
])
def test_clean_pair(source, target, filter_pairs, expected):
    assert cleaning.clean_pair(source, target, RULES, filter_pairs) == expected


def _write_split(uri, split, pairs):
    os.makedirs(split_uri(uri, split))
    with tf.io.TFRecordWriter(os.path.join(split_uri(uri, split), "data.gz"), "GZIP") as writer:
        for s, t in pairs:
            writer.write(make_text_example({"source": s, "target": t}))


def _read_split(uri, split):
    return sorted((bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
                  for e in iterate_examples(uri, split))


def test_beam_cleaning_outputs_and_report(tmp_path):
    raw, cleaned = str(tmp_path / "raw"), str(tmp_path / "cleaned")
    _write_split(raw, "train", [
        ("A dog runs.", "Ein Hund rennt."),
        ("A  dog runs. ", "Ein Hund  rennt."),  # Duplicate of the first after normalization.
        ("A dog runs.", "Ein Hund rennt."),  # Exact duplicate.
        ("", "Leer"),  # empty
        ("a b c d e f", "a b c"),  # too_long (6 words > 5)
        ("Hi", "Hallo du da"),  # length_ratio (3 > 2 * 1)
        ("Two cats.", "Zwei Katzen."),
    ])
    _write_split(raw, "eval", [("Two cats.", "Zwei Katzen."), ("Two cats.", "Zwei Katzen."), ("", "x")])
    _write_split(raw, "test", [("", ""), ("Hi", "Hallo du da"), ("Two\tcats.", "Zwei Katzen.")])
    counts_prefix = str(tmp_path / "counts")
    with beam.Pipeline() as p:
        clean_examples(p, raw, cleaned, ["train", "eval", "test"], RULES, counts_prefix)
    report = assemble_report(read_counts(counts_prefix), ["train", "eval", "test"])

    assert _read_split(cleaned, "train") == [("A dog runs.", "Ein Hund rennt."), ("Two cats.", "Zwei Katzen.")]
    # Eval is filtered but not deduplicated.
    assert _read_split(cleaned, "eval") == [("Two cats.", "Zwei Katzen."), ("Two cats.", "Zwei Katzen.")]
    # Test is normalized, never dropped from.
    assert _read_split(cleaned, "test") == [("", ""), ("Hi", "Hallo du da"), ("Two cats.", "Zwei Katzen.")]
    assert report == {
        "train": {"input": 7, "kept": 2,
                  "dropped": {"empty": 1, "too_long": 1, "length_ratio": 1, "duplicate": 2}},
        "eval": {"input": 3, "kept": 2, "dropped": {"empty": 1, "too_long": 0, "length_ratio": 0, "duplicate": 0}},
        "test": {"input": 3, "kept": 3, "dropped": {"empty": 0, "too_long": 0, "length_ratio": 0, "duplicate": 0}},
    }
    for entry in report.values():
        assert entry["input"] == entry["kept"] + sum(entry["dropped"].values())
