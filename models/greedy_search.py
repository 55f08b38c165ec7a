"""Greedy search in TensorFlow ops (runs inside the serving graph): at each position, the most probable
token.

Why not keras_hub's `GreedySampler` (keras-hub 0.25): it returns only the tokens, so the serving
signature's `log_probability_per_token` output needed a second, teacher-forced decoder pass over every output (a quarter of
the whole greedy call on the quick model at batch 64); it keeps the loop going for rows that have
reached their own length limit; and it takes a softmax of the logits before its argmax. This loop sums
each row's log-probability as it goes (the chosen token's log-probability is `max(logits) -
logsumexp(logits)`), stops a row at EOS or at its own limit, and ends when every row has stopped.
"""
from __future__ import annotations

import tensorflow as tf


def greedy_search(step, cache, max_lengths, bos_id: int, eos_id: int, pad_id: int):
    """Greedy search over a step function.

    Args:
        step: `step(token_ids int32 [B, T], cache, index) -> (logits float32 [B, V], cache)`, the
            scores of the token at position `index` given positions `< index`; a token that must never
            be generated has logit `-1e9`. `tfx_nmt.models.decoding.cached_step` is one.
        cache: nested structure of tensors passed from one step to the next (may be empty); any
            dimension may change between steps.
        max_lengths: int32 `[B]`, each row's output length limit, BOS included, >= 2.
        bos_id, eos_id, pad_id: special token ids.

    Returns:
        (token_ids int32 `[B, T]`, `T = max(max_lengths)`: BOS, the generated tokens (EOS included when
        produced before the limit), then pad_id; log_probability float32 `[B]`: sum of the generated
        tokens' log-probabilities; num_tokens int32 `[B]`: generated tokens, EOS included).
    """
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(tf.concat([max_lengths, [2]], axis=0))
    positions = tf.range(max_length)
    token_ids = tf.tile(tf.where(positions == 0, bos_id, pad_id)[tf.newaxis, :], [batch_size, 1])
    log_probability = tf.zeros([batch_size])
    num_tokens = tf.zeros([batch_size], tf.int32)
    active = max_lengths > 1

    def cond(index, token_ids, cache, log_probability, num_tokens, active):
        return tf.reduce_any(active)

    def body(index, token_ids, cache, log_probability, num_tokens, active):
        logits, cache = step(token_ids, cache, index)
        next_tokens = tf.where(active, tf.argmax(logits, axis=-1, output_type=tf.int32), pad_id)
        token_ids = tf.where(positions == index, next_tokens[:, tf.newaxis], token_ids)
        # log softmax of the largest logit: -log(sum(exp(logits - max(logits)))).
        largest = tf.reduce_max(logits, axis=-1, keepdims=True)
        next_log_probability = -tf.math.log(tf.reduce_sum(tf.exp(logits - largest), axis=-1))
        log_probability += tf.where(active, next_log_probability, 0.0)
        num_tokens += tf.cast(active, tf.int32)
        active = tf.logical_and(active, tf.logical_and(next_tokens != eos_id, index + 1 < max_lengths))
        return index + 1, token_ids, cache, log_probability, num_tokens, active

    loop_vars = (tf.constant(1), token_ids, cache, log_probability, num_tokens, active)
    shape_invariants = tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), loop_vars)
    _, token_ids, _, log_probability, num_tokens, _ = tf.while_loop(
        cond, body, loop_vars, shape_invariants=shape_invariants, maximum_iterations=max_length - 1)
    return token_ids, log_probability, num_tokens
