"""RunConfig checks every field when it is made: a bad value fails before any component runs."""
import argparse
import dataclasses
import os

import pytest

from tfx_nmt.config import RunConfig
from tfx_nmt.errors import ConfigError
from tfx_nmt.cli import main
from tfx_nmt.pipeline.presets import PRESETS, add_preset_flags, config_from_args
from tfx_nmt.text import subword


@pytest.mark.parametrize("overrides, message", [
    ({"beam_size": 0}, "beam_size must be >= 1, got 0"),
    ({"tokenizer_model_type": "wordpiece"}, "tokenizer_model_type must be one of unigram, bpe, got 'wordpiece'"),
    ({"strategy": "tpu"}, "strategy must be one of mirrored, multi_worker, got 'tpu'"),
    ({"on_bad_line": "skip"}, "on_bad_line must be one of error, drop, got 'skip'"),
    ({"mixed_precision": "int8"}, "mixed_precision must be one of off, bf16, fp16, got 'int8'"),
    ({"d_model": 64, "num_heads": 3}, r"num_heads \(3\) must divide d_model \(64\)"),
    ({"dropout": 1.0}, "dropout must be < 1, got 1.0"),
    ({"label_smoothing": -0.1}, "label_smoothing must be >= 0, got -0.1"),
    ({"tokens_per_batch": 0}, "tokens_per_batch must be >= 1, got 0"),
    ({"learning_rate": -0.1}, "^learning_rate must be > 0, got -0.1$"),
    ({"max_decode_length_a": 0.0}, "^max_decode_length_a must be > 0, got 0.0$"),
    ({"lid_languages": " , "},
     "^lid_languages is empty; give comma-separated ISO 639-1 codes, or all for py3langid's 97$"),
    ({"train_pattern": "span-{SPAN}/train.*", "eval_pattern": "span-1/val.*"},
     r"^\{SPAN\} must be in every split pattern or in none; it is in train_pattern 'span-\{SPAN\}/train.\*' only$"),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number, got nan"),
    ({"min_bleu": float("inf")}, "min_bleu must be a finite number, got inf"),
    ({"seed": 2 ** 32}, "seed must be <= 4294967295, got 4294967296"),
    ({"seed": -1}, "seed must be >= 0, got -1"),
    ({"vocabulary_size": 100}, "vocabulary_size must be >= 261, got 100"),
    ({"max_target_length": 2}, "max_target_length must be >= 3, got 2"),
    ({"lid_min_probability": 1.5}, "lid_min_probability must be between 0 and 1, got 1.5"),
    ({"lid_min_chars": -1}, "lid_min_chars must be >= 0, got -1"),
    ({"extra_test_sets": "test_2017_flickr,mscoco"},
     r"^extra_test_sets: 'mscoco' is not a file stem starting with 'test_' \(letters, digits, _ and - only\)$"),
    ({"extra_test_sets": "test_a/b"}, "^extra_test_sets: 'test_a/b' is not a file stem"),
    ({"extra_test_sets": "test_2016_flickr"},
     r"^extra_test_sets: 'test_2016_flickr' is the test split itself \(test_pattern 'test_2016_flickr.\*'\)$"),
])
def test_bad_values_are_refused_naming_the_field(overrides, message):
    with pytest.raises(ConfigError, match=message):
        PRESETS["smoke"].replace(**overrides)


def test_a_vocabulary_too_small_for_the_corpus_names_the_size_it_needs():
    # 26 letters, 26 capitals and the space: 53 distinct characters, plus 260 byte-fallback and special pieces.
    sentences = ["".join(chr(c) for c in range(ord("a"), ord("z") + 1)) + " " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] * 20
    with pytest.raises(ConfigError, match=r"^vocabulary_size 300 is too small for this corpus: SentencePiece needs "
                                          r"at least 313 pieces .*pass --vocabulary-size 313 or more$"):
        subword.train_sentencepiece(sentences, 300)


def test_every_preset_is_valid():
    assert all(isinstance(preset, RunConfig) for preset in PRESETS.values())
    assert RunConfig().replace(max_train_seconds=0.0, dropout=0.0, average_checkpoints=0).dropout == 0.0


