"""One decoding step of a TransformerTranslator's decoder for the newest token only, from the weights of
its keras_hub layers, with the self-attention keys/values of the earlier positions kept in a cache.

Why not the keras_hub layers' own cached call (`TransformerDecoder(..., self_attention_cache=...,
self_attention_cache_update_index=...)`, keras-hub 0.25), which this module replaced: per layer and step
it slices keys and values out of one stacked `[N, 2, L, heads, head_dim]` cache, writes the new position
with a slice update, stacks the two again, slices the cross-attention keys/values out of their stacked
cache, rebuilds the cross-attention mask, and its einsum attention transposes every key and value
tensor. A search also had to grow the cache by padding it. On the `quick` model (d_model 128, 3+3
layers, vocabulary 4,000) the profile (`bench/decode_profile.py`) showed those copies and transposes
beside the matmuls in every step. Here each layer keeps its keys and values as two `[N, heads, t,
head_dim]` tensors in the layout batched matmul reads, appends the new position with one concat, holds
the cross-attention keys/values, their mask bias, the position encodings and the transposed output
embedding computed once per call (the cross-attention keys and values as the step's `context`, which a
search shrinks as its rows stop), and projects query, key and value with one matmul. The arithmetic is
that of the layers (same weights, same order of operations: `tests/models/test_incremental_decoder.py`
checks the logits against the teacher-forced decoder).

The layers' sublayers are read through keras_hub's attribute names (`_self_attention_layer`,
`_query_dense`, ...), which are not public API: a keras_hub upgrade that renames them fails that test.
"""
from __future__ import annotations

import math

import tensorflow as tf

# Keras' masked softmax adds this to masked attention scores (`keras.layers.Softmax`, float32).
_MASKED_SCORE = -1e9


def _kernel_2d(dense):
    """(kernel `[d_in, units]`, bias `[units]`) of a keras EinsumDense/Dense projection of the last axis."""
    kernel = tf.convert_to_tensor(dense.kernel)
    units = tf.reduce_prod(tf.shape(kernel)[1:])
    bias = tf.reshape(tf.convert_to_tensor(dense.bias), [units]) if dense.bias is not None else None
    return tf.reshape(kernel, [tf.shape(kernel)[0], units]), bias


def _output_kernel_2d(dense):
    """(kernel `[heads * head_dim, d_model]`, bias `[d_model]`) of an attention layer's output EinsumDense."""
    kernel = tf.convert_to_tensor(dense.kernel)
    return tf.reshape(kernel, [-1, tf.shape(kernel)[-1]]), tf.convert_to_tensor(dense.bias)


def _dense(x, kernel, bias):
    x = tf.matmul(x, kernel)
    return x if bias is None else x + bias


def _heads(x, num_heads: int, head_dim: int):
    """`[N, heads * head_dim]` -> `[N, heads, 1, head_dim]`."""
    return tf.reshape(x, [-1, num_heads, 1, head_dim])


def _attend(query, keys, values, bias=None):
    """Scaled query `[N, H, 1, D]` over keys/values `[N, H, L, D]` (+ bias `[N, 1, L]`) -> `[N, H * D]`.

    Products and sums rather than batched matmuls and the softmax op: with one query per row, oneDNN's
    `_MklBatchMatMulV2` and `_MklSoftmax` (what TensorFlow's CPU build runs for them) cost a fixed
    0.2-0.5 ms per call whatever the size, most of a step at batch 1 (`bench/decode_profile.py`), while
    these element-wise ops cost as much as the matmuls at 256 rows.
    """
    scores = tf.reduce_sum(query * keys, axis=-1)
    if bias is not None:
        scores += bias
    weights = tf.exp(scores - tf.reduce_max(scores, axis=-1, keepdims=True))
    weights /= tf.reduce_sum(weights, axis=-1, keepdims=True)
    output = tf.reduce_sum(weights[..., tf.newaxis] * values, axis=2)
    return tf.reshape(output, [tf.shape(output)[0], -1])


def _float32(tensor):
    """`tensor` as float32: under a mixed precision policy (training in bf16, `tfx_nmt.models.precision`)
    keras layers compute in bfloat16, while this step keeps its cache, attention and residual stream in
    float32 beside the float32 variables it reads directly. A no-op for a float32 model."""
    return tf.cast(tensor, tf.float32)


