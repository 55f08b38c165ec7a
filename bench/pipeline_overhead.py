"""Pipeline overhead: the `smoke` preset end to end (`tfx-nmt run --preset smoke`) in a fresh output
directory. Prints the whole wall time, the wall seconds of each component from ML Metadata's execution
times (`run_summary.json`'s `component_seconds`, which `tfx_nmt.pipeline.run_summary` reads from the
run's ML Metadata store: from an execution's registration, after its inputs are resolved, to its
publication), the time outside them (process start, imports, DAG compilation, the launcher's work
between components, run summary and report), and the peak resident memory (`pipeline_run`).

    python bench/pipeline_overhead.py [--data-dir DIR] [--preset smoke] [--output-dir DIR] [tfx-nmt run flags]

Flags it does not know are passed to `tfx-nmt run` (for example `--beam-workers 1`). Without
`--output-dir` the run goes to a temporary directory, deleted afterwards.
"""
import argparse
import os
import tempfile

from machine import machine_line
from pipeline_run import run_pipeline

from tfx_nmt.config import RunConfig
from tfx_nmt.pipeline.pipeline import create_pipeline


def overhead_table(wall_seconds: float, summary: dict) -> str:
    """Rows `name  seconds`: each component (in DAG order), their sum, the rest, the whole run."""
    seconds = summary["component_seconds"]
    dag_order = [c.id for c in create_pipeline(RunConfig(), "order", "root", "data", "serving").components]
    order = [c for c in dag_order if c in seconds] + sorted(set(seconds) - set(dag_order))
    rows = [(component, "cached" if component in summary["cached_components"] else f"{seconds[component]:8.1f}")
            for component in order]
    in_components = sum(seconds.values())
    rows += [("sum of components", f"{in_components:8.1f}"),
             ("outside components", f"{wall_seconds - in_components:8.1f}"),
             ("whole `tfx-nmt run`", f"{wall_seconds:8.1f}")]
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"{'component'.ljust(width)}  {'seconds':>8s}"] +
                     [f"{name.ljust(width)}  {value:>8s}" for name, value in rows])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="default: $TFX_NMT_DATA_DIR, as `tfx-nmt run`")
    parser.add_argument("--preset", default="smoke")
    parser.add_argument("--output-dir", default=None, help="keep the run here (default: a temporary directory)")
    args, run_args = parser.parse_known_args()
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        output_dir = args.output_dir or os.path.join(scratch, "run")
        run = run_pipeline(args.preset, output_dir, args.data_dir, run_args, os.path.join(scratch, "run.log"))
    print(" ".join(["tfx-nmt run --preset", args.preset] + run_args), flush=True)
    print(overhead_table(run.wall_seconds, run.summary))
    print(f"peak resident memory: {run.peak_tree_rss_bytes / 1e9:.2f} GB process tree, "
          f"{run.peak_process_rss_bytes / 1e9:.2f} GB largest process", flush=True)


if __name__ == "__main__":
    main()
