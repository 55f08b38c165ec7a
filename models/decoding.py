"""Autoregressive decoding of a TransformerTranslator, written with TensorFlow ops only so that it runs
inside the exported serving graph.

Both searches drive a *step function* `step(token_ids, cache, index, context) -> (logits, cache)` that
scores the token at position `index` given the tokens before it, for the rows still searched: `cache` is
what a step passes to the next (reordered along the beams), `context` what every step reads (the same
for a source's beams); both lose the rows of the sources that stop:

- `cached_step` (the serving default) embeds only the newest token and runs it through the decoder
  layers (`tfx_nmt.models.incremental_decoder`, which says why not through keras_hub's own cached call)
  against a cache of each layer's self-attention keys and values (`[N, heads, index - 1, head_dim]`,
  one position longer after each step, so that a step attends over the prefix only and not over the
  longest output the batch allows); the cross-attention keys/values are computed once from the encoder
  output (the context). The encoder runs once per input.
- `recompute_step` runs the whole decoder over the prefix at every step (what the TensorFlow and Keras
  tutorials do); kept as the reference the cache is tested and benchmarked against.

Greedy search is `tfx_nmt.models.greedy_search`, beam search `tfx_nmt.models.beam_search` (each module
says why keras_hub's samplers do not fit). Both graphs hold core TensorFlow ops only (no `Xla*` op, which
the stock TF Serving model server does not run: `tfx_nmt.serving.op_check`).

Maximum output length: row b of a batch gets at most `min(cap, ceil(a * source_tokens_b + b))` tokens
(BOS included; `source_tokens_b` counts BOS and EOS of the source), so that a row's output does not depend
on the other rows of its batch.
"""
from __future__ import annotations

import tensorflow as tf

from tfx_nmt.models import beam_search as beam_search_lib
from tfx_nmt.models.greedy_search import greedy_search
from tfx_nmt.models.incremental_decoder import incremental_step
from tfx_nmt.text.subword import BOS_ID, EOS_ID, PAD_ID


def max_decode_lengths(source_ids, a: float, b: int, cap: int):
    """Longest output allowed for each row: `min(cap, ceil(a * source_tokens + b))`, at least 2.

    Args:
        source_ids: int `[B, S]`, PAD_ID padded.
        a, b: slope and intercept of the limit, in tokens.
        cap: the model's `max_target_length`.
    Returns:
        int32 `[B]`, output lengths in tokens, BOS included.
    """
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source_ids, PAD_ID), tf.float32), axis=1)
    limit = tf.cast(tf.math.ceil(a * lengths + b), tf.int32)
    return tf.clip_by_value(limit, 2, cap)


def _logits(model, hidden):
    """Next-token logits with PAD_ID forbidden: `[N, 1, d_model]` -> `[N, V]` float32.

    PAD is never a training label, and a PAD inside a prefix would be masked as padding when the
    prefix is re-read (`recompute_step`), so it is never generated: its logit is `NEG_INF`.
    """
    logits = model.project(hidden)[:, 0, :]
    forbid = tf.one_hot(PAD_ID, tf.shape(logits)[-1], on_value=True, off_value=False)
    return tf.where(forbid, tf.constant(beam_search_lib.NEG_INF), logits)


def cached_step(model, encoder_output, source_padding_mask, copies: int = 1):
    """The incremental step function and its initial cache (`incremental_decoder.incremental_step`).

    Args:
        model: a TransformerTranslator.
        encoder_output: float `[B, S, d_model]`; source_padding_mask: bool `[B, S]`.
        copies: rows per source (the beam size; 1 for greedy). The cache has `N = B * copies` rows,
            row `b * copies + k` belonging to source b.

    Returns:
        (step, cache, context): `step(token_ids int32 [N, T], cache, index, context) -> (logits float32
        [N, V], cache)` reads only `token_ids[:, index - 1]`, PAD_ID's logit `NEG_INF`; `cache` is a tuple
        of two `[N, heads, index - 1, head_dim]` tensors (keys, values) per decoder layer on entry to a
        step (empty at the first), one position longer on return; `context` holds the cross-attention
        keys, values and their padding bias, rows as the cache's (`incremental_step`).
    """
    return incremental_step(model, encoder_output, source_padding_mask, copies, PAD_ID, beam_search_lib.NEG_INF)


