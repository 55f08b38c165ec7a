"""Keras callbacks of the Trainer: checkpointing with resume, a wall-clock budget, throughput."""
from __future__ import annotations

import logging
import time

import keras
import tensorflow as tf

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


def format_duration(seconds: float) -> str:
    """`1h 02m`, `4m 05s` or `17s`, for progress lines."""
    seconds = int(round(max(seconds, 0.0)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


class TrainingMonitor(keras.callbacks.Callback):
    """Measures training throughput, stops at a step count or a wall-clock budget, logs the learning rate
    and the progress.

    Adds `learning_rate`, `target_tokens_per_sec` (non-padding target tokens per second of training
    time, validation excluded) and `step` (the optimizer step reached) to each epoch's logs, so that
    TensorBoard records them (`epoch_step` maps epochs to steps, also across a resumed run). Every
    `log_every_seconds` during an epoch it logs the step, the running loss, the throughput and the time
    left: Keras's own progress bar shows that only on a terminal, and prints one line per epoch otherwise.

    Args:
        max_steps: stop once `optimizer.iterations` reaches this.
        max_seconds: stop after this many seconds of training (0: no budget).
        log_every_seconds: interval of the progress lines (0: none).
    """

    def __init__(self, max_steps: int, max_seconds: float = 0.0, log_every_seconds: float = 30.0):
        super().__init__()
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        self.log_every_seconds = log_every_seconds
        self._start_step = 0
        self._last_log = None
        self.train_seconds = 0.0
        self.target_tokens = 0.0
        self.start_time = None
        self._epoch_start = None
        self._test_start = None
        self._test_seconds = 0.0

    def on_train_begin(self, logs=None):
        self.start_time = self._last_log = time.time()
        self._start_step = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._test_seconds = 0.0

    def on_test_begin(self, logs=None):
        self._test_start = time.time()

    def on_test_end(self, logs=None):
        self._test_seconds += time.time() - self._test_start

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        over_budget = self.max_seconds and time.time() - self.start_time >= self.max_seconds
        if step >= self.max_steps or over_budget:
            self.model.stop_training = True
        if self.log_every_seconds and time.time() - self._last_log >= self.log_every_seconds:
            self._log_progress(step, logs or {})

    def seconds_left(self, step: int, now: float) -> float:
        """Estimated seconds until training stops: the step limit at the rate so far, or the wall-clock
        budget when that comes first."""
        elapsed = now - self.start_time
        rate = (step - self._start_step) / max(elapsed, 1e-9)
        left = (self.max_steps - step) / rate if rate > 0 else float("inf")
        if self.max_seconds:
            left = min(left, self.max_seconds - elapsed)
        return max(left, 0.0)

    def _log_progress(self, step: int, logs) -> None:
        now = time.time()
        self._last_log = now
        epoch_seconds = now - self._epoch_start - self._test_seconds
        tokens_per_second = float(logs.get("target_tokens", 0.0)) / max(epoch_seconds, 1e-9)
        log.info("Trainer: step %d of %d, loss %.3f, %.0f target tokens/s, %s elapsed, about %s left", step,
                 self.max_steps, float(logs.get("loss", float("nan"))), tokens_per_second,
                 format_duration(now - self.start_time), format_duration(self.seconds_left(step, now)))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.time() - self._epoch_start - self._test_seconds
        tokens = float(logs.get("target_tokens", 0.0)) if logs else 0.0
        self.train_seconds += seconds
        self.target_tokens += tokens
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["target_tokens_per_sec"] = tokens / max(seconds, 1e-9)
            logs["step"] = int(self.model.optimizer.iterations.numpy())

    @property
    def tokens_per_second(self) -> float:
        """Non-padding target tokens per second over all of training (validation excluded)."""
        return self.target_tokens / max(self.train_seconds, 1e-9)

