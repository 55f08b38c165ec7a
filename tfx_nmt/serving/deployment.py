"""`tfx-nmt serving-config`: TF Serving and Kubernetes files that serve the pushed model.

Writes to `--config-dir`:
- `models.config`: a TF Serving `ModelServerConfig` in protobuf text format (one `model_config_list`
  entry: name, `base_path`, platform `tensorflow`, version policy `latest { num_versions: N }`, or
  `specific { versions: V }` with `--model-version V`), read by
  `tensorflow_model_server --model_config_file=...` (https://www.tensorflow.org/tfx/serving/serving_config).
- `batching.config`: TF Serving's `BatchingParameters` (`--enable_batching=true
  --batching_parameters_file=...`; https://www.tensorflow.org/tfx/serving/serving_config#batching_configuration):
  concurrent requests are joined into batches of up to `--max-batch-size` sentences, waiting at most
  `--batch-timeout-micros`. Safe for this model, whose translation of a row never depends on the other
  rows of its batch. Left out with `--no-batching`.
- `monitoring.config`: TF Serving's `MonitoringConfig`: Prometheus metrics on the REST port at
  `--prometheus-path` (`--monitoring_config_file=...`;
  https://www.tensorflow.org/tfx/serving/serving_config#monitoring_configuration).
- `kubernetes.yaml`: a ConfigMap holding those files, a Deployment of the `tensorflow/serving` image (gRPC
  8500, REST 8501, the model volume mounted at the base path, a readiness probe on `GET /v1/models/<name>`,
  a liveness probe on the gRPC port, CPU/memory requests and limits, Prometheus scrape annotations,
  version labels), and a Service exposing both ports.
- or, with `--kserve`, `kserve.yaml` instead: the ConfigMap and a KServe `InferenceService` whose
  `predictor.tensorflow` loads the model from `--storage-uri` (https://kserve.github.io/website/) with the
  same batching and monitoring files (no `models.config`: KServe's runtime names the model on its command
  line); KServe makes the Deployment, Service and probes itself.

The model volume is a PersistentVolumeClaim (`--volume-claim`) holding `<version>/` directories, or,
with `--host-model-dir`, a hostPath directory (single-node clusters such as kind or minikube).
"""
from __future__ import annotations

import argparse
import math
import os
import re
from typing import Dict, List, Optional

from google.protobuf import text_format

from tfx_nmt import files
from tfx_nmt.arguments import positive_int
from tfx_nmt.errors import UserError
from tfx_nmt.serving.serving_config_protos import BatchingParameters, MonitoringConfig

CONFIG_FILE = "models.config"
BATCHING_FILE = "batching.config"
MONITORING_FILE = "monitoring.config"
MANIFEST_FILE = "kubernetes.yaml"
KSERVE_FILE = "kserve.yaml"
CONFIG_MOUNT = "/config"
GRPC_PORT = 8500
REST_PORT = 8501
# TF Serving's default Prometheus path (PrometheusExporter::kPrometheusPath).
PROMETHEUS_PATH = "/monitoring/prometheus/metrics"
# The REST port of KServe's TensorFlow serving runtime (kserve-tensorflow-serving: --rest_api_port=8080).
KSERVE_REST_PORT = 8080
MODEL_VERSION_LABEL = "tfx-nmt/model-version"
# The model server image of the manifests and of the InfraValidator (`compile-kubeflow --infra-validate`):
# the TensorFlow Serving release of the pipeline's TensorFlow.
TF_SERVING_IMAGE = "tensorflow/serving:2.16.1"
# The batching flags' defaults: up to 64 sentences a batch, waiting at most 5 ms, 100 batches queued.
BATCHING_DEFAULTS = {"max_batch_size": 64, "batch_timeout_micros": 5000, "max_enqueued_batches": 100}
_MEMORY_UNITS = {"": 1, **{suffix: 1000 ** power for power, suffix in enumerate("kMGTPE", 1)},
                 **{f"{suffix}i": 1024 ** power for power, suffix in enumerate("KMGTPE", 1)}}


class ServingConfigError(UserError, ValueError):
    """Options of `tfx-nmt serving-config` that do not go together."""


