"""`tfx-nmt`: train, evaluate, ship and use a Transformer translation model with a TFX pipeline.

    tfx-nmt run --preset quick [--data-dir DIR] [--output-dir DIR] [--source en --target de] [--KNOB VALUE ...]
    tfx-nmt config --preset quick [--KNOB VALUE ...]
    tfx-nmt translate [TEXT ...] [--input FILE] [--output FILE] [--model-dir DIR | --server URL | --grpc HOST:PORT]
    tfx-nmt evaluate --source FILE --reference FILE (--model-dir DIR | --server URL | --grpc HOST:PORT |
                     --hypotheses FILE) [--target-language de] [--baseline-model-dir DIR | --baseline-hypotheses FILE]
    tfx-nmt export-ctranslate2 --model-dir DIR --output DIR [--quantization {none,int8,int8_float32}]
    tfx-nmt serving-config [--config-dir DIR] [--model-name NAME]
    tfx-nmt compile-kubeflow --image IMAGE --pipeline-root URI [--output pipeline.json] [--KNOB VALUE ...]
    tfx-nmt schedule --host URL --pipeline pipeline.json --cron "0 0 3 * * *" --experiment NAME [--dry-run]
    tfx-nmt --version
    tfx-nmt --log-level INFO COMMAND ...   (also after the command)

Each command module registers its own subcommand (`register(subparsers)`, which sets `func`); this module
parses, sets up logging, runs the command and reports known errors (UserError) and an interrupt (Ctrl-C) in
one line.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import warnings
from typing import List, Optional

from tfx_nmt.errors import UserError

log = logging.getLogger("tfx_nmt")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

EXAMPLES = """examples:
  tfx-nmt run                                   train, evaluate and push the quick model into outputs/
  tfx-nmt run --preset smoke --output-dir out   the whole pipeline in a few minutes (a check, not a translator)
  tfx-nmt config --preset quick --d-model 256   the resolved configuration of a run, as JSON
  tfx-nmt run --help                            every knob, with each preset's value
  tfx-nmt translate "A man in a red shirt."     translate with the newest pushed model under outputs/
  tfx-nmt evaluate --source test.en --reference test.de --model-dir DIR   BLEU, chrF, chrF++, TER with intervals
  tfx-nmt serving-config --config-dir deploy    TF Serving and Kubernetes configuration
  tfx-nmt --log-level INFO run ...              also show TFX's, Beam's and TensorFlow's own INFO lines

README.md has the rest: outputs, presets, serving, Kubeflow."""


def package_version() -> str:
    """`tfx-nmt <version>` and the versions of the libraries a run depends on most, from the installed
    distributions' metadata (nothing is imported)."""
    from importlib import metadata

    versions = []
    for label, distribution in (("TFX", "tfx"), ("TensorFlow", "tensorflow"), ("Keras", "keras"),
                                ("keras-hub", "keras-hub"), ("Apache Beam", "apache-beam")):
        try:
            versions.append(f"{label} {metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{label} not installed")
    return f"tfx-nmt {metadata.version('tfx-nmt')} ({', '.join(versions)})"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; each parsed command's `func(args)` runs it."""
    # The command modules import TensorFlow and TFX only when their command runs, so `--help` stays fast.
    from tfx_nmt.kubeflow import commands as kubeflow_commands
    from tfx_nmt.pipeline import config_command, ctranslate2_command, run_command
    from tfx_nmt.serving import deployment, evaluate_command, translate_command

    parser = argparse.ArgumentParser(
        prog="tfx-nmt", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Train, evaluate and ship a Transformer translation model with a TFX pipeline (Beam data\n"
                    "components, a Keras Transformer, BLEU blessing, a SavedModel that TensorFlow Serving loads),\n"
                    "and translate with it.")
    parser.add_argument("--version", action="version", version=package_version())
    log_level_help = ("level of TFX's, Beam's and TensorFlow's own log lines (default WARNING); this "
                      "command's progress lines are always shown")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="WARNING", help=log_level_help)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (run_command, config_command, translate_command, evaluate_command, ctranslate2_command,
                    deployment, kubeflow_commands):
        command.register(subparsers)
    # Also after the command (`tfx-nmt run --log-level INFO`); SUPPRESS keeps the value given before it.
    for subparser in subparsers.choices.values():
        subparser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=argparse.SUPPRESS,
                               help=log_level_help)
    return parser


def _not_a_failed_execution(record: logging.LogRecord) -> bool:
    """Logging filter: False for the TFX launcher's `Execution N failed.` (tfx/orchestration/portable/
    launcher.py), which precedes the error it re-raises; the command line reports that error itself."""
    return record.msg != "Execution %d failed."


def configure_logging(level: str = "WARNING") -> None:
    """Progress of our components on stderr at INFO; TensorFlow's, TFX's and Beam's own lines at `level`.

    Args:
        level: one of LOG_LEVELS. At INFO or DEBUG TensorFlow's C++ lines are shown too (else only its
            errors), and so is TFX's `Execution N failed.` before a failed component's error.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if level in ("DEBUG", "INFO") else "2")
    # Google client libraries warn about Python 3.10 on import, in this process and every Beam worker.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    warnings.filterwarnings("ignore", category=FutureWarning)
    # Keras warns of a softmax over an axis of size 1 (keras/src/ops/nn.py): the self-attention over the
    # one-entry cache of the call that builds the cross-attention caches (models/decoding.py, cached_step),
    # whose weight is rightly 1.
    warnings.filterwarnings("ignore", message="You are using a softmax over axis", category=UserWarning)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    # TFX logs through absl, Beam through the standard logging module.
    logging.getLogger().setLevel(level)
    from absl import logging as absl_logging

    absl_logging.set_verbosity(level.lower())
    absl_logger = logging.getLogger("absl")
    if level in ("DEBUG", "INFO"):
        absl_logger.removeFilter(_not_a_failed_execution)
    else:
        absl_logger.addFilter(_not_a_failed_execution)


def _user_error(error: BaseException) -> Optional[UserError]:
    """The UserError that caused `error` (TFX re-raises an executor's error, possibly chained), if any."""
    while error is not None and not isinstance(error, UserError):
        error = error.__cause__ or error.__context__
    return error


# The commands that a re-run resumes, and what it picks up again; other commands just stop.
_RESUME = {"run": "; run the same command again to resume (finished components are reused from ML Metadata, "
                  "training continues from its last checkpoint)"}


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `tfx-nmt` console script and of `python -m tfx_nmt.cli`.

    Returns:
        0 on success; 1 after printing a UserError (bad corpus, missing data, held output directory,
        data anomalies, a diverged training, bad schedule, missing model, ...) as one `tfx-nmt: error: ...`
        line without a traceback; 130 (the shell's code for SIGINT) after Ctrl-C, with one line. Other errors
        propagate with their traceback.
    """
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    # A process started in the background by a non-interactive shell (`cmd &` in a script, CI) inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler: `kill -INT` would be lost.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C: the `with` blocks of the command have released the output directory on the way here.
        print(f"tfx-nmt: interrupted{_RESUME.get(args.command, '')}", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001  Only UserErrors are handled; anything else is re-raised.
        error = _user_error(e)
        if error is None:
            raise
        print(f"tfx-nmt: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
