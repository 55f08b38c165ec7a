"""Runs the pipeline on this machine: LocalDagRunner, ML Metadata on SQLite, Beam's DirectRunner in this
process or on worker processes (`direct_runner_args`).

Layout of `--output-dir`:
    pipeline_root/              component outputs (artifacts), one directory per component
    metadata.sqlite             ML Metadata store (enables caching and restarts)
    serving/<model_name>/<version>/   pushed SavedModels, what TF Serving's model_base_path points at
    run_summary.json            metrics and timings of the last run
    tfx-nmt.lock                held by the running run (its pid), see `output_dir_lock`
    report.html                 the run report: the RunReport component's page, rendered again after the run
                                with the seconds of each component from ML Metadata
    tmp/                        $TMPDIR of the running run and its child processes, see `run_tmp_dir`
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from typing import Iterator, List, Optional

from tfx_nmt import files
from tfx_nmt.config import RunConfig
from tfx_nmt.contract import RUN_REPORT_FILE, RUN_SUMMARY_FILE
from tfx_nmt.pipeline.output_dir_lock import hold_output_dir
from tfx_nmt.pipeline.run_tmp_dir import run_tmp_dir

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LocalPaths:
    """Where a local run writes, all under `output_dir`."""

    output_dir: str

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, "metadata.sqlite")

    def serving_dir(self, model_name: str) -> str:
        return os.path.join(self.output_dir, "serving", model_name)

    @property
    def summary_path(self) -> str:
        return os.path.join(self.output_dir, RUN_SUMMARY_FILE)

    @property
    def report_path(self) -> str:
        return os.path.join(self.output_dir, RUN_REPORT_FILE)


def direct_runner_args(workers: int) -> List[str]:
    """Beam options for the DirectRunner: one worker runs in this process (`in_memory`); more run as that
    many worker processes (`multi_processing`, Beam's own worker harness).

    Worker processes each start a Python interpreter and import Apache Beam, for every Beam pipeline of the
    run (the DoFns' modules import neither TensorFlow nor TFX, to keep that short). On the 2-core reference
    machine start-up weighs on Multi30k's 29,000 pairs: cleaning plus tokenization take 8.5-10 s in process
    against 14.5-16 s on 2 worker processes (BENCHMARKS.md, data components). Processes pay off on corpora
    of millions of pairs and machines with many cores.
    """
    if workers <= 1:
        return ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    return ["--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]


@contextlib.contextmanager
def held_output_dir(output_dir: str) -> Iterator[LocalPaths]:
    """Holds `output_dir` (created when missing) for one run while the `with` block lasts: its lock
    (`output_dir_lock`), and its `tmp/` as `$TMPDIR` of this process and its child processes (`run_tmp_dir`).

    Enter it before TensorFlow is imported or initialized in this process, so that TensorFlow's temporary
    files go to `tmp/` too.

    Yields:
        The LocalPaths of `output_dir` (made absolute).

    Raises:
        OutputDirLockedError: another run holds `output_dir`; raised before anything is written.
    """
    paths = LocalPaths(os.path.abspath(output_dir))
    with hold_output_dir(paths.output_dir), run_tmp_dir(paths.output_dir):
        yield paths


def run_local(config: RunConfig, data_dir: str, paths: LocalPaths, beam_workers: Optional[int] = None) -> dict:
    """Runs the whole pipeline with LocalDagRunner into an output directory held by `held_output_dir`;
    writes `run_summary.json`, and `paths.report_path`: the RunReport component's page rendered again from
    the same artifacts with the run summary read from ML Metadata, so that it lists the seconds of each
    component (or its cache hit), which only the executions hold once the run is over: the RunReport
    artifact, inside the DAG, has none.

    Call it before TensorFlow initializes its devices in this process: it splits the CPU into
    `config.replicas` logical devices first.

    Args:
        config: the run's knobs.
        data_dir: the corpus directory.
        paths: the output directory, as `held_output_dir` yields it; see the module docstring.
        beam_workers: DirectRunner workers (`direct_runner_args`); default 1, in this process.

    Returns:
        The run summary (see `run_summary.build_run_summary`).

    Raises:
        RuntimeError: a component failed (TFX's own error, raised from the failing executor).
    """
    from tfx import v1 as tfx

    from tfx_nmt.models.devices import configure_cpu_replicas
    from tfx_nmt.pipeline import run_summary
    from tfx_nmt.pipeline.component_progress import ComponentProgress
    from tfx_nmt.pipeline.pipeline import create_pipeline, pipeline_name
    from tfx_nmt.reporting.report import write_report
    from tfx_nmt.reporting.run_artifacts import load_run_artifacts

    configure_cpu_replicas(config.replicas)
    workers = beam_workers or 1
    pipeline = create_pipeline(
        config,
        pipeline_name=pipeline_name(config),
        pipeline_root=paths.pipeline_root,
        data_dir=os.path.abspath(data_dir) if "://" not in data_dir else data_dir,
        serving_dir=paths.serving_dir(config.model_name),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            paths.metadata_path),
        beam_pipeline_args=direct_runner_args(workers),
    )
    log.info("Running pipeline %s (preset %s) into %s, Beam DirectRunner %s",
             pipeline.pipeline_info.pipeline_name, config.preset, paths.output_dir,
             "in process" if workers == 1 else f"on {workers} worker processes")
    with ComponentProgress():
        tfx.orchestration.LocalDagRunner().run(pipeline)
    summary = run_summary.build_run_summary(config, paths.metadata_path, pipeline.pipeline_info.pipeline_name)
    files.write_json(paths.summary_path, summary)
    write_report(load_run_artifacts(summary), paths.output_dir)
    return summary
