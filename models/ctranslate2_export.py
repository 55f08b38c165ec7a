"""The CTranslate2 export: the serving model's weights as a CTranslate2 `TransformerSpec`, for CPU serving.

CTranslate2 (https://opennmt.net/CTranslate2/) is the C++ inference engine OpenNMT and many translation
services deploy; on a 2-core CPU it decodes our own trained weights 4x to 35x faster than the SavedModel
(BENCHMARKS.md, peer benchmark). CTranslate2 ships converters for OpenNMT, Fairseq, Marian and Hugging Face
models, none for keras-hub layers, so the spec is filled here through CTranslate2's own spec API
(`ctranslate2.specs.TransformerSpec.from_config`) and written by its own `Converter` driver (validation,
aliasing of the shared embedding, quantization, `model.bin`, `config.json` and the vocabulary).

The mapping (`transformer_spec`), keras-hub -> CTranslate2:
- one `ReversibleEmbedding` -> the encoder's and the decoder's embeddings and, tied, the output projection
  (CTranslate2 stores the shared matrix once); untied, its `reverse_embeddings` transposed;
- `scale_embeddings` (times sqrt(d_model)), and our sinusoidal positions (`SinePositionEncoding`, sine on
  even and cosine on odd features) as the explicit `position_encodings` table of
  `max(max_source_length, max_target_length)` rows: CTranslate2's built-in table is laid out differently;
- pre-norm (`normalize_first`) or post-norm layers, the final encoder/decoder layer norms of pre-norm, the
  layer-norm epsilon (`config.layer_norm_epsilon`, one for the whole model);
- Keras `MultiHeadAttention` query/key/value kernels `[d_model, heads, head_dim]` -> `[heads * head_dim,
  d_model]` (CTranslate2's `[out, in]`), self-attention's three fused into one, cross-attention's key and
  value fused; the output kernel `[heads, head_dim, d_model]` -> `[d_model, heads * head_dim]`; both scale
  queries by 1/sqrt(head_dim);
- the ReLU feed-forward network's two dense layers.

The directory (`export_ctranslate2`) holds CTranslate2's files, the SentencePiece model
(`contract.TOKENIZER_MODEL_FILE`) and `contract.TRANSLATION_SETTINGS_FILE`: the model shape, the decoding
settings of the SavedModel (length limits, beam size, length penalty) and the thread defaults
(`DEFAULT_INTRA_THREADS`), which `tfx_nmt.serving.clients.CTranslate2Client` reads.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Dict, Sequence

import numpy as np

from tfx_nmt import contract, files
from tfx_nmt.errors import UserError
from tfx_nmt.text.subword import BOS_ID, EOS_ID, UNK_ID, SubwordEncoder

# `--quantization` -> CTranslate2's quantization of the weights (None keeps float32) and compute type.
QUANTIZATIONS = {"none": (None, "float32"), "int8": ("int8", "int8"), "int8_float32": ("int8_float32", "int8_float32")}
# Intra-op threads a CTranslate2Client uses by default, per quantization (0: CTranslate2's default, one per
# core). int8 with 2 intra-op threads decoded test_2016_flickr 10 to 20x slower than with 1 thread on a
# 2-core AMD EPYC (BENCHMARKS.md, peer benchmark); float32 gains from both cores.
DEFAULT_INTRA_THREADS = {"none": 0, "int8": 1, "int8_float32": 1}


class UnsupportedModelError(UserError, ValueError):
    """A model that CTranslate2's TransformerSpec cannot represent exactly; the message says what differs."""


def _layer_norm(spec, layer) -> None:
    spec.gamma = layer.gamma.numpy()
    spec.beta = layer.beta.numpy()


def _dense(spec, layer) -> None:
    """A Keras Dense layer (kernel `[in, out]`) into a LinearSpec (weight `[out, in]`)."""
    spec.weight = layer.kernel.numpy().T
    spec.bias = layer.bias.numpy()


def _projection(layer) -> tuple:
    """A query/key/value EinsumDense of Keras MultiHeadAttention (kernel `[d_model, heads, head_dim]`, bias
    `[heads, head_dim]`) as (weight `[heads * head_dim, d_model]`, bias `[heads * head_dim]`)."""
    kernel = layer.kernel.numpy()
    return kernel.reshape(kernel.shape[0], -1).T, layer.bias.numpy().reshape(-1)


