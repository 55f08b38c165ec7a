"""`tfx-nmt run`: the whole pipeline on this machine (its last components write the model card and the run
report), then the summary table and the path of `<output-dir>/report.html`.

    tfx-nmt run --preset quick [--data-dir DIR] [--output-dir DIR] [--source en --target de] [--KNOB VALUE ...]

Every field of `tfx_nmt.config.RunConfig` is a flag (`--d-model 256`, `--train-steps 2000`,
`--min-bleu 20`, `--no-normalize-first`, ...): the preset gives the defaults, flags override them.
"""
from __future__ import annotations

import argparse

from tfx_nmt.arguments import positive_int
from tfx_nmt.pipeline.presets import add_preset_flags, config_from_args


def register(subparsers) -> None:
    """Adds the `run` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser("run", help="run the whole pipeline locally (LocalDagRunner)")
    parser.add_argument("--data-dir", default=None,
                        help="corpus directory (default: $TFX_NMT_DATA_DIR, else a downloaded Multi30k cache)")
    parser.add_argument("--output-dir", default="outputs",
                        help="pipeline root, ML Metadata, pushed models and run_summary.json go here (default: "
                             "outputs)")
    parser.add_argument("--beam-workers", type=positive_int, default=1,
                        help="Beam DirectRunner workers: 1 (default) runs Beam in this process, N > 1 in N worker "
                             "processes, which pay off only on corpora of millions of pairs")
    add_preset_flags(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the pipeline (`local_runner.run_local`, which writes the report to `<output-dir>/report.html`)
    and prints the summary table and the report's path. Returns the exit code.

    Raises:
        ConfigError, DataSourceError, OutputDirLockedError, and the UserErrors of the components: the command
            line prints them as one line.
    """
    from tfx_nmt.components.cleaning import CleaningRules, check_languages
    from tfx_nmt.pipeline.data_source import resolve_data_dir
    from tfx_nmt.pipeline.local_runner import held_output_dir, run_local
    from tfx_nmt.reporting.summary_table import format_table
    from tfx_nmt.scoring.translation_metrics import bleu_tokenizer

    config = config_from_args(args)
    # create_pipeline checks it too; here it comes before the corpus is looked for, or downloaded.
    check_languages(CleaningRules.from_config(config))
    # A Japanese or Korean target needs BLEU's MeCab tokenizer: fail now, not after training.
    bleu_tokenizer(config.target)
    data_dir = resolve_data_dir(args.data_dir)
    with held_output_dir(args.output_dir) as paths:
        summary = run_local(config, data_dir, paths, args.beam_workers)
    print(format_table(summary))
    print(f"Run report: {paths.report_path}")
    return 0
