"""`tfx-nmt serving-config`: TF Serving and Kubernetes files that serve the pushed model.

Writes to `--config-dir`:
- `models.config`: a TF Serving `ModelServerConfig` in protobuf text format (one `model_config_list`
  entry: name, `base_path`, platform `tensorflow`, version policy `latest { num_versions: N }`), read by
  `tensorflow_model_server --model_config_file=...` (https://www.tensorflow.org/tfx/serving/serving_config).
- `kubernetes.yaml`: a ConfigMap holding `models.config`, a Deployment of the `tensorflow/serving` image
  (gRPC 8500, REST 8501, the model volume mounted at the base path, a readiness probe on
  `GET /v1/models/<name>`, CPU/memory requests), and a Service exposing both ports.

The model volume is a PersistentVolumeClaim (`--volume-claim`) holding `<version>/` directories, or,
with `--host-model-dir`, a hostPath directory (single-node clusters such as kind or minikube).
"""
from __future__ import annotations

import argparse
import os
from typing import Dict, List, Optional

from google.protobuf import text_format

from tfx_nmt import files

CONFIG_FILE = "models.config"
MANIFEST_FILE = "kubernetes.yaml"
CONFIG_MOUNT = "/config"
GRPC_PORT = 8500
REST_PORT = 8501


def model_server_config(model_name: str, base_path: str, num_versions: int = 1) -> str:
    """A TF Serving `ModelServerConfig` in protobuf text format, validated against the real proto.

    Raises:
        ValueError: when `num_versions < 1`.
    """
    from tensorflow_serving.config import model_server_config_pb2

    if num_versions < 1:
        raise ValueError(f"num_versions must be >= 1, got {num_versions}")
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = model_name
    model.base_path = base_path
    model.model_platform = "tensorflow"
    model.model_version_policy.latest.num_versions = num_versions
    return text_format.MessageToString(config)


def kubernetes_manifests(model_name: str, base_path: str, config_text: str, image: str, replicas: int,
                         cpu: str, memory: str, volume_claim: Optional[str],
                         host_model_dir: Optional[str]) -> List[Dict]:
    """ConfigMap, Deployment and Service objects (dicts in the Kubernetes API's shape)."""
    def labels():
        # A fresh dict each time, so that the YAML has no anchors and aliases.
        return {"app": model_name}

    if host_model_dir:
        model_volume = {"name": "model", "hostPath": {"path": host_model_dir, "type": "Directory"}}
    else:
        model_volume = {"name": "model", "persistentVolumeClaim": {"claimName": volume_claim, "readOnly": True}}
    config_map = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": f"{model_name}-serving-config", "labels": labels()},
        "data": {CONFIG_FILE: config_text},
    }
    container = {
        "name": "tensorflow-serving",
        "image": image,
        "args": [f"--port={GRPC_PORT}", f"--rest_api_port={REST_PORT}",
                 f"--model_config_file={CONFIG_MOUNT}/{CONFIG_FILE}"],
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT}, {"name": "http", "containerPort": REST_PORT}],
        "volumeMounts": [{"name": "model", "mountPath": base_path, "readOnly": True},
                         {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}],
        "readinessProbe": {"httpGet": {"path": f"/v1/models/{model_name}", "port": REST_PORT},
                           "initialDelaySeconds": 5, "periodSeconds": 10},
        "resources": {"requests": {"cpu": cpu, "memory": memory}},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{model_name}-serving", "labels": labels()},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels()},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {"containers": [container],
                         "volumes": [model_volume,
                                     {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}}]},
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": model_name, "labels": labels()},
        "spec": {"selector": labels(),
                 "ports": [{"name": "grpc", "port": GRPC_PORT, "targetPort": GRPC_PORT},
                           {"name": "http", "port": REST_PORT, "targetPort": REST_PORT}]},
    }
    return [config_map, deployment, service]


# The model server image of the manifests and of the InfraValidator (`compile-kubeflow --infra-validate`):
# the TensorFlow Serving release of the pipeline's TensorFlow.
TF_SERVING_IMAGE = "tensorflow/serving:2.16.1"


def register(subparsers) -> None:
    """Adds the `serving-config` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser("serving-config", help="write TF Serving models.config and Kubernetes manifests",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-dir", default="deploy", help="where to write the files")
    parser.add_argument("--model-name", default="translator")
    parser.add_argument("--base-path", default=None,
                        help="the model's directory inside the container (default: /models/<model-name>)")
    parser.add_argument("--num-versions", type=int, default=1, help="latest versions served at once")
    parser.add_argument("--image", default=TF_SERVING_IMAGE)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--cpu", default="1", help="CPU request per pod")
    parser.add_argument("--memory", default="1Gi", help="memory request per pod")
    volume = parser.add_mutually_exclusive_group()
    volume.add_argument("--volume-claim", default=None,
                        help="PersistentVolumeClaim holding the <version>/ directories (default: <model-name>-models)")
    volume.add_argument("--host-model-dir", default=None,
                        help="node directory holding the <version>/ directories (hostPath volume)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Writes `models.config` and `kubernetes.yaml`; prints their paths. Returns the exit code."""
    import yaml

    base_path = args.base_path or f"/models/{args.model_name}"
    config_text = model_server_config(args.model_name, base_path, args.num_versions)
    host_model_dir = os.path.abspath(args.host_model_dir) if args.host_model_dir else None
    manifests = kubernetes_manifests(args.model_name, base_path, config_text, args.image, args.replicas,
                                     args.cpu, args.memory, args.volume_claim or f"{args.model_name}-models",
                                     host_model_dir)
    os.makedirs(args.config_dir, exist_ok=True)
    config_path = os.path.join(args.config_dir, CONFIG_FILE)
    manifest_path = os.path.join(args.config_dir, MANIFEST_FILE)
    files.write_text(config_path, config_text)
    files.write_text(manifest_path, yaml.safe_dump_all(manifests, sort_keys=False))
    print(config_path)
    print(manifest_path)
    return 0
