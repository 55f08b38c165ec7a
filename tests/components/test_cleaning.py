import json
import os
import subprocess
import sys

import apache_beam as beam
import pytest
import tensorflow as tf

from tf_examples import make_pair_example
from tfx_nmt.components import cleaning
from tfx_nmt.components.cleaning_pipeline import (DEDUPLICATION_GROUPS, REJECTED, FirstCopies, clean_examples,
                                                  deduplication_group)
from tfx_nmt.components.examples_io import bytes_feature, iterate_examples, line_number, parse_example, split_uri
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.text_cleaner import NothingKeptError, assemble_report, assemble_samples, check_pairs_kept
from tfx_nmt.text.display import shorten

RULES = cleaning.CleaningRules(max_tokens=5, max_length_ratio=2.0)
SPLITS = ["train", "eval", "test"]
NO_DROPS = {"invalid_utf8": 0, "tsv_columns": 0, "empty": 0, "too_long": 0, "length_ratio": 0, "duplicate": 0}


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
    """Writes pairs as ParallelCorpusExampleGen does, numbered from line 1, in two shards."""
    os.makedirs(split_uri(uri, split))
    for shard in range(2):
        path = os.path.join(split_uri(uri, split), f"data-{shard}.gz")
        with tf.io.TFRecordWriter(path, "GZIP") as writer:
            for number, (s, t) in enumerate(pairs, start=1):
                if number % 2 == shard:
                    writer.write(make_pair_example(number, s, t))