def model_server_config(model_name: str, base_path: str, num_versions: int = 1,
                        model_version: Optional[int] = None) -> str:
    """A TF Serving `ModelServerConfig` in protobuf text format, validated against the real proto.

    Args:
        model_version: serve exactly this version (`specific`), else the latest `num_versions`.

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
    if model_version is None:
        model.model_version_policy.latest.num_versions = num_versions
    else:
        model.model_version_policy.specific.versions.append(model_version)
    return text_format.MessageToString(config)


def batching_parameters(max_batch_size: int, batch_timeout_micros: int, num_batch_threads: int,
                        max_enqueued_batches: int) -> str:
    """TF Serving's `BatchingParameters` in protobuf text format.

    `pad_variable_length_inputs` is on: the signatures' inputs are rank 1 (`[batch]` strings), which
    concatenate along the batch dimension without padding, so it changes nothing for them; it lets a
    signature with `[batch, length]` inputs be batched too (TF Serving pads every dimension but the first,
    strings included: `AddPadding` in tensorflow_serving/batching/batching_util.cc).
    """
    parameters = BatchingParameters()
    parameters.max_batch_size.value = max_batch_size
    parameters.batch_timeout_micros.value = batch_timeout_micros
    parameters.num_batch_threads.value = num_batch_threads
    parameters.max_enqueued_batches.value = max_enqueued_batches
    parameters.pad_variable_length_inputs = True
    return text_format.MessageToString(parameters)


def monitoring_config(prometheus_path: str = PROMETHEUS_PATH) -> str:
    """TF Serving's `MonitoringConfig` in protobuf text format: Prometheus metrics at `prometheus_path` of
    the REST port."""
    config = MonitoringConfig()
    config.prometheus_config.enable = True
    config.prometheus_config.path = prometheus_path
    return text_format.MessageToString(config)


def cpu_quantity(quantity: str, flag: str = "--cpu-limit") -> float:
    """The cores of a Kubernetes CPU quantity ("2", "1.5", "500m"), a float >= 0.

    Raises:
        ServingConfigError: naming `flag`, when `quantity` is not a CPU quantity.
    """
    try:
        cores = int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    except ValueError:
        cores = math.nan
    if not (math.isfinite(cores) and cores >= 0):
        raise ServingConfigError(f"{flag} {quantity!r}: not a CPU quantity such as 2, 1.5 or 500m")
    return cores


def cpu_cores(quantity: str, flag: str = "--cpu-limit") -> int:
    """The whole cores of a Kubernetes CPU quantity ("2", "1.5", "500m"), rounded up, at least 1.

    Raises:
        ServingConfigError: naming `flag`, when `quantity` is not a CPU quantity.
    """
    return max(1, math.ceil(cpu_quantity(quantity, flag)))


def memory_quantity(quantity: str, flag: str) -> float:
    """The bytes of a Kubernetes memory quantity ("1Gi", "512Mi", "1G", "1000000"; decimal k M G T P E and
    binary Ki Mi Gi Ti Pi Ei suffixes, as in
    https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/).

    Raises:
        ServingConfigError: naming `flag`, when `quantity` is not a memory quantity.
    """
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?", quantity)
    if not match:
        raise ServingConfigError(f"{flag} {quantity!r}: not a memory quantity such as 1Gi, 512Mi or 1G")
    return float(match.group(1)) * _MEMORY_UNITS[match.group(2) or ""]


def check_model_name(name: str) -> None:
    """Checks that `name` can name the Service, Deployment and labels: a DNS-1035 label (lowercase letters,
    digits and `-`, starting with a letter, ending with a letter or digit, at most 63 characters;
    https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).

    Raises:
        ServingConfigError: naming the rule.
    """
    if len(name) > 63 or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name):
        raise ServingConfigError(f"--model-name {name!r}: Kubernetes names take lowercase letters, digits and '-', "
                                 f"starting with a letter and ending with a letter or digit, at most 63 "
                                 f"characters (e.g. translator, en-de)")


def _image_tag(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def _labels(model_name: str, image: str, model_version: Optional[int]) -> Dict[str, str]:
    """The selector label `app` and the Kubernetes recommended labels
    (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/): the version is the
    TF Serving image's tag; `tfx-nmt/model-version` the pinned model version."""
    labels = {"app": model_name, "app.kubernetes.io/name": model_name,
              "app.kubernetes.io/component": "model-server", "app.kubernetes.io/part-of": "tfx-nmt",
              "app.kubernetes.io/version": _image_tag(image)}
    if model_version is not None:
        labels[MODEL_VERSION_LABEL] = str(model_version)
    return labels


