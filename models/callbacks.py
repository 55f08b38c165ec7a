"""Keras callbacks of the Trainer: checkpointing with resume, a wall-clock budget, throughput, TensorBoard
scalars against the optimizer step, and a stop at the first non-finite loss."""
from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfx_nmt import files
from tfx_nmt.contract import TRAINING_TIME_FILE
from tfx_nmt.errors import UserError
from tfx_nmt.text.display import format_duration

log = logging.getLogger(__name__)


class CheckpointAndResume(keras.callbacks.Callback):
    """Saves model and optimizer state (step counter included) at the end of every epoch, and also every
    `every_steps` optimizer steps when that is set, keeping the newest `max_to_keep`; restores the newest
    checkpoint of `directory` when training starts.

    A Trainer that was killed and run again with the same `directory` continues from its last checkpoint:
    the optimizer's step counter (`optimizer.iterations`) continues instead of restarting at 0. Each
    checkpoint is numbered by the optimizer step it was saved at (`ckpt-<step>`), which is what checkpoint
    averaging (`tfx_nmt.models.checkpoint_averaging`) reports.

    Args:
        directory: where checkpoints are written and resumed from.
        max_to_keep: newest checkpoints kept; older ones are deleted.
        every_steps: also save whenever the optimizer step is a multiple of this (0: at epoch ends only).
            An epoch end that falls on a step just saved does not save it again.
    """

    def __init__(self, directory: str, max_to_keep: int = 5, every_steps: int = 0):
        super().__init__()
        self.directory = directory
        self.max_to_keep = max_to_keep
        self.every_steps = every_steps
        self._manager = None
        self._last_saved_step = None
        self.initial_step = 0

    def on_train_begin(self, logs=None):
        checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.model.optimizer)
        self._manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=self.max_to_keep)
        if self._manager.latest_checkpoint:
            checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
            self.initial_step = int(self.model.optimizer.iterations.numpy())
            self._last_saved_step = self.initial_step
            log.info("Resumed from %s at step %d", self._manager.latest_checkpoint, self.initial_step)

    def _save(self) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if step != self._last_saved_step:
            self._manager.save(checkpoint_number=step)
            self._last_saved_step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.every_steps and int(self.model.optimizer.iterations.numpy()) % self.every_steps == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._save()


def _training_time_records(checkpoint_dir: str) -> Dict[int, Dict[str, float]]:
    """{optimizer step: training time} of `checkpoint_dir`'s TRAINING_TIME_FILE; {} when it has none."""
    path = os.path.join(checkpoint_dir, TRAINING_TIME_FILE)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as f:
        return {int(step): record for step, record in json.load(f).items()}


def read_training_time(checkpoint_dir: str, step: int) -> Dict[str, float]:
    """The training time recorded in `checkpoint_dir` with the checkpoint of optimizer step `step`.

    A run killed between writing a checkpoint and its record resumes from the record of the checkpoint
    before, so at most one epoch's seconds are not counted.

    Returns:
        {"elapsed_seconds", "train_seconds", "target_tokens"} (see `TrainingMonitor`) of the newest
        record at or before `step`; zeros when there is none (a training that starts).
    """
    records = _training_time_records(checkpoint_dir)
    earlier = [s for s in records if s <= step]
    if not earlier:
        return {"elapsed_seconds": 0.0, "train_seconds": 0.0, "target_tokens": 0.0}
    return records[max(earlier)]


def _record_training_time(checkpoint_dir: str, step: int, record: Dict[str, float]) -> None:
    """Adds `record` under `step` to `checkpoint_dir`'s TRAINING_TIME_FILE ({step: training time}, see
    `TrainingMonitor`), atomically (`tfx_nmt.files`)."""
    records = _training_time_records(checkpoint_dir)
    records[step] = record
    path = os.path.join(checkpoint_dir, TRAINING_TIME_FILE)
    tf.io.gfile.makedirs(checkpoint_dir)
    files.write_json(path, records)


