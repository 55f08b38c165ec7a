import collections
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
from tfx_nmt.config import RunConfig
from tfx_nmt.errors import ConfigError
from tfx_nmt.components.text_cleaner import NothingKeptError, assemble_report, assemble_samples, check_pairs_kept
from tfx_nmt.text.display import shorten

RULES = cleaning.CleaningRules(max_tokens=5, max_length_ratio=2.0)
CLEANER = cleaning.PairCleaner(RULES)
SPLITS = ["train", "eval", "test"]
NO_DROPS = {"invalid_utf8": 0, "tsv_columns": 0, "empty": 0, "too_long": 0, "length_ratio": 0, "copy": 0,
            "test_overlap": 0, "source_language": 0, "target_language": 0, "duplicate": 0}


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
    ("A  dog.", "A dog.", True, ("A dog.", "A dog.", "copy")),  # Compared after normalization.
    ("A dog.", "A dog.", False, ("A dog.", "A dog.", "kept")),
    ("Two dogs play.", "Zwei Hunde.", True, ("Two dogs play.", "Zwei Hunde.", "test_overlap")),
    # French in the English file; English in the German one.
    ("Une femme lit un livre.", "Eine Frau liest ein Buch.", True,
     ("Une femme lit un livre.", "Eine Frau liest ein Buch.", "source_language")),
    ("A woman reads.", "The woman reads a book.", True, ("A woman reads.", "The woman reads a book.", "target_language")),
    # Russian in the German file, but 3 characters: shorter than lid_min_chars (20), never judged.
    ("Who", "что", True, ("Who", "что", "kept")),
])
def test_clean_pair(source, target, filter_pairs, expected):
    assert CLEANER.clean([(source, target)], filter_pairs, held_out_sources={"Two dogs play."}) == [expected]


def test_language_identification_judges_a_short_side_when_told_and_obeys_its_threshold():
    short = cleaning.PairCleaner(cleaning.CleaningRules(lid_min_chars=0))
    assert short.clean([("Who", "что")], True) == [("Who", "что", "target_language")]
    # The identifier takes "Who" for English with probability 0.93: as a German source, dropped only
    # where the threshold is at most that.
    for threshold, outcome in ((0.9, "source_language"), (0.95, "kept")):
        cleaner = cleaning.PairCleaner(cleaning.CleaningRules(lid_min_chars=0, lid_min_probability=threshold,
                                                              source_language="de", target_language="en"))
        assert cleaner.clean([("Who", "Who is there?")], True) == [("Who", "Who is there?", outcome)]


def test_cleaning_rules_follow_the_run_config_and_refuse_unknown_languages():
    config = RunConfig(source="fr", target="en", lid=False, drop_copies=False, lid_languages="all",
                       lid_min_probability=0.5, lid_min_chars=3, max_tokens=50)
    assert cleaning.CleaningRules.from_config(config) == cleaning.CleaningRules(
        max_tokens=50, drop_copies=False, lid=False, source_language="fr", target_language="en",
        lid_min_probability=0.5, lid_min_chars=3, lid_languages=())
    assert cleaning.CleaningRules(source_language="ja").candidate_languages() == (
        "en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja")
    assert cleaning.CleaningRules(lid_languages=()).candidate_languages() == ()
    assert cleaning.parse_languages(" en, de ,") == ("en", "de")
    cleaning.check_languages(cleaning.CleaningRules(source_language="xx", lid=False))  # LID off: no check.
    with pytest.raises(ConfigError) as error:
        cleaning.PairCleaner(cleaning.CleaningRules(source_language="src", lid_languages=("en", "zz")))
    assert str(error.value).startswith(
        "language identification (py3langid) knows no language 'src', 'zz': give --source, --target and "
        "--lid-languages as ISO 639-1 codes it knows (af am an ar as az be bg bn br bs ca cs cy da de dz el en eo ")
    assert str(error.value).endswith("zh zu), or turn it off with --no-lid")


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


