"""`tfx-nmt`: train, evaluate, ship and use a Transformer translation model with a TFX pipeline.

    tfx-nmt run --preset quick [--data-dir DIR] [--output-dir DIR] [--source en --target de] [--KNOB VALUE ...]
    tfx-nmt translate [TEXT ...] [--input FILE] [--output FILE] [--model-dir DIR | --server URL | --grpc HOST:PORT]
    tfx-nmt serving-config [--config-dir DIR] [--model-name NAME]
    tfx-nmt compile-kubeflow --image IMAGE --pipeline-root URI [--output pipeline.json] [--KNOB VALUE ...]
    tfx-nmt schedule --host URL --pipeline pipeline.json --cron "0 0 3 * * *" --experiment NAME [--dry-run]

Each command module registers its own subcommand (`register(subparsers)`, which sets `func`); this module
parses, sets up logging, runs the command and reports known errors (UserError) in one line.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from typing import List, Optional

from tfx_nmt.errors import UserError

log = logging.getLogger("tfx_nmt")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand; each parsed command's `func(args)` runs it."""
    # The command modules import TensorFlow and TFX only when their command runs, so `--help` stays fast.
    from tfx_nmt.kubeflow import commands as kubeflow_commands
    from tfx_nmt.pipeline import run_command
    from tfx_nmt.serving import deployment, translate_command

    parser = argparse.ArgumentParser(
        prog="tfx-nmt", description="Train, evaluate and ship a Transformer translation model with a TFX "
                                    "pipeline, and translate with it.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in (run_command, translate_command, deployment, kubeflow_commands):
        command.register(subparsers)
    return parser


def configure_logging() -> None:
    """Progress of our components on stderr at INFO; TensorFlow's and TFX's own chatter at WARNING."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Google client libraries warn about Python 3.10 on import, in this process and every Beam worker.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    warnings.filterwarnings("ignore", category=FutureWarning)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)


def _user_error(error: BaseException) -> Optional[UserError]:
    """The UserError that caused `error` (TFX re-raises an executor's error, possibly chained), if any."""
    while error is not None and not isinstance(error, UserError):
        error = error.__cause__ or error.__context__
    return error


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `tfx-nmt` console script and of `python -m tfx_nmt.cli`.

    Returns:
        0 on success; 1 after printing a UserError (bad corpus, missing data, held output directory,
        data anomalies, bad schedule, missing model, ...) as one `tfx-nmt: error: ...` line without a
        traceback. Other errors propagate with their traceback.
    """
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        return args.func(args)
    except Exception as e:  # noqa: BLE001  Only UserErrors are handled; anything else is re-raised.
        error = _user_error(e)
        if error is None:
            raise
        print(f"tfx-nmt: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
