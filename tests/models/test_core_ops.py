"""`core_ops.slice_update` equals XLA's DynamicUpdateSlice, and traced decoding graphs contain no XLA op."""
import numpy as np
import tensorflow as tf
from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice

from tfx_nmt.models.core_ops import core_slice_update, slice_update


def test_slice_update_matches_xla_including_clamped_starts():
    x = tf.reshape(tf.range(3 * 2 * 7 * 4, dtype=tf.float32), [3, 2, 7, 4])
    update = -tf.ones([3, 2, 1, 4])
    for position in (0, 3, 6, 9):  # 9 is clamped to 6, as XLA does.
        expected = dynamic_update_slice(x, update, [0, 0, position, 0]).numpy()
        actual = slice_update(x, update, [0, 0, tf.constant(position), 0]).numpy()
        np.testing.assert_array_equal(actual, expected)
    assert slice_update(tf.zeros([2, 5], tf.int32), tf.constant([[4], [5]]), [0, 2]).numpy().tolist() == \
        [[0, 0, 4, 0, 0], [0, 0, 5, 0, 0]]


def test_keras_slice_update_traces_core_ops_inside_the_block_only():
    import keras

    def ops_of(function):
        graph = tf.function(function).get_concrete_function(tf.TensorSpec([2, 5], tf.int32)).graph
        return {op.type for op in graph.get_operations()}

    def update(x):
        return keras.ops.slice_update(x, [0, 1], tf.ones([2, 1], tf.int32))

    def update_in_block(x):
        with core_slice_update():
            return update(x)

    assert "XlaDynamicUpdateSlice" in ops_of(update)
    inside = ops_of(update_in_block)
    assert "TensorStridedSliceUpdate" in inside and "XlaDynamicUpdateSlice" not in inside
    assert "XlaDynamicUpdateSlice" in ops_of(update)