class TrainingMonitor(keras.callbacks.Callback):
    """Measures training throughput, stops at a step count or a wall-clock budget, logs the learning rate
    and the progress.

    Adds `learning_rate`, `target_tokens_per_sec` (non-padding target tokens per second of training
    time, validation excluded) and `step` (the optimizer step reached) to each epoch's logs, so that
    TensorBoard records them (`epoch_step` maps epochs to steps, also across a resumed run). Every
    `log_every_seconds` during an epoch it logs the step, the running loss, the throughput and the time
    left: Keras's own progress bar shows that only on a terminal, and prints one line per epoch otherwise.

    With `checkpoint_dir`, the budget spans a resumed training: at the end of every epoch the monitor
    records its clock in the checkpoint directory under the step reached (`training_time.json`, beside
    the checkpoint `CheckpointAndResume` has just written: place the monitor after it in the callback
    list), and a training that resumes from a checkpoint starts from the record of its step.

    Attributes:
        elapsed_seconds_before: seconds of training (validation included) before this `fit`, as recorded
            with the checkpoint it resumed from; the budget counts them.
        train_seconds: seconds of training, validation excluded, those before this `fit` included.
        target_tokens: non-padding target tokens trained on, those before this `fit` included.

    Args:
        max_steps: stop once `optimizer.iterations` reaches this.
        max_seconds: stop after this many seconds of training, validation included (0: no budget).
        log_every_seconds: interval of the progress lines (0: none).
        checkpoint_dir: the directory `CheckpointAndResume` writes; None: nothing recorded or resumed.
    """

    def __init__(self, max_steps: int, max_seconds: float = 0.0, log_every_seconds: float = 30.0,
                 checkpoint_dir: Optional[str] = None):
        super().__init__()
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.log_every_seconds = log_every_seconds
        self.checkpoint_dir = checkpoint_dir
        self._start_step = 0
        self._last_log = None
        self.elapsed_seconds_before = 0.0
        self.train_seconds = 0.0
        self.target_tokens = 0.0
        self.start_time = None
        self._epoch_start = None
        self._test_start = None
        self._test_seconds = 0.0

    def on_train_begin(self, logs=None):
        self.start_time = self._last_log = time.time()
        self._start_step = int(self.model.optimizer.iterations.numpy())
        if self.checkpoint_dir:
            record = read_training_time(self.checkpoint_dir, self._start_step)
            self.elapsed_seconds_before = record["elapsed_seconds"]
            self.train_seconds, self.target_tokens = record["train_seconds"], record["target_tokens"]

    def elapsed_seconds(self, now: float) -> float:
        """Seconds of training at time `now` (validation included), those before a resume included: what
        the budget counts."""
        return self.elapsed_seconds_before + now - self.start_time

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._test_seconds = 0.0

    def on_test_begin(self, logs=None):
        self._test_start = time.time()

    def on_test_end(self, logs=None):
        self._test_seconds += time.time() - self._test_start

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        over_budget = self.max_seconds and self.elapsed_seconds(time.time()) >= self.max_seconds
        if step >= self.max_steps or over_budget:
            self.model.stop_training = True
        if self.log_every_seconds and time.time() - self._last_log >= self.log_every_seconds:
            self._log_progress(step, logs or {})

    def seconds_left(self, step: int, now: float) -> float:
        """Estimated seconds until training stops: the step limit at the rate so far, or the wall-clock
        budget when that comes first."""
        rate = (step - self._start_step) / max(now - self.start_time, 1e-9)
        left = (self.max_steps - step) / rate if rate > 0 else float("inf")
        if self.max_seconds:
            left = min(left, self.max_seconds - self.elapsed_seconds(now))
        return max(left, 0.0)

    def _log_progress(self, step: int, logs) -> None:
        now = time.time()
        self._last_log = now
        epoch_seconds = now - self._epoch_start - self._test_seconds
        tokens_per_second = float(logs.get("target_tokens", 0.0)) / max(epoch_seconds, 1e-9)
        log.info("Trainer: step %d of %d, loss %.3f, %.0f target tokens/s, %s elapsed, about %s left", step,
                 self.max_steps, float(logs.get("loss", float("nan"))), tokens_per_second,
                 format_duration(self.elapsed_seconds(now)), format_duration(self.seconds_left(step, now)))

    def on_epoch_end(self, epoch, logs=None):
        now = time.time()
        seconds = now - self._epoch_start - self._test_seconds
        tokens = float(logs.get("target_tokens", 0.0)) if logs else 0.0
        step = int(self.model.optimizer.iterations.numpy())
        self.train_seconds += seconds
        self.target_tokens += tokens
        if self.checkpoint_dir:
            _record_training_time(self.checkpoint_dir, step, {
                "elapsed_seconds": self.elapsed_seconds(now), "train_seconds": self.train_seconds,
                "target_tokens": self.target_tokens})
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["target_tokens_per_sec"] = tokens / max(seconds, 1e-9)
            logs["step"] = step

    @property
    def tokens_per_second(self) -> float:
        """Non-padding target tokens per second over all of training (validation excluded), those before a
        resume included."""
        return self.target_tokens / max(self.train_seconds, 1e-9)