def _attention(spec, attention, self_attention: bool) -> None:
    """Keras `MultiHeadAttention` into CTranslate2's MultiHeadAttentionSpec: `linear[0]` the fused
    query/key/value (self-attention) or the query and `linear[1]` the fused key/value (cross-attention),
    `linear[-1]` the output."""
    projections = [_projection(attention._query_dense), _projection(attention._key_dense),
                   _projection(attention._value_dense)]
    groups = [projections] if self_attention else [projections[:1], projections[1:]]
    for linear, group in zip(spec.linear, groups):
        linear.weight = np.concatenate([weight for weight, _ in group])
        linear.bias = np.concatenate([bias for _, bias in group])
    output = attention._output_dense.kernel.numpy()
    spec.linear[-1].weight = output.reshape(-1, output.shape[-1]).T
    spec.linear[-1].bias = attention._output_dense.bias.numpy()


def _feed_forward(spec, layer) -> None:
    _layer_norm(spec.layer_norm, layer._feedforward_layer_norm)
    _dense(spec.linear_0, layer._feedforward_intermediate_dense)
    _dense(spec.linear_1, layer._feedforward_output_dense)


def _check_supported(model, vocabulary: Sequence[str]) -> float:
    """The one layer-norm epsilon of `model`, after checking that the spec holds the model exactly.

    Raises:
        UnsupportedModelError: a vocabulary of another size than the embedding, a feed-forward activation
            other than ReLU, a layer of another shape than the model's, or layer norms with different
            epsilons (CTranslate2 has one per model).
    """
    import keras

    embedding_rows = int(model.token_embedding.embeddings.shape[0])
    if len(vocabulary) != embedding_rows:
        raise UnsupportedModelError(f"the vocabulary has {len(vocabulary)} pieces but the model's embedding "
                                    f"{embedding_rows} rows: not the tokenizer this model was trained with")
    epsilons = set()
    for name, layer in ([(f"encoder layer {i}", layer) for i, layer in enumerate(model.encoder_layers)] +
                        [(f"decoder layer {i}", layer) for i, layer in enumerate(model.decoder_layers)]):
        if layer.activation is not keras.activations.relu:
            raise UnsupportedModelError(f"{name}: feed-forward activation {layer.activation.__name__}; the "
                                        f"CTranslate2 export supports ReLU (keras-hub's default) only")
        if layer.normalize_first != model.normalize_first or layer.num_heads != model.num_heads \
                or layer.intermediate_dim != model.ff_dim:
            raise UnsupportedModelError(f"{name}: its normalize_first, num_heads or ff_dim differs from the "
                                        f"model's; TransformerSpec has one value of each per stack")
        epsilons.add(float(layer.layer_norm_epsilon))
    for norm in (model.encoder_norm, model.decoder_norm):
        if norm is not None:
            epsilons.add(float(norm.epsilon))
    if len(epsilons) != 1:
        raise UnsupportedModelError(f"layer norms with epsilons {sorted(epsilons)}; CTranslate2 takes one "
                                    f"layer_norm_epsilon per model")
    return epsilons.pop()


