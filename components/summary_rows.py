"""Summary rows (counts, samples) that a component's Beam pipeline hands back to its executor.

TextCleaner and SubwordTokenizer both count in the pipeline's data: each transform emits its counts as
elements, a `CombinePerKey(sum)` adds them up, and `WriteRows` writes one JSON object a line to files
under the component's output, which the executor reads back and deletes (`read_rows`) before it writes
its report. Counts as data are exact on every runner: a retried bundle's outputs are discarded, whereas
Beam's counters are exact only where the runner commits them (its portable Flink and Spark runners
report attempted values, which count a retried bundle twice), and a CleaningReport must add up
(`input == kept + sum(dropped)`). The rejected-pair samples are data anyway, so one path carries both.

This module imports neither TensorFlow nor TFX (Beam worker processes import it; see
`tests/pipeline/test_beam_workers.py`); its files go through Beam's filesystems (local, `gs://`, ...).
"""
import collections
import json
from typing import Dict, Iterator, List

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

# The tag of a DoFn's counts output (see `bundle_counts`).
COUNTS = "counts"


def bundle_counts(counts: collections.Counter) -> Iterator:
    """A bundle's (name, count) pairs, one per name, for a DoFn's COUNTS output, to yield from its
    `finish_bundle`: counting in the bundle instead of one (name, 1) element per item saves Beam two steps
    per item."""
    for name, count in counts.items():
        yield beam.pvalue.TaggedOutput(COUNTS, WindowedValue((name, count), MIN_TIMESTAMP, [GlobalWindow()]))


class WriteRows(beam.PTransform):
    """Writes a PCollection of JSON-serializable dicts, one JSON object a line, to files starting with
    `prefix`; read them with `read_rows(prefix)`."""

    def __init__(self, prefix: str):
        super().__init__()
        self._prefix = prefix

    def expand(self, rows):
        return rows | "Json" >> beam.Map(json.dumps) | "Write" >> beam.io.WriteToText(self._prefix)


def read_rows(prefix: str) -> List[Dict]:
    """The rows of the files starting with `prefix` (written by `WriteRows`), in no particular order; the
    files are deleted."""
    paths = [metadata.path for match in FileSystems.match([prefix + "*"]) for metadata in match.metadata_list]
    rows = []
    for path in paths:
        with FileSystems.open(path) as f:
            rows.extend(json.loads(line) for line in f.read().decode("utf-8").splitlines() if line.strip())
    FileSystems.delete(paths)
    return rows