def _epoch_totals(logs) -> Tuple[float, float]:
    """(summed loss, target tokens) of the epoch so far, from a training batch's logs.

    `TransformerTranslator` reports `loss` as the mean per non-padding target token since the epoch began
    and `target_tokens` as their count since then (its metrics reset at every epoch start), so the loss
    sum is their product and one step's loss is the difference of two consecutive sums over the difference
    of the counts.
    """
    tokens = _number(logs.get("target_tokens", 0.0))
    return _number(logs.get("loss", float("nan"))) * tokens, tokens


def _number(value) -> float:
    """A log value as a float: a Python number, or a tensor or array of one element (under
    MultiWorkerMirroredStrategy the model reports each figure with a batch axis of 1)."""
    return float(np.asarray(keras.ops.convert_to_numpy(value)).reshape(-1)[0])


class TrainingDivergedError(UserError):
    """The training loss became NaN or infinite (usually a learning rate that is too high)."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first step whose loss is NaN or infinite by raising TrainingDivergedError,
    naming the optimizer step and the last finite loss.

    Keras's own `TerminateOnNaN` only sets `stop_training`, after which the Trainer would export, evaluate
    and push the diverged model; raising ends `fit`, and with it the Trainer, before anything is written.
    Place it first in the callback list, so that no checkpoint of the diverged weights is saved.

    Raises:
        TrainingDivergedError: from `on_train_batch_end`.
    """

    def __init__(self):
        super().__init__()
        self._epoch_sum = self._epoch_tokens = 0.0
        self._last_finite: Optional[Tuple[int, float]] = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_sum = self._epoch_tokens = 0.0

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        loss_sum, tokens = _epoch_totals(logs or {})
        step_loss = (loss_sum - self._epoch_sum) / max(tokens - self._epoch_tokens, 1e-9)
        if not math.isfinite(step_loss):
            last = (f"the last finite loss was {self._last_finite[1]:.4f} at step {self._last_finite[0]}"
                    if self._last_finite else "no step had a finite loss")
            raise TrainingDivergedError(
                f"training diverged: the loss of step {step} is {step_loss}; {last}. Nothing was exported, "
                f"evaluated or pushed; lower --learning-rate or raise --warmup-steps and run again")
        self._epoch_sum, self._epoch_tokens = loss_sum, tokens
        self._last_finite = (step, step_loss)


class StepScalars(keras.callbacks.Callback):
    """TensorBoard scalars against the optimizer step (`optimizer.iterations`), also across a resumed or
    warm-started training, whose steps continue.

    Every `every_steps` steps it writes to `<log_dir>/train`: `steps/loss` (mean label-smoothed
    cross-entropy per non-padding target token over the steps since the last point, nats),
    `steps/learning_rate` and `steps/target_tokens_per_sec` (those tokens per second of the steps' own
    time, validation excluded). At each epoch end it writes the epoch's validation figures to
    `<log_dir>/validation` under the same names (`steps/loss`, `steps/perplexity`, and `steps/bleu` when
    `ValidationBleu` ran: place this callback after it), so that TensorBoard draws training and validation
    loss in one chart. Keras's TensorBoard callback writes its `batch_*` scalars against a count that
    restarts at every `fit`, and its `epoch_*` scalars against the epoch; hence this one.

    Args:
        log_dir: the TensorBoard log directory (the Trainer's model run directory).
        every_steps: steps between two training points (0: none; the validation points stay).
    """

    def __init__(self, log_dir: str, every_steps: int):
        super().__init__()
        self.log_dir = log_dir
        self.every_steps = every_steps
        self._writers = {}
        self._epoch_sum = self._epoch_tokens = 0.0
        self._window_sum = self._window_tokens = self._window_seconds = 0.0
        self._batch_start = None

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_sum = self._epoch_tokens = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self._window_seconds += time.time() - self._batch_start
        loss_sum, tokens = _epoch_totals(logs or {})
        self._window_sum += loss_sum - self._epoch_sum
        self._window_tokens += tokens - self._epoch_tokens
        self._epoch_sum, self._epoch_tokens = loss_sum, tokens
        step = int(self.model.optimizer.iterations.numpy())
        if not self.every_steps or step % self.every_steps:
            return
        learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        with self._writer("train").as_default():
            tf.summary.scalar("steps/loss", self._window_sum / max(self._window_tokens, 1e-9), step=step)
            tf.summary.scalar("steps/learning_rate", learning_rate, step=step)
            tf.summary.scalar("steps/target_tokens_per_sec", self._window_tokens / max(self._window_seconds, 1e-9),
                              step=step)
        self._window_sum = self._window_tokens = self._window_seconds = 0.0

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        with self._writer("validation").as_default():
            for name, value in (logs or {}).items():
                if name.startswith("val_") and name != "val_target_tokens":
                    tf.summary.scalar(f"steps/{name[4:]}", _number(value), step=step)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
