"""Checkpoint averaging: the model weights of the last N training checkpoints, averaged element-wise.

The recipe of Vaswani et al. 2017, section 6.1 (https://arxiv.org/abs/1706.03762): "For the base models,
we used a single model obtained by averaging the last 5 checkpoints, which were written at 10-minute
intervals. For the big models, we averaged the last 20 checkpoints." fairseq's
`scripts/average_checkpoints.py` does the same with `--num-epoch-checkpoints N` or, for checkpoints
written every `--save-interval-updates` steps, `--num-update-checkpoints N`: the arithmetic mean of each
model parameter; optimizer state is not averaged.

Checkpoints are those `tfx_nmt.models.callbacks.CheckpointAndResume` writes: TensorFlow object-based
checkpoints of `tf.train.Checkpoint(model=..., optimizer=...)` numbered by optimizer step. Only the
`model` part is read.
"""
from __future__ import annotations

import logging
from typing import List, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)


def checkpoint_steps(directory: str) -> List[Tuple[int, str]]:
    """The checkpoints a `tf.train.CheckpointManager` keeps in `directory`, oldest first.

    Returns:
        (optimizer step, checkpoint prefix) pairs; the step is the number the checkpoint was saved under
        (`CheckpointAndResume` saves with `checkpoint_number=<optimizer step>`). Empty when `directory`
        holds no checkpoint.
    """
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return []
    return [(int(path.rsplit("-", 1)[1]), path) for path in state.all_model_checkpoint_paths]


def average_checkpoints(model: keras.Model, paths: Sequence[str]) -> None:
    """Sets every weight of `model` to its arithmetic mean over the checkpoints `paths`.

    Each checkpoint is restored into `model` in turn (the `model` object of the checkpoint only; optimizer
    slots and step counter are neither read nor changed), its weights accumulated in float64, and the
    means are assigned at the end, cast to each weight's dtype. `model.weights` is Keras's list of layer
    weights: trainable and non-trainable, without metric state and random-seed state. Memory: one float64
    copy of the weights besides the model.

    Args:
        model: a built model of the checkpoints' architecture (under a tf.distribute strategy, restoring
            and assigning in cross-replica context updates every replica).
        paths: checkpoint prefixes (`.../ckpt-1600`); at least one.

    Raises:
        ValueError: when `paths` is empty.
        AssertionError: when a checkpoint lacks a weight of `model` (another architecture).
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint")
    checkpoint = tf.train.Checkpoint(model=model)
    sums = [np.zeros(w.shape, np.float64) for w in model.weights]
    for path in paths:
        checkpoint.read(path).expect_partial().assert_existing_objects_matched()
        for total, weight in zip(sums, model.weights):
            total += keras.ops.convert_to_numpy(weight)
    for total, weight in zip(sums, model.weights):
        weight.assign((total / len(paths)).astype(weight.dtype))


def average_last_checkpoints(model: keras.Model, directory: str, count: int) -> List[int]:
    """Averages the newest `count` checkpoints of `directory` into `model` (`average_checkpoints`).

    When `directory` keeps fewer than `count` checkpoints (training stopped early, by its time budget
    for example), all of them are averaged and a warning is logged.

    Args:
        count: how many of the newest checkpoints to average; at least 1.

    Returns:
        The optimizer steps of the averaged checkpoints, oldest first.

    Raises:
        ValueError: when `count < 1`.
        FileNotFoundError: when `directory` holds no checkpoint.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    kept = checkpoint_steps(directory)
    if not kept:
        raise FileNotFoundError(f"no checkpoint in {directory}")
    chosen = kept[-count:]
    if len(chosen) < count:
        log.warning("Only %d checkpoint(s) in %s, fewer than the %d asked to average: averaging them all",
                    len(chosen), directory, count)
    steps = [step for step, _ in chosen]
    average_checkpoints(model, [path for _, path in chosen])
    log.info("Averaged the model weights of %d checkpoint(s), steps %s", len(steps),
             ", ".join(str(s) for s in steps))
    return steps