def transformer_spec(model, vocabulary: Sequence[str]):
    """The CTranslate2 `TransformerSpec` of a TransformerTranslator, its weights as float32 arrays.

    Args:
        model: a built `tfx_nmt.models.transformer.TransformerTranslator`.
        vocabulary: the joint vocabulary's pieces in id order (`SubwordEncoder.vocabulary()`), for both
            sides.

    Returns:
        `ctranslate2.specs.TransformerSpec`, not yet validated nor quantized.

    Raises:
        UnsupportedModelError: see `_check_supported`.
    """
    from ctranslate2.specs import TransformerSpec

    epsilon = _check_supported(model, vocabulary)
    spec = TransformerSpec.from_config((model.num_encoder_layers, model.num_decoder_layers), model.num_heads,
                                       pre_norm=model.normalize_first)
    spec.config.layer_norm_epsilon = epsilon
    spec.config.unk_token, spec.config.eos_token = vocabulary[UNK_ID], vocabulary[EOS_ID]
    spec.config.bos_token = spec.config.decoder_start_token = vocabulary[BOS_ID]
    embeddings = model.token_embedding.embeddings.numpy()
    length = max(model.max_source_length, model.max_target_length)
    # Keras-hub's own layer computes the table, positions 0 .. length-1 (BOS is position 0 on both sides).
    positions = model.position_encoding(np.zeros([1, length, model.d_model], np.float32)).numpy()[0]
    for stack in (spec.encoder, spec.decoder):
        embedding = stack.embeddings[0] if isinstance(stack.embeddings, list) else stack.embeddings
        embedding.weight = embeddings
        stack.scale_embeddings = True
        stack.position_encodings.encodings = positions
    for layer_spec, layer in zip(spec.encoder.layer, model.encoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, self_attention=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _feed_forward(layer_spec.ffn, layer)
    for layer_spec, layer in zip(spec.decoder.layer, model.decoder_layers):
        _attention(layer_spec.self_attention, layer._self_attention_layer, self_attention=True)
        _layer_norm(layer_spec.self_attention.layer_norm, layer._self_attention_layer_norm)
        _attention(layer_spec.attention, layer._cross_attention_layer, self_attention=False)
        _layer_norm(layer_spec.attention.layer_norm, layer._cross_attention_layer_norm)
        _feed_forward(layer_spec.ffn, layer)
    if model.normalize_first:
        _layer_norm(spec.encoder.layer_norm, model.encoder_norm)
        _layer_norm(spec.decoder.layer_norm, model.decoder_norm)
    spec.decoder.projection.weight = embeddings if model.tie_embeddings else \
        model.token_embedding.reverse_embeddings.numpy().T
    spec.register_source_vocabulary(list(vocabulary))
    spec.register_target_vocabulary(list(vocabulary))
    return spec


def _converter(spec):
    """CTranslate2's `Converter` driver around a spec built here (its `convert` validates, optimizes,
    quantizes and saves)."""
    from ctranslate2.converters import Converter

    class _SpecConverter(Converter):
        def _load(self):
            return spec

    return _SpecConverter()


def export_ctranslate2(model, tokenizer_model: bytes, settings: Dict, output_dir: str,
                       quantization: str = "none") -> str:
    """Writes the CTranslate2 model of `model` to `output_dir`, atomically (a temporary sibling renamed into
    place), with the SentencePiece model and the translation settings.

    Args:
        model: a built TransformerTranslator.
        tokenizer_model: its SentencePiece model proto (bytes).
        settings: `TranslatorServingModule.translation_settings()`; `ctranslate2` (quantization, compute type, intra-op
            threads) is added.
        output_dir: a local directory that does not exist yet.
        quantization: a key of `QUANTIZATIONS`: `none` (float32), `int8` or `int8_float32` weights.

    Returns:
        `output_dir`.

    Raises:
        UnsupportedModelError: the spec cannot hold the model (see `transformer_spec`).
        FileExistsError: `output_dir` exists.
        ValueError: an unknown `quantization`.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {sorted(QUANTIZATIONS)}, got {quantization!r}")
    if os.path.exists(output_dir):
        raise FileExistsError(f"{output_dir} already exists")
    weights, compute_type = QUANTIZATIONS[quantization]
    spec = transformer_spec(model, SubwordEncoder(tokenizer_model).vocabulary())
    parent = os.path.dirname(os.path.abspath(output_dir))
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".ctranslate2-", dir=parent)
    try:
        staged = os.path.join(scratch, "model")
        _converter(spec).convert(staged, quantization=weights)
        files.write_bytes(os.path.join(staged, contract.TOKENIZER_MODEL_FILE), tokenizer_model)
        files.write_json(os.path.join(staged, contract.TRANSLATION_SETTINGS_FILE), {
            **settings, "ctranslate2": {"quantization": quantization, "compute_type": compute_type,
                                        "intra_threads": DEFAULT_INTRA_THREADS[quantization]}})
        os.rename(staged, output_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return output_dir


class SavedModelSettingsError(UserError, FileNotFoundError):
    """A directory that is not a serving SavedModel of this project with its translation settings."""


def restore_saved_model(saved_model_dir: str):
    """The TransformerTranslator of a serving SavedModel (a pushed version or a Trainer's `Format-Serving`),
    rebuilt from its `assets.extra/` translation settings and restored from its variables, with the
    SentencePiece model proto and the settings.

    Returns:
        (model, tokenizer_model bytes, settings dict).

    Raises:
        SavedModelSettingsError: no `saved_model.pb`, or no translation settings or SentencePiece model in
            `assets.extra/` (a SavedModel exported before they were written there).
        AssertionError: the variables do not match the model the settings describe.
    """
    import tensorflow as tf

    from tfx_nmt.models.transformer import TransformerTranslator

    extra = os.path.join(saved_model_dir, contract.ASSETS_EXTRA_DIR)
    settings_path = os.path.join(extra, contract.TRANSLATION_SETTINGS_FILE)
    tokenizer_path = os.path.join(extra, contract.TOKENIZER_MODEL_FILE)
    if not tf.io.gfile.exists(os.path.join(saved_model_dir, "saved_model.pb")):
        raise SavedModelSettingsError(f"{saved_model_dir}: no saved_model.pb; --model-dir takes a SavedModel "
                                      f"version directory, such as outputs/quick/serving/translator/<version>")
    if not (tf.io.gfile.exists(settings_path) and tf.io.gfile.exists(tokenizer_path)):
        raise SavedModelSettingsError(
            f"{saved_model_dir}: no {contract.ASSETS_EXTRA_DIR}/{contract.TRANSLATION_SETTINGS_FILE} and "
            f"{contract.TOKENIZER_MODEL_FILE}: the SavedModel was exported by an older tfx-nmt; train it again")
    settings = files.read_json(settings_path)
    with tf.io.gfile.GFile(tokenizer_path, "rb") as f:
        tokenizer_model = f.read()
    model = TransformerTranslator(**settings["model"])
    model({"source_ids": tf.constant([[BOS_ID, EOS_ID]]), "target_in": tf.constant([[BOS_ID]])})
    reader = tf.train.load_checkpoint(os.path.join(saved_model_dir, "variables", "variables"))
    suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    saved = {key[:-len(suffix)] for key in reader.get_variable_to_shape_map() if key.endswith(suffix)}
    restored = set()
    # The SavedModel's root is the serving module, whose `model` attribute is this Keras model. A trained
    # model's graph reaches the variables of its layer lists first through its optimizer, which Keras builds
    # over `model.trainable_variables` in this order.
    optimizer_paths = [(f"model/optimizer/_trainable_variables/{i}", variable)
                       for i, variable in enumerate(model.trainable_variables)]
    for path, variable in list(_variable_paths(model, "model/")) + optimizer_paths:
        if path in saved and id(variable) not in restored:
            variable.assign(reader.get_tensor(path + suffix))
            restored.add(id(variable))
    missing = [variable.path for variable in model.trainable_variables if id(variable) not in restored]
    if missing:
        raise AssertionError(f"{saved_model_dir}: the SavedModel has no value for {missing[:3]} "
                             f"({len(missing)} variables)")
    return model, tokenizer_model, settings


def _variable_paths(layer, prefix: str):
    """(object path, variable) of every Keras variable reachable from `layer` through its attributes and
    lists of layers: the paths of TensorFlow's object graph, under which a SavedModel's variables are
    stored (`<attribute>/<list index>/.../<variable attribute>`).

    Why not `tf.train.Checkpoint(model=model).read(...)`: a Keras 3 model's checkpoint graph does not hold
    the layers kept in Python lists (the encoder and decoder stacks), while the SavedModel's graph does, so
    their kernels would silently keep their initial values. A variable reached along several paths (Keras'
    own `_layers` and `_trainable_variables` lists) is yielded once per path; the SavedModel holds one.
    """
    import keras

    for name, value in vars(layer).items():
        items = [(f"{name}/{i}", v) for i, v in enumerate(value)] if isinstance(value, (list, tuple)) \
            else [(name, value)]
        for path, item in items:
            if isinstance(item, keras.Variable):
                yield prefix + path, item
            elif isinstance(item, keras.layers.Layer):
                yield from _variable_paths(item, prefix + path + "/")
