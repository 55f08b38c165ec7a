"""Beam search with the GNMT length penalty, in TensorFlow ops (runs inside the serving graph).

Why not keras_hub's `BeamSampler` (keras-hub 0.25): it ranks hypotheses by raw log-probability (no
length penalty); a beam that has produced EOS keeps being extended, so tokens after EOS add to its
score; it has one maximum length for the whole batch; and it runs until every row is done, so a row's
result depends on how long the other rows of its batch keep the loop going. This module keeps the
finished hypotheses apart from the alive ones (as tensor2tensor's and OpenNMT-tf's beam searches do),
gives every row its own length limit, and freezes a row once it is done, so that a row's output is the
same in any batch.

Length penalty (Wu et al. 2016, "Google's Neural Machine Translation System", eq. 14,
https://arxiv.org/abs/1609.08144): a hypothesis Y is ranked by `log P(Y|X) / lp(Y)`,
`lp(Y) = ((5 + |Y|) / 6) ** alpha`, `|Y|` its number of generated tokens, EOS included. `alpha = 0`
ranks by log-probability. No coverage penalty.
"""
from __future__ import annotations

import tensorflow as tf

# Stands for log(0) where -inf would give NaN in arithmetic (tensor2tensor uses the same value).
NEG_INF = -1e9


