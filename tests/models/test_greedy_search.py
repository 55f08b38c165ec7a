"""Greedy search on a toy bigram model with hand-computed outputs, log-probabilities and row limits."""
import math

import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt.models.greedy_search import greedy_search

PAD, BOS, EOS = 0, 2, 3


def chain_table():
    """Logits `[6, 6]` whose argmax path from BOS is 4, 5, EOS; P(4|BOS) = 0.6, P(5|4) = 0.7, P(EOS|5) = 0.8."""
    probabilities = np.full((6, 6), 1e-9)
    probabilities[BOS, 4], probabilities[BOS, 5] = 0.6, 0.4
    probabilities[4, 5], probabilities[4, EOS] = 0.7, 0.3
    probabilities[5, EOS], probabilities[5, 4] = 0.8, 0.2
    probabilities[EOS, 4] = 1.0
    logits = np.log(probabilities)
    logits[:, PAD] = -1e9
    return tf.constant(logits, tf.float32)


def run(max_lengths):
    table = chain_table()

    def step(token_ids, cache, index, context):
        return tf.gather(table, token_ids[:, index - 1]), cache

    ids, log_prob, num_tokens = greedy_search(step, (), tf.constant(max_lengths, tf.int32), BOS, EOS, PAD)
    return ids.numpy(), log_prob.numpy(), num_tokens.numpy()


def test_each_row_stops_at_eos_or_at_its_own_limit():
    ids, log_prob, num_tokens = run([2, 3, 4, 7])
    assert ids.tolist() == [
        [BOS, 4, PAD, PAD, PAD, PAD, PAD],
        [BOS, 4, 5, PAD, PAD, PAD, PAD],
        [BOS, 4, 5, EOS, PAD, PAD, PAD],
        [BOS, 4, 5, EOS, PAD, PAD, PAD],
    ]
    assert num_tokens.tolist() == [1, 2, 3, 3]
    expected = [math.log(0.6), math.log(0.6 * 0.7), math.log(0.6 * 0.7 * 0.8), math.log(0.6 * 0.7 * 0.8)]
    np.testing.assert_allclose(log_prob, expected, atol=1e-5)


def test_a_row_decodes_the_same_alone_and_in_a_batch():
    batch = run([2, 7])
    alone = run([7])
    assert batch[0][1].tolist() == alone[0][0].tolist()
    assert batch[1][1] == pytest.approx(alone[1][0])
    assert batch[2][1] == alone[2][0]


def test_the_cache_may_grow_from_step_to_step():
    table = chain_table()

    def step(token_ids, cache, index, context):
        # The cache gains one position per step, as the decoder's self-attention cache does.
        cache = tf.concat([cache, tf.cast(token_ids[:, index - 1:index], tf.float32)], axis=1)
        return tf.gather(table, token_ids[:, index - 1]), cache

    ids, _, _ = greedy_search(step, tf.zeros([1, 0]), tf.constant([7]), BOS, EOS, PAD)
    assert ids.numpy()[0].tolist() == [BOS, 4, 5, EOS, PAD, PAD, PAD]


def test_stopped_rows_leave_the_search_and_each_row_keeps_its_own_context():
    """Row 0 follows the chain table to EOS at step 3, row 1 (its own table in its context row: 5, 4, 5, ...,
    each at probability 0.9) runs to its limit: after step 3 the steps see only row 1."""
    loop = np.full((6, 6), 1e-9)
    for previous, following in ((BOS, 5), (5, 4), (4, 5)):
        loop[previous, following], loop[previous, EOS] = 0.9, 0.1
    loop[EOS, 4] = 1.0
    logits = np.log(loop)
    logits[:, PAD] = -1e9
    context = tf.stack([chain_table(), tf.constant(logits, tf.float32)])
    rows_seen = []

    def step(token_ids, cache, index, context):
        rows_seen.append(int(token_ids.shape[0]))
        return tf.gather(context, token_ids[:, index - 1], axis=1, batch_dims=1), cache

    ids, log_prob, num_tokens = greedy_search(step, (), tf.constant([7, 6]), BOS, EOS, PAD, context)
    assert rows_seen == [2, 2, 2, 1, 1]
    assert ids.numpy().tolist() == [[BOS, 4, 5, EOS, PAD, PAD, PAD], [BOS, 5, 4, 5, 4, 5, PAD]]
    assert num_tokens.numpy().tolist() == [3, 5]
    np.testing.assert_allclose(log_prob.numpy(), [math.log(0.6 * 0.7 * 0.8), 5 * math.log(0.9)], atol=1e-5)


def test_a_row_without_room_for_a_token_gets_none():
    """A limit below 2 (outside `max_decode_lengths`' range) leaves BOS alone, as the search did before rows
    left it (commit 404e0cb); the other rows are unchanged."""
    ids, log_prob, num_tokens = run([1, 0, 4, -3])
    assert ids.tolist() == [[BOS, PAD, PAD, PAD], [BOS, PAD, PAD, PAD], [BOS, 4, 5, EOS], [BOS, PAD, PAD, PAD]]
    assert num_tokens.tolist() == [0, 0, 3, 0]
    assert log_prob[[0, 1, 3]].tolist() == [0.0, 0.0, 0.0]
    assert log_prob[2] == pytest.approx(math.log(0.6 * 0.7 * 0.8), abs=1e-5)
    ids, log_prob, num_tokens = run([1])
    assert ids.tolist() == [[BOS, PAD]] and log_prob.tolist() == [0.0] and num_tokens.tolist() == [0]
