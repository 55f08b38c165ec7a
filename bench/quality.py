"""Quality benchmark: the `quick` preset end to end (`tfx-nmt run --preset quick`) in a fresh output
directory, measured: wall time and peak resident memory (`pipeline_run`). Prints the figures of
BENCHMARKS.md's quality table from the run's `run_summary.json` and `training_stats.json`, writes them to
`<output-dir>/bench_quality.json`, and draws the training curve (training and validation loss, validation
BLEU, against minutes since the run started) as a PNG from the Trainer's TensorBoard event files.

    python bench/quality.py [--output-dir outputs/bench-quality] [--figure PNG] [--preset quick]
                            [--data-dir DIR] [tfx-nmt run flags, e.g. --average-checkpoints 5]

The output directory must not hold a run already: cached components would make the wall time meaningless.
"""
import argparse
import json
import os

from machine import machine_line
from pipeline_run import PipelineRun, run_pipeline

from tfx_nmt import contract
from tfx_nmt.reporting import plots
from tfx_nmt.reporting.training_curves import TRAIN_DIR, VALIDATION_DIR, against_wall_time, read_scalar_events


def _number(value, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def quality_figures(run: PipelineRun, stats: dict) -> dict:
    """The quality table's figures, from the measured run and its `training_stats.json`."""
    summary = run.summary
    return {
        "preset": summary["preset"],
        "bleu": summary["bleu"],
        "sacrebleu_signature": summary["sacrebleu_signature"],
        "chrf": summary["chrf"],
        "perplexity": summary["perplexity"],
        "bleu_lowercase_tokenized": summary.get("bleu_lowercase_tokenized"),
        "train_steps": summary["train_steps"],
        "train_seconds": stats["train_seconds"],
        "train_target_tokens_per_sec": summary["train_target_tokens_per_sec"],
        "averaged_checkpoint_steps": stats.get("averaged_checkpoint_steps"),
        "component_seconds": summary["component_seconds"],
        "wall_seconds": run.wall_seconds,
        "peak_tree_rss_bytes": run.peak_tree_rss_bytes,
        "peak_process_rss_bytes": run.peak_process_rss_bytes,
        "blessed": summary["blessed"],
    }


def quality_table(figures: dict) -> str:
    """`name  value` rows of `quality_figures`."""
    averaged = figures["averaged_checkpoint_steps"]
    rows = [
        ("preset", figures["preset"]),
        ("BLEU (cased sacreBLEU, beam)", _number(figures["bleu"], ".2f")),
        ("sacreBLEU signature", figures["sacrebleu_signature"] or "n/a"),
        ("chrF", _number(figures["chrf"], ".2f")),
        ("perplexity", _number(figures["perplexity"], ".2f")),
        ("BLEU (lowercased, Moses-tokenized)", _number(figures["bleu_lowercase_tokenized"], ".2f")),
        ("train steps", _number(figures["train_steps"], "d")),
        ("train seconds", f"{figures['train_seconds']:.0f}"),
        ("train target tokens/s", _number(figures["train_target_tokens_per_sec"], ".0f")),
        ("averaged checkpoints (steps)", ", ".join(map(str, averaged)) if averaged else "off"),
        ("wall time", f"{figures['wall_seconds'] / 60:.1f} min ({figures['wall_seconds']:.0f} s)"),
        ("peak RSS, process tree", f"{figures['peak_tree_rss_bytes'] / 1e9:.2f} GB"),
        ("peak RSS, largest process", f"{figures['peak_process_rss_bytes'] / 1e9:.2f} GB"),
        ("blessed", str(figures["blessed"])),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def training_curve_png(model_run_dir: str, origin: float, preset: str) -> bytes:
    """Training and validation loss (left axis) and validation BLEU (right axis) against minutes since
    `origin` (seconds since the Unix epoch), from the Trainer's TensorBoard event files."""
    train = read_scalar_events(os.path.join(model_run_dir, TRAIN_DIR))
    validation = read_scalar_events(os.path.join(model_run_dir, VALIDATION_DIR))
    return plots.two_axis_line_chart_png(
        {"training loss": against_wall_time(train, "epoch_loss", origin),
         "validation loss": against_wall_time(validation, "epoch_loss", origin)},
        {"validation BLEU (greedy)": against_wall_time(validation, "epoch_bleu", origin)},
        f"{preset}: training curve", "loss (nats per token)", "BLEU", "minutes since `tfx-nmt run` started")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="outputs/bench-quality")
    parser.add_argument("--figure", default="bench/figures/training_curve_quick.png")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--data-dir", default=None, help="default: $TFX_NMT_DATA_DIR, as `tfx-nmt run`")
    args, run_args = parser.parse_known_args()
    if os.path.exists(os.path.join(args.output_dir, "metadata.sqlite")):
        parser.error(f"{args.output_dir} holds a run already; remove it or choose another --output-dir")
    print(machine_line(), flush=True)
    command = " ".join(["tfx-nmt run --preset", args.preset, "--output-dir", args.output_dir] + run_args)
    print(f"{command}  (log: {os.path.join(args.output_dir, 'bench.log')})", flush=True)
    run = run_pipeline(args.preset, args.output_dir, args.data_dir, run_args,
                       os.path.join(args.output_dir, "bench.log"))
    model_run_dir = run.summary["artifacts"][contract.artifact_key(contract.TRAINER, contract.MODEL_RUN)]
    with open(os.path.join(model_run_dir, contract.TRAINING_STATS_FILE)) as f:
        stats = json.load(f)
    figures = quality_figures(run, stats)
    with open(os.path.join(args.output_dir, "bench_quality.json"), "w") as f:
        json.dump(figures, f, indent=2, sort_keys=True)
    print(quality_table(figures), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.figure)), exist_ok=True)
    with open(args.figure, "wb") as f:
        f.write(training_curve_png(model_run_dir, run.started, args.preset))
    print(f"training curve: {args.figure}", flush=True)


if __name__ == "__main__":
    main()