class _Layer:
    """The weights of one keras_hub TransformerDecoder layer, and its cross-attention keys/values."""

    def __init__(self, layer, encoder_output, copies: int):
        self.layer = layer
        self_attention, cross_attention = layer._self_attention_layer, layer._cross_attention_layer
        self.num_heads = self_attention._num_heads
        self.head_dim = self_attention._key_dim
        self.scale = self_attention._inverse_sqrt_key_dim
        self.cross_scale = cross_attention._inverse_sqrt_key_dim
        kernels = [_kernel_2d(dense) for dense in (self_attention._query_dense, self_attention._key_dense,
                                                   self_attention._value_dense)]
        self.qkv_kernel = tf.concat([kernel for kernel, _ in kernels], axis=1)
        self.qkv_bias = tf.concat([bias for _, bias in kernels], axis=0)
        self.self_output = _output_kernel_2d(self_attention._output_dense)
        self.cross_query = _kernel_2d(cross_attention._query_dense)
        self.cross_output = _output_kernel_2d(cross_attention._output_dense)

        def heads_first(x):  # [B, S, H, D] -> [B * copies, H, S, D]
            return tf.repeat(tf.transpose(x, [0, 2, 1, 3]), copies, axis=0)

        self.cross_keys = heads_first(_float32(cross_attention._key_dense(encoder_output)))
        self.cross_values = heads_first(_float32(cross_attention._value_dense(encoder_output)))

    def __call__(self, x, keys, values, cross_keys, cross_values, cross_bias):
        """x `[N, d_model]`, this layer's cache `[N, H, t, D]` x 2, its cross-attention keys and values `[N,
        H, S, D]` and their bias `[N, 1, S]` -> (x, keys and values `[N, H, t + 1, D]`)."""
        layer, normalize_first = self.layer, self.layer.normalize_first
        residual = x
        if normalize_first:
            x = layer._self_attention_layer_norm(x)
        query, key, value = tf.split(_dense(x, self.qkv_kernel, self.qkv_bias), 3, axis=1)
        keys = tf.concat([keys, _heads(key, self.num_heads, self.head_dim)], axis=2)
        values = tf.concat([values, _heads(value, self.num_heads, self.head_dim)], axis=2)
        query = _heads(query, self.num_heads, self.head_dim) * self.scale
        x = _dense(_attend(query, keys, values), *self.self_output) + residual
        if not normalize_first:
            x = layer._self_attention_layer_norm(x)

        residual = x
        if normalize_first:
            x = layer._cross_attention_layer_norm(x)
        query = _heads(_dense(x, *self.cross_query), self.num_heads, self.head_dim) * self.cross_scale
        x = _dense(_attend(query, cross_keys, cross_values, cross_bias), *self.cross_output) + residual
        if not normalize_first:
            x = layer._cross_attention_layer_norm(x)

        residual = x
        if normalize_first:
            x = layer._feedforward_layer_norm(x)
        x = _float32(layer._feedforward_output_dense(layer._feedforward_intermediate_dense(x))) + residual
        if not normalize_first:
            x = layer._feedforward_layer_norm(x)
        return x, keys, values


def incremental_step(model, encoder_output, source_padding_mask, copies: int, forbidden_token: int,
                     forbidden_logit: float):
    """The cached step function of `model`'s decoder and its initial (empty) cache.

    Args:
        model: a TransformerTranslator (keras_hub TransformerDecoder layers with cross-attention).
        encoder_output: float32 `[B, S, d_model]`; source_padding_mask: bool `[B, S]`.
        copies: rows per source (the beam size; 1 for greedy); row `b * copies + k` belongs to source b.
        forbidden_token, forbidden_logit: this token's logit is replaced by `forbidden_logit` (PAD).

    Returns:
        (step, cache, context): `step(token_ids int32 [N, T], cache, index, context) -> (logits float32
        [N, V], cache)` reads only `token_ids[:, index - 1]` (at position `index - 1`); `cache` is a tuple
        of `2 * num_decoder_layers` float32 tensors (keys, values of each layer) `[N, heads, index - 1,
        head_dim]` on entry to a step (empty at the first), one position longer on return; `context` is
        the tuple of each layer's cross-attention keys and values (float32 `[N, heads, S, head_dim]`),
        then their bias (float32 `[N, 1, S]`, -1e9 at padded source positions). `N = B * copies` at
        first; a search may pass any rows of `cache` and `context`, the same rows of both (the rows it
        still searches).
    """
    batch_size = tf.shape(encoder_output)[0]
    # Keras' masked softmax: (1 - mask) * -1e9 added to the scores of padded source positions.
    cross_bias = (1.0 - tf.cast(source_padding_mask, tf.float32)) * _MASKED_SCORE
    cross_bias = tf.repeat(cross_bias[:, tf.newaxis, :], copies, axis=0)
    layers = [_Layer(layer, encoder_output, copies) for layer in model.decoder_layers]
    positions = _float32(model.position_encoding(tf.zeros([1, model.max_target_length, model.d_model],
                                                           tf.float32))[0])
    embedding = model.token_embedding
    output_kernel = tf.transpose(tf.convert_to_tensor(embedding.embeddings)) if embedding.tie_weights \
        else tf.convert_to_tensor(embedding.reverse_embeddings)
    forbid = tf.one_hot(forbidden_token, model.vocabulary_size, on_value=True, off_value=False)[tf.newaxis, :]
    embedding_scale = math.sqrt(model.d_model)

    def step(token_ids, cache, index, context):
        position = index - 1
        x = _float32(embedding(token_ids[:, position])) * embedding_scale + positions[position]
        cross_bias = context[-1]
        new_cache = []
        for i, layer in enumerate(layers):
            x, keys, values = layer(x, cache[2 * i], cache[2 * i + 1], context[2 * i], context[2 * i + 1], cross_bias)
            new_cache += [keys, values]
        if model.decoder_norm is not None:
            x = model.decoder_norm(x)
        logits = tf.matmul(x, output_kernel)
        return tf.where(forbid, tf.constant(forbidden_logit, logits.dtype), logits), tuple(new_cache)

    cache = tuple(tf.zeros([batch_size * copies, layer.num_heads, 0, layer.head_dim], tf.float32)
                  for layer in layers for _ in range(2))
    context = tuple(t for layer in layers for t in (layer.cross_keys, layer.cross_values)) + (cross_bias,)
    return step, cache, context
