"""SubwordTokenizer: learns a joint SentencePiece model on the cleaned train split, then tokenizes every
split in Beam (`tokenization_pipeline`).

Outputs
- `tokenized_examples`: the same splits, each tf.Example with `source`, `target` (text) and
  `source_ids`, `target_ids` (int64 ids with BOS/EOS).
- `tokenizer`: `sentencepiece.model`, `sentencepiece.vocab` (one piece a line) and `tokenizer.json`
  (vocabulary size, special ids, SHA-256 of the model), typed `SubwordModel`: the Trainer
  (`tfx_nmt.components.trainer`) takes it as its `tokenizer` input and embeds it in the serving graph.
"""
import hashlib
import json
import logging
import os
from typing import Iterator

import apache_beam as beam
import tensorflow as tf
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import BeamComponentParameter
from tfx.types import artifact_utils

from tfx_nmt.components.artifacts import SubwordModel
from tfx_nmt.components.examples_io import bytes_feature, iterate_examples
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.components.tokenization_pipeline import tokenization_counts, tokenize_examples
from tfx_nmt.contract import TOKENIZER_METADATA_FILE, TOKENIZER_MODEL_FILE, TOKENIZER_VOCABULARY_FILE
from tfx_nmt.text import subword

log = logging.getLogger(__name__)


def train_sentences(examples_uri: str) -> Iterator[str]:
    """Source then target sentence of every pair of the train split (text for a joint vocabulary)."""
    for example in iterate_examples(examples_uri, "train"):
        yield bytes_feature(example, "source").decode("utf-8")
        yield bytes_feature(example, "target").decode("utf-8")


def write_tokenizer(model_proto: bytes, directory: str) -> dict:
    """Writes the model, its vocabulary and `tokenizer.json` metadata into `directory`; returns the metadata."""
    encoder = subword.SubwordEncoder(model_proto)
    metadata = {
        "type": "sentencepiece",
        "vocabulary_size": encoder.vocabulary_size,
        "pad_id": subword.PAD_ID,
        "unk_id": subword.UNK_ID,
        "bos_id": subword.BOS_ID,
        "eos_id": subword.EOS_ID,
        "sha256": hashlib.sha256(model_proto).hexdigest(),
    }
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(os.path.join(directory, TOKENIZER_MODEL_FILE), "wb") as f:
        f.write(model_proto)
    with tf.io.gfile.GFile(os.path.join(directory, TOKENIZER_VOCABULARY_FILE), "w") as f:
        f.write("\n".join(encoder.vocabulary()) + "\n")
    with tf.io.gfile.GFile(os.path.join(directory, TOKENIZER_METADATA_FILE), "w") as f:
        json.dump(metadata, f, indent=2)
    return metadata


@tfx.dsl.components.component(use_beam=True)
def SubwordTokenizer(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    tokenized_examples: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    tokenizer: tfx.dsl.components.OutputArtifact[SubwordModel],
    vocabulary_size: tfx.dsl.components.Parameter[int] = 8000,
    model_type: tfx.dsl.components.Parameter[str] = "unigram",
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """Learns the subword model on train (source and target sentences together) and tokenizes all splits.

    Args:
        examples: cleaned tf.Examples {source, target}.
        tokenized_examples: output, tf.Examples {source, target, source_ids, target_ids}.
        tokenizer: output, the SentencePiece model directory (see module docstring).
        vocabulary_size: requested joint vocabulary size (pieces, specials included).
        model_type: SentencePiece algorithm, `unigram` or `bpe`.
    """
    log.info("SubwordTokenizer: learning a %s model of %d pieces on the train split", model_type,
             vocabulary_size)
    model_proto = subword.train_sentencepiece(train_sentences(examples.uri), vocabulary_size, model_type)
    metadata = write_tokenizer(model_proto, tokenizer.uri)
    log.info("SubwordTokenizer: vocabulary of %d pieces, sha256 %s", metadata["vocabulary_size"],
             metadata["sha256"][:12])
    splits = artifact_utils.decode_split_names(examples.split_names)
    tokenized_examples.split_names = examples.split_names
    log.info("SubwordTokenizer: tokenizing splits %s with Beam", ", ".join(splits))
    counts_prefix = os.path.join(tokenizer.uri, "counts")
    with beam_pipeline as p:
        tokenize_examples(p, examples.uri, tokenized_examples.uri, splits, model_proto, counts_prefix)
    counts = tokenization_counts(read_rows(counts_prefix))
    for split in splits:
        entry = counts.get(split, {})
        pairs = entry.get("pairs", 0)
        log.info("SubwordTokenizer: %s: %d pairs tokenized, %.1f source and %.1f target tokens per pair",
                 split, pairs, entry.get("source_tokens", 0) / max(pairs, 1),
                 entry.get("target_tokens", 0) / max(pairs, 1))
