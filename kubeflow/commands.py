"""The `compile-kubeflow` and `schedule` subcommands of `tfx-nmt`."""
from __future__ import annotations

import argparse
import json

from tfx_nmt.errors import ConfigError
from tfx_nmt.pipeline.presets import add_preset_flags, config_from_args


def _key_value(text: str):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return key, value


def register(subparsers) -> None:
    """Adds `compile-kubeflow` and `schedule` to the `tfx-nmt` subparsers."""
    compile_parser = subparsers.add_parser(
        "compile-kubeflow", help="compile the pipeline into a Kubeflow Pipelines v2 spec (KubeflowV2DagRunner)")
    compile_parser.add_argument("--image", required=True, help="container image of every component")
    compile_parser.add_argument("--pipeline-root", required=True, help="artifact root, e.g. gs://bucket/tfx-nmt")
    compile_parser.add_argument("--output", default="pipeline.json", help="the PipelineJob JSON written")
    compile_parser.add_argument("--data-root", default=None,
                                help="default of the data_root runtime parameter (default: <pipeline-root>/data)")
    compile_parser.add_argument("--serving-dir", default=None,
                                help="the Pusher's base directory (default: <pipeline-root>/serving/<model-name>)")
    compile_parser.add_argument("--beam-arg", action="append", default=[], dest="beam_args", metavar="ARG",
                                help="a Beam pipeline option, repeatable, e.g. --beam-arg=--runner=DataflowRunner")
    compile_parser.add_argument("--infra-validate", action="store_true",
                                help="run TFX's InfraValidator (a TF Serving pod loads and queries the model) "
                                     "before the Pusher, which then needs its blessing too")
    add_preset_flags(compile_parser)
    compile_parser.set_defaults(func=compile_kubeflow)

    schedule_parser = subparsers.add_parser(
        "schedule", help="upload a compiled pipeline and create a recurring run (kfp client)")
    schedule_parser.add_argument("--host", required=True, help="the Kubeflow Pipelines API endpoint")
    schedule_parser.add_argument("--pipeline", required=True, help="the compile-kubeflow output")
    schedule_parser.add_argument("--cron", required=True,
                                 help='six fields, seconds first: "0 0 3 * * *" runs daily at 03:00:00')
    schedule_parser.add_argument("--experiment", required=True, help="KFP experiment name")
    schedule_parser.add_argument("--job-name", default=None, help="default: <pipeline name>-recurring")
    schedule_parser.add_argument("--param", action="append", default=[], type=_key_value, metavar="NAME=VALUE",
                                 help="runtime parameter value, repeatable (default: the compiled defaults)")
    schedule_parser.add_argument("--dry-run", action="store_true",
                                 help="print the requests as JSON without contacting the server")
    schedule_parser.set_defaults(func=schedule)


def compile_kubeflow(args: argparse.Namespace) -> int:
    """`tfx-nmt compile-kubeflow`: writes the PipelineJob JSON and prints a one-line summary.

    Raises:
        ConfigError: an empty `--image` or `--pipeline-root`, or a knob value a run would refuse.
    """
    from tfx_nmt.kubeflow.compile import compile_pipeline

    for flag, value in (("--image", args.image), ("--pipeline-root", args.pipeline_root)):
        if not value.strip():
            raise ConfigError(f"{flag} must not be empty")
    job = compile_pipeline(config_from_args(args), args.image, args.pipeline_root, args.output,
                           data_root=args.data_root, serving_dir=args.serving_dir,
                           beam_pipeline_args=args.beam_args, infra_validate=args.infra_validate)
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    print(f"Wrote {args.output}: pipeline {job['pipelineSpec']['pipelineInfo']['name']}, {len(tasks)} tasks, "
          f"runtime parameters {', '.join(sorted(job['runtimeConfig']['parameterValues']))}")
    return 0


def schedule(args: argparse.Namespace) -> int:
    """`tfx-nmt schedule`: prints the dry-run requests, or uploads and creates the recurring run.

    Raises:
        ScheduleError: bad cron expression, pipeline file or parameter (see `schedule.make_plan`).
    """
    from tfx_nmt.kubeflow.schedule import make_plan

    plan = make_plan(args.pipeline, args.cron, args.experiment, args.job_name, dict(args.param))
    if args.dry_run:
        print(json.dumps(plan.dry_run(args.host), indent=2, sort_keys=True))
        return 0
    import kfp

    print(json.dumps(plan.execute(kfp.Client(host=args.host)), indent=2, sort_keys=True))
    return 0

