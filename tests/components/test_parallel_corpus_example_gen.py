"""ParallelCorpusExampleGen without a pipeline run: TFX's file-based driver (our subclass, with the corpus'
errors) on span directories, and the executor's Do on Beam's DirectRunner, in process."""
import gzip
import json
import os

import pytest
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from tfx_nmt.components import corpus
from tfx_nmt.components import parallel_corpus_example_gen as example_gen
from tfx_nmt.components.examples_io import bytes_feature, iterate_examples, line_number
from tfx_nmt.contract import INGEST_REPORT_FILE
from tfx_nmt.pipeline.local_runner import direct_runner_args

SPAN_PATTERNS = {"train": "span-{SPAN}/train.*", "eval": "span-{SPAN}/val.*", "test": "span-{SPAN}/test_2016_flickr.*"}
STEMS = ("train", "val", "test_2016_flickr")


def _exec_properties(input_base, patterns=None, **overrides):
    """The component's execution properties as the orchestrator hands them to the driver (protos as JSON)."""
    component = example_gen.ParallelCorpusExampleGen(input_base=str(input_base), split_patterns=patterns, **overrides)
    return {key: proto_utils.proto_to_json(value) if hasattr(value, "DESCRIPTOR") else value
            for key, value in component.exec_properties.items()}


def _resolve(input_base, patterns=None, **overrides):
    return example_gen.Driver(None).resolve_exec_properties(_exec_properties(input_base, patterns, **overrides),
                                                            None, None)


def _span(directory, languages=("en", "de"), stems=STEMS, lines=("A dog.", "Two cats.")):
    os.makedirs(directory, exist_ok=True)
    for stem in stems:
        for language in languages:
            with open(os.path.join(directory, f"{stem}.{language}"), "w") as f:
                f.write("".join(f"{line} {language}\n" for line in lines))


def test_the_driver_takes_the_latest_span_and_fingerprints_its_files(tmp_path):
    _span(tmp_path / "span-1")
    _span(tmp_path / "span-12")
    resolved = _resolve(tmp_path, SPAN_PATTERNS)
    assert resolved["span"] == 12 and resolved["version"] is None
    patterns = [split["pattern"] for split in json.loads(resolved["input_config"])["splits"]]
    assert patterns == ["span-12/train.*", "span-12/val.*", "span-12/test_2016_flickr.*"]
    assert resolved["input_fingerprint"].startswith("split:train,num_files:2,total_bytes:")
    # Without {SPAN}: span 0, the default Multi30k patterns.
    _span(tmp_path / "flat")
    resolved = _resolve(tmp_path / "flat")
    assert resolved["span"] == 0
    assert [s["pattern"] for s in json.loads(resolved["input_config"])["splits"]] == [
        "train.*", "val.*", "test_2016_flickr.*"]


def test_a_pattern_that_matches_nothing_names_the_pattern_the_directory_and_what_is_there(tmp_path):
    _span(tmp_path / "span-1")
    patterns = {**SPAN_PATTERNS, "eval": "span-{SPAN}/valid.*"}
    with pytest.raises(corpus.CorpusError) as error:
        _resolve(tmp_path, patterns)
    message = str(error.value)
    assert message.startswith(f"the split patterns do not select one span of {tmp_path} (Cannot find matching for "
                              "split eval based on span-{SPAN}/valid.*); ")
    assert "eval 'span-{SPAN}/valid.*' matches nothing;" in message
    assert "train 'span-{SPAN}/train.*' matches span-1/train.de, span-1/train.en;" in message


def test_spans_whose_file_sets_differ_stop_the_driver(tmp_path):
    _span(tmp_path / "span-1")
    _span(tmp_path / "span-2", stems=("train", "test_2016_flickr"))  # No val files in span 2.
    with pytest.raises(corpus.CorpusError) as error:
        _resolve(tmp_path, SPAN_PATTERNS)
    message = str(error.value)
    assert "(Latest span should be the same for each split)" in message
    assert "train 'span-{SPAN}/train.*' matches span-1/train.de, span-1/train.en, span-2/train.de, " \
           "span-2/train.en;" in message
    assert "eval 'span-{SPAN}/val.*' matches span-1/val.de, span-1/val.en;" in message


