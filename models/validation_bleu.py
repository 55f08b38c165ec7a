"""Validation BLEU during training: a few dozen validation pairs translated greedily at the end of every
epoch, so that TensorBoard and the run report show translation quality, not only the loss, as training
goes (the TranslationEvaluator scores the whole test split once, after training).
"""
from __future__ import annotations

import logging
from typing import List, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfx_nmt.models import decoding
from tfx_nmt.scoring import translation_metrics
from tfx_nmt.text.subword import PAD_ID, SubwordEncoder

log = logging.getLogger(__name__)

_FEATURES = {"source_ids": tf.io.VarLenFeature(tf.int64), "target": tf.io.FixedLenFeature([], tf.string, "")}


def read_validation_pairs(file_patterns: Sequence[str], count: int,
                          max_source_length: int) -> Tuple[np.ndarray, List[str]]:
    """The first `count` pairs of tokenized Examples whose source fits `max_source_length` tokens.

    Args:
        file_patterns: GZIP TFRecord files (or globs) of tf.Examples with int64 `source_ids` (BOS/EOS
            included) and bytes `target` (the cleaned reference text).

    Returns:
        (source ids int32 `[N, S]`, PAD_ID-padded to the longest; N reference strings), N <= count.

    Raises:
        FileNotFoundError: when no file matches.
    """
    files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {list(file_patterns)}")
    sources, references = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator():
        parsed = tf.io.parse_single_example(record, _FEATURES)
        ids = tf.sparse.to_dense(parsed["source_ids"]).numpy()
        if len(ids) <= max_source_length:
            sources.append(ids)
            references.append(parsed["target"].numpy().decode("utf-8"))
        if len(sources) == count:
            break
    source_ids = np.full((len(sources), max((len(s) for s in sources), default=0)), PAD_ID, np.int32)
    for row, ids in zip(source_ids, sources):
        row[:len(ids)] = ids
    return source_ids, references


class ValidationBleu(keras.callbacks.Callback):
    """Adds `val_bleu` to each epoch's logs (TensorBoard writes it as `validation/epoch_bleu`): corpus
    BLEU (`tfx_nmt.scoring.translation_metrics.corpus_bleu`, the function behind the evaluator's BLEU
    scorer) of greedy translations of fixed validation pairs, decoded as the serving model decodes
    (`decoding.greedy_decode`, same output length cap).

    Place it after `TrainingMonitor` in the callback list, so that its decoding time is not counted as
    training time.

    Args:
        source_ids: int32 `[N, S]`, BOS ... EOS, PAD_ID padded (see `read_validation_pairs`).
        references: N reference strings.
        tokenizer_model: the serialized SentencePiece model, to detokenize the translations.
        max_decode_length_a / max_decode_length_b: output length cap, as in the serving model.
        target_language: the references' language code, which chooses BLEU's tokenizer as the evaluator's.
    """

    def __init__(self, source_ids: np.ndarray, references: Sequence[str], tokenizer_model: bytes,
                 max_decode_length_a: float, max_decode_length_b: int, target_language: str = "en"):
        super().__init__()
        self._language = target_language
        self.source_ids = source_ids
        self.references = list(references)
        self._encoder = SubwordEncoder(tokenizer_model)
        self._a, self._b = float(max_decode_length_a), int(max_decode_length_b)
        self._translate = None

    def on_train_begin(self, logs=None):
        model = self.model

        @tf.function
        def translate(source_ids):
            max_lengths = decoding.max_decode_lengths(source_ids, self._a, self._b, model.max_target_length)
            return decoding.greedy_decode(model, source_ids, max_lengths)[0]

        self._translate = translate

    def translations(self) -> List[str]:
        """Greedy translations of the validation sources by the current weights."""
        output_ids = self._translate(tf.constant(self.source_ids)).numpy()
        return [self._encoder.decode(row) for row in output_ids]

    def on_epoch_end(self, epoch, logs=None):
        bleu = translation_metrics.corpus_bleu(self.translations(), self.references, self._language).score
        if logs is not None:
            logs["val_bleu"] = bleu
        log.info("Trainer: validation BLEU %.2f on %d sentences (greedy)", bleu, len(self.references))
