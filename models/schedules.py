"""Learning-rate schedule of the Transformer."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfx_nmt")
class InverseSquareRootSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak_learning_rate` over `warmup_steps`, then decay with 1/sqrt(step).

    lr(step) = peak_learning_rate * min(step / warmup_steps, sqrt(warmup_steps / step)), step counted
    from 1. This is the schedule of Vaswani et al. 2017, section 5.3 (https://arxiv.org/abs/1706.03762),
    `d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)`, with its peak `(d_model * warmup)^-0.5` made an
    explicit parameter, as fairseq's `inverse_sqrt` scheduler does.
    """

    def __init__(self, peak_learning_rate: float, warmup_steps: int):
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32) + 1.0
        warmup = tf.cast(max(self.warmup_steps, 1), tf.float32)
        return self.peak_learning_rate * tf.minimum(step / warmup, tf.sqrt(warmup / step))

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate, "warmup_steps": self.warmup_steps}
