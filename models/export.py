"""The serving SavedModel: string in, string out, tokenization and decoding inside the graph.

Signatures (tag `serve`):
- `serving_default`: `text` tf.string `[B]` -> `translation` tf.string `[B]`, `log_probability_per_token`
  tf.float32 `[B]` (log-probability of the translation, EOS included, divided by its token count; natural
  log; not the length-penalized beam score): the `score` signature's figures for the translation's text,
  `log_probability / num_tokens`, also where the search generated pieces other than SentencePiece's
  segmentation of that text (those rows are rescored); beam search with the GNMT length penalty
  (`tfx_nmt.models.beam_search`).
- `translate_greedy`: the same contract, greedy search.
- `translate_n_best`: `text` tf.string `[B]` -> `translations` tf.string `[B, K]` and `scores` tf.float32
  `[B, K]`, K the beam size: every hypothesis the beam search finished, best first (in the order of the
  length-penalized beam score), each scored like `serving_default`'s `log_probability_per_token` (the
  `score` signature's figure for its text); the first is `serving_default`'s output. A slot the search did
  not fill (it stopped with fewer than K finished hypotheses) is the empty string with score -inf; an empty
  input gives `""` with score 0 first.
- `score`: `source`, `target` tf.string `[B]` -> `log_probability` tf.float32 `[B]` (sum over the target
  tokens, EOS included, under teacher forcing) and `num_tokens` tf.int32 `[B]`.
- `tokenize`: `text` tf.string `[B]` -> `token_ids` tf.int32 `[B, L]` (BOS ... EOS, 0-padded) and
  `lengths` tf.int32 `[B]`: the source ids the model sees, for checking against the Beam tokenizer.

Inputs are normalized (`tfx_nmt.text.normalization.normalize_tf`) and tokenized by the tokenizer's in-graph
twin (`tfx_nmt.text.tokenizers`: tensorflow_text's `SentencepieceTokenizer`, whose model proto is embedded
in the graph): the SavedModel needs no file outside itself. Sources longer than `max_source_length`
tokens are truncated (their first `max_source_length - 2` pieces are kept, between BOS and EOS). An input that is empty after
normalization gets an empty translation and log-probability per token 0. Each row's output is at most
`min(max_target_length, ceil(a * source_tokens + b))` tokens (`decoding.max_decode_lengths`), and a
row's translation does not depend on the other rows of its batch.

Beside the graph, `assets.extra/` (which TF Serving ignores) holds `contract.TRANSLATION_SETTINGS_FILE` (the
model's shape, the decoding settings above and the source and target language codes) and the SentencePiece model (`contract.TOKENIZER_MODEL_FILE`),
from which `tfx-nmt export-ctranslate2` converts any pushed version (`tfx_nmt.models.ctranslate2_export`).
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Dict, Optional

import tensorflow as tf

from tfx_nmt import contract, files
from tfx_nmt.config import ModelConfig
from tfx_nmt.contract import (LOG_PROBABILITY_PER_TOKEN_OUTPUT, N_BEST_SCORES_OUTPUT, N_BEST_SIGNATURE,
                              N_BEST_TRANSLATIONS_OUTPUT, TRANSLATION_OUTPUT)
from tfx_nmt.models import decoding
from tfx_nmt.models.warmup import write_warmup_requests
from tfx_nmt.text.normalization import normalize_tf
from tfx_nmt.text.subword import PAD_ID
from tfx_nmt.text.tokenizers import Tokenizer

_TEXT = tf.TensorSpec([None], tf.string)


class TranslatorServingModule(tf.Module):
    """Wraps a TransformerTranslator and its tokenizer with the serving signatures.

    Args:
        model: a trained TransformerTranslator.
        tokenizer: the tokenizer of the training data (`tfx_nmt.text.tokenizers`), for both sides.
        max_decode_length_a / max_decode_length_b: outputs have at most
            `min(max_target_length, ceil(a * source_tokens + b))` tokens.
        beam_size: hypotheses kept per input by `serving_default`.
        length_penalty_alpha: GNMT length penalty exponent of `serving_default` (Wu et al. 2016).
        use_cache: decode with the incremental decoder cache (the exported model always does); False
            recomputes the whole prefix at every step, the reference for tests and benchmarks.
        source_language / target_language: the language codes of the model's sides (RunConfig's `source`,
            `target`), recorded in `translation_settings()` (`languages`); None where unknown.
    """

    def __init__(self, model, tokenizer: Tokenizer, max_decode_length_a: float = 1.5,
                 max_decode_length_b: int = 10, beam_size: int = 4, length_penalty_alpha: float = 0.6,
                 use_cache: bool = True, source_language: Optional[str] = None,
                 target_language: Optional[str] = None):
        super().__init__(name="translator")
        self._languages = {"source": source_language, "target": target_language}
        if beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {beam_size}")
        if length_penalty_alpha < 0:
            raise ValueError(f"length_penalty_alpha must be >= 0, got {length_penalty_alpha}")
        if not model.built:
            # The searches' decoder step reads the decoder layers' weights, which Keras creates at the
            # first call: a trained model has them, a freshly initialised one (tests, benchmarks) not yet.
            model({"source_ids": tf.ones([1, 2], tf.int32), "target_in": tf.ones([1, 1], tf.int32)})
        self.model = model
        self._tokenizer = tokenizer
        # Written beside the graph (assets.extra/) for conversions to other engines.
        self.tokenizer_model = tokenizer.model_proto
        # Tracked, so that the SavedModel embeds the tokenizer's model.
        self.tokenizer = tokenizer.graph_module
        self._a = float(max_decode_length_a)
        self._b = int(max_decode_length_b)
        self._beam_size = int(beam_size)
        self._alpha = float(length_penalty_alpha)
        self._use_cache = bool(use_cache)

    def _sources(self, text):
        """(normalized text `[B]`, source ids `[B, S]`, each row's output length limit `[B]`)."""
        text = normalize_tf(text)
        source_ids, _ = self._tokenizer.tokenize_tensor(text, self.model.max_source_length)
        return text, source_ids, decoding.max_decode_lengths(source_ids, self._a, self._b,
                                                             self.model.max_target_length)

    def _text_scores(self, source_ids, output_ids, translation, log_prob, num_tokens, rows):
        """The `score` signature's `(log_probability, num_tokens)` of each output's text, from the search's.

        A model may generate pieces that are not SentencePiece's own segmentation of the text they spell
        (or stop at the length limit without EOS); `score` tokenizes that text again and scores another
        token sequence. Such rows are rescored by teacher forcing on the text's own tokens, as `score`
        does; the others keep the search's figures (the same to 1e-3: teacher forcing keeps the model's
        small probability of PAD, which the search never generates). A trained model's outputs are nearly
        all SentencePiece's segmentation, so the rescoring pass runs on a few rows, or none.

        Args:
            source_ids: int32 `[B, S]`; output `i`'s source is row `i // (N / B)`.
            output_ids: int32 `[N, T]`, the searches' outputs (BOS ... EOS, PAD-padded).
            translation: tf.string `[N]`, their detokenized text.
            log_prob / num_tokens: float32 / int32 `[N]`, the search's figures.
            rows: bool `[N]`, the outputs to check (not an empty input, not an unfilled n-best slot).

        Returns:
            `(log_probability float32 [N], num_tokens int32 [N])`.
        """
        target_ids, _ = self._tokenizer.tokenize_tensor(normalize_tf(translation), self.model.max_target_length)
        width = tf.maximum(tf.shape(target_ids)[1], tf.shape(output_ids)[1])
        same = tf.reduce_all(tf.equal(_pad_to(target_ids, width), _pad_to(output_ids, width)), axis=1)
        index = tf.where(tf.logical_and(rows, tf.logical_not(same)))
        # At least 1: an empty batch (N = B = 0) has nothing to rescore, and 0 // 0 is an error.
        copies = tf.shape(output_ids, out_type=tf.int64)[0] // tf.maximum(tf.shape(source_ids, out_type=tf.int64)[0], 1)

        def rescored():
            forced, forced_tokens = decoding.sequence_log_probability(
                self.model, tf.gather(source_ids, index[:, 0] // copies), tf.gather_nd(target_ids, index))
            return (tf.tensor_scatter_nd_update(log_prob, index, forced),
                    tf.tensor_scatter_nd_update(num_tokens, index, forced_tokens))

        return tf.cond(tf.size(index) > 0, rescored, lambda: (log_prob, num_tokens))

    def _translate(self, text, beam: bool):
        text, source_ids, max_lengths = self._sources(text)
        if beam:
            output_ids, log_prob, num_tokens = decoding.beam_decode(
                self.model, source_ids, max_lengths, self._beam_size, self._alpha, self._use_cache)
            output_ids, log_prob, num_tokens = output_ids[:, 0], log_prob[:, 0], num_tokens[:, 0]
        else:
            output_ids, log_prob, num_tokens = decoding.greedy_decode(
                self.model, source_ids, max_lengths, self._use_cache)
        empty = tf.equal(text, "")
        translation = tf.where(empty, "", self._tokenizer.detokenize_tensor(output_ids))
        log_prob, num_tokens = self._text_scores(source_ids, output_ids, translation, log_prob, num_tokens,
                                                 tf.logical_not(empty))
        per_token = log_prob / tf.cast(tf.maximum(num_tokens, 1), tf.float32)
        return {TRANSLATION_OUTPUT: translation, LOG_PROBABILITY_PER_TOKEN_OUTPUT: tf.where(empty, 0.0, per_token)}

    @tf.function(input_signature=[_TEXT])
    def serve(self, text):
        return self._translate(text, beam=True)

    @tf.function(input_signature=[_TEXT])
    def translate_greedy(self, text):
        return self._translate(text, beam=False)

    @tf.function(input_signature=[_TEXT])
    def translate_n_best(self, text):
        text, source_ids, max_lengths = self._sources(text)
        output_ids, log_prob, num_tokens = decoding.beam_decode(
            self.model, source_ids, max_lengths, self._beam_size, self._alpha, self._use_cache)
        # [B, K] with K static, so that the signature's outputs say the beam size.
        beams = [-1, self._beam_size]
        log_prob, num_tokens = tf.reshape(log_prob, beams), tf.reshape(num_tokens, beams)
        flat_ids = tf.reshape(output_ids, [-1, tf.shape(output_ids)[-1]])
        flat_translations = self._tokenizer.detokenize_tensor(flat_ids)
        # An empty input has one hypothesis, the empty translation with log-probability 0.
        empty = tf.equal(text, "")[:, tf.newaxis]
        first = tf.equal(tf.range(self._beam_size), 0)[tf.newaxis, :]
        filled = tf.where(empty, first, decoding.filled_hypotheses(log_prob, num_tokens))
        shown = tf.logical_and(filled, tf.logical_not(empty))
        log_prob, num_tokens = self._text_scores(source_ids, flat_ids, flat_translations, tf.reshape(log_prob, [-1]),
                                                 tf.reshape(num_tokens, [-1]), tf.reshape(shown, [-1]))
        log_prob, num_tokens = tf.reshape(log_prob, beams), tf.reshape(num_tokens, beams)
        translations = tf.reshape(flat_translations, beams)
        per_token = tf.where(empty, 0.0, log_prob / tf.cast(tf.maximum(num_tokens, 1), tf.float32))
        return {N_BEST_TRANSLATIONS_OUTPUT: tf.where(shown, translations, ""),
                N_BEST_SCORES_OUTPUT: tf.where(filled, per_token, float("-inf"))}

    @tf.function(input_signature=[_TEXT, _TEXT])
    def score(self, source, target):
        source_ids, _ = self._tokenizer.tokenize_tensor(normalize_tf(source), self.model.max_source_length)
        target_ids, _ = self._tokenizer.tokenize_tensor(normalize_tf(target), self.model.max_target_length)
        log_prob, num_tokens = decoding.sequence_log_probability(self.model, source_ids, target_ids)
        return {"log_probability": log_prob, "num_tokens": num_tokens}

    @tf.function(input_signature=[_TEXT])
    def tokenize(self, text):
        token_ids, lengths = self._tokenizer.tokenize_tensor(normalize_tf(text), self.model.max_source_length)
        return {"token_ids": token_ids, "lengths": lengths}

    def translation_settings(self) -> Dict:
        """The content of `contract.TRANSLATION_SETTINGS_FILE`: `model` (the model's `ModelConfig` fields),
        `decoding` (the length limit's `max_decode_length_a`/`_b`, `beam_size`, `length_penalty_alpha`) and
        `languages` (`source`, `target`: language codes, or None), which `tfx-nmt evaluate` reads."""
        return {"model": {field.name: getattr(self.model, field.name) for field in dataclasses.fields(ModelConfig)},
                "languages": dict(self._languages),
                "decoding": {"max_decode_length_a": self._a, "max_decode_length_b": self._b,
                             "beam_size": self._beam_size, "length_penalty_alpha": self._alpha}}

    def signatures(self):
        """The signature map for `tf.saved_model.save`."""
        return {
            "serving_default": self.serve.get_concrete_function(),
            "translate_greedy": self.translate_greedy.get_concrete_function(),
            N_BEST_SIGNATURE: self.translate_n_best.get_concrete_function(),
            "score": self.score.get_concrete_function(),
            "tokenize": self.tokenize.get_concrete_function(),
        }


def _pad_to(ids, width):
    """int32 `[N, L]` ids PAD-padded on the right to `[N, width]` (`width >= L`)."""
    return tf.pad(ids, [[0, 0], [0, width - tf.shape(ids)[1]]], constant_values=PAD_ID)


def export_serving_model(module: TranslatorServingModule, export_dir: str, model_name: str) -> str:
    """Saves `module` as a SavedModel at `export_dir`, with TF Serving's warm-up requests in
    `assets.extra/tf_serving_warmup_requests` (`warmup.write_warmup_requests`, named for `model_name`),
    atomically on local filesystems.

    The SavedModel and its warm-up file are written to a temporary sibling directory and renamed into
    place, so a reader (TF Serving polls its base path) never sees a half-written model.

    Returns:
        `export_dir`.
    Raises:
        FileExistsError: when `export_dir` already exists.
    """
    if tf.io.gfile.exists(export_dir):
        raise FileExistsError(f"{export_dir} already exists")
    parent = os.path.dirname(export_dir.rstrip("/")) or "."
    tf.io.gfile.makedirs(parent)
    tmp_dir = tempfile.mkdtemp(prefix=".export-", dir=parent) if "://" not in parent else export_dir + ".tmp"
    tf.saved_model.save(module, tmp_dir, signatures=module.signatures())
    write_warmup_requests(tmp_dir, model_name)
    extra = os.path.join(tmp_dir, contract.ASSETS_EXTRA_DIR)
    tf.io.gfile.makedirs(extra)
    files.write_json(os.path.join(extra, contract.TRANSLATION_SETTINGS_FILE), module.translation_settings())
    files.write_bytes(os.path.join(extra, contract.TOKENIZER_MODEL_FILE), module.tokenizer_model)
    tf.io.gfile.rename(tmp_dir, export_dir)
    return export_dir
