"""Choosing the tf.distribute strategy: MirroredStrategy over the local GPUs, else over the CPU,
optionally split into N logical CPU devices so that the multi-replica path runs without GPUs; or
MultiWorkerMirroredStrategy over the workers named by the `TF_CONFIG` environment variable."""
from __future__ import annotations

import logging
import os
import platform
from typing import Dict, FrozenSet, Optional

import tensorflow as tf

log = logging.getLogger(__name__)


def configure_cpu_replicas(replicas: int) -> None:
    """Splits the CPU into `replicas` logical devices (no-op for 1, or when GPUs are present).

    Must run before TensorFlow initializes its devices (before the first op); `run_local` calls it
    first thing. Calling it again with the same count is harmless.

    Raises:
        RuntimeError: when TensorFlow is already initialized with a different number of CPU devices.
    """
    if replicas <= 1 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError as e:
        raise RuntimeError(
            f"cannot split the CPU into {replicas} logical devices: TensorFlow is already initialized "
            "in this process; configure replicas before running any TensorFlow op") from e


def make_strategy(replicas: int, kind: str = "mirrored") -> tf.distribute.Strategy:
    """The training strategy.

    Args:
        replicas: for `mirrored` without GPUs, the number of logical CPU devices to train on.
        kind: `mirrored`: MirroredStrategy over every local GPU, else over `replicas` logical CPU
            devices. `multi_worker`: MultiWorkerMirroredStrategy over the cluster in `TF_CONFIG`
            (https://www.tensorflow.org/guide/distributed_training#multiworkermirroredstrategy), each
            worker contributing its GPUs, else its CPU; every worker runs the same program and the
            strategy must be created before any other TensorFlow op of the process.

    Raises:
        RuntimeError: as `configure_cpu_replicas`.
        ValueError: an unknown `kind`, or `multi_worker` without a cluster in `TF_CONFIG`.
    """
    if kind == "multi_worker":
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        if not resolver.cluster_spec().as_dict():
            raise ValueError("strategy multi_worker needs TF_CONFIG naming the cluster and this task, e.g. "
                             '{"cluster": {"worker": ["host0:port", "host1:port"]}, '
                             '"task": {"type": "worker", "index": 0}}')
        strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        log.info("MultiWorkerMirroredStrategy: %s task %d of a cluster of %s, %d replicas in sync",
                 resolver.task_type, resolver.task_id, resolver.cluster_spec().as_dict(),
                 strategy.num_replicas_in_sync)
        return strategy
    if kind != "mirrored":
        raise ValueError(f"unknown strategy {kind!r}; use mirrored or multi_worker")
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        devices = [d.name for d in gpus]
    else:
        configure_cpu_replicas(replicas)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][: max(replicas, 1)]
    log.info("MirroredStrategy over %s", ", ".join(devices))
    return tf.distribute.MirroredStrategy(devices=devices)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes checkpoints, logs and the exported model.

    The chief is the `chief` task when the cluster has one, else `worker` 0 (TensorFlow's convention);
    a single-machine strategy is always the chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return (resolver.task_type == "worker" and resolver.task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict())


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> Optional[FrozenSet[str]]:
    """The CPU's feature flags (`flags` of /proc/cpuinfo: `avx512_bf16`, `amx_bf16`, ...), or None where
    that file cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        return None
    return frozenset()


def training_hardware(strategy: tf.distribute.Strategy) -> Dict:
    """What this worker trains on, for the model card: `cpu` (model name), `cpu_cores` (usable by this
    process), `gpus` (device names), `replicas` (in sync, over all workers) and `workers`."""
    gpus = [tf.config.experimental.get_device_details(device).get("device_name", device.name)
            for device in tf.config.list_physical_devices("GPU")]
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    workers = sum(len(cluster.get(task, [])) for task in ("chief", "worker")) or 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "cpu_cores": cores, "gpus": gpus, "replicas": strategy.num_replicas_in_sync,
            "workers": workers}
