"""What the run report and the model card are built from: the run summary plus the artifacts of the same
run that it names (`summary["artifacts"]`, keyed by `tfx_nmt.contract.artifact_key`); and the part of the
run summary that those artifacts give (`summarize_artifacts`), for the summary read from ML Metadata after a
run (`tfx_nmt.pipeline.run_summary`) and for the report components inside the DAG alike.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Dict, List, Optional

from tfx_nmt import contract, files
from tfx_nmt.reporting.training_curves import TrainingCurves, read_training_curves
from tfx_nmt.scoring.scorers import SCORERS, ScorerRegistry

EVALUATION = contract.artifact_key(contract.EVALUATOR, contract.EVALUATION)
CLEANING_REPORT = contract.artifact_key(contract.TEXT_CLEANER, contract.CLEANING_REPORT)
CLEANED_EXAMPLES = contract.artifact_key(contract.TEXT_CLEANER, contract.CLEANED_EXAMPLES)
MODEL_RUN = contract.artifact_key(contract.TRAINER, contract.MODEL_RUN)


def data_span(custom_properties) -> Dict:
    """{span, span_version, input_fingerprint} of ExampleGen's Examples artifact, from its ML Metadata custom
    properties (`Artifact.custom_properties`, or `types.Artifact.mlmd_artifact.custom_properties`), which TFX's
    file-based ExampleGen driver sets: the span read (0 without `{SPAN}` in the split patterns), its version
    (None without `{VERSION}`) and the fingerprint of the files read."""
    return {"span": custom_properties["span"].int_value if "span" in custom_properties else None,
            "span_version": custom_properties["version"].int_value if "version" in custom_properties else None,
            "input_fingerprint": (custom_properties["input_fingerprint"].string_value
                                  if "input_fingerprint" in custom_properties else None)}


def _finite_or_none(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def summarize_artifacts(config: Dict, pipeline_run_id: str, artifacts: Dict[str, str],
                        pushed_model_dir: Optional[str], scorers: ScorerRegistry = SCORERS,
                        span: Optional[Dict] = None) -> Dict:
    """The run summary (`run_summary.json`; its keys in `tfx_nmt.pipeline.run_summary`) of a run's artifacts.

    Args:
        config: the run's `RunConfig.training_config()`.
        pipeline_run_id: the pipeline run's id.
        artifacts: {`contract.artifact_key(component id, output key)`: URI} of the run's artifacts; those
            missing (a run that stopped early) leave their keys at None or empty.
        pushed_model_dir: the pushed version's directory, None when nothing was pushed.
        scorers: every metric of `scorers.metrics()` is a key, and `<name>_interval` (the 95 % bootstrap
            interval: `low`, `high`, `mean`, `resamples`, `seed`; None when not scored) of each scorer that
            reports one; `sacrebleu_signature` and `baseline_<name>` are the primary scorer's.
        span: `data_span` of ExampleGen's Examples artifact; None leaves its keys None.

    Returns:
        The summary, with `component_seconds` and `cached_components` empty: only ML Metadata's executions
        know those (`tfx_nmt.pipeline.run_summary` fills them in).
    """
    summary = {
        "preset": config["preset"],
        "language_pair": f"{config['source']}-{config['target']}",
        "pipeline_run_id": pipeline_run_id,
        **{metric.name: None for metric in scorers.metrics()},
        **{scorer.interval_key: None for scorer in scorers.values() if scorer.interval_key},
        "sacrebleu_signature": None,
        "blessed": False, "blessing_reason": None, "blessing_rule": None, "blessing_p_value": None,
        "pushed_model_dir": pushed_model_dir,
        "train_target_tokens_per_sec": None, "train_steps": None, "train_seconds": None, "train_hardware": None,
        "train_finished_at": None,
        **(span or {"span": None, "span_version": None, "input_fingerprint": None}),
        "test_sets": {},
        "num_examples": {},
        "component_seconds": {},
        "cached_components": [],
        "config": config,
        "artifacts": dict(artifacts),
    }
    if CLEANING_REPORT in artifacts:
        cleaning = files.read_json(os.path.join(artifacts[CLEANING_REPORT], contract.CLEANING_REPORT_FILE))
        summary["num_examples"] = {split: {"before_cleaning": entry["input"], "after_cleaning": entry["kept"]}
                                   for split, entry in cleaning.items()}
    if MODEL_RUN in artifacts:
        stats = files.read_json(os.path.join(artifacts[MODEL_RUN], contract.TRAINING_STATS_FILE))
        summary["train_target_tokens_per_sec"] = stats["target_tokens_per_sec"]
        summary["train_steps"] = stats["steps"]
        summary["train_seconds"] = stats["train_seconds"]
        summary["train_hardware"] = stats.get("hardware")
        summary["train_finished_at"] = stats.get("finished_at")
    if EVALUATION in artifacts:
        metrics = files.read_json(os.path.join(artifacts[EVALUATION], contract.METRICS_FILE))
        candidate, primary = metrics["candidate"], scorers.primary
        summary.update({metric.name: _finite_or_none(candidate.get(metric.name)) for metric in scorers.metrics()})
        summary.update({scorer.interval_key: candidate.get(scorer.interval_key)
                        for scorer in scorers.values() if scorer.interval_key})
        summary.update({
            "sacrebleu_signature": candidate[primary.signature_key],
            "blessed": bool(metrics["decision"]["blessed"]),
            "blessing_reason": metrics["decision"]["reason"],
            "blessing_rule": metrics.get("blessing_rule", "threshold"),
            "blessing_p_value": _finite_or_none((metrics.get("significance") or {}).get("p_value")),
            f"baseline_{primary.name}": _finite_or_none((metrics.get("baseline") or {}).get(primary.name)),
            "test_sets": {split: test_set_summary(entry, scorers)
                          for split, entry in metrics.get("test_sets", {}).items()},
        })
    return summary


def test_set_summary(metrics: Dict, scorers: ScorerRegistry = SCORERS) -> Dict:
    """A further test set's entry of the run summary's `test_sets`, from its metrics in `metrics.json`:
    every metric of `scorers.metrics()` (None when not finite), `sacrebleu_signature` (the primary
    scorer's) and `num_sentences`."""
    return {**{metric.name: _finite_or_none(metrics.get(metric.name)) for metric in scorers.metrics()},
            "sacrebleu_signature": metrics.get(scorers.primary.signature_key),
            "num_sentences": metrics["num_sentences"]}


@dataclasses.dataclass(frozen=True)
class RunArtifacts:
    """A finished run's outcome, ready to present.

    Attributes:
        summary: the run summary dict (`run_summary.json`).
        metrics: the evaluator's `metrics.json`: `candidate`, `baseline` (or None), `decision`,
            `blessing_rule`, `thresholds`, `significance` (the paired test, or None), `split`, `test_sets`
            (the further test sets' metrics, {split: metrics}).
        cleaning_report: the TextCleaner's `cleaning_report.json`: {split: {input, kept, dropped}}.
        rejected_samples: the TextCleaner's `rejected_samples.json`: {split: {reason: [{line, source,
            target}, ...]}}, the first rejected pairs per reason.
        curves: the Trainer's training curves.
        sources / references / hypotheses: the scored split (cleaned), one string per pair, in order.
    """

    summary: Dict
    metrics: Dict
    cleaning_report: Dict
    rejected_samples: Dict
    curves: TrainingCurves
    sources: List[str]
    references: List[str]
    hypotheses: List[str]


def ordered_splits(names) -> List[str]:
    """Split names in pipeline order (train, eval, test), any others after them by name."""
    order = list(contract.SPLITS)
    return sorted(names, key=lambda name: (order.index(name) if name in order else len(order), name))


def _artifact_uri(summary: Dict, key: str) -> str:
    uri = summary.get("artifacts", {}).get(key)
    if not uri:
        raise LookupError(f"the run summary names no {key} artifact; was the run complete?")
    return uri


def load_run_artifacts(summary: Dict) -> RunArtifacts:
    """Reads the evaluator's metrics and hypotheses, the cleaning report, the scored split and the
    training curves of the run described by `summary`.

    Raises:
        LookupError: the summary names no artifact for one of them (an incomplete run).
        ValueError: the hypotheses file and the scored split differ in length.
    """
    import tensorflow as tf

    from tfx_nmt.components.translation_evaluator import read_pairs

    evaluation_uri, cleaning_uri = _artifact_uri(summary, EVALUATION), _artifact_uri(summary, CLEANING_REPORT)
    metrics = files.read_json(os.path.join(evaluation_uri, contract.METRICS_FILE))
    hypotheses_path = os.path.join(evaluation_uri, contract.HYPOTHESES_FILE)
    with tf.io.gfile.GFile(hypotheses_path) as f:
        hypotheses = f.read().splitlines()
    sources, references = read_pairs(_artifact_uri(summary, CLEANED_EXAMPLES), metrics["split"])
    if len(hypotheses) != len(sources):
        raise ValueError(f"{hypotheses_path}: {len(hypotheses)} lines for {len(sources)} pairs in the "
                         f"{metrics['split']} split")
    return RunArtifacts(
        summary=summary,
        metrics=metrics,
        cleaning_report=files.read_json(os.path.join(cleaning_uri, contract.CLEANING_REPORT_FILE)),
        rejected_samples=files.read_json(os.path.join(cleaning_uri, contract.REJECTED_SAMPLES_FILE)),
        curves=read_training_curves(_artifact_uri(summary, MODEL_RUN)),
        sources=sources, references=references, hypotheses=hypotheses,
    )
