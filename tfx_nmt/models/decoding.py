"""Autoregressive decoding of a TransformerTranslator, written with TensorFlow ops only so that it runs
inside the exported serving graph.

Greedy search uses keras_hub's `GreedySampler` with an incremental decoder cache: each step embeds only
the newest token and runs it through the decoder layers against cached self-attention keys/values
(`[B, 2, T_max, heads, head_dim]` per layer) and cross-attention keys/values computed once from the
encoder output (`[B, 2, S, heads, head_dim]` per layer).
"""
from __future__ import annotations

import keras_hub
import tensorflow as tf

from tfx_nmt.text.subword import BOS_ID, EOS_ID, PAD_ID


def max_decode_length(source_ids, a: float, b: int, cap: int):
    """Longest output allowed for a batch: `min(cap, ceil(a * longest_source + b))` tokens (BOS included).

    Args:
        source_ids: int `[B, S]`, PAD_ID padded.
    Returns:
        a scalar int32 tensor >= 2.
    """
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source_ids, PAD_ID), tf.float32), axis=1)
    longest = tf.reduce_max(tf.concat([lengths, [0.0]], axis=0))
    length = tf.cast(tf.math.ceil(a * longest + b), tf.int32)
    return tf.clip_by_value(length, 2, cap)


def _initial_caches(model, encoder_output, source_padding_mask, max_length):
    """Zero self-attention caches and filled cross-attention caches, one per decoder layer."""
    batch_size = tf.shape(encoder_output)[0]
    source_length = tf.shape(encoder_output)[1]
    head_dim = model.d_model // model.num_heads
    self_caches, cross_caches = [], []
    x = model.embed(tf.fill([batch_size, 1], BOS_ID))
    for layer in model.decoder_layers:
        self_cache = tf.zeros([batch_size, 2, max_length, model.num_heads, head_dim], x.dtype)
        cross_cache = tf.zeros([batch_size, 2, source_length, model.num_heads, head_dim], x.dtype)
        # One call with cross_attention_cache_update_index=0 computes the layer's cross-attention
        # keys/values from the encoder output; the decoder state it returns is discarded.
        x, _, cross_cache = layer(
            x, encoder_output, encoder_padding_mask=source_padding_mask,
            self_attention_cache=self_cache, self_attention_cache_update_index=0,
            cross_attention_cache=cross_cache, cross_attention_cache_update_index=0)
        self_caches.append(self_cache)
        cross_caches.append(cross_cache)
    return tuple(self_caches), tuple(cross_caches)


def greedy_decode(model, source_ids, max_length):
    """Greedy search with the incremental cache.

    Args:
        model: a TransformerTranslator.
        source_ids: int32 `[B, S]` (BOS ... EOS, PAD_ID padded).
        max_length: scalar int, output length including BOS.

    Returns:
        int32 `[B, max_length]`: BOS, the generated tokens, EOS, then PAD_ID after EOS.
    """
    encoder_output, source_padding_mask = model.encode(source_ids)
    self_caches, cross_caches = _initial_caches(model, encoder_output, source_padding_mask, max_length)
    batch_size = tf.shape(source_ids)[0]
    prompt = tf.concat([tf.fill([batch_size, 1], BOS_ID),
                        tf.fill([batch_size, max_length - 1], PAD_ID)], axis=1)

    def next_token_logits(prompt, cache, index):
        position = index - 1
        x = model.embed(prompt[:, position:index], start_index=position)
        new_self_caches = []
        for layer, self_cache, cross_cache in zip(model.decoder_layers, cache, cross_caches):
            x, self_cache, _ = layer(
                x, encoder_output, encoder_padding_mask=source_padding_mask,
                self_attention_cache=self_cache, self_attention_cache_update_index=position,
                cross_attention_cache=cross_cache, cross_attention_cache_update_index=None)
            new_self_caches.append(self_cache)
        return model.project(x)[:, 0, :], None, tuple(new_self_caches)

    output = keras_hub.samplers.GreedySampler()(
        next_token_logits, prompt, cache=self_caches, index=1, stop_token_ids=[EOS_ID])
    return mask_after_eos(tf.cast(output, tf.int32))


def mask_after_eos(token_ids):
    """Replaces every token after the first EOS of each row by PAD_ID. int `[B, T]` -> same."""
    is_eos = tf.cast(tf.equal(token_ids, EOS_ID), tf.int32)
    after_eos = tf.cumsum(is_eos, axis=1, exclusive=True) > 0
    return tf.where(after_eos, tf.zeros_like(token_ids) + PAD_ID, token_ids)


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
