"""TFX's InfraValidator, in a form that Kubeflow Pipelines v2 runs.

TFX 1.16's `KubeflowV2DagRunner` refuses `tfx.components.InfraValidator` by its class
(`tfx/orchestration/kubeflow/v2/step_builder.py`: "The component type ... is not supported"), and the
validator's Kubernetes model-server runner finds its own pod through the `KFP_POD_NAME` and `KFP_NAMESPACE`
environment variables, which Kubeflow Pipelines v1 sets and v2 does not. `InfraValidator` here is the same
component, TFX's spec (`InfraValidatorSpec`: model, examples, serving_spec, request_spec, validation_spec ->
blessing) and TFX's executor, as a class the compiler builds like any container component; its executor
only fills in those two variables from the pod itself (its hostname is the pod's name; its service account
token's directory holds the namespace) before it runs TFX's. Everything else, LOAD_ONLY or LOAD_AND_QUERY,
the model-server pod, the retries and the InfraBlessing, is TFX's.
"""
from __future__ import annotations

import os
import socket
from typing import Any, Dict, List, Mapping, Optional

from tfx import types
from tfx.components.infra_validator import executor as infra_validator_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import infra_validator_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import kube_utils

# Where Kubernetes mounts a pod's service account: the file `namespace` holds the pod's namespace.
SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def kfp_pod_environment(environ: Mapping[str, str],
                        namespace_file: str = SERVICE_ACCOUNT_NAMESPACE_FILE) -> Dict[str, str]:
    """The `KFP_POD_NAME` and `KFP_NAMESPACE` variables that `environ` lacks, from this pod: its hostname
    (Kubernetes sets a pod's hostname to its name) and the namespace in `namespace_file` (left out when the
    file does not exist: not in a pod)."""
    found = {}
    if kube_utils.KFP_POD_NAME not in environ:
        found[kube_utils.KFP_POD_NAME] = socket.gethostname()
    if kube_utils.KFP_NAMESPACE not in environ and os.path.exists(namespace_file):
        with open(namespace_file) as f:
            found[kube_utils.KFP_NAMESPACE] = f.read().strip()
    return found


class KubeflowV2InfraValidatorExecutor(infra_validator_executor.Executor):
    """TFX's InfraValidator executor, with `KFP_POD_NAME`/`KFP_NAMESPACE` taken from the pod when unset."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        """As TFX's `Do`: validates the model in a model server and writes the InfraBlessing.

        Raises:
            As TFX's executor (for example RuntimeError when not running in a Kubernetes pod).
        """
        os.environ.update(kfp_pod_environment(os.environ))
        super().Do(input_dict, output_dict, exec_properties)


class InfraValidator(base_component.BaseComponent):
    """`tfx.components.InfraValidator` for Kubeflow Pipelines v2 (module docstring); the same arguments.

    Args:
        model: the Trainer's Model.
        serving_spec: the model server (TF Serving image and tags) and where it runs (KubernetesConfig).
        examples: Examples to build requests from (LOAD_AND_QUERY); without them, LOAD_ONLY.
        request_spec: which signatures, split and number of examples the requests use.
        validation_spec: loading deadline and tries.
    """

    SPEC_CLASS = standard_component_specs.InfraValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(KubeflowV2InfraValidatorExecutor)

    def __init__(self, model: types.BaseChannel, serving_spec: infra_validator_pb2.ServingSpec,
                 examples: Optional[types.BaseChannel] = None,
                 request_spec: Optional[infra_validator_pb2.RequestSpec] = None,
                 validation_spec: Optional[infra_validator_pb2.ValidationSpec] = None):
        super().__init__(spec=standard_component_specs.InfraValidatorSpec(
            model=model, examples=examples, serving_spec=serving_spec, request_spec=request_spec,
            validation_spec=validation_spec, blessing=types.Channel(type=standard_artifacts.InfraBlessing)))
