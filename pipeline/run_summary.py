"""`run_summary.json`: the metrics and timings of the latest run, read back from ML Metadata and the
artifacts the run produced (DESIGN.md, Contracts).

Keys: `bleu`, `chrf`, `chrf_plus_plus`, `ter`, `perplexity`, `<metric>_interval` (the 95 % bootstrap
interval of bleu, chrf, chrf_plus_plus and ter: `low`, `high`, `mean`, `resamples`, `seed`),
`sacrebleu_signature`, `blessed`, `blessing_reason`, `blessing_rule`, `blessing_p_value` (the paired
bootstrap test against the baseline, null without one), `baseline_bleu`,
`bleu_lowercase_tokenized` (the Multi30k literature's BLEU; null for a target not in Latin script), `pushed_model_dir` (null when not pushed), `train_target_tokens_per_sec`, `train_steps`,
`train_seconds` (seconds of training), `train_hardware` and `train_finished_at` (the Trainer's
`training_stats.json` `hardware` and `finished_at`),
`component_seconds` {component id: wall seconds, 0 for a result reused from the cache},
`cached_components`, `preset`, `language_pair`, `num_examples` {split: {before_cleaning, after_cleaning}},
`test_sets` {split: {bleu, chrf, perplexity, ..., sacrebleu_signature, num_sentences}} of every further test
set (`test_<name>` beside the test split; {} when there is none; blessing never looks at them),
`span` and `span_version` (the span of the corpus the run read, as TFX's file-based ExampleGen driver resolved
it: 0 without `{SPAN}` in the split patterns; the version null without `{VERSION}`), `input_fingerprint` (TFX's
fingerprint of the files read: names, sizes, modification times),
`pipeline_run_id`, `config`, `artifacts` {"<component id>.<output key>": artifact URI} of this run
(`tfx_nmt.contract.artifact_key`). The console table of a summary is `tfx_nmt.reporting.summary_table`.
"""
from __future__ import annotations

import collections
from typing import Dict, List

from tfx_nmt import contract
from tfx_nmt.components.atomic_push import PUSHED_DESTINATION_KEY, PUSHED_KEY
from tfx_nmt.config import RunConfig
from tfx_nmt.reporting.run_artifacts import data_span, summarize_artifacts
from tfx_nmt.scoring.scorers import SCORERS, ScorerRegistry

_CACHED_STATE = 5  # metadata_store_pb2.Execution.CACHED


def _latest_run(store, pipeline_name: str):
    runs = [c for c in store.get_contexts_by_type("pipeline_run")]
    pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    in_pipeline = {c.id for c in store.get_parent_contexts_by_context(pipeline_context.id)} | {
        c.id for c in store.get_children_contexts_by_context(pipeline_context.id)}
    candidates = [c for c in runs if c.id in in_pipeline] or runs
    return max(candidates, key=lambda c: c.create_time_since_epoch)


def _node_id(store, execution_id: int, pipeline_name: str) -> str:
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == "node":
            return context.name[len(pipeline_name) + 1:] if context.name.startswith(pipeline_name + ".") \
                else context.name
    return str(execution_id)


def _outputs(store, execution_id: int) -> Dict[str, List]:
    from ml_metadata.proto import metadata_store_pb2

    events = [e for e in store.get_events_by_execution_ids([execution_id])
              if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    by_key = collections.defaultdict(list)
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        by_key[key].append(artifacts[event.artifact_id])
    return by_key


def build_run_summary(config: RunConfig, metadata_path: str, pipeline_name: str,
                      scorers: ScorerRegistry = SCORERS) -> Dict:
    """Reads the latest run of `pipeline_name` from the SQLite ML Metadata store at `metadata_path`.

    Every metric of `scorers.metrics()` is a key; `sacrebleu_signature` and `baseline_<name>` are the
    primary scorer's.

    Raises:
        LookupError: when the store holds no run of the pipeline.
    """
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = metadata_path
    connection.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    store = metadata_store.MetadataStore(connection)
    run = _latest_run(store, pipeline_name)
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.create_time_since_epoch)
    if not executions:
        raise LookupError(f"no execution of pipeline {pipeline_name} in {metadata_path}")
    component_seconds, cached, outputs = {}, [], {}
    for execution in executions:
        node = _node_id(store, execution.id, pipeline_name)
        is_cached = execution.last_known_state == _CACHED_STATE
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0
        component_seconds[node] = 0.0 if is_cached else round(seconds, 3)
        if is_cached:
            cached.append(node)
        outputs[node] = _outputs(store, execution.id)

    pushed_model_dir = None
    pushed = outputs.get(contract.PUSHER, {}).get(contract.PUSHED_MODEL)
    if pushed and pushed[0].custom_properties[PUSHED_KEY].int_value == 1:
        pushed_model_dir = pushed[0].custom_properties[PUSHED_DESTINATION_KEY].string_value
    artifacts = {contract.artifact_key(node, key): artifacts[0].uri
                 for node, by_key in outputs.items() for key, artifacts in by_key.items() if artifacts}
    examples = outputs.get(contract.EXAMPLE_GEN, {}).get(contract.EXAMPLES)
    span = data_span(examples[0].custom_properties) if examples else None
    summary = summarize_artifacts(config.training_config(), run.name, artifacts, pushed_model_dir, scorers, span)
    summary.update(component_seconds=component_seconds, cached_components=cached)
    return summary
