"""SentencePiece subword model: training and encoding in Python (Beam workers), and the special ids the
model and the serving graph share.

`tfx_nmt.text.tokenizers.SentencePieceTokenizer` pairs this Python encoder with its in-graph twin,
tensorflow_text's `SentencepieceTokenizer` over the same model proto; both wrap the same C++ library, so
for the same normalized text both give the same ids (a test checks it).
Normalization is ours (`tfx_nmt.text.normalization`), so SentencePiece runs with the `identity` rule and
detokenize(tokenize(text)) gives back the normalized text.
Reference: Kudo & Richardson 2018, https://arxiv.org/abs/1808.06226.
"""
from __future__ import annotations

import io
import itertools
import os
import re
from typing import Iterable, List

from tfx_nmt.config import TOKENIZER_MODEL_TYPES
from tfx_nmt.errors import ConfigError
from tfx_nmt.text.normalization import normalize

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3


def train_sentencepiece(
    sentences: Iterable[str], vocabulary_size: int, model_type: str = "unigram", num_threads: int = 0
) -> bytes:
    """Learns a SentencePiece model on `sentences` (one sentence each, already normalized).

    Args:
        sentences: training text; for a joint vocabulary, both languages' sentences.
        vocabulary_size: requested number of pieces, specials included. On a corpus too small for it the
            trainer returns a smaller vocabulary instead of failing (`hard_vocab_limit=False`).
        model_type: `unigram` or `bpe`.
        num_threads: trainer threads; 0 means one per CPU core.

    Returns:
        The serialized ModelProto (bytes), with pad=0, unk=1, BOS=2, EOS=3 and byte fallback, so that
        any Unicode text (emoji, scripts unseen in training) is encoded without <unk>.

    Raises:
        ValueError: when `sentences` is empty or `model_type` is unknown.
        ConfigError: when `vocabulary_size` cannot hold the byte-fallback pieces, the specials and every
            distinct character of `sentences`; the message gives the least size that can.
    """
    import sentencepiece as spm

    if model_type not in TOKENIZER_MODEL_TYPES:
        raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
    # Sentences are streamed to the trainer and the model comes back in memory: no temporary file, and no
    # path recorded in the model's trainer_spec (the proto is embedded in the serving SavedModel).
    lines = (sentence.replace("\n", " ") for sentence in sentences if sentence)
    first = next(lines, None)
    if first is None:
        raise ValueError("cannot train a subword model on an empty corpus")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=itertools.chain([first], lines),
            model_writer=model,
            vocab_size=vocabulary_size,
            model_type=model_type,
            character_coverage=1.0,
            byte_fallback=True,
            hard_vocab_limit=False,
            normalization_rule_name="identity",
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            input_sentence_size=2_000_000,
            shuffle_input_sentence=True,
            num_threads=num_threads or os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as error:
        needed = re.search(r"smaller than required_chars\. \d+ vs (\d+)", str(error))
        if not needed:
            raise
        raise ConfigError(f"vocabulary_size {vocabulary_size} is too small for this corpus: SentencePiece needs at "
                          f"least {needed.group(1)} pieces (256 byte-fallback pieces, 4 specials and every distinct "
                          f"character); pass --vocabulary-size {needed.group(1)} or more") from None
    return model.getvalue()


class SubwordEncoder:
    """Encodes text to ids with BOS/EOS and decodes ids to text, in Python.

    Args:
        model_proto: a serialized SentencePiece ModelProto (bytes).
    """

    def __init__(self, model_proto: bytes):
        import sentencepiece as spm

        self._processor = spm.SentencePieceProcessor(model_proto=model_proto)

    @property
    def vocabulary_size(self) -> int:
        """Number of pieces, specials included."""
        return self._processor.get_piece_size()

    def encode(self, text: str) -> List[int]:
        """`[BOS] + pieces(text) + [EOS]`, a list of int ids in [0, vocabulary_size)."""
        return [BOS_ID] + self._processor.encode(text, out_type=int) + [EOS_ID]

    def encode_pieces(self, texts: List[str]) -> List[List[int]]:
        """The pieces' ids of each text (no BOS/EOS), all in one call to SentencePiece (about half the time
        of one call per text). One thread: Beam runs a worker per core."""
        return self._processor.encode(texts, out_type=int, num_threads=1)

    def decode(self, ids: Iterable[int]) -> str:
        """Detokenizes ids, skipping PAD/BOS/EOS, and normalizes the text as the serving graph does.

        A lone "▁" piece decodes to a stray space; `normalize` collapses and strips it.
        """
        return normalize(self._processor.decode([int(i) for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)]))

    def vocabulary(self) -> List[str]:
        """The pieces in id order."""
        return [self._processor.id_to_piece(i) for i in range(self.vocabulary_size)]
