"""Compiles the pipeline that `tfx-nmt run` runs locally into a Kubeflow Pipelines v2 spec.

    tfx-nmt compile-kubeflow --image IMAGE --pipeline-root gs://bucket/root --output pipeline.json
        [--data-root gs://bucket/multi30k] [--serving-dir URI] [--beam-arg --runner=DataflowRunner ...]
        [--infra-validate] [--preset quick] [--KNOB VALUE ...]

The same `create_pipeline(...)` as the local runner, compiled by TFX's `KubeflowV2DagRunner`. The output
is TFX's PipelineJob JSON: `pipelineSpec` (the KFP IR, schema 2.1.0 as the kfp 2 SDK writes it) and
`runtimeConfig` (pipeline root and the runtime parameters' default values). Runtime parameters:

- `data_root` (string): the corpus directory.
- `train_args` (string): the Trainer's TrainArgs as JSON, `{"splits": ["train"], "num_steps": N}`;
  TFX 1.16 takes proto-valued runtime parameters only as their JSON text.
- `min_bleu` (double): the blessing threshold.

Every component runs in `--image` (built from `kubeflow/Dockerfile`); their code is imported from the
installed `tfx_nmt` package.

With `--infra-validate`, TFX's InfraValidator runs between the TranslationEvaluator and the Pusher: it
starts a TF Serving pod (`infra_validator_serving_spec`) in the cluster, through the Kubernetes API from its
own pod (whose service account must be allowed to create, get and delete pods in its namespace), loads the
model there and queries `serving_default` (`pipeline.create_pipeline`, `serving_spec`); the Pusher pushes
only a model blessed by both.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

from tfx_nmt import files
from tfx_nmt.config import RunConfig

DATA_ROOT = "data_root"
TRAIN_ARGS = "train_args"
MIN_BLEU = "min_bleu"


def runtime_parameters(config: RunConfig, data_root: str) -> Dict[str, object]:
    """The runtime parameters of the compiled pipeline, by name, each with its default value.

    Returns:
        {name: tfx.dsl.experimental.RuntimeParameter}.
    """
    from tfx import v1 as tfx

    train_args = json.dumps({"splits": ["train"], "num_steps": config.train_steps}, sort_keys=True)
    return {
        DATA_ROOT: tfx.dsl.experimental.RuntimeParameter(
            name=DATA_ROOT, ptype=str, default=data_root,
            description="corpus directory, the input_base under which the split patterns select the files"),
        TRAIN_ARGS: tfx.dsl.experimental.RuntimeParameter(
            name=TRAIN_ARGS, ptype=str, default=train_args,
            description='the Trainer\'s TrainArgs as JSON: {"splits": ["train"], "num_steps": N}'),
        MIN_BLEU: tfx.dsl.experimental.RuntimeParameter(
            name=MIN_BLEU, ptype=float, default=float(config.min_bleu),
            description="BLEU below this is never blessed nor pushed"),
    }


def infra_validator_serving_spec(model_name: str):
    """The InfraValidator's model server: TF Serving's image of the manifests (`deployment.TF_SERVING_IMAGE`)
    in a pod of the cluster the pipeline runs in (KubernetesConfig: the pipeline pod's namespace and service
    account), serving the model as `model_name`.

    Returns:
        A `tfx.proto.ServingSpec`.
    """
    from tfx import v1 as tfx

    from tfx_nmt.serving.deployment import TF_SERVING_IMAGE

    image_name, _, tag = TF_SERVING_IMAGE.rpartition(":")
    return tfx.proto.ServingSpec(
        tensorflow_serving=tfx.proto.TensorFlowServing(image_name=image_name, tags=[tag]),
        kubernetes=tfx.proto.KubernetesConfig(), model_name=model_name)


def compile_pipeline(config: RunConfig, image: str, pipeline_root: str, output: str,
                     data_root: Optional[str] = None, serving_dir: Optional[str] = None,
                     beam_pipeline_args: Optional[List[str]] = None, infra_validate: bool = False) -> dict:
    """Compiles `create_pipeline(config, ...)` for Kubeflow Pipelines v2 and writes it to `output`.

    Args:
        config: the run's knobs (a preset with overrides).
        image: the container image of every component.
        pipeline_root: where artifacts go (`gs://...` or any filesystem the image can reach).
        output: path of the JSON file written (its directory is created).
        data_root: default of the `data_root` runtime parameter; default `<pipeline_root>/data`.
        serving_dir: the Pusher's base directory; default `<pipeline_root>/serving/<model_name>`.
        beam_pipeline_args: options of every Beam pipeline, e.g. `--runner=DataflowRunner ...`;
            default: the DirectRunner inside the component's container.
        infra_validate: add TFX's InfraValidator before the Pusher (module docstring).

    Returns:
        The PipelineJob dict written to `output`.

    Raises:
        files.DirectoryError: the directory of `output` cannot be created (a file is in the way).
    """
    files.make_directories(os.path.dirname(output), "--output")
    from tfx import v1 as tfx

    from tfx_nmt.pipeline.pipeline import create_pipeline, pipeline_name

    root = pipeline_root.rstrip("/")
    parameters = runtime_parameters(config, data_root or f"{root}/data")
    pipeline = create_pipeline(
        config,
        pipeline_name=pipeline_name(config),
        pipeline_root=pipeline_root,
        data_dir=parameters[DATA_ROOT],
        serving_dir=serving_dir or f"{root}/serving/{config.model_name}",
        metadata_connection_config=None,
        beam_pipeline_args=beam_pipeline_args,
        train_args=parameters[TRAIN_ARGS],
        min_bleu=parameters[MIN_BLEU],
        serving_spec=infra_validator_serving_spec(config.model_name) if infra_validate else None,
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, use_pipeline_spec_2_1=True))
    job = runner.run(pipeline, parameter_values={name: p.default for name, p in parameters.items()},
                     write_out=False)
    files.write_json(output, job)
    return job
