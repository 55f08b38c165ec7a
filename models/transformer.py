"""The encoder-decoder Transformer translator, built from keras_hub layers.

Reference: Vaswani et al. 2017, "Attention Is All You Need", https://arxiv.org/abs/1706.03762.
"""
from __future__ import annotations

import dataclasses
import math

import keras
import keras_hub
import tensorflow as tf

from tfx_nmt.config import ModelConfig
from tfx_nmt.text.subword import PAD_ID


def _inputs_and_labels(data):
    """(inputs, labels) of a batch from `fit` (a pair) or `train_on_batch` (x, y, sample_weight).

    Raises:
        ValueError: sample weights were given; every non-padding target token weighs the same here.
    """
    inputs, labels, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError("TransformerTranslator does not take sample weights: every non-padding target "
                         "token weighs the same in the loss")
    return inputs, labels


def _sum_over_replicas(value):
    """Sum of `value` over the replicas of the current tf.distribute strategy (identity outside one)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    # all_reduce sends the value to the devices it is on; a metric variable's read carries no device
    # under MultiWorkerMirroredStrategy, and tf.identity places a copy on the replica's device.
    return context.all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(value))


def _multi_worker(strategy) -> bool:
    """True under MultiWorkerMirroredStrategy with more than one worker (Keras' own test)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        strategy.extended._in_multi_worker_mode()  # pylint: disable=protected-access


def label_smoothed_nll(labels, logits, label_smoothing: float):
    """Per-token label-smoothed cross-entropy (Szegedy et al. 2016, https://arxiv.org/abs/1512.00567).

    The target distribution puts `1 - label_smoothing` on the label and spreads `label_smoothing`
    uniformly over the vocabulary: `(1 - e) * nll + e * (logsumexp(z) - mean(z))`, computed as
    `nll + e * (z[label] - mean(z))` with `nll` from TensorFlow's fused
    `sparse_softmax_cross_entropy_with_logits` (one kernel for the softmax, the loss and its gradient; no
    `[..., V]` log-probability tensor is kept for the backward pass). Padding is the caller's: pass only the
    positions to score (`TransformerTranslator` gathers the non-padding ones).

    Args:
        labels: int tensor `[...]`, ids in [0, V).
        logits: float tensor `[..., V]` (any float dtype; computed in float32).
        label_smoothing: in [0, 1).

    Returns:
        float32 `[...]`, the loss of each position (natural log).
    """
    logits = tf.cast(logits, tf.float32)
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    if label_smoothing:
        label_logits = tf.gather(logits, labels[..., tf.newaxis], axis=-1, batch_dims=labels.shape.rank)[..., 0]
        nll = nll + label_smoothing * (label_logits - tf.reduce_mean(logits, axis=-1))
    return nll


@keras.saving.register_keras_serializable(package="tfx_nmt")
class TransformerTranslator(keras.Model):
    """Encoder-decoder Transformer with a shared source/target embedding, by default tied to the output
    projection.

    Token embeddings are scaled by sqrt(d_model) and added to sinusoidal position encodings
    (`keras_hub.layers.SinePositionEncoding`); the encoder is a stack of
    `keras_hub.layers.TransformerEncoder`, the decoder of `keras_hub.layers.TransformerDecoder` with
    cross-attention; logits are the decoder output times the transposed embedding matrix
    (`keras_hub.layers.ReversibleEmbedding`, Press & Wolf 2017, https://arxiv.org/abs/1608.05859), or,
    with `tie_embeddings=False`, times a separate `[d_model, vocabulary_size]` matrix of the same layer.

    Vocabulary: one joint subword vocabulary of `vocabulary_size` ids serves both sides and one embedding
    embeds source and target tokens (Press & Wolf 2017, section 4).

    Arguments: the fields of `tfx_nmt.config.ModelConfig` (which says what each is; the shape arguments
    have no default, the others default to the RunConfig's), and `label_smoothing` of the training loss;
    `get_config()` returns all of them, so `from_config` rebuilds the model. A `ModelConfig` gives the
    model as `TransformerTranslator(**dataclasses.asdict(model_config), label_smoothing=...)`.

    Masking: ids equal to PAD_ID (0) are padding. The encoder's self-attention and the decoder's
    cross-attention ignore padded source positions; the decoder's self-attention ignores padded target
    positions and is causal (position t sees positions <= t).

    Call arguments:
        inputs: dict with `source_ids` int `[B, S]` and `target_in` int `[B, T]` (the target shifted
            right: BOS first; teacher forcing).
        training: enables dropout.

    Returns:
        logits, float32 `[B, T, vocabulary_size]`.

    Precision: Keras's `dtype` argument (a dtype policy: `float32`, `mixed_bfloat16`, `mixed_float16`;
    `tfx_nmt.models.precision`) reaches every sublayer; the variables are float32 under each, the layer norms
    compute in float32 and the logits are float32.

    Training: `train_step` minimizes the label-smoothed cross-entropy, computed on the non-padding target
    positions only (`_scored_logits`), averaged over the non-padding target tokens of the *global* batch, also under tf.distribute with several replicas (each replica
    divides its loss sum by the token count summed over all replicas), so that N replicas take exactly
    the step one replica would take on the same global batch.

    Example:
    >>> model = TransformerTranslator(vocabulary_size=100, d_model=32, num_encoder_layers=1,
    ...     num_decoder_layers=1, num_heads=2, ff_dim=64)
    >>> logits = model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 7]])})
    >>> logits.shape
    TensorShape([1, 2, 100])
    """

    def __init__(
        self,
        vocabulary_size: int,
        d_model: int,
        num_encoder_layers: int,
        num_decoder_layers: int,
        num_heads: int,
        ff_dim: int,
        dropout: float = 0.1,
        max_source_length: int = 128,
        max_target_length: int = 128,
        normalize_first: bool = True,
        tie_embeddings: bool = True,
        label_smoothing: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.d_model = d_model
        self.num_encoder_layers = num_encoder_layers
        self.num_decoder_layers = num_decoder_layers
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.normalize_first = normalize_first
        self.tie_embeddings = tie_embeddings
        self.label_smoothing = label_smoothing

        self.token_embedding = keras_hub.layers.ReversibleEmbedding(
            vocabulary_size, d_model, tie_weights=tie_embeddings,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=d_model ** -0.5),
            dtype=self.dtype_policy, name="token_embedding")
        self.position_encoding = keras_hub.layers.SinePositionEncoding(dtype=self.dtype_policy, name="position_encoding")
        self.embedding_dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy, name="embedding_dropout")
        self.encoder_layers = [
            keras_hub.layers.TransformerEncoder(
                ff_dim, num_heads, dropout=dropout, normalize_first=normalize_first,
                dtype=self.dtype_policy, name=f"encoder_{i}")
            for i in range(num_encoder_layers)
        ]
        self.decoder_layers = [
            keras_hub.layers.TransformerDecoder(
                ff_dim, num_heads, dropout=dropout, normalize_first=normalize_first,
                dtype=self.dtype_policy, name=f"decoder_{i}")
            for i in range(num_decoder_layers)
        ]
        # Pre-LN stacks end with a layer norm (Xiong et al. 2020, https://arxiv.org/abs/2002.04745).
        self.encoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, dtype=self.dtype_policy, name="encoder_norm") \
            if normalize_first else None
        self.decoder_norm = keras.layers.LayerNormalization(epsilon=1e-5, dtype=self.dtype_policy, name="decoder_norm") \
            if normalize_first else None
        self.loss_sum_tracker = keras.metrics.Sum(name="loss_sum")
        self.token_tracker = keras.metrics.Sum(name="target_tokens")
        self.nll_sum_tracker = keras.metrics.Sum(name="nll_sum")

    def embed(self, token_ids, start_index=0, training=None):
        """Scaled token embedding plus position encoding: `[B, L]` int -> `[B, L, d_model]` float."""
        x = self.token_embedding(token_ids) * math.sqrt(self.d_model)
        x = x + self.position_encoding(x, start_index=start_index)
        return self.embedding_dropout(x, training=training)

    def encode(self, source_ids, training=None):
        """Source ids `[B, S]` -> (encoder output `[B, S, d_model]`, source padding mask `[B, S]` bool)."""
        padding_mask = tf.not_equal(source_ids, PAD_ID)
        x = self.embed(source_ids, training=training)
        for layer in self.encoder_layers:
            x = layer(x, padding_mask=padding_mask, training=training)
        if self.encoder_norm is not None:
            x = self.encoder_norm(x)
        return x, padding_mask

    def decoder_states(self, target_in, encoder_output, source_padding_mask, training=None):
        """Teacher-forced decoder stack: target ids `[B, T]` -> hidden states `[B, T, d_model]` (compute dtype),
        before the final norm and the output projection (`project`)."""
        x = self.embed(target_in, training=training)
        target_padding_mask = tf.not_equal(target_in, PAD_ID)
        for layer in self.decoder_layers:
            x = layer(x, encoder_output, decoder_padding_mask=target_padding_mask,
                      encoder_padding_mask=source_padding_mask, training=training)
        return x

    def decode(self, target_in, encoder_output, source_padding_mask, training=None):
        """Teacher-forced decoder: target ids `[B, T]` -> logits `[B, T, V]` float32."""
        return self.project(self.decoder_states(target_in, encoder_output, source_padding_mask, training=training))

    def project(self, hidden):
        """Final norm (pre-LN) and output projection: `[..., d_model]` -> logits `[..., V]` float32 (the
        matmul in the compute dtype, the logits cast to float32 for the softmax)."""
        if self.decoder_norm is not None:
            hidden = self.decoder_norm(hidden)
        return tf.cast(self.token_embedding(hidden, reverse=True), tf.float32)

    def call(self, inputs, training=None):
        encoder_output, source_padding_mask = self.encode(inputs["source_ids"], training=training)
        return self.decode(inputs["target_in"], encoder_output, source_padding_mask, training=training)

    def _scored_logits(self, data, training):
        """Logits float32 `[N, V]` and labels int `[N]` of the N non-padding target positions of a batch.

        Only those rows go through the final norm, the `[d_model, V]` output projection and the softmax:
        padding is about a fifth of the target positions of length-bucketed batches, and the projection
        and softmax over V are the largest part of the step (BENCHMARKS.md, training throughput).
        """
        inputs, labels = _inputs_and_labels(data)
        encoder_output, source_padding_mask = self.encode(inputs["source_ids"], training=training)
        hidden = self.decoder_states(inputs["target_in"], encoder_output, source_padding_mask, training=training)
        positions = tf.where(tf.not_equal(labels, PAD_ID))
        return self.project(tf.gather_nd(hidden, positions)), tf.gather_nd(labels, positions)

    def _loss(self, labels, logits):
        loss_sum = tf.reduce_sum(label_smoothed_nll(labels, logits, self.label_smoothing))
        tokens = tf.cast(tf.size(labels), tf.float32)
        global_tokens = _sum_over_replicas(tokens)
        return loss_sum, tokens, loss_sum / tf.maximum(global_tokens, 1.0)

    def _metrics_result(self, perplexity: bool = False):
        total_loss = _sum_over_replicas(self.loss_sum_tracker.result())
        total_tokens = _sum_over_replicas(self.token_tracker.result())
        result = {"loss": total_loss / tf.maximum(total_tokens, 1.0), "target_tokens": total_tokens}
        if perplexity:
            # exp of the mean negative log-likelihood per target token, without label smoothing: the
            # evaluator's perplexity (`tfx_nmt.scoring.translation_metrics.perplexity`).
            total_nll = _sum_over_replicas(self.nll_sum_tracker.result())
            result["perplexity"] = tf.exp(total_nll / tf.maximum(total_tokens, 1.0))
        if _multi_worker(self.distribute_strategy):
            # Keras 3.12 averages a multi-worker step's outputs with strategy.reduce("MEAN", axis=0),
            # which needs a batch axis (keras-team/keras#20585); the values are global already.
            result = {name: tf.reshape(value, [1]) for name, value in result.items()}
        return result

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.12's fit reduces the first distributed input batch with strategy.reduce("MEAN") to
        # build the model symbolically, which fails for dict inputs under MultiWorkerMirroredStrategy
        # (keras-team/keras#20329). This model is built before fit (`trainer.build_model` calls it once)
        # and has no compiled loss or metrics: only the optimizer needs building.
        if not _multi_worker(self.distribute_strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        with self.distribute_strategy.scope():
            if not self.optimizer.built:
                self.optimizer.build(self.trainable_variables)

    def train_step(self, data):
        with tf.GradientTape() as tape:
            logits, labels = self._scored_logits(data, training=True)
            loss_sum, tokens, loss = self._loss(labels, logits)
            # Multiplied by the loss scale under a LossScaleOptimizer (mixed_float16), else unchanged;
            # apply_gradients divides it out.
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_sum_tracker.update_state(loss_sum)
        self.token_tracker.update_state(tokens)
        return self._metrics_result()

    def test_step(self, data):
        logits, labels = self._scored_logits(data, training=False)
        loss_sum, tokens, _ = self._loss(labels, logits)
        self.loss_sum_tracker.update_state(loss_sum)
        self.token_tracker.update_state(tokens)
        self.nll_sum_tracker.update_state(tf.reduce_sum(label_smoothed_nll(labels, logits, 0.0)))
        return self._metrics_result(perplexity=True)

    @property
    def metrics(self):
        return [self.loss_sum_tracker, self.token_tracker, self.nll_sum_tracker]

    def get_config(self):
        config = super().get_config()
        config.update({field.name: getattr(self, field.name) for field in dataclasses.fields(ModelConfig)})
        config["label_smoothing"] = self.label_smoothing
        return config