def _read_split(uri, split):
    return sorted((line_number(e), bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
                  for e in iterate_examples(uri, split))


def _clean(tmp_path, splits_pairs, ingest=None):
    raw, cleaned = str(tmp_path / "raw"), str(tmp_path / "cleaned")
    for split, pairs in splits_pairs.items():
        _write_split(raw, split, pairs)
    counts_prefix, samples_prefix = str(tmp_path / "counts"), str(tmp_path / "samples")
    with beam.Pipeline() as p:
        clean_examples(p, raw, cleaned, list(splits_pairs), RULES, counts_prefix, samples_prefix)
    report = assemble_report(read_rows(counts_prefix), list(splits_pairs), ingest)
    samples = assemble_samples(read_rows(samples_prefix), list(splits_pairs), ingest)
    return cleaned, report, samples


def test_beam_cleaning_outputs_report_and_samples(tmp_path):
    cleaned, report, samples = _clean(tmp_path, {
        "train": [
            ("A dog runs.", "Ein Hund rennt."),
            ("A  dog runs. ", "Ein Hund  rennt."),  # Duplicate of line 1 after normalization.
            ("A dog runs.", "Ein Hund rennt."),  # Exact duplicate.
            ("", "Leer"),  # empty: a blank source line; alignment of the following lines holds.
            ("a b c d e f", "a b c"),  # too_long (6 words > 5)
            ("Hi", "Hallo du da"),  # length_ratio (3 > 2 * 1)
            ("Two cats.", "Zwei Katzen."),
        ],
        "eval": [("Two cats.", "Zwei Katzen."), ("Two cats.", "Zwei Katzen."), ("", "x")],
        "test": [("", ""), ("Hi", "Hallo du da"), ("Two\tcats.", "Zwei Katzen.")],
    })
    # The first occurrence of a duplicate is kept, with its line number.
    assert _read_split(cleaned, "train") == [(1, "A dog runs.", "Ein Hund rennt."), (7, "Two cats.", "Zwei Katzen.")]
    # Eval is filtered but not deduplicated.
    assert _read_split(cleaned, "eval") == [(1, "Two cats.", "Zwei Katzen."), (2, "Two cats.", "Zwei Katzen.")]
    # Test is normalized, never dropped from.
    assert _read_split(cleaned, "test") == [(1, "", ""), (2, "Hi", "Hallo du da"), (3, "Two cats.", "Zwei Katzen.")]
    assert report == {
        "train": {"input": 7, "kept": 2, "dropped": dict(NO_DROPS, empty=1, too_long=1, length_ratio=1, duplicate=2)},
        "eval": {"input": 3, "kept": 2, "dropped": dict(NO_DROPS, empty=1)},
        "test": {"input": 3, "kept": 3, "dropped": NO_DROPS},
    }
    for entry in report.values():
        assert entry["input"] == entry["kept"] + sum(entry["dropped"].values())
    # Samples show the pairs as read, before normalization.
    assert samples["train"] == {
        "invalid_utf8": [], "tsv_columns": [],
        "empty": [{"line": 4, "source": "", "target": "Leer"}],
        "too_long": [{"line": 5, "source": "a b c d e f", "target": "a b c"}],
        "length_ratio": [{"line": 6, "source": "Hi", "target": "Hallo du da"}],
        "duplicate": [{"line": 2, "source": "A  dog runs. ", "target": "Ein Hund  rennt."},
                      {"line": 3, "source": "A dog runs.", "target": "Ein Hund rennt."}],
    }
    assert samples["eval"]["empty"] == [{"line": 3, "source": "", "target": "x"}]
    assert all(not rejected for rejected in samples["test"].values())
    check_pairs_kept(report, "report.json")  # Something kept in train and eval: no error.


def test_a_split_that_cleaning_empties_stops_the_run_naming_it(tmp_path):
    _, report, _ = _clean(tmp_path, {
        "train": [("", "Leer"), ("a b c d e f", "a b c"), ("", "")],
        "eval": [("Two cats.", "Zwei Katzen.")],
        "test": [("", "")],  # Never filtered: an empty test split is ExampleValidator's to catch.
    })
    with pytest.raises(NothingKeptError) as error:
        check_pairs_kept(report, "out/cleaning_report.json")
    assert str(error.value) == ("cleaning left nothing to train or validate on: train: 0 of 3 pairs kept (dropped: "
                                "empty 2, too_long 1); see out/cleaning_report.json and the corpus, or relax "
                                "--max-tokens / --max-length-ratio")


def test_samples_are_the_first_20_by_line_and_ingest_drops_are_counted(tmp_path):
    pairs = [(f"word {i}", f"Wort {i}") if i % 3 else ("", f"leer {i}") for i in range(1, 101)]
    ingest = {"train": {"dropped": {"invalid_utf8": 2, "tsv_columns": 0},
                        "samples": {"invalid_utf8": [{"line": 102, "source": "\\xff", "target": "x"},
                                                     {"line": 101, "source": "y", "target": "\\xfe"}],
                                    "tsv_columns": []}}}
    _, report, samples = _clean(tmp_path, {"train": pairs}, ingest)
    assert report == {"train": {"input": 102, "kept": 67, "dropped": dict(NO_DROPS, empty=33, invalid_utf8=2)}}
    assert [s["line"] for s in samples["train"]["empty"]] == list(range(3, 63, 3))
    assert samples["train"]["empty"][0] == {"line": 3, "source": "", "target": "leer 3"}
    assert [s["line"] for s in samples["train"]["invalid_utf8"]] == [101, 102]


def test_samples_show_long_texts_cut_to_display_length():
    long_source = "x" * 10_000
    rows = [{"split": "train", "reason": "too_long", "samples": [{"line": 7, "source": long_source, "target": "kurz"}]}]
    [sample] = assemble_samples(rows, ["train"])["train"]["too_long"]
    assert sample == {"line": 7, "source": "x" * 500 + " … [9500 more characters]", "target": "kurz"}
    assert shorten("x" * 500) == "x" * 500 and shorten("abcdef", 4) == "abcd … [2 more characters]"


def _first_copies(lists):
    """FirstCopies' outputs for one group's lists of kept pairs: (kept (line, source, target) of the main
    output, rejected of the REJECTED output, counts of the bundle)."""
    first_copies = FirstCopies()
    first_copies.start_bundle()
    outputs = list(first_copies.process((0, lists)))
    kept = [(line_number(e), bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
            for e in map(parse_example, (o for o in outputs if isinstance(o, bytes)))]
    rejected = [o.value for o in outputs if isinstance(o, beam.pvalue.TaggedOutput) and o.tag == REJECTED]
    counts = [o.value.value for o in first_copies.finish_bundle()]
    return kept, rejected, counts


def test_first_copies_keep_the_lowest_line_whatever_the_order_of_the_lists():
    one = [(5, "A dog.", "Ein Hund.", None, None), (9, "Two cats.", "Zwei Katzen.", None, None)]
    two = [(2, "A dog.", "Ein Hund.", "A  dog.", None), (7, "A dog.", "Ein Hund.", None, "Ein  Hund.")]
    expected = ([(2, "A dog.", "Ein Hund."), (9, "Two cats.", "Zwei Katzen.")],
                [("duplicate", (5, "A dog.", "Ein Hund.")), ("duplicate", (7, "A dog.", "Ein  Hund."))],
                [("duplicate", 2)])
    assert _first_copies([one, two]) == expected
    assert _first_copies([two, one]) == expected


def test_first_copies_without_line_numbers_keep_the_same_copy_in_any_order():
    """Examples without `line_number` all read as line 0: the raw texts decide, so that the duplicate
    samples do not depend on the order in which a GroupByKey hands the copies over."""
    spaced, plain = (0, "A dog.", "Ein Hund.", "A  dog.", None), (0, "A dog.", "Ein Hund.", None, None)
    expected = ([(0, "A dog.", "Ein Hund.")], [("duplicate", (0, "A dog.", "Ein Hund."))], [("duplicate", 1)])
    assert _first_copies([[spaced], [plain]]) == expected
    assert _first_copies([[plain], [spaced]]) == expected


def test_copies_of_a_pair_meet_in_one_deduplication_group_in_every_process():
    pairs = [("A dog.", "Ein Hund."), ("Two cats.", "Zwei Katzen."), ("", ""), ("é", "ß")]
    groups = [deduplication_group(s, t) for s, t in pairs]
    assert all(0 <= g < DEDUPLICATION_GROUPS for g in groups)
    script = ("import sys, json; from tfx_nmt.components.cleaning_pipeline import deduplication_group; "
              f"print(json.dumps([deduplication_group(s, t) for s, t in {pairs!r}]))")
    for seed in ("1", "2"):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                env=dict(os.environ, PYTHONHASHSEED=seed))
        assert json.loads(result.stdout) == groups
