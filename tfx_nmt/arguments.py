"""argparse helpers shared by the `tfx-nmt` subcommands: value types, and one flag per RunConfig field."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Dict, Mapping, Optional

from tfx_nmt.config import FIELD_CHOICES, RunConfig

# Set by `--preset` (tfx_nmt.pipeline.presets), not by a flag of its own.
_NOT_FLAGS = {"preset"}


def positive_int(text: str) -> int:
    """argparse type: an int >= 1.

    Raises:
        argparse.ArgumentTypeError: `text` is not a whole number, or is below 1 (argparse's usage error).
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def preset_values(name: str, presets: Mapping[str, RunConfig]) -> str:
    """The value of field `name` in each of `presets`, for its `--help` line: `(every preset: 0.1)`, or
    `(smoke: 64, quick: 128, ...)` when they differ."""
    values = {preset: getattr(config, name) for preset, config in presets.items()}
    if len(set(values.values())) == 1:
        return f"(every preset: {next(iter(values.values()))})"
    return "(" + ", ".join(f"{preset}: {value}" for preset, value in values.items()) + ")"


def add_config_flags(parser: argparse.ArgumentParser, presets: Optional[Mapping[str, RunConfig]] = None) -> None:
    """Adds one flag per field of RunConfig (`--d-model`, `--no-normalize-first`, ...), default None (not
    given), each with the field's help text, followed by its value in each of `presets` when given; each
    also takes the field's own spelling (`--d_model`)."""
    group = parser.add_argument_group(
        "preset overrides", "One flag per field of tfx_nmt.config.RunConfig (README.md, Options); the preset "
        "gives every default (pipeline/presets.py), shown in parentheses. `tfx-nmt config --preset P [--KNOB "
        "VALUE ...]` prints the resolved configuration as JSON. Each flag also takes the field's own spelling, "
        "e.g. --d_model.")
    for field in dataclasses.fields(RunConfig):
        if field.name in _NOT_FLAGS:
            continue
        flag = f"--{field.name.replace('_', '-')}"
        kind = type(field.default)
        help_text = field.metadata["help"]
        if presets:
            # argparse formats help with %: a literal % (none today) must be doubled.
            help_text = f"{help_text} {preset_values(field.name, presets)}".replace("%", "%%")
        spellings = [(flag, help_text)]
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


def config_overrides(args: argparse.Namespace) -> Dict[str, Any]:
    """{RunConfig field: value} of the flags of `add_config_flags` that were given."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(RunConfig)
            if f.name not in _NOT_FLAGS and getattr(args, f.name, None) is not None}
