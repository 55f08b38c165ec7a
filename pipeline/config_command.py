"""`tfx-nmt config`: the resolved configuration of a run, as JSON, without running anything.

    tfx-nmt config --preset quick [--KNOB VALUE ...]

Prints the RunConfig that `tfx-nmt run` (or `compile-kubeflow`) would use with the same `--preset` and knob
flags: every field, the preset's values with the flags applied, checked as a run checks them.
"""
from __future__ import annotations

import argparse
import json

from tfx_nmt.pipeline.presets import add_preset_flags, config_from_args


def register(subparsers) -> None:
    """Adds the `config` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser(
        "config", help="print the resolved configuration of a run (a preset and knob flags) as JSON",
        description="Print the RunConfig that `tfx-nmt run` would use with the same --preset and knob flags, as "
                    "JSON (every field, checked as a run checks it); nothing runs.")
    add_preset_flags(parser)
    parser.set_defaults(func=print_config)


def print_config(args: argparse.Namespace) -> int:
    """Prints the RunConfig of `args` (`config_from_args`) as indented JSON on stdout; returns 0.

    Raises:
        ConfigError: a knob value a run would refuse, a language that language identification does not know
            (printed as one line by the command line).
    """
    from tfx_nmt.components.cleaning import CleaningRules, check_languages

    config = config_from_args(args)
    check_languages(CleaningRules.from_config(config))
    print(json.dumps(config.training_config(), indent=2))
    return 0