def recompute_step(model, encoder_output, source_padding_mask, copies: int = 1):
    """The step function without a cache: the decoder re-reads the whole prefix at every step.

    Same contract as `cached_step`: the cache is an empty tuple, the context the encoder output and the
    source padding mask, repeated `copies` times; `step` reads `token_ids[:, :index]`.
    """
    context = (tf.repeat(encoder_output, copies, axis=0), tf.repeat(source_padding_mask, copies, axis=0))

    def step(token_ids, cache, index, context):
        encoder_output, source_padding_mask = context
        x = model.embed(token_ids[:, :index])
        target_padding_mask = tf.not_equal(token_ids[:, :index], PAD_ID)
        for layer in model.decoder_layers:
            x = layer(x, encoder_output, decoder_padding_mask=target_padding_mask,
                      encoder_padding_mask=source_padding_mask)
        return _logits(model, x[:, -1:, :]), cache

    return step, (), context


def _step_function(model, encoder_output, source_padding_mask, copies, use_cache):
    if use_cache:
        return cached_step(model, encoder_output, source_padding_mask, copies)
    return recompute_step(model, encoder_output, source_padding_mask, copies)


def greedy_decode(model, source_ids, max_lengths, use_cache: bool = True):
    """Greedy search (`tfx_nmt.models.greedy_search`) over the model's step function.

    Args:
        model: a TransformerTranslator.
        source_ids: int32 `[B, S]` (BOS ... EOS, PAD_ID padded).
        max_lengths: int32 `[B]`, each row's output length limit including BOS (`max_decode_lengths`).
        use_cache: incremental decoder cache (True) or full recomputation of the prefix at each step.

    Returns:
        (token_ids int32 `[B, T]`, `T = max(max_lengths)`: BOS, the generated tokens, EOS, then PAD_ID
        after EOS and after the row's own limit; log_probability float32 `[B]` of each output (sum over
        its tokens, EOS included); num_tokens int32 `[B]`).
    """
    encoder_output, source_padding_mask = model.encode(source_ids)
    step, cache, context = _step_function(model, encoder_output, source_padding_mask, 1, use_cache)
    return greedy_search(step, cache, max_lengths, BOS_ID, EOS_ID, PAD_ID, context)


def beam_decode(model, source_ids, max_lengths, beam_size: int, length_penalty_alpha: float,
                use_cache: bool = True):
    """Beam search (`tfx_nmt.models.beam_search.beam_search`) over the model's step function.

    Args:
        model, source_ids, max_lengths, use_cache: as for `greedy_decode`.
        beam_size: hypotheses kept per source.
        length_penalty_alpha: GNMT length penalty exponent (0: rank by log-probability).

    Returns:
        (token_ids int32 `[B, K, T]`, K = beam_size: each source's K finished hypotheses best first (by the
        length-penalized score), each laid out as `greedy_decode`'s outputs; log_probability float32
        `[B, K]` of each (sum over its tokens, EOS included); num_tokens int32 `[B, K]`). `[:, 0]` is the
        translation; `filled_hypotheses` tells which slots hold a hypothesis.
    """
    encoder_output, source_padding_mask = model.encode(source_ids)
    step, cache, context = _step_function(model, encoder_output, source_padding_mask, beam_size, use_cache)
    return beam_search_lib.beam_search(step, cache, max_lengths, beam_size, length_penalty_alpha,
                                       BOS_ID, EOS_ID, PAD_ID, context)


def filled_hypotheses(log_probability, num_tokens):
    """Which of `beam_decode`'s K slots hold a hypothesis: bool, the shape of its inputs (`[B, K]`).

    A row that stops with fewer than K finished hypotheses leaves slots without a token (num_tokens 0),
    and candidates extended from a beam that was never alive carry a log-probability near
    `beam_search.NEG_INF` (only when the vocabulary has fewer than 2K tokens); neither is a hypothesis.
    """
    return tf.logical_and(num_tokens > 0, log_probability > beam_search_lib.NEG_INF / 2)


def sequence_log_probability(model, source_ids, target_ids):
    """Teacher-forced log-probability of each target under the model (no label smoothing).

    Args:
        source_ids: int32 `[B, S]`.
        target_ids: int32 `[B, T]`, BOS first, PAD_ID padded; tokens after position 0 are scored.

    Returns:
        (sum of log-probabilities float32 `[B]`, number of scored tokens int32 `[B]`).
    """
    encoder_output, source_padding_mask = model.encode(source_ids)
    logits = model.decode(target_ids[:, :-1], encoder_output, source_padding_mask)
    labels = target_ids[:, 1:]
    log_probs = tf.gather(tf.nn.log_softmax(logits, axis=-1), labels, axis=-1, batch_dims=2)
    mask = tf.not_equal(labels, PAD_ID)
    total = tf.reduce_sum(tf.where(mask, log_probs, 0.0), axis=1)
    return total, tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
