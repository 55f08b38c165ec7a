"""The InfraValidator for Kubeflow Pipelines v2: TFX's spec and executor, and the pod environment TFX's
Kubernetes runner reads. The validator itself starts a TF Serving pod through the Kubernetes API, which needs
a cluster: not here (tests/kubeflow/test_kubeflow.py checks the compiled spec)."""
import socket

from tfx import v1 as tfx
from tfx.components.infra_validator import executor as tfx_executor
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import kube_utils

from tfx_nmt.components.infra_validator import InfraValidator, KubeflowV2InfraValidatorExecutor, kfp_pod_environment


def test_the_pod_name_and_namespace_come_from_the_pod_unless_set(tmp_path):
    namespace = tmp_path / "namespace"
    namespace.write_text("kubeflow-user\n")
    assert kfp_pod_environment({}, str(namespace)) == {
        "KFP_POD_NAME": socket.gethostname(), "KFP_NAMESPACE": "kubeflow-user"}
    assert kube_utils.KFP_POD_NAME == "KFP_POD_NAME" and kube_utils.KFP_NAMESPACE == "KFP_NAMESPACE"
    assert kfp_pod_environment({"KFP_POD_NAME": "p", "KFP_NAMESPACE": "n"}, str(namespace)) == {}
    # Outside a pod there is no service account file: no namespace is made up.
    assert kfp_pod_environment({"KFP_POD_NAME": "p"}, str(tmp_path / "missing")) == {}


def test_the_component_is_tfxs_spec_and_executor_but_not_its_class():
    model = tfx.dsl.Channel(type=standard_artifacts.Model)
    examples = tfx.dsl.Channel(type=standard_artifacts.Examples)
    validator = InfraValidator(model=model, examples=examples, serving_spec=tfx.proto.ServingSpec(
        tensorflow_serving=tfx.proto.TensorFlowServing(tags=["2.16.1"]), kubernetes=tfx.proto.KubernetesConfig()))
    assert isinstance(validator.spec, standard_component_specs.InfraValidatorSpec)
    assert issubclass(KubeflowV2InfraValidatorExecutor, tfx_executor.Executor)
    assert validator.executor_spec.executor_class is KubeflowV2InfraValidatorExecutor
    # TFX 1.16's KubeflowV2DagRunner refuses instances of tfx.components.InfraValidator.
    assert not isinstance(validator, tfx.components.InfraValidator)
    assert validator.outputs["blessing"].type is standard_artifacts.InfraBlessing
