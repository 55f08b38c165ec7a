"""Beam search with the GNMT length penalty, in TensorFlow ops (runs inside the serving graph).

Why not keras_hub's `BeamSampler` (keras-hub 0.25): it ranks hypotheses by raw log-probability (no
length penalty); a beam that has produced EOS keeps being extended, so tokens after EOS add to its
score; it has one maximum length for the whole batch; and it runs until every row is done, so a row's
result depends on how long the other rows of its batch keep the loop going. This module keeps the
finished hypotheses apart from the alive ones (as tensor2tensor's and OpenNMT-tf's beam searches do),
gives every row its own length limit, and takes a row out of the loop once it is done (its rows leave
the cache and the cross-attention context, so that later steps compute only the rows still searched), so
that a row's output is the same in any batch (to float rounding, see `beam_search`) and a batch costs
what its rows need.

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


# Group size of `top_k_by_groups`: a pass of max over groups of 32 costs a fraction of TensorFlow's top-k.
_TOP_K_GROUP = 32


def top_k_by_groups(values, k):
    """`tf.math.top_k(values, k)` (sorted, ties to the lower index), found among the k best groups of 32.

    Why: TensorFlow's CPU top-k of k = 8 over 256 rows of 4,000 scores costs about 7x a max reduction
    over them (10.5 ms against 1.6 on a 2-core CPU), the largest op of a beam search step at batch 64. A
    top-k element lies in a group whose maximum ranks among the k best group maxima (ranked by value,
    then by group index), and the chosen groups are gathered in index order, so the result, ties
    included, is `tf.math.top_k`'s.

    Args:
        values: float32 `[R, V]`; k: int (or int32 scalar tensor), `1 <= k <= V`.
    Returns:
        (values float32 `[R, k]`, indices int32 `[R, k]`), best first.
    """
    rows, size = tf.shape(values)[0], tf.shape(values)[1]
    padding = (-size) % _TOP_K_GROUP
    padded = tf.pad(values, [[0, 0], [0, padding]], constant_values=float("-inf"))
    groups = tf.reshape(padded, [rows, -1, _TOP_K_GROUP])
    num_groups = tf.minimum(k, tf.shape(groups)[1])
    _, chosen = tf.math.top_k(tf.reduce_max(groups, axis=-1), k=num_groups)
    chosen = tf.sort(chosen, axis=-1)
    candidates = tf.reshape(tf.gather(groups, chosen, axis=1, batch_dims=1), [rows, -1])
    top_values, positions = tf.math.top_k(candidates, k=k)
    group = tf.gather(chosen, positions // _TOP_K_GROUP, axis=1, batch_dims=1)
    return top_values, group * _TOP_K_GROUP + positions % _TOP_K_GROUP


def beam_search(step, cache, max_lengths, beam_size: int, alpha: float, bos_id: int, eos_id: int,
                pad_id: int, context=()):
    """Beam search over a step function.

    Args:
        step: `step(token_ids int32 [A * K, T], cache, index, context) -> (logits float32 [A * K, V],
            cache)`, the scores of the token at position `index` given positions `< index` (their
            log-softmax is its log-probabilities; a token that must never be generated has logit
            `NEG_INF`) for the A sources still searched; row `a * K + k` is hypothesis k of the a-th of
            them. `tfx_nmt.models.decoding.cached_step` is one.
        cache: nested structure of float tensors `[B * K, ...]` (may be empty), one row per hypothesis,
            reordered along the beams after each step; their other dimensions may change from one step
            to the next.
        max_lengths: int32 `[B]`, each row's output length limit, BOS included, >= 2. A hypothesis
            that reaches it without EOS is finished as it is.
        beam_size: K, hypotheses kept per row.
        alpha: length penalty exponent (>= 0).
        bos_id, eos_id, pad_id: special token ids.
        context: nested structure of tensors `[B * K, ...]` (may be empty) that are the same for the K
            hypotheses of a source (the cross-attention keys and values), passed to `step` as they are;
            only the rows of the sources that stop are removed from it.

    Returns:
        (token_ids int32 `[B, K, T]`, `T = max(max_lengths)`: each row's K finished hypotheses, best
        (highest length-penalized score) first, BOS first, PAD after the last token; log_probability
        float32 `[B, K]`: their sums of token log-probabilities; num_tokens int32 `[B, K]`: their
        generated tokens, EOS included). `[:, 0]` is each row's translation. A row that stopped (see
        below) before K of its hypotheses finished fills the remaining places with PAD-only sequences of
        log-probability 0 and 0 tokens.

    A row stops when its best finished score is at least the best score any alive hypothesis can still
    reach (its log-probability can only fall, the penalty rises at most to that of the row's length
    limit), or at its length limit. A stopped row leaves the search: its finished hypotheses go to the
    outputs, and its rows leave the token ids, the cache and the context, so that the steps after it
    compute only the rows still searched (the loop runs until the longest row of the batch stops). A
    row's search does not depend on the others: its output is the one it gets in any batch, to float
    rounding. Not to the bit: TensorFlow's CPU kernels may round an element differently by where it lies
    in its tensor (`tf.exp` of the same value inside a tensor and among its last, not vectorized,
    elements can differ in the last bit), and a row's place in the step's tensors changes as rows leave,
    or with its batch. Log-probabilities differ by about 1e-7 relative; tokens only where two candidates
    are tied to that precision.
    """
    batch_size = tf.shape(max_lengths)[0]
    max_length = tf.reduce_max(tf.concat([max_lengths, [2]], axis=0))
    positions = tf.range(max_length)
    initial_seqs = tf.where(positions == 0, bos_id, pad_id)[tf.newaxis, tf.newaxis, :]
    alive_seqs = tf.tile(initial_seqs, [batch_size, beam_size, 1])
    # Only the first of the K identical initial hypotheses may be extended at the first step.
    alive_log_probs = tf.tile(tf.constant([[0.0] + [NEG_INF] * (beam_size - 1)]), [batch_size, 1])
    finished_seqs = tf.zeros_like(alive_seqs) + pad_id
    finished_scores = tf.fill([batch_size, beam_size], NEG_INF)
    finished_log_probs = tf.zeros([batch_size, beam_size])
    finished_lengths = tf.zeros([batch_size, beam_size], tf.int32)
    # The outputs, filled as rows stop; `sources` are the rows still searched, in batch order.
    outputs = (finished_seqs, finished_log_probs, finished_lengths)
    sources = tf.range(batch_size)

    def cond(index, sources, *_):
        return tf.logical_and(index < max_length, tf.size(sources) > 0)

    def body(index, sources, alive_seqs, alive_log_probs, cache, context, finished_seqs, finished_scores,
             finished_log_probs, finished_lengths, outputs):
        searched = tf.shape(sources)[0]
        last_position = tf.gather(max_lengths, sources) - 1
        flat_seqs = tf.reshape(alive_seqs, [searched * beam_size, max_length])
        logits, cache = step(flat_seqs, cache, index, context)
        # The 2K best candidates of a row are among the 2K best continuations of each of its
        # hypotheses: a top-k per hypothesis, then one over its K * 2K, instead of one over K * V. Only
        # those get a log-probability; log-softmax as TensorFlow's kernel computes it.
        vocabulary_size = tf.shape(logits)[-1]
        per_beam = tf.minimum(2 * beam_size, vocabulary_size)
        largest = tf.reduce_max(logits, axis=-1, keepdims=True)
        log_normalizer = tf.math.log(tf.reduce_sum(tf.exp(logits - largest), axis=-1, keepdims=True))
        beam_logits, beam_tokens = top_k_by_groups(logits, per_beam)
        candidates = alive_log_probs[:, :, tf.newaxis] + tf.reshape(
            (beam_logits - largest) - log_normalizer, [searched, beam_size, per_beam])
        candidates = tf.reshape(candidates, [searched, beam_size * per_beam])
        # 2K candidates: at most K of them end with EOS, so K alive ones always remain.
        top_log_probs, top_indices = tf.math.top_k(candidates, k=2 * beam_size)
        origin = top_indices // per_beam
        tokens = _gather_beams(tf.reshape(beam_tokens, [searched, beam_size * per_beam]), top_indices)
        top_seqs = tf.where(positions == index, tokens[:, :, tf.newaxis], _gather_beams(alive_seqs, origin))
        at_limit = index >= last_position
        ends = tf.logical_or(tf.equal(tokens, eos_id), at_limit[:, tf.newaxis])

        # Alive: the K best candidates that do not end here.
        alive_candidates = tf.where(ends, NEG_INF, top_log_probs)
        alive_log_probs, alive_indices = tf.math.top_k(alive_candidates, k=beam_size)
        alive_seqs = _gather_beams(top_seqs, alive_indices)
        cache_rows = _gather_beams(origin, alive_indices) + tf.range(searched)[:, tf.newaxis] * beam_size

        # Finished: the K best of the previous finished and the candidates that end here.
        new_scores = tf.where(ends, top_log_probs / length_penalty(index, alpha), NEG_INF)
        all_scores = tf.concat([finished_scores, new_scores], axis=1)
        all_seqs = tf.concat([finished_seqs, top_seqs], axis=1)
        all_log_probs = tf.concat([finished_log_probs, top_log_probs], axis=1)
        all_lengths = tf.concat([finished_lengths, tf.fill(tf.shape(tokens), index)], axis=1)
        finished_scores, keep = tf.math.top_k(all_scores, k=beam_size)
        finished_seqs = _gather_beams(all_seqs, keep)
        finished_log_probs = _gather_beams(all_log_probs, keep)
        finished_lengths = _gather_beams(all_lengths, keep)

        best_alive_bound = alive_log_probs[:, 0] / length_penalty(last_position, alpha)
        stops = tf.logical_or(at_limit, finished_scores[:, 0] >= best_alive_bound)
        # The rows that stop leave: their hypotheses to the outputs, their rows out of every tensor.
        stopped = tf.where(stops)[:, 0]
        places = tf.gather(sources, stopped)[:, tf.newaxis]
        outputs = tuple(tf.tensor_scatter_nd_update(output, places, tf.gather(finished, stopped))
                        for output, finished in zip(outputs, (finished_seqs, finished_log_probs, finished_lengths)))
        kept = tf.where(tf.logical_not(stops))[:, 0]
        sources, alive_seqs, alive_log_probs, finished_seqs, finished_scores, finished_log_probs, finished_lengths = (
            tf.gather(t, kept) for t in (sources, alive_seqs, alive_log_probs, finished_seqs, finished_scores,
                                         finished_log_probs, finished_lengths))
        # One gather per cache tensor, along its flat rows: the beams' reorder and the stopped rows' removal.
        rows = tf.reshape(tf.gather(cache_rows, kept), [-1])
        cache = tf.nest.map_structure(lambda t: tf.gather(t, rows), cache)
        context = drop_stopped_rows(context, stops, kept, beam_size)
        return (index + 1, sources, alive_seqs, alive_log_probs, cache, context, finished_seqs, finished_scores,
                finished_log_probs, finished_lengths, outputs)

    loop_vars = (tf.constant(1), sources, alive_seqs, alive_log_probs, cache, context, finished_seqs,
                 finished_scores, finished_log_probs, finished_lengths, outputs)
    shape_invariants = tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), loop_vars)
    outputs = tf.while_loop(cond, body, loop_vars, shape_invariants=shape_invariants,
                            maximum_iterations=max_length - 1)[-1]
    return outputs


def drop_stopped_rows(tensors, stops, kept, copies: int):
    """`tensors` without the rows of the sources that stop, gathered only at a step where one does.

    Args:
        tensors: nested structure of tensors `[A * copies, ...]`, rows `a * copies + c` of source a (may
            be empty).
        stops: bool `[A]`, the sources that stop; kept: int `[A']`, the others, in order.
        copies: rows per source.
    Returns:
        The structure with tensors `[A' * copies, ...]`; the same tensors when no source stops (most
        steps).
    """
    if not tf.nest.flatten(tensors):
        return tensors
    kept = tf.cast(kept, tf.int32)
    rows = tf.reshape(kept[:, tf.newaxis] * copies + tf.range(copies), [-1]) if copies > 1 else kept
    return tf.cond(tf.reduce_any(stops), lambda: tf.nest.map_structure(lambda t: tf.gather(t, rows), tensors),
                   lambda: tensors)
