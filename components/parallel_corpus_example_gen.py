"""ParallelCorpusExampleGen: a parallel corpus (aligned source/target files or `source<TAB>target` TSV, per
split) -> Examples with splits train/eval/test, on TFX's file-based ExampleGen.

It is a `FileBasedExampleGen`: `input_base` is the corpus directory and `input_config` holds one split
pattern per split (a glob relative to `input_base`; default DEFAULT_SPLIT_PATTERNS, `train.*`, `val.*`,
`test_2016_flickr.*`), in which `{SPAN}` (and `{VERSION}`) select a span of the data, for example
`span-{SPAN}/train.*`. TFX's file-based driver (`tfx.components.example_gen.driver.FileBasedDriver`; on
Kubeflow Pipelines v2 the same driver as the task's pre-cache-check hook) resolves the latest span
(`range_config`: a rolling range of one span) and fingerprints the files the patterns match (names,
sizes, modification times) before the cache is consulted; the Examples artifact records `span`,
`version` and `input_fingerprint`. So a changed file or a new span re-executes ExampleGen and what
follows, and unchanged files are a cache hit.

Each tf.Example has two bytes features, `source` and `target`, the raw lines (UTF-8), and `line_number`
(int64), the pair's 1-based line in its file. The executor (`BaseExampleGenExecutor`, whose
`GetInputSourceToExamplePTransform` is `ingest_pipeline.ReadCorpusSplit`; each split is written by
`ingest_pipeline.WriteExamplesSplit` in the read's step) streams each split's files through Beam and
checks them as it reads (gzip integrity, UTF-8, equal line counts, TSV columns, a split left without any
pair): a bad corpus fails here, before any other component runs. With
`on_bad_line="drop"` the bad pairs of train and eval are dropped instead (never those of test), and their
counts and first samples go to `ingest_report.json` in the artifact, which TextCleaner adds to the
CleaningReport.
"""
import logging
import os
import posixpath
import re
from typing import Any, Dict, List, Optional

from apache_beam.io.filesystems import FileSystems
from tfx import types
from tfx.components.example_gen import driver, utils, write_split
from tfx.components.util import examples_utils
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.types import artifact_utils, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import proto_utils

from tfx_nmt import files
from tfx_nmt.components import corpus
from tfx_nmt.components.ingest_pipeline import ReadCorpusSplit, WriteExamplesSplit, ingest_rows_by_split
from tfx_nmt.components.summary_rows import read_rows
from tfx_nmt.contract import INGEST_REPORT_FILE, SPLITS, TEST_SPLIT, extra_test_splits

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "source_language"
TARGET_LANGUAGE = "target_language"
ON_BAD_LINE = "on_bad_line"
MAX_PAIRS = {split: f"max_{split}_pairs" for split in SPLITS}
# The execution property through which the executor's Do hands the ingest rows' prefix to the transform.
_ROWS_PREFIX = "_ingest_rows_prefix"
# Where the ingest rows go inside the Examples artifact until the executor has read them.
_ROWS_NAME = "ingest_rows"
# `{SPAN}`, `{SPAN:n}`, `{VERSION}`, `{VERSION:n}` in a split pattern (TFX's specs, `example_gen.utils`).
_SPECS = (utils.SPAN_FULL_REGEX, utils.VERSION_FULL_REGEX)


def read_ingest_report(examples_uri: str) -> Dict[str, Dict]:
    """The `ingest_report.json` of an Examples artifact: {split: {files, lines, dropped: {reason: count},
    samples: {reason: [{line, source, target}]}}}; {} when it has none."""
    path = os.path.join(examples_uri, INGEST_REPORT_FILE)
    return files.read_json(path) if FileSystems.exists(path) else {}


def input_config(split_patterns: Dict[str, str]) -> example_gen_pb2.Input:
    """The `input_config` of the splits, in SPLITS order, then the further test sets (`test_<name>`) by name:
    {split: pattern relative to input_base}."""
    names = list(SPLITS) + extra_test_splits(split_patterns)
    return example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=split, pattern=split_patterns[split]) for split in names])


