"""Training curves read back from the TensorBoard event files the Trainer writes under its model run
directory (`keras.callbacks.TensorBoard(log_dir=model_run_dir)`).

Keras writes epoch scalars as `epoch_<name>` with the epoch number as the TensorBoard step, into
`train/` (loss, learning_rate, target_tokens_per_sec, and `step`: the optimizer step reached at the end of
the epoch, added by `TrainingMonitor`) and `validation/` (loss, and bleu when `ValidationBleu` ran). The
report plots against optimizer steps, so each epoch scalar is mapped to the `step` written with it (a
resumed Trainer restarts its epoch numbers at 0 in a new event file).
"""
from __future__ import annotations

import collections
import dataclasses
import os
from typing import List, Tuple

TRAIN_DIR = "train"
VALIDATION_DIR = "validation"
STEP_TAG = "epoch_step"

Series = List[Tuple[int, float]]


@dataclasses.dataclass(frozen=True)
class ScalarEvent:
    """One scalar of a TensorBoard event file: `step` is TensorBoard's step (the epoch, for Keras's
    `epoch_*` tags); `wall_time` in seconds since the epoch."""

    tag: str
    step: int
    wall_time: float
    value: float


@dataclasses.dataclass(frozen=True)
class TrainingCurves:
    """Per-epoch scalars against the optimizer step, each a list of (step, value) sorted by step.

    Attributes:
        train_loss: mean label-smoothed cross-entropy per target token over the epoch's batches (nats).
        validation_loss: the same on the validation batches at the end of each epoch.
        learning_rate: the optimizer's learning rate at the end of each epoch.
        target_tokens_per_sec: non-padding target tokens per second of training during the epoch.
        validation_bleu: BLEU of greedy translations of a few validation pairs at the end of each epoch
            (`ValidationBleu`); empty when the run computed none.
    """

    train_loss: Series
    validation_loss: Series
    learning_rate: Series
    target_tokens_per_sec: Series
    validation_bleu: Series


def read_scalar_events(directory: str) -> List[ScalarEvent]:
    """Every scalar of the TensorBoard event files in `directory`, in file then write order.

    Reads TF2 summaries (0-d numeric tensors, what Keras 3 writes; other tensors such as the model
    config text or histograms are skipped) and TF1 `simple_value`s.
    """
    import tensorflow as tf

    events = []
    for path in sorted(tf.io.gfile.glob(os.path.join(directory, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
            event = tf.compat.v1.Event.FromString(record)
            for value in event.summary.value:
                if value.HasField("tensor"):
                    if value.tensor.dtype == tf.string.as_datatype_enum or value.tensor.tensor_shape.dim:
                        continue
                    number = float(tf.make_ndarray(value.tensor))
                elif value.WhichOneof("value") == "simple_value":
                    number = float(value.simple_value)
                else:
                    continue
                events.append(ScalarEvent(value.tag, int(event.step), float(event.wall_time), number))
    return events


def against_steps(events: List[ScalarEvent], step_events: List[ScalarEvent], tag: str) -> Series:
    """The `tag` events (TensorBoard step = epoch) as (optimizer step, value), sorted by step.

    Each event gets the optimizer step of the `step_events` entry of the same epoch closest in wall
    time: Keras writes all of an epoch's scalars within milliseconds, while a resumed run repeats
    epoch numbers minutes or hours later. A later value for the same step wins.
    """
    by_epoch = collections.defaultdict(list)
    for event in step_events:
        by_epoch[event.step].append(event)
    points = {}
    for event in sorted((e for e in events if e.tag == tag), key=lambda e: e.wall_time):
        candidates = by_epoch.get(event.step)
        if candidates:
            nearest = min(candidates, key=lambda s: abs(s.wall_time - event.wall_time))
            points[int(nearest.value)] = event.value
    return sorted(points.items())


def against_wall_time(events: List[ScalarEvent], tag: str, origin: float) -> List[Tuple[float, float]]:
    """The `tag` events as (minutes since `origin`, value), in wall-time order.

    Args:
        origin: seconds since the Unix epoch, for example when the pipeline run started.
    """
    return sorted(((e.wall_time - origin) / 60.0, e.value) for e in events if e.tag == tag)


def read_training_curves(model_run_dir: str) -> TrainingCurves:
    """The Trainer's curves from `<model_run_dir>/train` and `<model_run_dir>/validation`.

    Raises:
        FileNotFoundError: when `<model_run_dir>/train` holds no `epoch_step` scalar.
    """
    train = read_scalar_events(os.path.join(model_run_dir, TRAIN_DIR))
    steps = [e for e in train if e.tag == STEP_TAG]
    if not steps:
        raise FileNotFoundError(f"no TensorBoard event file with {STEP_TAG} under "
                                f"{os.path.join(model_run_dir, TRAIN_DIR)}")
    validation = read_scalar_events(os.path.join(model_run_dir, VALIDATION_DIR))
    return TrainingCurves(
        train_loss=against_steps(train, steps, "epoch_loss"),
        validation_loss=against_steps(validation, steps, "epoch_loss"),
        learning_rate=against_steps(train, steps, "epoch_learning_rate"),
        target_tokens_per_sec=against_steps(train, steps, "epoch_target_tokens_per_sec"),
        validation_bleu=against_steps(validation, steps, "epoch_bleu"),
    )
