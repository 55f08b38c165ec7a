"""The Beam pipeline of the SubwordTokenizer component: adds subword ids to every Example, with the
Python side of the tokenizer seam (`tfx_nmt.text.tokenizers`).

Counts come back to the executor as rows of data (`summary_rows`, which says why).

This module and what it imports import neither TensorFlow nor TFX: Beam worker processes import it to run
its DoFn, and those imports would add seconds to the start of every worker (BENCHMARKS.md, data
components). `tests/pipeline/test_beam_workers.py` checks it.
"""
import collections
from typing import Dict, Iterable, Iterator, List

import apache_beam as beam
import pyarrow as pa

from tfx_nmt.components.examples_io import ReadSplitBatches, WriteSplit, decode_examples, encode_examples, first_values
from tfx_nmt.components.summary_rows import COUNTS, WriteRows, bundle_counts
from tfx_nmt.text.tokenizers import SentencePieceTokenizer

SIDES = ("source", "target")


class TokenizeExamples(beam.DoFn):
    """Adds `source_ids` and `target_ids` (int64, BOS/EOS included) to a batch of serialized tf.Examples,
    keeping their other features. An Example without a `source` (or `target`) text is tokenized as "".

    Outputs:
        main: the serialized tf.Examples with ids.
        COUNTS: ("pairs" | "source_tokens" | "target_tokens", count) per bundle (tokens include BOS and EOS).

    The SentencePiece model is loaded once per worker in `setup`, from the proto bytes carried by the
    DoFn, so nothing depends on a file path or on TensorFlow custom ops being registered in the worker.
    """

    def __init__(self, model_proto: bytes):
        super().__init__()
        self._model_proto = model_proto
        self._tokenizer = None
        self._counts = collections.Counter()

    def setup(self):
        self._tokenizer = SentencePieceTokenizer(self._model_proto)

    def start_bundle(self):
        self._counts = collections.Counter()

    def process(self, records: List[bytes]) -> Iterator[bytes]:
        batch = decode_examples(records)
        columns, names = list(batch.columns), list(batch.schema.names)
        for side in SIDES:
            ids = self._tokenizer.tokenize([text.decode("utf-8") for text in first_values(batch, side, b"")])
            columns.append(pa.array(ids, pa.large_list(pa.int64())))
            names.append(f"{side}_ids")
            self._counts[f"{side}_tokens"] += sum(map(len, ids))
        self._counts["pairs"] += len(records)
        yield from encode_examples(pa.RecordBatch.from_arrays(columns, names))

    def finish_bundle(self) -> Iterator:
        yield from bundle_counts(self._counts)


def tokenization_counts(rows: Iterable[Dict]) -> Dict[str, Dict[str, int]]:
    """{split: {"pairs", "source_tokens", "target_tokens"}} from the `{split, name, count}` rows that
    `tokenize_examples` writes (read them with `summary_rows.read_rows`); tokens include BOS and EOS."""
    counts = collections.defaultdict(dict)
    for row in rows:
        counts[row["split"]][row["name"]] = counts[row["split"]].get(row["name"], 0) + row["count"]
    return dict(counts)


def tokenize_examples(pipeline: beam.Pipeline, examples_uri: str, tokenized_uri: str, splits: List[str],
                      model_proto: bytes, counts_prefix: str) -> None:
    """Adds the tokenization of every split of `examples_uri` into `tokenized_uri` to `pipeline` (run it to
    execute), and `{split, name, count}` rows of each split's pairs and tokens to files starting with
    `counts_prefix` (see `tokenization_counts`)."""
    all_counts = []
    for split in splits:
        tokenized = (
            pipeline
            | f"Read[{split}]" >> ReadSplitBatches(examples_uri, split)
            | f"Tokenize[{split}]" >> beam.ParDo(TokenizeExamples(model_proto)).with_outputs(COUNTS, main="examples")
        )
        _ = tokenized.examples | f"Write[{split}]" >> WriteSplit(tokenized_uri, split)
        all_counts.append(
            tokenized[COUNTS]
            | f"Sum[{split}]" >> beam.CombinePerKey(sum)
            | f"Row[{split}]" >> beam.MapTuple(lambda name, n, split=split: {"split": split, "name": name, "count": n})
        )
    _ = all_counts | "AllCounts" >> beam.Flatten() | "WriteCounts" >> WriteRows(counts_prefix)
