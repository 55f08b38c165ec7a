"""The incremental decoder step against the teacher-forced decoder of random models of each layout."""
import numpy as np
import pytest
import tensorflow as tf

from random_translator import random_model

from tfx_nmt.models import decoding


@pytest.mark.parametrize("overrides", [{}, {"normalize_first": False}, {"tie_embeddings": False}])
def test_step_logits_are_the_teacher_forced_logits(overrides):
    model = random_model(0, **overrides)
    rng = np.random.default_rng(0)
    source = rng.integers(4, 50, size=(3, 7))
    source[:, 0], source[:, -1] = 2, 3
    source[1, 4:] = 0  # a padded source
    source[1, 3] = 3
    target = rng.integers(4, 50, size=(3, 9))
    target[:, 0] = 2
    source, target = tf.constant(source, tf.int32), tf.constant(target, tf.int32)
    encoder_output, padding_mask = model.encode(source)
    expected = model.decode(target, encoder_output, padding_mask).numpy()
    step, cache, context = decoding.cached_step(model, encoder_output, padding_mask)
    for index in range(1, 10):
        logits, cache = step(target, cache, index, context)
        assert [t.shape[2] for t in cache] == [index] * 4
        expected_logits = expected[:, index - 1].copy()
        expected_logits[:, 0] = -1e9  # PAD is never generated
        np.testing.assert_allclose(logits.numpy(), expected_logits, atol=1e-5)


def test_copies_share_the_source_rows():
    model = random_model(1)
    source = tf.constant([[2, 7, 8, 3], [2, 9, 3, 0]], tf.int32)
    encoder_output, padding_mask = model.encode(source)
    step, cache, context = decoding.cached_step(model, encoder_output, padding_mask, copies=3)
    logits, cache = step(tf.fill([6, 4], 2), cache, 1, context)
    assert cache[0].shape == (6, 2, 1, 8)
    np.testing.assert_array_equal(logits.numpy()[0], logits.numpy()[2])
    np.testing.assert_array_equal(logits.numpy()[3], logits.numpy()[5])
    assert not np.allclose(logits.numpy()[0], logits.numpy()[3])


def test_traced_searches_hold_no_xla_op():
    """TF Serving's model server does not run `Xla*` ops (`tfx_nmt.serving.op_check`)."""
    model = random_model(2)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
    def searches(source_ids, max_lengths):
        return (decoding.greedy_decode(model, source_ids, max_lengths)[0],
                decoding.beam_decode(model, source_ids, max_lengths, 2, 0.6)[0])

    graph = searches.get_concrete_function().graph
    op_types = {op.type for op in graph.get_operations()}
    for function in graph._functions.values():  # the while loops' bodies
        op_types |= {node.op for node in function.definition.node_def}
    assert "ConcatV2" in op_types
    assert not [op for op in op_types if op.startswith("Xla")]
