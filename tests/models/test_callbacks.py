"""The Trainer's callbacks with a real Keras model and real checkpoints: the wall-clock budget of a
training that resumes from its checkpoint counts the seconds trained before."""
import json
import time

import keras
import numpy as np

from tfx_nmt.contract import TRAINING_TIME_FILE
from tfx_nmt.models.callbacks import CheckpointAndResume, TrainingMonitor, read_training_time


def _fit_one_epoch(checkpoint_dir, max_seconds, sleep_per_step=0.0):
    """A new tiny model fitted for one epoch of 3 steps, resuming from and checkpointing to
    `checkpoint_dir`, with `sleep_per_step` seconds of sleep after each step; (model, monitor)."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mse")
    monitor = TrainingMonitor(max_steps=100, max_seconds=max_seconds, log_every_seconds=0.0,
                              checkpoint_dir=str(checkpoint_dir))
    slow = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(sleep_per_step))
    x, y = np.ones((24, 4), "float32"), np.zeros((24, 1), "float32")
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[CheckpointAndResume(str(checkpoint_dir)), monitor, slow],
              verbose=0)
    return model, monitor


def test_budget_counts_the_seconds_trained_before_a_resume(tmp_path):
    first, _ = _fit_one_epoch(tmp_path / "run", max_seconds=0.0, sleep_per_step=1.0)
    assert int(first.optimizer.iterations.numpy()) == 3
    with open(tmp_path / "run" / TRAINING_TIME_FILE) as f:
        [(step, before)] = json.load(f).items()
    assert step == "3" and before["elapsed_seconds"] >= before["train_seconds"] >= 3.0

    # Resumed at step 3 with a 2.5 s budget, 3 s of which were already spent: it stops after one step.
    resumed, monitor = _fit_one_epoch(tmp_path / "run", max_seconds=2.5)
    assert int(resumed.optimizer.iterations.numpy()) == 4
    assert monitor.elapsed_seconds_before == before["elapsed_seconds"]
    after = read_training_time(str(tmp_path / "run"), 4)
    assert after["elapsed_seconds"] > before["elapsed_seconds"] and after["train_seconds"] > before["train_seconds"]
    assert monitor.train_seconds == after["train_seconds"]
    # A resume from a checkpoint without its record uses the record before it; none before: zeros.
    assert read_training_time(str(tmp_path / "run"), 7) == after
    assert read_training_time(str(tmp_path / "run"), 2) == {"elapsed_seconds": 0.0, "train_seconds": 0.0,
                                                            "target_tokens": 0.0}

    # The same budget on a fresh checkpoint directory lets the same 3 steps run: the stop above came
    # from the earlier seconds.
    fresh, _ = _fit_one_epoch(tmp_path / "fresh", max_seconds=2.5)
    assert int(fresh.optimizer.iterations.numpy()) == 3
