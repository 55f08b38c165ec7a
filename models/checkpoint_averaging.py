"""Checkpoint averaging: the model weights of the last N training checkpoints, averaged element-wise.

The recipe of Vaswani et al. 2017, section 6.1 (https://arxiv.org/abs/1706.03762): "For the base models,
we used a single model obtained by averaging the last 5 checkpoints, which were written at 10-minute
intervals. For the big models, we averaged the last 20 checkpoints." fairseq's
`scripts/average_checkpoints.py` does the same with `--num-epoch-checkpoints N` or, for checkpoints
written every `--save-interval-updates` steps, `--num-update-checkpoints N`: the arithmetic mean of each
model parameter; optimizer state is not averaged.

Checkpoints are those `tfx_nmt.models.callbacks.CheckpointAndResume` writes: TensorFlow object-based
checkpoints of `tf.train.Checkpoint(model=..., optimizer=...)` numbered by optimizer step. They are read
into a scratch copy of the model, never into the model being averaged: that model's optimizer must stay
as it is, and `Checkpoint(model=...)` alone does not reach every weight. On the TensorFlow backend,
Keras 3 leaves layers kept in a Python list (the encoder and decoder stacks) out of a model's checkpoint
dependencies (only SavedModel export follows them); the checkpoint holds their weights through the
optimizer's list of the variables it trains. The copy is therefore compiled with the training's optimizer
(the same class and schedule, so that the optimizer's part of the checkpoint lines up) and restored
together with it, and every weight is checked to have been read.
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


def average_checkpoints(model: keras.Model, paths: Sequence[str], scratch: keras.Model) -> None:
    """Sets every weight of `model` to its arithmetic mean over the checkpoints `paths` (with one path:
    that checkpoint's weights).

    Each checkpoint is restored into `scratch` (see the module docstring), its weights accumulated in
    float64; the means are then assigned to `model`, cast to each weight's dtype. Only model weights are
    read: `model.weights` is Keras's list of layer weights (trainable and non-trainable, without metric
    and random-seed state); the optimizer of `model` (slots, step counter) is neither read nor changed.
    Memory: the scratch model, its optimizer's slots, and one float64 copy of the weights.

    Args:
        model: the model to set, built (under a tf.distribute strategy, assigning in cross-replica
            context updates every replica).
        paths: checkpoint prefixes (`.../ckpt-1600`); at least one.
        scratch: a built model of the same architecture as `model`, outside any strategy, compiled with
            an optimizer like the training's (`tfx_nmt.models.trainer.compiled_model`); its weights and
            optimizer state are overwritten.

    Raises:
        ValueError: when `paths` is empty, when `scratch` and `model` differ in their weights' shapes, or
            when a checkpoint holds no value (or NaN) for a weight of the model.
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint")
    shapes = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in scratch.weights] != shapes:
        raise ValueError("the scratch model's weights differ in number or shape from the model's")
    if not scratch.optimizer.built:
        scratch.optimizer.build(scratch.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=scratch, optimizer=scratch.optimizer)
    sums = [np.zeros(shape, np.float64) for shape in shapes]
    for path in paths:
        for weight in scratch.weights:  # NaN marks a weight the checkpoint did not restore.
            weight.assign(np.full(weight.shape, np.nan, weight.dtype))
        checkpoint.read(path).expect_partial()
        for total, weight in zip(sums, scratch.weights):
            value = keras.ops.convert_to_numpy(weight)
            if np.isnan(value).any():
                raise ValueError(f"{path} holds no value (or NaN) for the weight {weight.path}")
            total += value
    for total, weight in zip(sums, model.weights):
        weight.assign((total / len(paths)).astype(weight.dtype))


def average_last_checkpoints(model: keras.Model, directory: str, count: int, scratch: keras.Model) -> List[int]:
    """Averages the newest `count` checkpoints of `directory` into `model` (`average_checkpoints`, which
    reads them into `scratch`).

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
    average_checkpoints(model, [path for _, path in chosen], scratch)
    log.info("Averaged the model weights of %d checkpoint(s), steps %s", len(steps),
             ", ".join(str(s) for s in steps))
    return steps