def test_a_span_that_is_not_a_number_stops_the_driver(tmp_path):
    _span(tmp_path / "span-1")
    _span(tmp_path / "span-new")
    with pytest.raises(corpus.CorpusError) as error:
        _resolve(tmp_path, SPAN_PATTERNS)
    message = str(error.value)
    assert f"(Cannot find span number from {tmp_path}/span-new/" in message
    assert "span-1/train.en, span-new/train.de, span-new/train.en;" in message
    assert message.endswith("Every span directory needs the files of every split, and a span is a whole number")


def test_a_span_with_one_language_only_stops_the_driver(tmp_path):
    _span(tmp_path / "span-1")
    _span(tmp_path / "span-2", languages=("en",))
    with pytest.raises(corpus.CorpusError) as error:
        _resolve(tmp_path, SPAN_PATTERNS)
    assert str(error.value) == (
        f"missing corpus files for split 'train': pattern 'span-2/train.*' under {tmp_path} matches "
        "span-2/train.en; expected a file ending in .en or .en.gz and one ending in .de or .de.gz, or one "
        "ending in .en-de.tsv or .en-de.tsv.gz")


def _do(input_base, out, **overrides):
    """The driver, then the executor's Do on the DirectRunner in process; returns the Examples artifact."""
    properties = _resolve(input_base, **overrides)
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    os.makedirs(out)
    executor = example_gen.Executor(BaseBeamExecutor.Context(beam_pipeline_args=direct_runner_args(1),
                                                             tmp_dir=str(out)))
    executor.Do({}, {"examples": [examples]}, properties)
    return examples