def _max_pairs_key(split: str) -> str:
    """The execution property limiting `split`'s pairs: a further test set's is the test split's."""
    return MAX_PAIRS[split] if split in MAX_PAIRS else MAX_PAIRS[TEST_SPLIT]


def has_span_spec(split_patterns: Dict[str, str]) -> bool:
    """Whether the patterns select spans (`{SPAN}` or `{SPAN:n}`): then `range_config` takes the latest."""
    return any(re.search(utils.SPAN_FULL_REGEX, pattern) for pattern in split_patterns.values())


def _splits(exec_properties: Dict[str, Any]) -> List[example_gen_pb2.Input.Split]:
    config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], config)
    return list(config.splits)


def _split_files(exec_properties: Dict[str, Any], split: example_gen_pb2.Input.Split):
    return corpus.find_split_files(exec_properties[standard_component_specs.INPUT_BASE_KEY], split.pattern,
                                   exec_properties[SOURCE_LANGUAGE], exec_properties[TARGET_LANGUAGE], split.name)


def _found_under(input_base: str, pattern: str) -> str:
    """What `pattern`, its span and version specs read as `*`, matches under `input_base`, relative to it."""
    base = input_base.rstrip("/")
    for spec in _SPECS:
        pattern = re.sub(spec, "*", pattern)
    glob = posixpath.join(base, pattern)
    paths = sorted(m.path for result in FileSystems.match([glob]) for m in result.metadata_list)
    return ", ".join(p[len(base) + 1:] if p.startswith(base + "/") else p for p in paths) or "nothing"


class Driver(driver.FileBasedDriver):
    """TFX's file-based driver (span, version and fingerprint of the input files), with the corpus' own
    errors: a split pattern that matches nothing, splits whose latest spans differ, a span that is not a
    number, or a span without the files of a split, stop the run here with one CorpusError naming the
    patterns, the directory and what they match."""

    def resolve_exec_properties(self, exec_properties: Dict[str, Any], pipeline_info, component_info):
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        splits = _splits(exec_properties)
        try:
            resolved = super().resolve_exec_properties(exec_properties, pipeline_info, component_info)
        except ValueError as e:
            found = "; ".join(f"{split.name} {split.pattern!r} matches {_found_under(input_base, split.pattern)}"
                              for split in splits)
            raise corpus.CorpusError(
                f"the split patterns do not select one span of {input_base} ({e}); {found}. Every span "
                f"directory needs the files of every split, and a span is a whole number") from e
        for split in _splits(resolved):
            _split_files(resolved, split)
        return resolved


