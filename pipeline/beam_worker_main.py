"""Entry point of the Beam worker processes of local runs (`beam_runner.LeanWorkerDirectRunner`): Beam's
own `apache_beam.runners.worker.sdk_worker_main`, started and stopped faster.

The DirectRunner starts and stops its worker processes for every Beam pipeline, and on Multi30k's 29,000
pairs those two costs outweigh the work (BENCHMARKS.md, data components):

- Start. Importing Beam's worker harness takes 2.9-3.5 s on the 2-core reference machine, more than half of
  it in modules that `apache_beam.io` and `apache_beam.typehints` import in case a pipeline uses them: the
  BigQuery, BigQuery Storage and Pub/Sub clients (BigQuery's brings IPython and ipywidgets with it, through
  `tqdm.notebook`) and pandas; without them it takes 1.4-1.6 s. They are hidden while the harness is
  imported (`sys.modules[name] = None`, which makes Beam's guarded imports take their "not installed"
  branch) and restored right after, so a DoFn that imports one of them gets it. What Beam decides at import
  stays off in these workers: its BigQuery and Pub/Sub connectors and pandas-typed batched DoFns. No Beam
  pipeline of a local run uses them; the Kubeflow pipeline takes its Beam options from the user and never
  starts this module.
- Stop. The runner stops its workers one after another, each time waiting for the process to exit, and
  Python's own shutdown after the harness has returned (threads of gRPC, thousands of modules) takes
  about half a second. By then the harness has answered every request, torn down the DoFns and closed
  its data, state and logging channels. The process then does what Python's shutdown would still do for a
  DoFn's sake, in about 0.1 s: it runs the `atexit` handlers (weakref finalizers, such as a
  `TemporaryDirectory`'s cleanup, among them) and collects garbage (closing files no longer referenced),
  flushes stdout and stderr, and ends with `os._exit(0)`. Skipped: waiting for non-daemon threads a DoFn
  left running, and the teardown of modules (a file kept open in a module global is not flushed); a DoFn
  should finish its work in `finish_bundle` or `teardown`, as Beam asks anyway. A harness that fails
  raises as in Beam's entry point (exit status 1, traceback on stderr).

This module, and the `__init__` modules of its packages (empty), import only the standard library before
the harness: the worker runs `python -m tfx_nmt.pipeline.beam_worker_main`, and anything imported first
would not be hidden.
"""
import atexit
import gc
import os
import sys
from typing import Tuple

# Imported by `apache_beam.io` and `apache_beam.typehints` only in case a pipeline needs them (see above).
HIDDEN_DURING_HARNESS_IMPORT: Tuple[str, ...] = (
    "IPython", "ipywidgets", "google.cloud.bigquery", "google.cloud.bigquery_storage_v1", "google.cloud.pubsub",
    "pandas",
)


def import_harness():
    """Imports and returns Beam's `sdk_worker_main` module with HIDDEN_DURING_HARNESS_IMPORT hidden; they
    are importable again on return (those imported before the call are left alone)."""
    hidden = [name for name in HIDDEN_DURING_HARNESS_IMPORT if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        from apache_beam.runners.worker import sdk_worker_main
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return sdk_worker_main


def main() -> None:
    """Runs Beam's worker harness (configured, as Beam's entry point is, by the CONTROL_API_SERVICE_DESCRIPTOR,
    LOGGING_API_SERVICE_DESCRIPTOR and PIPELINE_OPTIONS environment variables the runner sets), then ends
    the process without Python's slow shutdown (see the module docstring)."""
    import_harness().main(sys.argv)
    atexit._run_exitfuncs()  # What Python's shutdown calls; there is no public way to run them early.
    gc.collect()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