def test_the_executor_streams_every_split_with_line_numbers_and_the_ingest_report(tmp_path):
    data = tmp_path / "data"
    os.makedirs(data)
    for language in ("en", "de"):
        with gzip.open(data / f"train.{language}.gz", "wt") as f:
            f.write("".join(f"line {n} {language}\n" for n in range(1, 2501)))
    (data / "train.fr").write_text("not read\n")
    (data / "val.en").write_bytes(b"fine\nbad \xff\nok\n")
    (data / "val.de").write_bytes(b"gut\nschlecht\nok\n")
    (data / "test_2016_flickr.en-de.tsv").write_text("A dog.\tEin Hund.\n\nTwo cats.\tZwei Katzen.\n")
    examples = _do(data, tmp_path / "examples", on_bad_line="drop", max_train_pairs=2000)
    assert json.loads(examples.split_names) == ["train", "eval", "test"]

    def pairs(split):
        return sorted((line_number(e), bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
                      for e in iterate_examples(examples.uri, split))

    train = pairs("train")
    assert len(train) == 2000 and train[0] == (1, "line 1 en", "line 1 de") and train[-1][0] == 2000
    assert pairs("eval") == [(1, "fine", "gut"), (3, "ok", "ok")]
    assert pairs("test") == [(1, "A dog.", "Ein Hund."), (2, "", ""), (3, "Two cats.", "Zwei Katzen.")]
    with open(os.path.join(examples.uri, INGEST_REPORT_FILE)) as f:
        report = json.load(f)
    assert report["train"]["files"] == [str(data / "train.en.gz"), str(data / "train.de.gz")]
    assert report["train"]["lines"] == 2000
    assert report["eval"]["dropped"] == {"invalid_utf8": 1, "tsv_columns": 0}
    assert report["eval"]["samples"]["invalid_utf8"] == [{"line": 2, "source": "bad \\xff", "target": "schlecht"}]
    assert report["test"]["lines"] == 3
    # The rows the Beam pipeline handed back are gone; only the splits and the report stay.
    assert sorted(os.listdir(examples.uri)) == ["Split-eval", "Split-test", "Split-train", INGEST_REPORT_FILE]


def test_a_bad_file_found_while_streaming_is_the_same_corpus_error_from_the_executor(tmp_path):
    data = tmp_path / "data"
    _span(data)
    (data / "val.de").write_text("eins\n")
    with pytest.raises(corpus.CorpusError) as error:
        _do(data, tmp_path / "examples")
    assert str(error.value) == (f"line counts differ: {data}/val.en has 2 lines, {data}/val.de has 1 lines; the "
                                "files must be aligned line by line")


def test_further_test_sets_are_found_beside_the_test_split_in_every_span(tmp_path):
    for span in ("span-1", "span-2"):
        _span(tmp_path / span, stems=STEMS + ("test_2017_flickr", "test_mscoco"))
    # Only in span 2: not a test set of every span, so not one of the run's.
    _span(tmp_path / "span-2", stems=("test_newer",))
    # A TSV test set, gzipped; a file of the third language only; a name that is not `test_<name>`.
    for span in ("span-1", "span-2"):
        with gzip.open(tmp_path / span / "test_tsv.en-de.tsv.gz", "wt") as f:
            f.write("A cat.\tEine Katze.\n")
        (tmp_path / span / "test_french.fr").write_text("Un chat.\n")
        _span(tmp_path / span, stems=("dev",))
    found = corpus.extra_test_split_patterns(str(tmp_path), SPAN_PATTERNS["test"], "en", "de")
    assert found == {"test_2017_flickr": "span-{SPAN}/test_2017_flickr.*", "test_mscoco": "span-{SPAN}/test_mscoco.*",
                     "test_tsv": "span-{SPAN}/test_tsv.*"}
    resolved = _resolve(tmp_path, {**SPAN_PATTERNS, **found})
    assert resolved["span"] == 2
    assert [(s["name"], s["pattern"]) for s in json.loads(resolved["input_config"])["splits"]] == [
        ("train", "span-2/train.*"), ("eval", "span-2/val.*"), ("test", "span-2/test_2016_flickr.*"),
        ("test_2017_flickr", "span-2/test_2017_flickr.*"), ("test_mscoco", "span-2/test_mscoco.*"),
        ("test_tsv", "span-2/test_tsv.*")]
    # Without spans: beside the primary test files; none at all in a Multi30k-style directory without them.
    _span(tmp_path / "flat", stems=STEMS + ("test_2018_flickr",))
    assert corpus.extra_test_split_patterns(str(tmp_path / "flat"), "test_2016_flickr.*", "en", "de") == {
        "test_2018_flickr": "test_2018_flickr.*"}
    _span(tmp_path / "plain")
    assert corpus.extra_test_split_patterns(str(tmp_path / "plain"), "test_2016_flickr.*", "en", "de") == {}


def test_the_executor_reads_a_further_test_set_like_the_test_split(tmp_path):
    data = tmp_path / "data"
    _span(data, stems=STEMS + ("test_extra",), lines=("A dog.", "Two cats.", "A bird."))
    (data / "test_extra.en").write_bytes(b"A dog.\n\nbad \xff\n")
    patterns = {**corpus.DEFAULT_SPLIT_PATTERNS,
                **corpus.extra_test_split_patterns(str(data), "test_2016_flickr.*", "en", "de")}
    # As in the test split, a line that is not UTF-8 is an error even with on_bad_line="drop".
    with pytest.raises(corpus.CorpusError) as error:
        _do(data, tmp_path / "bad", patterns=patterns, on_bad_line="drop")
    assert str(error.value).startswith(f"{data}/test_extra.en:3: invalid UTF-8")
    assert str(error.value).endswith(corpus.NEVER_DROPPED_ADVICE)
    (data / "test_extra.en").write_text("A dog.\n\nA bird.\n")
    examples = _do(data, tmp_path / "examples", patterns=patterns, max_test_pairs=2)
    assert json.loads(examples.split_names) == ["train", "eval", "test", "test_extra"]
    extra = sorted((line_number(e), bytes_feature(e, "source").decode(), bytes_feature(e, "target").decode())
                   for e in iterate_examples(examples.uri, "test_extra"))
    # The test split's limit applies: the first 2 lines, the blank pair kept.
    assert extra == [(1, "A dog.", "A dog. de"), (2, "", "Two cats. de")]
    with open(os.path.join(examples.uri, INGEST_REPORT_FILE)) as f:
        assert json.load(f)["test_extra"]["files"] == [str(data / "test_extra.en"), str(data / "test_extra.de")]
