"""`tfx-nmt`: the command line.

    tfx-nmt run --preset quick [--data-dir DIR] [--output-dir DIR] [--source en --target de] [--KNOB VALUE ...]
    tfx-nmt translate [TEXT ...] [--input FILE] [--output FILE] [--model-dir DIR | --server URL | --grpc HOST:PORT]
    tfx-nmt serving-config [--config-dir DIR] [--model-name NAME]
    tfx-nmt compile-kubeflow --image IMAGE --pipeline-root URI [--output pipeline.json] [--KNOB VALUE ...]
    tfx-nmt schedule --host URL --pipeline pipeline.json --cron "0 0 3 * * *" --experiment NAME [--dry-run]

Every field of `tfx_nmt.config.RunConfig` is a flag (`--d-model 256`, `--train-steps 2000`,
`--min-bleu 20`, `--no-normalize-first`, ...): the preset gives the defaults, flags override them.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import warnings
from typing import List, Optional

from tfx_nmt.config import FIELD_CHOICES, RunConfig
from tfx_nmt.errors import UserError

log = logging.getLogger("tfx_nmt")

_HIDDEN_FIELDS = {"preset"}


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "preset overrides", "One flag per field of tfx_nmt.config.RunConfig (README.md, Options); the preset "
        "gives every default (pipeline/presets.py). Each flag also takes the field's own spelling, "
        "e.g. --d_model.")
    for field in dataclasses.fields(RunConfig):
        if field.name in _HIDDEN_FIELDS:
            continue
        flag = f"--{field.name.replace('_', '-')}"
        kind = type(field.default)
        spellings = [(flag, field.metadata["help"])]
        if "_" in field.name:
            spellings.append((f"--{field.name}", argparse.SUPPRESS))
        for spelling, help_text in spellings:
            if kind is bool:
                group.add_argument(spelling, dest=field.name, action=argparse.BooleanOptionalAction, default=None,
                                   help=help_text)
            else:
                group.add_argument(spelling, dest=field.name, type=kind, default=None,
                                   choices=FIELD_CHOICES.get(field.name), help=help_text,
                                   metavar=None if field.name in FIELD_CHOICES else kind.__name__.upper())


def _add_preset_flags(parser: argparse.ArgumentParser) -> None:
    from tfx_nmt.pipeline.presets import PRESETS

    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                        help="the run's defaults (default: quick)")
    _add_config_flags(parser)


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from tfx_nmt.kubeflow.commands import add_commands
    from tfx_nmt.serving import deployment, translate_command

    parser = argparse.ArgumentParser(prog="tfx-nmt", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the whole pipeline locally (LocalDagRunner)")
    run.add_argument("--data-dir", default=None,
                     help="corpus directory (default: $TFX_NMT_DATA_DIR, else a downloaded Multi30k cache)")
    run.add_argument("--output-dir", default="outputs",
                     help="pipeline root, ML Metadata, pushed models and run_summary.json go here")
    run.add_argument("--beam-workers", type=positive_int, default=1,
                     help="Beam DirectRunner workers: 1 (default) runs Beam in this process, N > 1 in N worker "
                          "processes, which pay off only on corpora of millions of pairs")
    _add_preset_flags(run)
    translate_command.add_parser(commands)
    deployment.add_parser(commands)
    add_commands(commands, _add_preset_flags)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The preset named by `args.preset` with every flag that was given applied."""
    from tfx_nmt.pipeline.presets import get_preset

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)
                 if f.name not in _HIDDEN_FIELDS and getattr(args, f.name, None) is not None}
    return get_preset(args.preset).replace(**overrides)


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


def _run(args: argparse.Namespace) -> int:
    from tfx_nmt.pipeline import run_summary
    from tfx_nmt.pipeline.data_source import resolve_data_dir
    from tfx_nmt.pipeline.local_runner import run_local

    config = config_from_args(args)
    data_dir = resolve_data_dir(args.data_dir)
    summary = run_local(config, data_dir, args.output_dir, args.beam_workers)
    print(run_summary.format_table(summary))
    return 0


def _user_error(error: BaseException) -> Optional[UserError]:
    """The UserError that caused `error` (TFX re-raises an executor's error, possibly chained), if any."""
    while error is not None and not isinstance(error, UserError):
        error = error.__cause__ or error.__context__
    return error


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `tfx-nmt` console script.

    Returns:
        0 on success; 1 after printing a UserError (bad corpus, missing data, held output directory,
        data anomalies) as one message without a traceback. Other errors propagate with their traceback.
    """
    args = build_parser().parse_args(argv)
    configure_logging()
    from tfx_nmt.kubeflow.commands import COMMANDS
    from tfx_nmt.serving import deployment, translate_command

    handlers = {"run": _run, "translate": translate_command.run, "serving-config": deployment.run, **COMMANDS}
    try:
        return handlers[args.command](args)
    except Exception as e:  # noqa: BLE001  Only UserErrors are handled; anything else is re-raised.
        error = _user_error(e)
        if error is None:
            raise
        print(f"tfx-nmt: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