def _clean(tmp_path, splits_pairs, ingest=None, rules=RULES):
    raw, cleaned = str(tmp_path / "raw"), str(tmp_path / "cleaned")
    for split, pairs in splits_pairs.items():
        _write_split(raw, split, pairs)
    counts_prefix, samples_prefix = str(tmp_path / "counts"), str(tmp_path / "samples")
    with beam.Pipeline() as p:
        clean_examples(p, raw, cleaned, list(splits_pairs), rules, counts_prefix, samples_prefix)
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
            ("Two cats.", "Zwei Katzen."),  # test_overlap: the source of the eval and test pairs.
            ("Three cats.", "Drei Katzen."),
        ],
        "eval": [("Two cats.", "Zwei Katzen."), ("Two cats.", "Zwei Katzen."), ("", "x")],
        "test": [("", ""), ("Hi", "Hallo du da"), ("Two\tcats.", "Zwei Katzen.")],
    })
    # The first occurrence of a duplicate is kept, with its line number.
    assert _read_split(cleaned, "train") == [(1, "A dog runs.", "Ein Hund rennt."),
                                             (8, "Three cats.", "Drei Katzen.")]
    # Eval is filtered but not deduplicated.
    assert _read_split(cleaned, "eval") == [(1, "Two cats.", "Zwei Katzen."), (2, "Two cats.", "Zwei Katzen.")]
    # Test is normalized, never dropped from.
    assert _read_split(cleaned, "test") == [(1, "", ""), (2, "Hi", "Hallo du da"), (3, "Two cats.", "Zwei Katzen.")]
    assert report == {
        "train": {"input": 8, "kept": 2, "dropped": dict(NO_DROPS, empty=1, too_long=1, length_ratio=1, test_overlap=1,
                                                         duplicate=2)},
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
        "copy": [], "source_language": [], "target_language": [],
        "test_overlap": [{"line": 7, "source": "Two cats.", "target": "Zwei Katzen."}],
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


# Pairs for the rules of language identification, copies and the train/test overlap, with every rule's
# threshold at its default (max_tokens 80).
CRAFTED = {
    "train": [
        ("A man in a red jacket plays the guitar in the street.",
         "Ein Mann in einer roten Jacke spielt auf der Straße Gitarre."),
        ("Un homme en veste rouge joue de la guitare dans la rue.",  # French in the English file.
         "Ein Mann in einer roten Jacke spielt auf der Straße Gitarre."),
        ("A woman reads a book on a bench.", "A woman reads a book on a bench."),  # An untranslated copy.
        ("Two dogs play in the snow.", "Zwei Hunde spielen im Schnee."),  # A test source.
        ("Who", "что"),  # 3 characters of Russian: too short to judge.
        ("A child is eating an ice cream cone.", "A child is eating an ice cream cone outside."),  # English target.
        ("A man in a red jacket plays the guitar in the street.",  # A duplicate of line 1.
         "Ein Mann in einer roten Jacke spielt auf der Straße Gitarre."),
    ],
    "eval": [
        ("A cat sleeps on the warm windowsill.", "Eine Katze schläft auf der warmen Fensterbank."),
        ("Une femme lit un livre sur un banc.", "Eine Frau liest ein Buch auf einer Bank."),
    ],
    "test": [
        ("Two dogs  play in the snow. ", "Zwei Hunde spielen im Schnee."),
        ("Une femme lit un livre sur un banc.", "Une femme lit un livre sur un banc."),
    ],
}
# Train's outcome per line with every rule on.
CRAFTED_OUTCOMES = ["kept", "source_language", "copy", "test_overlap", "kept", "target_language", "duplicate"]


@pytest.mark.parametrize("switch, changed", [
    ({}, {}),
    ({"lid": False}, {2: "kept", 6: "kept"}),
    # The copy's target is English: language identification drops it instead.
    ({"drop_copies": False}, {3: "target_language"}),
    ({"drop_test_overlap": False}, {4: "kept"}),
    ({"deduplicate": False}, {7: "kept"}),
    ({"lid_min_chars": 0}, {5: "target_language"}),
])
def test_language_copy_and_overlap_rules_and_their_switches(tmp_path, switch, changed):
    outcomes = {line: changed.get(line, outcome) for line, outcome in enumerate(CRAFTED_OUTCOMES, start=1)}
    cleaned, report, samples = _clean(tmp_path, CRAFTED, rules=cleaning.CleaningRules(**switch))
    train = CRAFTED["train"]
    assert _read_split(cleaned, "train") == [(line, *train[line - 1]) for line, outcome in outcomes.items()
                                             if outcome == "kept"]
    dropped = collections.Counter(outcome for outcome in outcomes.values() if outcome != "kept")
    assert report["train"] == {"input": 7, "kept": 7 - sum(dropped.values()), "dropped": dict(NO_DROPS, **dropped)}
    assert {reason: [s["line"] for s in rejected] for reason, rejected in samples["train"].items() if rejected} == {
        reason: [line for line, outcome in outcomes.items() if outcome == reason] for reason in dropped}
    # Eval: filtered by language too (unless switched off), never for overlap; test: normalized, never changed.
    eval_dropped = {} if switch.get("lid") is False else {"source_language": 1}
    assert report["eval"] == {"input": 2, "kept": 2 - len(eval_dropped), "dropped": dict(NO_DROPS, **eval_dropped)}
    assert report["test"] == {"input": 2, "kept": 2, "dropped": NO_DROPS}
    assert _read_split(cleaned, "test") == [(1, "Two dogs play in the snow.", "Zwei Hunde spielen im Schnee."),
                                            (2, *CRAFTED["test"][1])]
    for entry in report.values():
        assert entry["input"] == entry["kept"] + sum(entry["dropped"].values())
