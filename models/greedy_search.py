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

from tfx_nmt.models.beam_search import drop_stopped_rows


def greedy_search(step, cache, max_lengths, bos_id: int, eos_id: int, pad_id: int, context=()):
    """Greedy search over a step function.

    Args:
        step: `step(token_ids int32 [A, T], cache, index, context) -> (logits float32 [A, V], cache)`,
            the scores of the token at position `index` given positions `< index` for the A rows still
            searched; a token that must never be generated has logit `-1e9`.
            `tfx_nmt.models.decoding.cached_step` is one.
        cache: nested structure of tensors `[B, ...]` passed from one step to the next (may be empty);
            any dimension but the first may change between steps.
        max_lengths: int32 `[B]`, each row's output length limit, BOS included, >= 2.
        bos_id, eos_id, pad_id: special token ids.
        context: nested structure of tensors `[B, ...]` passed to `step` as they are (may be empty).

    Returns:
        (token_ids int32 `[B, T]`, `T = max(max_lengths)`: BOS, the generated tokens (EOS included when
        produced before the limit), then pad_id; log_probability float32 `[B]`: sum of the generated
        tokens' log-probabilities; num_tokens int32 `[B]`: generated tokens, EOS included).

    A row that stops (at EOS or at its limit) leaves the search: its output is written, and its row
    leaves the token ids, the cache and the context, so that later steps compute only the rows still
    searched.
    """
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(tf.concat([max_lengths, [2]], axis=0))
    positions = tf.range(max_length)
    token_ids = tf.tile(tf.where(positions == 0, bos_id, pad_id)[tf.newaxis, :], [batch_size, 1])
    log_probability = tf.zeros([batch_size])
    num_tokens = tf.zeros([batch_size], tf.int32)
    # The outputs, filled as rows stop; `sources` are the rows still searched, in batch order.
    outputs = (token_ids, log_probability, num_tokens)
    sources = tf.range(batch_size)

    def cond(index, sources, *_):
        return tf.size(sources) > 0

    def body(index, sources, token_ids, cache, context, log_probability, num_tokens, outputs):
        logits, cache = step(token_ids, cache, index, context)
        next_tokens = tf.argmax(logits, axis=-1, output_type=tf.int32)
        token_ids = tf.where(positions == index, next_tokens[:, tf.newaxis], token_ids)
        # log softmax of the largest logit: -log(sum(exp(logits - max(logits)))).
        largest = tf.reduce_max(logits, axis=-1, keepdims=True)
        log_probability += -tf.math.log(tf.reduce_sum(tf.exp(logits - largest), axis=-1))
        num_tokens += 1
        stops = tf.logical_or(next_tokens == eos_id, index + 1 >= tf.gather(max_lengths, sources))
        stopped = tf.where(stops)[:, 0]
        places = tf.gather(sources, stopped)[:, tf.newaxis]
        outputs = tuple(tf.tensor_scatter_nd_update(output, places, tf.gather(searched, stopped))
                        for output, searched in zip(outputs, (token_ids, log_probability, num_tokens)))
        kept = tf.where(tf.logical_not(stops))[:, 0]
        sources, token_ids, log_probability, num_tokens = (
            tf.gather(t, kept) for t in (sources, token_ids, log_probability, num_tokens))
        cache, context = drop_stopped_rows((cache, context), stops, kept, 1)
        return index + 1, sources, token_ids, cache, context, log_probability, num_tokens, outputs

    loop_vars = (tf.constant(1), sources, token_ids, cache, context, log_probability, num_tokens, outputs)
    shape_invariants = tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), loop_vars)
    token_ids, log_probability, num_tokens = tf.while_loop(
        cond, body, loop_vars, shape_invariants=shape_invariants, maximum_iterations=max_length - 1)[-1]
    # A row whose limit (< 2) leaves no room for a token gets none, as before rows left the search: BOS,
    # then pad_id, log-probability 0, 0 tokens (the loop computed one for it, which is dropped here).
    no_room = max_lengths < 2
    token_ids = tf.where(no_room[:, tf.newaxis] & (positions > 0), pad_id, token_ids)
    return token_ids, tf.where(no_room, 0.0, log_probability), tf.where(no_room, 0, num_tokens)
