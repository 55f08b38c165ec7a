"""What a re-run reuses and what it redoes: LocalDagRunner with ML Metadata on SQLite, the pipeline's own
data components (ParallelCorpusExampleGen through TextCleaner, as `create_pipeline` builds them) on a tiny
corpus in span directories. TFX's file-based driver fingerprints the files before the cache is consulted.

The DAG is cut after TextCleaner to keep the four runs short: caching is decided per component from its
inputs and properties, the same way for the Trainer and what follows (their inputs are these outputs).
"""
import os
import shutil

import pytest

from tfx_nmt import contract
from tfx_nmt.pipeline.local_runner import direct_runner_args
from tfx_nmt.pipeline.pipeline import create_pipeline
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.pipeline.run_summary import build_run_summary

DATA_COMPONENTS = [contract.EXAMPLE_GEN, contract.STATISTICS_GEN, contract.SCHEMA_GEN, contract.EXAMPLE_VALIDATOR,
                   contract.TEXT_CLEANER]
PATTERNS = {"train_pattern": "span-{SPAN}/train.*", "eval_pattern": "span-{SPAN}/val.*",
            "test_pattern": "span-{SPAN}/test_2016_flickr.*"}
LINES = {"train": 60, "val": 10, "test_2016_flickr": 10}


def _copy_span(data_dir, span_dir, first_line=0):
    """Lines [first_line, first_line + LINES[stem]) of each Multi30k file, as plain text, into `span_dir`."""
    import gzip

    os.makedirs(span_dir)
    for stem, count in LINES.items():
        for language in ("en", "de"):
            with gzip.open(os.path.join(data_dir, f"{stem}.{language}.gz"), "rt", encoding="utf-8") as f:
                lines = f.read().split("\n")[first_line:first_line + count]
            with open(os.path.join(span_dir, f"{stem}.{language}"), "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in lines))


def _run(corpus_dir, output_dir):
    """One run of the data components; returns its run summary (cached components, span, artifacts)."""
    from tfx import v1 as tfx

    config = get_preset("smoke").replace(**PATTERNS)
    metadata_path = os.path.join(output_dir, "metadata.sqlite")
    full = create_pipeline(config, "caching-test", os.path.join(output_dir, "pipeline_root"), corpus_dir,
                           os.path.join(output_dir, "serving"))
    kept = [c for c in full.components if c.id in DATA_COMPONENTS]
    for component in kept:  # The cut: the kept components forget the downstream ones (TFX's node API).
        for downstream in [d for d in component.downstream_nodes if d.id not in DATA_COMPONENTS]:
            component.remove_downstream_node(downstream)
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="caching-test", pipeline_root=os.path.join(output_dir, "pipeline_root"),
        components=kept, enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path),
        beam_pipeline_args=direct_runner_args(1))
    tfx.orchestration.LocalDagRunner().run(pipeline)
    return build_run_summary(config, metadata_path, "caching-test")


@pytest.mark.pipeline_run
def test_unchanged_files_are_a_cache_hit_a_changed_line_or_a_new_span_re_executes_everything(tmp_path, data_dir):
    corpus_dir, output_dir = str(tmp_path / "corpus"), str(tmp_path / "out")
    _copy_span(data_dir, os.path.join(corpus_dir, "span-1"))

    first = _run(corpus_dir, output_dir)
    assert first["cached_components"] == [] and set(first["component_seconds"]) == set(DATA_COMPONENTS)
    assert first["span"] == 1 and first["span_version"] is None
    assert first["num_examples"]["train"]["before_cleaning"] == 60

    # Unchanged files: every component is a cache hit, its artifacts reused.
    again = _run(corpus_dir, output_dir)
    assert sorted(again["cached_components"]) == sorted(DATA_COMPONENTS)
    assert again["artifacts"] == first["artifacts"]

    # One line of train.de changed (same size, so only the modification time and content differ): ExampleGen
    # fingerprints the files anew and everything downstream re-executes.
    train_de = os.path.join(corpus_dir, "span-1", "train.de")
    with open(train_de, encoding="utf-8") as f:
        lines = f.read().split("\n")
    lines[3] = lines[3][::-1]
    with open(train_de, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.utime(train_de, ns=(os.stat(train_de).st_atime_ns, os.stat(train_de).st_mtime_ns + 10 ** 9))
    changed = _run(corpus_dir, output_dir)
    assert changed["cached_components"] == []
    assert changed["input_fingerprint"] != first["input_fingerprint"]
    assert all(changed["artifacts"][key] != uri for key, uri in first["artifacts"].items())
    assert changed["span"] == 1

    # A new span directory: the next run reads it (the latest span) and re-executes everything.
    _copy_span(data_dir, os.path.join(corpus_dir, "span-2"), first_line=100)
    newer = _run(corpus_dir, output_dir)
    assert newer["cached_components"] == []
    assert newer["span"] == 2
    with open(os.path.join(newer["artifacts"][contract.artifact_key(contract.EXAMPLE_GEN, contract.EXAMPLES)],
                           contract.INGEST_REPORT_FILE)) as f:
        assert '"' + os.path.join(corpus_dir, "span-2", "train.en") + '"' in f.read()
    shutil.rmtree(output_dir)