def _server_args(batching: bool) -> List[str]:
    args = [f"--monitoring_config_file={CONFIG_MOUNT}/{MONITORING_FILE}"]
    if batching:
        args += ["--enable_batching=true", f"--batching_parameters_file={CONFIG_MOUNT}/{BATCHING_FILE}"]
    return args


def _config_map(model_name: str, config_files: Dict[str, str], labels: Dict[str, str]) -> Dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{model_name}-serving-config", "labels": dict(labels)},
            "data": dict(config_files)}


def _prometheus_annotations(port: int, path: str) -> Dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": path}


def kubernetes_manifests(model_name: str, base_path: str, config_files: Dict[str, str], image: str,
                         replicas: int, resources: Dict[str, Dict[str, str]], volume_claim: Optional[str],
                         host_model_dir: Optional[str], model_version: Optional[int] = None,
                         prometheus_path: str = PROMETHEUS_PATH) -> List[Dict]:
    """ConfigMap, Deployment and Service objects (dicts in the Kubernetes API's shape).

    Args:
        config_files: {file name: text} for the ConfigMap, mounted at /config: `models.config`,
            `monitoring.config` and, when batching, `batching.config`.
        resources: the container's `{"requests": {...}, "limits": {...}}`.
    """
    labels = _labels(model_name, image, model_version)
    selector = {"app": model_name}  # Only the stable label: a Deployment's selector cannot change.
    if host_model_dir:
        model_volume = {"name": "model", "hostPath": {"path": host_model_dir, "type": "Directory"}}
    else:
        model_volume = {"name": "model", "persistentVolumeClaim": {"claimName": volume_claim, "readOnly": True}}
    config_map = _config_map(model_name, config_files, labels)
    container = {
        "name": "tensorflow-serving",
        "image": image,
        "args": [f"--port={GRPC_PORT}", f"--rest_api_port={REST_PORT}",
                 f"--model_config_file={CONFIG_MOUNT}/{CONFIG_FILE}", *_server_args(BATCHING_FILE in config_files)],
        "ports": [{"name": "grpc", "containerPort": GRPC_PORT}, {"name": "http", "containerPort": REST_PORT}],
        "volumeMounts": [{"name": "model", "mountPath": base_path, "readOnly": True},
                         {"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}],
        "readinessProbe": {"httpGet": {"path": f"/v1/models/{model_name}", "port": REST_PORT},
                           "initialDelaySeconds": 5, "periodSeconds": 10},
        # The server process answers on its gRPC port from start-up on, also while a model loads: a
        # liveness check that does not restart a pod that is only slow to load a large model.
        "livenessProbe": {"tcpSocket": {"port": GRPC_PORT}, "initialDelaySeconds": 15, "periodSeconds": 20,
                          "failureThreshold": 3},
        "resources": {kind: dict(values) for kind, values in resources.items()},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{model_name}-serving", "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {
                "metadata": {"labels": dict(labels),
                             "annotations": _prometheus_annotations(REST_PORT, prometheus_path)},
                "spec": {"containers": [container],
                         "volumes": [model_volume,
                                     {"name": "config", "configMap": {"name": config_map["metadata"]["name"]}}]},
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": model_name, "labels": dict(labels)},
        "spec": {"selector": dict(selector),
                 "ports": [{"name": "grpc", "port": GRPC_PORT, "targetPort": GRPC_PORT},
                           {"name": "http", "port": REST_PORT, "targetPort": REST_PORT}]},
    }
    return [config_map, deployment, service]


def kserve_manifests(model_name: str, storage_uri: str, config_files: Dict[str, str], runtime_version: str,
                     replicas: int, resources: Dict[str, Dict[str, str]],
                     prometheus_path: str = PROMETHEUS_PATH) -> List[Dict]:
    """ConfigMap and a KServe `InferenceService` (serving.kserve.io/v1beta1) with a `predictor.tensorflow`.

    KServe's TensorFlow runtime runs `tensorflow_model_server --model_name=<InferenceService name>
    --model_base_path=/mnt/models`, the model downloaded from `storage_uri` (`pvc://CLAIM/PATH`, `gs://`,
    `s3://`: the directory that holds the `<version>/` directories); its REST port (8080) speaks TF
    Serving's REST API, so `tfx-nmt translate --server` works against it. The batching and monitoring
    files come from the ConfigMap, mounted at /config.
    """
    labels = _labels(model_name, f"tensorflow/serving:{runtime_version}", None)
    config_map = _config_map(model_name, config_files, labels)
    annotations = {"serving.kserve.io/enable-prometheus-scraping": "true",
                   "prometheus.kserve.io/port": str(KSERVE_REST_PORT), "prometheus.kserve.io/path": prometheus_path}
    inference_service = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": model_name, "labels": dict(labels), "annotations": annotations},
        "spec": {"predictor": {
            "minReplicas": replicas,
            "tensorflow": {
                "storageUri": storage_uri,
                "runtimeVersion": runtime_version,
                "args": _server_args(BATCHING_FILE in config_files),
                "resources": {kind: dict(values) for kind, values in resources.items()},
                "volumeMounts": [{"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}],
            },
            "volumes": [{"name": "config", "configMap": {"name": config_map["metadata"]["name"]}}],
        }},
    }
    return [config_map, inference_service]


def manifests_yaml(manifests: List[Dict]) -> str:
    """The manifests as one YAML stream (`kubectl apply -f`), multi-line strings (the ConfigMap's files)
    as literal blocks, so that they read as the files they are."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper, value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, represent_str)
    return yaml.dump_all(manifests, Dumper=Dumper, sort_keys=False)


def register(subparsers) -> None:
    """Adds the `serving-config` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser(
        "serving-config", help="write TF Serving config files and Kubernetes (or KServe) manifests",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-dir", default="deploy", help="where to write the files")
    parser.add_argument("--model-name", default="translator",
                        help="the served model's name, also of the Service, Deployment and labels: a Kubernetes "
                             "name (default: translator)")
    parser.add_argument("--base-path", default=None,
                        help="the model's directory inside the container (default: /models/<model-name>)")
    parser.add_argument("--num-versions", type=positive_int, default=1, help="latest versions served at once")
    parser.add_argument("--model-version", type=positive_int, default=None,
                        help="serve exactly this pushed version (models.config `specific`) and label the "
                             "manifests with it (default: the latest --num-versions, no version label)")
    parser.add_argument("--image", default=TF_SERVING_IMAGE,
                        help="the model server image; with --kserve its tag is the runtimeVersion")
    parser.add_argument("--replicas", type=positive_int, default=1,
                        help="model server pods (KServe: minReplicas) (default: 1)")
    parser.add_argument("--cpu", default="1", help="CPU request per pod")
    parser.add_argument("--memory", default="1Gi", help="memory request per pod")
    parser.add_argument("--cpu-limit", default=None, help="CPU limit per pod (default: the request)")
    parser.add_argument("--memory-limit", default=None, help="memory limit per pod (default: the request)")
    batching = parser.add_argument_group("batching (TF Serving --enable_batching)")
    batching.add_argument("--no-batching", dest="batching", action="store_false",
                          help="serve each request alone: no batching.config, no --enable_batching")
    # Default None (not given), so that --no-batching can refuse them; BATCHING_DEFAULTS fills them in.
    batching.add_argument("--max-batch-size", type=positive_int, default=None,
                          help=f"sentences per batch (default {BATCHING_DEFAULTS['max_batch_size']})")
    batching.add_argument("--batch-timeout-micros", type=int, default=None,
                          help=f"longest wait, in microseconds, for a batch to fill (default "
                               f"{BATCHING_DEFAULTS['batch_timeout_micros']})")
    batching.add_argument("--num-batch-threads", type=positive_int, default=None,
                          help="batches run at once (default: the CPU limit's whole cores)")
    batching.add_argument("--max-enqueued-batches", type=positive_int, default=None,
                          help=f"batches queued before requests are refused (UNAVAILABLE) (default "
                               f"{BATCHING_DEFAULTS['max_enqueued_batches']})")
    parser.add_argument("--prometheus-path", default=PROMETHEUS_PATH,
                        help="where the REST port serves Prometheus metrics")
    volume = parser.add_mutually_exclusive_group()
    volume.add_argument("--volume-claim", default=None,
                        help="PersistentVolumeClaim holding the <version>/ directories (default: <model-name>-models)")
    volume.add_argument("--host-model-dir", default=None,
                        help="node directory holding the <version>/ directories (hostPath volume)")
    parser.add_argument("--kserve", action="store_true",
                        help="write kserve.yaml (a KServe InferenceService) instead of kubernetes.yaml")
    parser.add_argument("--storage-uri", default=None,
                        help="--kserve: where KServe finds the <version>/ directories (default: pvc://<volume-claim>)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Writes the config files and the manifest; prints their paths. Returns the exit code.

    Raises:
        ServingConfigError: `--kserve` with `--host-model-dir` or `--model-version` (KServe loads the newest
            version from a storage URI), `--storage-uri` without `--kserve` or with `--volume-claim`, batching
            flags with `--no-batching`, a CPU or memory quantity that is
            not one or a limit below its request, a `--model-name` that cannot name Kubernetes objects.
    """
    if args.kserve and args.host_model_dir:
        raise ServingConfigError("--kserve loads the model from --storage-uri (pvc://, gs://, s3://), not from "
                                 "--host-model-dir")
    if args.kserve and args.model_version is not None:
        raise ServingConfigError("--kserve serves the newest version under --storage-uri; --model-version pins "
                                 "a version in models.config, which only the Deployment reads")
    if args.storage_uri and not args.kserve:
        raise ServingConfigError("--storage-uri is for --kserve; the Deployment mounts --volume-claim or "
                                 "--host-model-dir")
    batching_flags = [f"--{name.replace('_', '-')}" for name in (*BATCHING_DEFAULTS, "num_batch_threads")
                      if getattr(args, name) is not None]
    if not args.batching and batching_flags:
        raise ServingConfigError(f"--no-batching writes no batching.config: {', '.join(batching_flags)} would be "
                                 f"ignored")
    if args.kserve and args.storage_uri and args.volume_claim:
        raise ServingConfigError("--kserve loads the model from --storage-uri; --volume-claim would be ignored")
    check_model_name(args.model_name)
    cpu_limit, memory_limit = args.cpu_limit or args.cpu, args.memory_limit or args.memory
    for request, limit, kind, quantity in ((args.cpu, args.cpu_limit, "cpu", cpu_quantity),
                                           (args.memory, args.memory_limit, "memory", memory_quantity)):
        if quantity(request, f"--{kind}") > quantity(limit or request, f"--{kind}-limit"):
            raise ServingConfigError(f"--{kind}-limit {limit} is below the --{kind} request {request}; Kubernetes "
                                     f"refuses a limit below the request")
    base_path = args.base_path or f"/models/{args.model_name}"
    resources = {"requests": {"cpu": args.cpu, "memory": args.memory},
                 "limits": {"cpu": cpu_limit, "memory": memory_limit}}
    # KServe's runtime names the model and its base path on its command line: no models.config.
    config_files = {} if args.kserve else {
        CONFIG_FILE: model_server_config(args.model_name, base_path, args.num_versions, args.model_version)}
    if args.batching:
        threads = args.num_batch_threads or cpu_cores(cpu_limit)
        given = {name: getattr(args, name) for name in BATCHING_DEFAULTS if getattr(args, name) is not None}
        batching = {**BATCHING_DEFAULTS, **given}
        config_files[BATCHING_FILE] = batching_parameters(batching["max_batch_size"], batching["batch_timeout_micros"],
                                                          threads, batching["max_enqueued_batches"])
    config_files[MONITORING_FILE] = monitoring_config(args.prometheus_path)
    volume_claim = args.volume_claim or f"{args.model_name}-models"
    if args.kserve:
        manifests = kserve_manifests(args.model_name, args.storage_uri or f"pvc://{volume_claim}", config_files,
                                     _image_tag(args.image), args.replicas, resources, args.prometheus_path)
        manifest_file = KSERVE_FILE
    else:
        host_model_dir = os.path.abspath(args.host_model_dir) if args.host_model_dir else None
        manifests = kubernetes_manifests(args.model_name, base_path, config_files, args.image, args.replicas,
                                         resources, volume_claim, host_model_dir, args.model_version,
                                         args.prometheus_path)
        manifest_file = MANIFEST_FILE
    files.make_directories(args.config_dir, "--config-dir")
    for name, text in config_files.items():
        path = os.path.join(args.config_dir, name)
        files.write_text(path, text)
        print(path)
    manifest_path = os.path.join(args.config_dir, manifest_file)
    files.write_text(manifest_path, manifests_yaml(manifests))
    print(manifest_path)
    return 0