class Executor(BaseExampleGenExecutor):
    """Streams each split's files into Examples (`ingest_pipeline.ReadCorpusSplit`), then writes the
    ingest report, or raises the first split's CorpusError (in `input_config` order)."""

    def GetInputSourceToExamplePTransform(self):
        """(exec_properties, split pattern) -> the split's `ReadCorpusSplit`."""
        return _read_split

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        """TFX's ExampleGen Do (`BaseExampleGenExecutor.Do`: the splits of `GenerateExamplesByBeam`, split
        names, payload and file format on the artifact), with each split written by
        `ingest_pipeline.WriteExamplesSplit` instead of TFX's `write_split.WriteSplit` (which says why);
        then the ingest report.

        Raises:
            corpus.CorpusError: a missing, truncated, non-UTF-8 or misaligned file, gzip data under a name
                without `.gz`, a bad TSV row, or a split left without any pair.
        """
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        proto_utils.json_to_proto(exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        examples.split_names = artifact_utils.encode_split_names(
            utils.generate_output_split_names(input_config, output_config))
        rows_prefix = os.path.join(examples.uri, _ROWS_NAME)
        with self._make_beam_pipeline() as pipeline:
            splits = self.GenerateExamplesByBeam(pipeline, {**exec_properties, _ROWS_PREFIX: rows_prefix})
            for split, records in splits.items():
                _ = records | f"WriteSplit[{split}]" >> WriteExamplesSplit(examples.uri, split)
        examples_utils.set_payload_format(
            examples, exec_properties[standard_component_specs.OUTPUT_DATA_FORMAT_KEY])
        examples_utils.set_file_format(examples, write_split.to_file_format_str(
            exec_properties[standard_component_specs.OUTPUT_FILE_FORMAT_KEY]))
        report = ingest_rows_by_split(read_rows(rows_prefix))
        split_names = [split.name for split in input_config.splits]
        for split in split_names:
            error = report[split].pop("error")
            if error:
                raise corpus.CorpusError(error)
        for split in split_names:
            dropped = {k: v for k, v in report[split]["dropped"].items() if v}
            log.info("ParallelCorpusExampleGen: %s: %d lines read%s", split, report[split]["lines"],
                     f", dropped {dropped}" if dropped else "")
        files.write_json(os.path.join(examples.uri, INGEST_REPORT_FILE), report)


def _read_split(exec_properties: Dict[str, Any], split_pattern: str) -> ReadCorpusSplit:
    split = next(s for s in _splits(exec_properties) if s.pattern == split_pattern)
    return ReadCorpusSplit(split.name, _split_files(exec_properties, split), exec_properties[_max_pairs_key(split.name)],
                           exec_properties[ON_BAD_LINE], exec_properties[_ROWS_PREFIX])


class ParallelCorpusExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
    """FileBasedExampleGen's parameters and the corpus' own: languages, per-split limits, bad lines."""

    PARAMETERS = {
        **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
        SOURCE_LANGUAGE: ExecutionParameter(type=str),
        TARGET_LANGUAGE: ExecutionParameter(type=str),
        ON_BAD_LINE: ExecutionParameter(type=str),
        **{key: ExecutionParameter(type=int) for key in MAX_PAIRS.values()},
    }


class ParallelCorpusExampleGen(FileBasedExampleGen):
    """The corpus' ExampleGen (see the module docstring).

    Args:
        input_base: the corpus directory (local, `gs://` or any filesystem Beam and TensorFlow read), or a
            RuntimeParameter.
        split_patterns: {split: glob relative to input_base} for `train`, `eval`, `test`, with optional
            `{SPAN}` / `{VERSION}`; default `corpus.DEFAULT_SPLIT_PATTERNS`. With `{SPAN}`, the latest span
            that every split has is read. Further test sets are further `test_<name>` entries
            (`corpus.extra_test_split_patterns`): read like `test` (limit `max_test_pairs`, bad lines
            always an error).
        source_language / target_language: file name language codes (`train.en`, `train.en-de.tsv`).
        max_train_pairs / max_eval_pairs / max_test_pairs: keep the first N lines of a split when N > 0.
        on_bad_line: `error` (default) or `drop`: what to do with a line of train or eval that is not
            UTF-8 or a TSV row without exactly one tab; in test such a line is always an error.

    Outputs:
        examples: Examples, splits `train`, `eval`, `test` (and any `test_<name>`) of tf.Examples
            {source, target, line_number},
            plus `ingest_report.json`; custom properties `span`, `version`, `input_fingerprint`.
    """

    SPEC_CLASS = ParallelCorpusExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)
    DRIVER_CLASS = Driver

    def __init__(self, input_base, split_patterns: Optional[Dict[str, str]] = None, source_language: str = "en",
                 target_language: str = "de", max_train_pairs: int = 0, max_eval_pairs: int = 0,
                 max_test_pairs: int = 0, on_bad_line: str = "error"):
        # FileBasedExampleGen.__init__ builds its own spec class; this one builds the subclass's.
        patterns = split_patterns or corpus.DEFAULT_SPLIT_PATTERNS
        config = input_config(patterns)
        range_config = (range_config_pb2.RangeConfig(rolling_range=range_config_pb2.RollingRange(num_spans=1))
                        if has_span_spec(patterns) else None)
        spec = ParallelCorpusExampleGenSpec(
            input_base=input_base, input_config=config, output_config=utils.make_default_output_config(config),
            custom_config=None, range_config=range_config, output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
            output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP, examples=types.Channel(
                type=standard_artifacts.Examples),
            source_language=source_language, target_language=target_language, on_bad_line=on_bad_line,
            max_train_pairs=max_train_pairs, max_eval_pairs=max_eval_pairs, max_test_pairs=max_test_pairs)
        base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
