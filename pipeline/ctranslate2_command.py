"""`tfx-nmt export-ctranslate2`: converts a pushed SavedModel version into a CTranslate2 model.

    tfx-nmt export-ctranslate2 --model-dir outputs/quick/serving/translator/<version> --output ct2-int8 \\
        --quantization int8
    tfx-nmt translate --engine ctranslate2 --model-dir ct2-int8 "A man in a red shirt."

The Trainer writes the float32 CTranslate2 model of every trained model beside its SavedModel
(`<Model artifact>/Format-CTranslate2/`); this command converts any SavedModel exported by tfx-nmt (a pushed
version or a Trainer's `Format-Serving/`), with any quantization (`tfx_nmt.models.ctranslate2_export`).
"""
from __future__ import annotations

import argparse
import logging
import os

from tfx_nmt.errors import UserError

log = logging.getLogger(__name__)


class OutputExistsError(UserError, FileExistsError):
    """`--output` exists already."""


def register(subparsers) -> None:
    """Adds the `export-ctranslate2` subcommand to the `tfx-nmt` subparsers."""
    from tfx_nmt.models.ctranslate2_export import QUANTIZATIONS

    parser = subparsers.add_parser("export-ctranslate2", help="convert a pushed SavedModel into a CTranslate2 model",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True,
                        help="a SavedModel version directory, e.g. outputs/quick/serving/translator/<version>")
    parser.add_argument("--output", required=True, help="the CTranslate2 model directory to create")
    parser.add_argument("--quantization", default="none", choices=sorted(QUANTIZATIONS),
                        help="weights: none (float32, the default), int8 or int8_float32 (int8 weights)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs `tfx-nmt export-ctranslate2`; returns the exit code.

    Raises:
        OutputExistsError, ctranslate2_export.SavedModelSettingsError, ctranslate2_export.UnsupportedModelError:
            printed as one line by the command line.
    """
    from tfx_nmt.models import ctranslate2_export

    if os.path.exists(args.output):
        raise OutputExistsError(f"{args.output}: exists already; choose a new --output directory")
    model, tokenizer_model, settings = ctranslate2_export.restore_saved_model(args.model_dir)
    ctranslate2_export.export_ctranslate2(model, tokenizer_model, settings, args.output, args.quantization)
    log.info("Wrote the CTranslate2 model (%s weights) to %s", args.quantization, args.output)
    return 0
