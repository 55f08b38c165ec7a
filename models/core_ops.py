"""Builds keras_hub's decoder caches from core TensorFlow ops only, for TF Serving.

Why: Keras 3's TensorFlow backend implements `keras.ops.slice_update` (which keras_hub's
`CachedMultiHeadAttention` uses to write one position of a cache) with
`XlaDynamicUpdateSlice`. Outside an XLA cluster that op runs through XLA's compile-on-demand kernel,
which the stock TF Serving model server only enables with its experimental `--xla_cpu_compilation_enabled`
flag (off by default; see tensorflow/serving issues #2214 and #2217): a serving graph containing it fails
at the first request. `core_slice_update()` swaps in the same update built from the core op
`TensorStridedSliceUpdate` while a graph is being traced; the op check (`tfx_nmt.serving.op_check`)
rejects any `Xla*` op left in the exported graph.
"""
from __future__ import annotations

import contextlib

import tensorflow as tf
from keras.src.backend.tensorflow import core as keras_tf_core


def slice_update(inputs, updates, start_indices):
    """`inputs` with `updates` written at `start_indices`, as XLA's DynamicUpdateSlice (start indices
    clamped so that the update fits), from core ops.

    Args:
        inputs: tensor of rank R; updates: tensor of rank R, each dimension <= that of `inputs`;
        start_indices: R ints or int tensors.
    Returns:
        a tensor shaped like `inputs`.
    """
    inputs = tf.convert_to_tensor(inputs)
    updates = tf.cast(updates, inputs.dtype)
    shape, update_shape = tf.shape(inputs), tf.shape(updates)
    start = tf.stack([tf.cast(i, tf.int32) for i in start_indices])
    start = tf.clip_by_value(start, 0, shape - update_shape)
    return tf.raw_ops.TensorStridedSliceUpdate(
        input=inputs, begin=start, end=start + update_shape, strides=tf.ones_like(start), value=updates)


@contextlib.contextmanager
def core_slice_update():
    """Within the block, `keras.ops.slice_update` on the TensorFlow backend builds `slice_update` above.

    Only graph construction is affected (tracing runs this Python code); graphs traced inside the block
    keep core ops after it ends.
    """
    original = keras_tf_core.dynamic_update_slice
    keras_tf_core.dynamic_update_slice = slice_update
    try:
        yield
    finally:
        keras_tf_core.dynamic_update_slice = original
