"""The Beam pipeline of the SubwordTokenizer component: adds SentencePiece ids to every Example.

This module and what it imports import neither TensorFlow nor TFX: Beam worker processes import it to run
its DoFn, and those imports would add seconds to the start of every worker (BENCHMARKS.md, data
components). `tests/pipeline/test_beam_workers.py` checks it.
"""
import collections
from typing import Dict, Iterator, List

import apache_beam as beam
import pyarrow as pa
from apache_beam.runners.runner import PipelineResult

from tfx_nmt.components.examples_io import ReadSplitBatches, WriteSplit, decode_examples, encode_examples, first_values
from tfx_nmt.text import subword

COUNTER_NAMESPACE = "SubwordTokenizer"
SIDES = ("source", "target")


class TokenizeExamples(beam.DoFn):
    """Adds `source_ids` and `target_ids` (int64, BOS/EOS included) to a batch of serialized tf.Examples,
    keeping their other features, and counts pairs and tokens of `split` in Beam counters (see
    `tokenization_counts`). An Example without a `source` (or `target`) text is tokenized as "".

    The SentencePiece model is loaded once per worker in `setup`, from the proto bytes carried by the
    DoFn, so nothing depends on a file path or on TensorFlow custom ops being registered in the worker.
    """

    def __init__(self, model_proto: bytes, split: str):
        super().__init__()
        self._model_proto = model_proto
        self._encoder = None
        self._pairs = beam.metrics.Metrics.counter(COUNTER_NAMESPACE, f"{split}/pairs")
        self._tokens = {side: beam.metrics.Metrics.counter(COUNTER_NAMESPACE, f"{split}/{side}_tokens")
                        for side in SIDES}

    def setup(self):
        self._encoder = subword.SubwordEncoder(self._model_proto)

    def process(self, records: List[bytes]) -> Iterator[bytes]:
        batch = decode_examples(records)
        columns, names = list(batch.columns), list(batch.schema.names)
        for side in SIDES:
            ids = self._encoder.encode_batch([text.decode("utf-8") for text in first_values(batch, side, b"")])
            columns.append(pa.array(ids, pa.large_list(pa.int64())))
            names.append(f"{side}_ids")
            self._tokens[side].inc(sum(map(len, ids)))
        self._pairs.inc(len(records))
        yield from encode_examples(pa.RecordBatch.from_arrays(columns, names))


def tokenization_counts(result: PipelineResult) -> Dict[str, Dict[str, int]]:
    """{split: {"pairs", "source_tokens", "target_tokens"}} from the counters of a finished pipeline
    (tokens include BOS and EOS)."""
    counts = collections.defaultdict(dict)
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(COUNTER_NAMESPACE))
    for counter in query["counters"]:
        split, name = counter.key.metric.name.split("/", 1)
        counts[split][name] = counts[split].get(name, 0) + counter.committed
    return dict(counts)


def tokenize_examples(pipeline: beam.Pipeline, examples_uri: str, tokenized_uri: str, splits: List[str],
                      model_proto: bytes) -> None:
    """Adds the tokenization of every split of `examples_uri` into `tokenized_uri` to `pipeline`."""
    for split in splits:
        _ = (
            pipeline
            | f"Read[{split}]" >> ReadSplitBatches(examples_uri, split)
            | f"Tokenize[{split}]" >> beam.ParDo(TokenizeExamples(model_proto, split))
            | f"Write[{split}]" >> WriteSplit(tokenized_uri, split)
        )
