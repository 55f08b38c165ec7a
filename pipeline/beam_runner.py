"""The DirectRunner of local runs on more than one worker process, with a faster worker entry point.

`LeanWorkerDirectRunner` is the runner the DirectRunner itself picks for a batch pipeline, Beam's
FnApiRunner, with one change: its worker processes run `python -m tfx_nmt.pipeline.beam_worker_main`
instead of `python -m apache_beam.runners.worker.sdk_worker_main`; that module runs the same harness but
starts and exits faster (its docstring says how, and what it gives up). Name it with
`--runner=tfx_nmt.pipeline.beam_runner.LeanWorkerDirectRunner` (`local_runner.direct_runner_args` does);
the DirectRunner's options `--direct_num_workers` and `--direct_running_mode` keep their meaning.
"""
import sys

from apache_beam.options.pipeline_options import DirectOptions
from apache_beam.portability import python_urns
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import fn_runner
from apache_beam.runners.portability.portable_runner import JobServiceHandle

# The worker command of `--direct_running_mode=multi_processing` (FnApiRunner.run_pipeline), and ours.
BEAM_WORKER_COMMAND = f"{sys.executable} -m apache_beam.runners.worker.sdk_worker_main"
LEAN_WORKER_COMMAND = f"{sys.executable} -m tfx_nmt.pipeline.beam_worker_main"


class LeanWorkerDirectRunner(fn_runner.FnApiRunner):
    """Beam's FnApiRunner whose worker processes run `beam_worker_main` (see the module docstring).

    For the pipelines the FnApiRunner runs, as every Beam pipeline of a local TFX run is: the DirectRunner
    hands others (streaming ones, TestStream, Pub/Sub, CombineFns with deferred side inputs) to another
    runner; this one has no such fallback.

    Raises:
        RuntimeError: from `run_pipeline` in `multi_processing` mode when no worker environment runs
            BEAM_WORKER_COMMAND, i.e. a Beam version changed that command (update BEAM_WORKER_COMMAND).
    """

    def run_pipeline(self, pipeline, options):
        # As the DirectRunner does before it hands a pipeline to the FnApiRunner: the workers read the
        # pipeline options from the provision info.
        self._provision_info = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(
            pipeline_options=JobServiceHandle.encode_pipeline_options(options.get_all_options())))
        return super().run_pipeline(pipeline, options)

    def run_via_runner_api(self, pipeline_proto, options):
        replaced = 0
        for environment in pipeline_proto.components.environments.values():
            if environment.urn == python_urns.SUBPROCESS_SDK and environment.payload == BEAM_WORKER_COMMAND.encode():
                environment.payload = LEAN_WORKER_COMMAND.encode()
                replaced += 1
        if not replaced and options.view_as(DirectOptions).direct_running_mode == "multi_processing":
            raise RuntimeError(f"no Beam worker environment runs {BEAM_WORKER_COMMAND!r}: this Beam version starts "
                               f"its workers otherwise; update pipeline/beam_runner.py")
        return super().run_via_runner_api(pipeline_proto, options)
