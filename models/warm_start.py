"""Warm start for continuous training: a Trainer run that starts from the latest blessed model.

Every Trainer run writes, beside the serving SavedModel of its Model artifact, a TensorFlow checkpoint of
the Keras model and its optimizer (step counter, Adam moments) and `model_state.json`, which records the
SHA-256 of the tokenizer the model was trained with and the model's shape:

    <Model artifact>/Format-Serving/      the serving SavedModel (what the Pusher ships)
    <Model artifact>/Format-Checkpoint/   ckpt.index, ckpt.data-*, model_state.json

The SavedModel's `tf.Module` graph is built for serving and does not map back onto the Keras layers,
hence the separate checkpoint. A warm-started run restores it and trains `train_steps` more steps, the
step counter and the learning-rate schedule continuing where the base model stopped. It does so only
when the base model's tokenizer SHA-256 and shape equal the current run's: other token ids or other
variable shapes would make the restored weights meaningless or fail to load; then it trains from
scratch and logs why.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Optional

import keras
import tensorflow as tf

from tfx_nmt.config import ModelConfig, RunConfig

CHECKPOINT_DIR = "Format-Checkpoint"
CHECKPOINT_PREFIX = "ckpt"
STATE_FILE = "model_state.json"
# The ModelConfig fields a base model need not share: dropout is a rate and the maximum lengths only filter
# training pairs and cap decoding (the position encoding is sinusoidal, without variables), so none of them
# changes a variable; the vocabulary size does, but it is the tokenizer's, which the tokenizer's SHA-256
# compares. Every other field decides the variables' shapes, a field added later too (so that a new knob
# refuses a warm start rather than failing to restore the checkpoint).
_FREE_FIELDS = ("vocabulary_size", "dropout", "max_source_length", "max_target_length")
SHAPE_FIELDS = tuple(field.name for field in dataclasses.fields(ModelConfig) if field.name not in _FREE_FIELDS)
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """The decision for one Trainer run.

    Attributes:
        checkpoint: prefix of the checkpoint to restore, or None to train from scratch.
        initial_step: the base model's optimizer step (0 when not warm-starting).
        base_model: the base model's Model artifact directory, or None when there was none.
        reason: why, in words, for the log and `training_stats.json`.
    """

    checkpoint: Optional[str]
    initial_step: int
    base_model: Optional[str]
    reason: str

    def as_dict(self) -> dict:
        """JSON-serializable form, for `training_stats.json`."""
        return dataclasses.asdict(self)


def checkpoint_dir(model_artifact_dir: str) -> str:
    """`<model_artifact_dir>/Format-Checkpoint`."""
    return os.path.join(model_artifact_dir, CHECKPOINT_DIR)


def write_model_checkpoint(model: keras.Model, model_artifact_dir: str, tokenizer_sha256: str,
                           model_config: ModelConfig) -> str:
    """Writes the model and optimizer checkpoint and `model_state.json` into the Model artifact.

    Returns:
        The checkpoint prefix.
    """
    directory = checkpoint_dir(model_artifact_dir)
    tf.io.gfile.makedirs(directory)
    prefix = tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(
        os.path.join(directory, CHECKPOINT_PREFIX))
    state = {
        "tokenizer_sha256": tokenizer_sha256,
        "step": int(model.optimizer.iterations.numpy()),
        "model_config": dataclasses.asdict(model_config),
    }
    with tf.io.gfile.GFile(os.path.join(directory, STATE_FILE), "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    return prefix


def read_model_state(model_artifact_dir: str) -> Optional[dict]:
    """The `model_state.json` of a Model artifact, or None when it has none (an older model)."""
    path = os.path.join(checkpoint_dir(model_artifact_dir), STATE_FILE)
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        return json.load(f)


def plan_warm_start(base_model_dir: Optional[str], tokenizer_sha256: str,
                    model_config: ModelConfig) -> WarmStart:
    """Decides whether to start from the base model.

    Args:
        base_model_dir: the base Model artifact directory (the parent of its `Format-Serving`), or None
            when ML Metadata holds no blessed model yet.
        tokenizer_sha256: SHA-256 of the current run's SentencePiece model (`tokenizer.json`).
        model_config: the current run's model shape.

    Returns:
        A WarmStart whose `checkpoint` is set only when the tokenizer and the shape match.
    """
    if base_model_dir is None:
        return WarmStart(None, 0, None, "no blessed model in ML Metadata yet")
    state = read_model_state(base_model_dir)
    if state is None:
        return WarmStart(None, 0, base_model_dir, f"the base model has no {CHECKPOINT_DIR}/{STATE_FILE}")
    if state["tokenizer_sha256"] != tokenizer_sha256:
        return WarmStart(None, 0, base_model_dir,
                         f"the tokenizer changed (base model's sha256 {state['tokenizer_sha256'][:12]}, "
                         f"this run's {tokenizer_sha256[:12]})")
    current = dataclasses.asdict(model_config)
    # A base model saved before a field existed has that field's default.
    base = {**dataclasses.asdict(RunConfig().model_config()), **state["model_config"]}
    changed = [k for k in SHAPE_FIELDS if base[k] != current[k]]
    if changed:
        return WarmStart(None, 0, base_model_dir, "the model shape changed: " + ", ".join(
            f"{k} {base[k]} -> {current[k]}" for k in changed))
    return WarmStart(os.path.join(checkpoint_dir(base_model_dir), CHECKPOINT_PREFIX), int(state["step"]),
                     base_model_dir, f"same tokenizer and shape; continuing from step {state['step']}")


class RestoreWarmStart(keras.callbacks.Callback):
    """Restores model and optimizer from `checkpoint` when training begins.

    Place it before `CheckpointAndResume` in the callback list, so that a resumed run's own newer
    checkpoint takes precedence over the base model.
    """

    def __init__(self, checkpoint: str):
        super().__init__()
        self.checkpoint = checkpoint

    def on_train_begin(self, logs=None):
        tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer).read(
            self.checkpoint).assert_existing_objects_matched()
        log.info("Warm start: restored %s at step %d", self.checkpoint,
                 int(self.model.optimizer.iterations.numpy()))
