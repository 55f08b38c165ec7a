"""Choosing the tf.distribute strategy: MirroredStrategy over the local GPUs, else over the CPU,
optionally split into N logical CPU devices so that the multi-replica path runs without GPUs."""
from __future__ import annotations

import logging

import tensorflow as tf

log = logging.getLogger(__name__)


def configure_cpu_replicas(replicas: int) -> None:
    """Splits the CPU into `replicas` logical devices (no-op for 1, or when GPUs are present).

    Must run before TensorFlow initializes its devices (before the first op); the CLI calls it at
    start-up. Calling it again with the same count is harmless.

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


def make_strategy(replicas: int) -> tf.distribute.MirroredStrategy:
    """MirroredStrategy over every local GPU, else over `replicas` logical CPU devices.

    Raises:
        RuntimeError: as `configure_cpu_replicas`.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        devices = [d.name for d in gpus]
    else:
        configure_cpu_replicas(replicas)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][: max(replicas, 1)]
    log.info("MirroredStrategy over %s", ", ".join(devices))
    return tf.distribute.MirroredStrategy(devices=devices)
