"""The tokenizer seam: one class per subword tokenizer pairs its Python encoder (the SubwordTokenizer's Beam
workers) with its in-graph twin (the serving SavedModel), as OpenNMT-tf's tokenizers pair
`_tokenize_string` with `_tokenize_tensor` (opennmt/tokenizers/tokenizer.py).

A subclass implements the primitives on pieces (ids without BOS/EOS); the base class adds BOS/EOS,
padding and truncation, the same on both sides, so that a new tokenizer (WordPiece, say) is one class
here and one parity test (`tests/text/test_tokenization_parity.py`): for the same text, `tokenize` and
`tokenize_tensor` give the same ids.

The Python side imports no TensorFlow (Beam worker processes import it; see
`tests/pipeline/test_beam_workers.py`): TensorFlow and tensorflow_text are imported on the first call of a
tensor method.
"""
from __future__ import annotations

import abc
import os
from typing import List, Sequence, Tuple

from tfx_nmt.contract import TOKENIZER_MODEL_FILE
from tfx_nmt.text import subword
from tfx_nmt.text.normalization import normalize_tf
from tfx_nmt.text.subword import BOS_ID, EOS_ID, PAD_ID


class Tokenizer(abc.ABC):
    """Subword tokenizer with a Python and an in-graph implementation that give the same ids.

    Ids: `[BOS] + pieces + [EOS]`, with the special ids of `tfx_nmt.text.subword` (PAD 0, UNK 1, BOS 2,
    EOS 3). Inputs are normalized text (`tfx_nmt.text.normalization`); the output of `detokenize_tensor`
    is normalized too.

    For serving: a `tf.Module` whose functions call the tensor methods must hold `graph_module` as an
    attribute, so that `tf.saved_model.save` embeds the tokenizer's model in the SavedModel.
    """

    def __init__(self):
        self._graph_module = None

    @property
    @abc.abstractmethod
    def vocabulary_size(self) -> int:
        """Number of ids, specials included."""

    @abc.abstractmethod
    def _tokenize_string(self, texts: Sequence[str]) -> List[List[int]]:
        """The pieces' ids of each text, in Python."""

    @abc.abstractmethod
    def _make_graph_module(self):
        """The `tf.Module` that holds the in-graph tokenizer's state (its model), created once."""

    @abc.abstractmethod
    def _tokenize_tensor(self, text):
        """The pieces' ids of a tf.string tensor of shape `[B]`: a tf.int32 RaggedTensor `[B, None]`."""

    @abc.abstractmethod
    def _detokenize_tensor(self, ids):
        """The text of a tf.int32 RaggedTensor `[B, None]` of piece ids (no specials): tf.string `[B]`."""

    def tokenize(self, texts: Sequence[str]) -> List[List[int]]:
        """`[BOS] + pieces + [EOS]` of each text, lists of int ids in [0, vocabulary_size)."""
        return [[BOS_ID] + ids + [EOS_ID] for ids in self._tokenize_string(texts)]

    @property
    def graph_module(self):
        """The in-graph twin's state, a `tf.Module` (see the class docstring)."""
        if self._graph_module is None:
            self._graph_module = self._make_graph_module()
        return self._graph_module

    def tokenize_tensor(self, text, max_length: int) -> Tuple:
        """The ids of a tf.string tensor `text` of shape `[B]`, as `tokenize` gives them, in the graph.

        Args:
            text: normalized text, tf.string `[B]`.
            max_length: the most ids a row keeps, BOS and EOS included: longer texts keep their first
                `max_length - 2` pieces.

        Returns:
            `(token_ids, lengths)`: tf.int32 `[B, L]` (`BOS ... EOS`, PAD-padded, L the longest row) and
            tf.int32 `[B]`.
        """
        import tensorflow as tf

        pieces = self._tokenize_tensor(text)[:, : max_length - 2]
        batch = tf.shape(text, out_type=tf.int64)[:1]
        bos = tf.RaggedTensor.from_row_lengths(tf.fill(batch, BOS_ID), tf.ones(batch, tf.int64))
        eos = tf.RaggedTensor.from_row_lengths(tf.fill(batch, EOS_ID), tf.ones(batch, tf.int64))
        ids = tf.concat([bos, pieces, eos], axis=1)
        return ids.to_tensor(default_value=PAD_ID), tf.cast(ids.row_lengths(), tf.int32)

    def detokenize_tensor(self, token_ids):
        """The normalized text of decoder outputs, in the graph.

        Args:
            token_ids: tf.int32 `[B, L]`, each row BOS first, then pieces up to the first EOS or PAD.

        Returns:
            tf.string `[B]`.
        """
        import tensorflow as tf

        content = token_ids[:, 1:]
        keep = tf.logical_and(tf.not_equal(content, EOS_ID), tf.not_equal(content, PAD_ID))
        # A sampled lone "▁" piece would leave a trailing or doubled space: normalize the output too.
        return normalize_tf(self._detokenize_tensor(tf.ragged.boolean_mask(content, keep)))


class SentencePieceTokenizer(Tokenizer):
    """SentencePiece (Kudo & Richardson 2018, https://arxiv.org/abs/1808.06226): the `sentencepiece`
    library in Python, tensorflow_text's SentencePiece ops in the graph; both wrap the same C++ library
    over the same model proto, so they give the same pieces. The proto is embedded in the graph: the
    SavedModel needs no file beside it.

    Args:
        model_proto: a serialized SentencePiece ModelProto (bytes), as `subword.train_sentencepiece` returns.
    """

    def __init__(self, model_proto: bytes):
        super().__init__()
        self.model_proto = model_proto
        self._encoder = subword.SubwordEncoder(model_proto)

    @classmethod
    def from_artifact(cls, directory: str) -> "SentencePieceTokenizer":
        """The tokenizer of a SubwordTokenizer's `tokenizer` artifact directory (its `contract.TOKENIZER_MODEL_FILE`; local
        path or any filesystem TensorFlow reads, such as `gs://`)."""
        return cls(read_model(directory))

    @property
    def vocabulary_size(self) -> int:
        return self._encoder.vocabulary_size

    def _tokenize_string(self, texts: Sequence[str]) -> List[List[int]]:
        return self._encoder.encode_pieces(list(texts))

    def _make_graph_module(self):
        import tensorflow as tf
        import tensorflow_text as tf_text

        return tf_text.SentencepieceTokenizer(model=self.model_proto, out_type=tf.int32)

    def _tokenize_tensor(self, text):
        return self.graph_module.tokenize(text)

    def _detokenize_tensor(self, ids):
        return self.graph_module.detokenize(ids)


def read_model(directory: str) -> bytes:
    """The SentencePiece model proto (bytes) of a SubwordTokenizer's `tokenizer` artifact directory, its
    `contract.TOKENIZER_MODEL_FILE` (TensorFlow's filesystems: local, `gs://`).

    Raises:
        tf.errors.NotFoundError: when the directory holds no model file.
    """
    import tensorflow as tf

    with tf.io.gfile.GFile(os.path.join(directory, TOKENIZER_MODEL_FILE), "rb") as f:
        return f.read()