def test_command_line_refuses_a_bad_value_in_one_line_before_running(tmp_path, capsys):
    assert main(["run", "--preset", "smoke", "--beam-size", "0", "--output-dir", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == "tfx-nmt: error: beam_size must be >= 1, got 0\n"
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["run", "--strategy", "tpu"])
    assert ("argument --strategy: invalid choice: 'tpu' (choose from 'mirrored', 'multi_worker')"
            in capsys.readouterr().err)


def test_each_cleaning_rule_has_a_switch_on_the_command_line():
    parser = argparse.ArgumentParser()
    add_preset_flags(parser)
    assert [(c.lid, c.drop_copies, c.drop_test_overlap, c.deduplicate) for c in (
        config_from_args(parser.parse_args([])),
        config_from_args(parser.parse_args(["--no-lid", "--no-drop-copies", "--no-drop-test-overlap",
                                            "--no-deduplicate"])))] == [(True, True, True, True),
                                                                        (False, False, False, False)]
    config = config_from_args(parser.parse_args(["--lid-min-probability", "0.5", "--lid-min-chars", "0",
                                                 "--lid-languages", "all"]))
    assert (config.lid_min_probability, config.lid_min_chars, config.lid_languages) == (0.5, 0, "all")


def test_a_language_that_identification_does_not_know_stops_the_run_in_one_line(tmp_path, capsys):
    assert main(["run", "--preset", "smoke", "--lid-languages", "en,zz", "--output-dir", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("tfx-nmt: error: language identification (py3langid) knows no language 'zz': give "
                            "--source, --target and --lid-languages as ISO 639-1 codes it knows (af am an ")
    assert error.endswith(", or turn it off with --no-lid\n") and error.count("\n") == 1


def test_every_flag_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(RunConfig):
        if field.name != "preset":
            assert len(field.metadata["help"]) > 10
            assert f"--{field.name.replace('_', '-')}" in text
            assert "_" not in field.name or f"--{field.name} " not in text  # The alias is not listed.
    assert "--beam-size INT beam size of serving_default's beam search" in text


def test_config_checks_the_languages_as_a_run_does(capsys):
    assert main(["config", "--preset", "smoke", "--source", "src"]) == 1
    assert capsys.readouterr().err.startswith(
        "tfx-nmt: error: language identification (py3langid) knows no language 'src': give --source, --target")
    assert main(["config", "--preset", "smoke", "--lid-languages", "en,de,xx"]) == 1
    assert capsys.readouterr().err.startswith("tfx-nmt: error: language identification (py3langid) knows no "
                                              "language 'xx': ")
    assert main(["config", "--preset", "smoke", "--lid-languages", "EN,DE"]) == 1
    assert capsys.readouterr().err.startswith("tfx-nmt: error: language identification (py3langid) knows no "
                                              "language 'EN' (lowercase: 'en'), 'DE' (lowercase: 'de'): ")
    assert main(["config", "--preset", "smoke", "--no-lid", "--source", "src"]) == 0


def test_span_in_some_split_patterns_only_is_refused_by_config_run_and_compile(tmp_path, capsys):
    mixed = ["--preset", "smoke", "--train-pattern", "span-{SPAN}/train.*", "--eval-pattern", "span-1/val.*"]
    message = ("tfx-nmt: error: {SPAN} must be in every split pattern or in none; it is in train_pattern "
               "'span-{SPAN}/train.*' only\n")
    for command in (["config"], ["run", "--output-dir", str(tmp_path / "out")],
                    ["compile-kubeflow", "--image", "x", "--pipeline-root", "gs://b/r",
                     "--output", str(tmp_path / "p.json")]):
        assert main(command + mixed) == 1
        assert capsys.readouterr().err == message
    assert os.listdir(tmp_path) == []


def test_run_refuses_a_data_dir_that_is_not_a_directory_before_creating_anything(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    for data_dir, reason in ((tmp_path / "nonexistent", "no such directory"), (tmp_path / "afile", "not a directory")):
        assert main(["run", "--preset", "smoke", "--data-dir", str(data_dir),
                     "--output-dir", str(tmp_path / "out")]) == 1
        assert capsys.readouterr().err == f"tfx-nmt: error: --data-dir {data_dir}: {reason}\n"
    assert os.listdir(tmp_path) == ["afile"]


def test_a_float_field_given_a_whole_number_is_a_float(capsys):
    assert PRESETS["quick"].max_train_seconds == 1380.0 and type(PRESETS["quick"].max_train_seconds) is float
    assert main(["config", "--preset", "quick"]) == 0
    assert '"max_train_seconds": 1380.0,' in capsys.readouterr().out
    assert main(["config", "--preset", "smoke", "--lid-languages", ""]) == 1
    assert capsys.readouterr().err == ("tfx-nmt: error: lid_languages is empty; give comma-separated ISO 639-1 codes, "
                                       "or all for py3langid's 97\n")


def test_help_shows_the_defaults_of_output_dir_batch_size_model_name_and_replicas(capsys):
    for command, expected in ((["run"], ["--output-dir OUTPUT_DIR pipeline root, ML Metadata, pushed models and "
                                         "run_summary.json go here (default: outputs)"]),
                              (["translate"], ["sentences per request (default: 64)", "(default: outputs)",
                                               "name (default: translator)"]),
                              (["serving-config"], ["a Kubernetes name (default: translator)",
                                                    "--replicas REPLICAS model server pods (KServe: minReplicas) "
                                                    "(default: 1)"])):
        with pytest.raises(SystemExit):
            main(command + ["--help"])
        text = " ".join(capsys.readouterr().out.split())
        for line in expected:
            assert line in text, (command, line)


def test_named_further_test_sets_are_patterns_in_the_test_splits_directory():
    config = PRESETS["smoke"].replace(extra_test_sets=" test_2017_flickr, test_mscoco,,test_2017_flickr",
                                      test_pattern="span-{SPAN}/test_2016_flickr.*", train_pattern="span-{SPAN}/train.*",
                                      eval_pattern="span-{SPAN}/val.*")
    assert config.extra_test_set_names() == ["test_2017_flickr", "test_mscoco"]
    assert config.extra_test_split_patterns() == {"test_2017_flickr": "span-{SPAN}/test_2017_flickr.*",
                                                  "test_mscoco": "span-{SPAN}/test_mscoco.*"}
    assert PRESETS["smoke"].extra_test_split_patterns() == {}