def length_penalty(length, alpha: float):
    """GNMT length penalty `((5 + length) / 6) ** alpha` (Wu et al. 2016, eq. 14), float32, any shape."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _gather_beams(tensor, indices):
    """`tensor[b, indices[b, k]]`: `[B, M, ...]` gathered with int32 `[B, K]` -> `[B, K, ...]`."""
    return tf.gather(tensor, indices, axis=1, batch_dims=1)


def _reorder_cache(tensor, indices, batch_size, beam_size):
    """Reorders a flat `[B * K, ...]` cache tensor by the beam indices `[B, K]`."""
    shape = tf.shape(tensor)
    beams = tf.reshape(tensor, tf.concat([[batch_size, beam_size], shape[1:]], axis=0))
    return tf.reshape(_gather_beams(beams, indices), shape)


def beam_search(step, cache, max_lengths, beam_size: int, alpha: float, bos_id: int, eos_id: int,
                pad_id: int):
    """Beam search over a step function.

    Args:
        step: `step(token_ids int32 [B * K, T], cache, index) -> (logits float32 [B * K, V], cache)`,
            the scores of the token at position `index` given positions `< index` (their log-softmax
            is its log-probabilities; a token that must never be generated has logit `NEG_INF`); row
            `b * K + k` is hypothesis k of source b. `tfx_nmt.models.decoding.cached_step` is one.
        cache: nested structure of float tensors `[B * K, ...]` (may be empty), reordered along the
            beams after each step; their other dimensions may change from one step to the next.
        max_lengths: int32 `[B]`, each row's output length limit, BOS included, >= 2. A hypothesis
            that reaches it without EOS is finished as it is.
        beam_size: K, hypotheses kept per row.
        alpha: length penalty exponent (>= 0).
        bos_id, eos_id, pad_id: special token ids.

    Returns:
        (token_ids int32 `[B, K, T]`, `T = max(max_lengths)`: the K finished hypotheses of each row, best
        first (by length-penalized score), each BOS first and PAD after its last token; log_probability
        float32 `[B, K]`: their sums of token log-probabilities; num_tokens int32 `[B, K]`: their generated
        tokens, EOS included). `[:, 0]` is each row's best hypothesis. A row that stops with fewer than K
        finished hypotheses leaves the other slots unfilled: num_tokens 0, token_ids all PAD but BOS.

    A row stops when its best finished score is at least the best score any alive hypothesis can still
    reach (its log-probability can only fall, the penalty rises at most to that of the row's length
    limit), or at its length limit; then its finished hypotheses are frozen.
    """
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(tf.concat([max_lengths, [2]], axis=0))
    last_position = max_lengths - 1
    positions = tf.range(max_length)
    initial_seqs = tf.where(positions == 0, bos_id, pad_id)[tf.newaxis, tf.newaxis, :]
    alive_seqs = tf.tile(initial_seqs, [batch_size, beam_size, 1])
    # Only the first of the K identical initial hypotheses may be extended at the first step.
    alive_log_probs = tf.tile(tf.constant([[0.0] + [NEG_INF] * (beam_size - 1)]), [batch_size, 1])
    finished_seqs = tf.zeros_like(alive_seqs) + pad_id
    finished_scores = tf.fill([batch_size, beam_size], NEG_INF)
    finished_log_probs = tf.zeros([batch_size, beam_size])
    finished_lengths = tf.zeros([batch_size, beam_size], tf.int32)
    done = tf.zeros([batch_size], tf.bool)
    best_possible_penalty = length_penalty(last_position, alpha)

    def cond(index, *_):
        return tf.logical_and(index < max_length, tf.logical_not(tf.reduce_all(done)))

    def body(index, alive_seqs, alive_log_probs, cache, finished_seqs, finished_scores,
             finished_log_probs, finished_lengths, done):
        flat_seqs = tf.reshape(alive_seqs, [batch_size * beam_size, max_length])
        logits, cache = step(flat_seqs, cache, index)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        vocabulary_size = tf.shape(log_probs)[-1]
        candidates = alive_log_probs[:, :, tf.newaxis] + tf.reshape(
            log_probs, [batch_size, beam_size, vocabulary_size])
        candidates = tf.reshape(candidates, [batch_size, beam_size * vocabulary_size])
        # 2K candidates: at most K of them end with EOS, so K alive ones always remain.
        top_log_probs, top_indices = tf.math.top_k(candidates, k=2 * beam_size)
        origin = top_indices // vocabulary_size
        tokens = top_indices % vocabulary_size
        top_seqs = tf.where(positions == index, tokens[:, :, tf.newaxis], _gather_beams(alive_seqs, origin))
        at_limit = (index >= last_position)[:, tf.newaxis]
        ends = tf.logical_or(tf.equal(tokens, eos_id), at_limit)

        # Alive: the K best candidates that do not end here.
        alive_candidates = tf.where(ends, NEG_INF, top_log_probs)
        alive_log_probs, alive_indices = tf.math.top_k(alive_candidates, k=beam_size)
        alive_seqs = _gather_beams(top_seqs, alive_indices)
        cache = tf.nest.map_structure(
            lambda t: _reorder_cache(t, _gather_beams(origin, alive_indices), batch_size, beam_size), cache)

        # Finished: the K best of the previous finished and the candidates that end here.
        new_scores = tf.where(ends, top_log_probs / length_penalty(index, alpha), NEG_INF)
        all_scores = tf.concat([finished_scores, new_scores], axis=1)
        all_seqs = tf.concat([finished_seqs, top_seqs], axis=1)
        all_log_probs = tf.concat([finished_log_probs, top_log_probs], axis=1)
        all_lengths = tf.concat([finished_lengths, tf.fill(tf.shape(tokens), index)], axis=1)
        scores, keep = tf.math.top_k(all_scores, k=beam_size)
        frozen = done[:, tf.newaxis]
        finished_scores = tf.where(frozen, finished_scores, scores)
        finished_seqs = tf.where(frozen[:, :, tf.newaxis], finished_seqs, _gather_beams(all_seqs, keep))
        finished_log_probs = tf.where(frozen, finished_log_probs, _gather_beams(all_log_probs, keep))
        finished_lengths = tf.where(frozen, finished_lengths, _gather_beams(all_lengths, keep))

        best_alive_bound = alive_log_probs[:, 0] / best_possible_penalty
        done = tf.logical_or(done, tf.logical_or(at_limit[:, 0], finished_scores[:, 0] >= best_alive_bound))
        return (index + 1, alive_seqs, alive_log_probs, cache, finished_seqs, finished_scores,
                finished_log_probs, finished_lengths, done)

    loop_vars = (tf.constant(1), alive_seqs, alive_log_probs, cache, finished_seqs, finished_scores,
                 finished_log_probs, finished_lengths, done)
    shape_invariants = tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), loop_vars)
    _, _, _, _, finished_seqs, _, finished_log_probs, finished_lengths, _ = tf.while_loop(
        cond, body, loop_vars, shape_invariants=shape_invariants, maximum_iterations=max_length - 1)
    return finished_seqs, finished_log_probs, finished_lengths
