"""tf.data input pipeline over the tokenized Examples: length-bucketed batches of about
`tokens_per_batch` tokens, teacher-forcing inputs and labels."""
from __future__ import annotations

from typing import List, Sequence

import tensorflow as tf

# Upper bounds of the length buckets, in subword tokens; the last one is the longest sequence allowed.
BUCKET_BOUNDARIES = (8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128, 192, 256)

_FEATURES = {
    "source_ids": tf.io.VarLenFeature(tf.int64),
    "target_ids": tf.io.VarLenFeature(tf.int64),
}


def bucket_batch_sizes(boundaries: Sequence[int], tokens_per_batch: int) -> List[int]:
    """Batch size per bucket so that each batch holds about `tokens_per_batch` padded tokens.

    `tf.data.Dataset.bucket_by_sequence_length` needs one size per bucket, i.e. len(boundaries) + 1;
    sequences are never longer than the last boundary (they are filtered), so the last size is unused.
    """
    sizes = [max(1, tokens_per_batch // b) for b in boundaries]
    return sizes + [sizes[-1]]


def parse_tokenized(record):
    """A serialized tf.Example -> (source_ids, target_ids), int32 vectors."""
    parsed = tf.io.parse_single_example(record, _FEATURES)
    return (tf.cast(tf.sparse.to_dense(parsed["source_ids"]), tf.int32),
            tf.cast(tf.sparse.to_dense(parsed["target_ids"]), tf.int32))


def _to_inputs_and_labels(source_ids, target_ids):
    return {"source_ids": source_ids, "target_in": target_ids[:, :-1]}, target_ids[:, 1:]


def make_dataset(
    file_pattern: Sequence[str],
    tokens_per_batch: int,
    max_source_length: int,
    max_target_length: int,
    training: bool,
    seed: int = 42,
) -> tf.data.Dataset:
    """Batches of `({"source_ids": [B, S], "target_in": [B, T]}, labels [B, T])`, all int32, PAD_ID = 0.

    Args:
        file_pattern: GZIP TFRecord files (or globs) of tf.Examples with int64 `source_ids` and
            `target_ids` (BOS/EOS included).
        tokens_per_batch: padded tokens per batch (max(S, T+1) * B is at most about this).
        max_source_length / max_target_length: longer pairs are dropped (tokens, BOS/EOS included).
        training: shuffle and repeat forever when True; one pass in file order otherwise.
        seed: shuffling seed.

    `target_in` is the target without its last token (starts with BOS), `labels` the target without
    its first (ends with EOS): teacher forcing. Batches group pairs of similar length
    (`bucket_by_sequence_length`), which wastes far less compute on padding than fixed-length batches.
    """
    files = tf.io.gfile.glob(file_pattern) if isinstance(file_pattern, str) else [
        f for pattern in file_pattern for f in tf.io.gfile.glob(pattern)]
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {file_pattern}")
    longest = max(max_source_length, max_target_length)
    boundaries = [b for b in BUCKET_BOUNDARIES if b < longest] + [longest + 1]
    dataset = tf.data.TFRecordDataset(sorted(files), compression_type="GZIP")
    dataset = dataset.map(parse_tokenized, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.filter(lambda s, t: tf.logical_and(
        tf.size(s) <= max_source_length, tf.size(t) <= max_target_length))
    if training:
        dataset = dataset.cache().shuffle(20000, seed=seed, reshuffle_each_iteration=True).repeat()
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda s, t: tf.maximum(tf.size(s), tf.size(t)),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=bucket_batch_sizes(boundaries, tokens_per_batch),
        drop_remainder=False,
    )
    return dataset.map(_to_inputs_and_labels, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
