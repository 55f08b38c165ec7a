"""The command line's own options and help: `--version`, `--log-level`, the top-level help, the knobs'
preset values in `run --help`, and `tfx-nmt config`."""
import json
import logging
import subprocess
import sys
from importlib import metadata

import pytest

from tfx_nmt import cli
from tfx_nmt.pipeline.presets import PRESETS, get_preset


def test_version_names_the_package_and_the_libraries_it_runs_on(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == (
        f"tfx-nmt {metadata.version('tfx-nmt')} (TFX 1.16.0, TensorFlow 2.16.2, Keras {metadata.version('keras')}, "
        f"keras-hub 0.25.1, Apache Beam 2.61.0)\n")


def test_top_level_help_has_a_description_and_examples(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "Train, evaluate and ship a Transformer translation model with a TFX pipeline" in text
    assert "\nexamples:\n  tfx-nmt run  " in text
    for command in ("run", "config", "translate", "serving-config", "compile-kubeflow", "schedule"):
        assert f"\n    {command} " in text, command
    assert "tfx-nmt config --preset quick --d-model 256" in text and "--log-level" in text


def test_run_help_shows_every_presets_value_of_each_knob(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines: compare with single spaces.
    assert "width of embeddings and hidden states (smoke: 64, quick: 128, cpu-long: 256, base: 512)" in text
    assert "label smoothing of the cross-entropy loss (every preset: 0.1)" in text
    assert "(smoke: 50, quick: 200, cpu-long: 500, base: 1000)" in text  # --steps-per-epoch
    assert "`tfx-nmt config --preset P [--KNOB VALUE ...]` prints the resolved configuration as JSON" in text


def test_config_prints_the_resolved_run_config_as_json(capsys):
    assert cli.main(["config", "--preset", "smoke", "--d-model", "32", "--no-tie-embeddings",
                     "--log-every-steps", "10"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == get_preset("smoke").replace(d_model=32, tie_embeddings=False, log_every_steps=10).training_config()
    assert printed["d_model"] == 32 and printed["num_heads"] == 2 and printed["train_steps"] == 150
    assert cli.main(["config"]) == 0
    assert json.loads(capsys.readouterr().out) == PRESETS["quick"].training_config()


def test_config_refuses_a_value_a_run_would_refuse_in_one_line(capsys):
    assert cli.main(["config", "--num-heads", "3"]) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "tfx-nmt: error: num_heads (3) must divide d_model (128)\n")


def test_blessing_options_are_checked_like_every_knob(capsys):
    assert cli.main(["config", "--blessing-rule", "threshold", "--max-p", "0.01"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["blessing_rule"], printed["max_p"]) == ("threshold", 0.01)
    assert json.loads(cli.main(["config"]) == 0 and capsys.readouterr().out)["blessing_rule"] == "significance"
    assert cli.main(["config", "--max-p", "1.5"]) == 1
    assert capsys.readouterr().err == "tfx-nmt: error: max_p must be between 0 and 1, got 1.5\n"
    with pytest.raises(SystemExit):
        cli.main(["config", "--blessing-rule", "vote"])
    assert "invalid choice: 'vote' (choose from 'significance', 'threshold')" in capsys.readouterr().err


def test_a_japanese_target_without_mecab_stops_the_run_before_it_starts(capsys, tmp_path):
    import importlib.util

    if importlib.util.find_spec("MeCab") and importlib.util.find_spec("ipadic"):
        pytest.skip("sacreBLEU's ja extra is installed")
    assert cli.main(["run", "--preset", "smoke", "--target", "ja", "--output-dir", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == (
        "tfx-nmt: error: BLEU of a 'ja' target is tokenized with sacreBLEU's ja-mecab tokenizer, which needs the "
        "packages mecab-python3 and ipadic (not installed): pip install 'sacrebleu[ja]'\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("level, shown", [("WARNING", False), ("info", True)])
def test_log_level_shows_tfx_info_lines(level, shown):
    """TFX logs through absl: its INFO lines appear with `--log-level INFO` only; ours always do."""
    script = ("import sys; from absl import logging; import logging as std; from tfx_nmt import cli; "
              "args = cli.build_parser().parse_args(sys.argv[1:]); cli.configure_logging(args.log_level); "
              "logging.info('a TFX info line'); std.getLogger('apache_beam').info('a Beam info line'); "
              "std.getLogger('tfx_nmt').info('our progress line')")
    for argv in (["--log-level", level, "config"], ["config", "--log-level", level]):
        result = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, check=True)
        assert ("a TFX info line" in result.stderr) is shown, argv
        assert ("a Beam info line" in result.stderr) is shown, argv
        assert "our progress line" in result.stderr, argv


def test_ctrl_c_offers_a_resume_only_for_run(monkeypatch, capsys):
    from tfx_nmt.serving import translate_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(translate_command, "run", interrupted)
    assert cli.main(["translate", "A man."]) == 130
    assert capsys.readouterr().err == "tfx-nmt: interrupted\n"


def test_a_whole_number_flag_names_the_value_it_cannot_read(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["serving-config", "--model-version", "abc"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "tfx-nmt serving-config: error: argument --model-version: must be a whole number >= 1, got 'abc'\n")


@pytest.mark.parametrize("args, message", [
    (["run", "--beam-workers", "0"], "tfx-nmt run: error: argument --beam-workers: must be at least 1, got 0\n"),
    (["run", "--train-steps", "abc"], "tfx-nmt run: error: argument --train-steps: invalid int value: 'abc'\n"),
    (["translate", "--batch-size", "0"], "tfx-nmt translate: error: argument --batch-size: must be at least 1, got 0\n"),
    (["serving-config", "--replicas", "0"],
     "tfx-nmt serving-config: error: argument --replicas: must be at least 1, got 0\n"),
])
def test_a_value_argparse_cannot_parse_is_a_usage_error_with_exit_status_2(args, message, capsys):
    """README, "When things go wrong": malformed values are argparse's usage errors (usage line, exit 2)."""
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: tfx-nmt ") and err.endswith(message)


def test_tfx_execution_failed_line_is_left_out_below_info(caplog):
    absl_logger = logging.getLogger("absl")
    with caplog.at_level(logging.WARNING):
        cli.configure_logging("WARNING")
        absl_logger.error("Execution %d failed.", 1)
        absl_logger.error("Execution %d was cancelled.", 2)
        cli.configure_logging("INFO")
        absl_logger.error("Execution %d failed.", 3)
    assert [record.getMessage() for record in caplog.records] == ["Execution 2 was cancelled.", "Execution 3 failed."]
    cli.configure_logging("WARNING")


def test_keras_warning_of_a_softmax_over_one_key_is_left_out():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cli.configure_logging("WARNING")
        warnings.warn("You are using a softmax over axis 3 of a tensor of shape (1, 4, 1, 1). This axis has size 1.")
        warnings.warn("another UserWarning")
    assert [str(w.message) for w in caught] == ["another UserWarning"]


def test_a_run_started_with_sigint_ignored_still_stops_on_sigint(capsys):
    """A non-interactive shell starts background jobs (`tfx-nmt run ... &` in a script) with SIGINT ignored,
    and Python then installs no KeyboardInterrupt handler; the CLI puts it back."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert cli.main(["config", "--preset", "smoke"]) == 0
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert '"preset": "smoke"' in capsys.readouterr().out
