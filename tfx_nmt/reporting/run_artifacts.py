"""What the run report and the model card are built from: the run summary plus the artifacts of the same
run that it names (`summary["artifacts"]`, keyed by `tfx_nmt.contract.artifact_key`).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Dict, List

from tfx_nmt import contract, files
from tfx_nmt.reporting.training_curves import TrainingCurves, read_training_curves

EVALUATION = contract.artifact_key(contract.EVALUATOR, contract.EVALUATION)
CLEANING_REPORT = contract.artifact_key(contract.TEXT_CLEANER, contract.CLEANING_REPORT)
CLEANED_EXAMPLES = contract.artifact_key(contract.TEXT_CLEANER, contract.CLEANED_EXAMPLES)
MODEL_RUN = contract.artifact_key(contract.TRAINER, contract.MODEL_RUN)


@dataclasses.dataclass(frozen=True)
class RunArtifacts:
    """A finished run's outcome, ready to present.

    Attributes:
        summary: the run summary dict (`run_summary.json`).
        metrics: the evaluator's `metrics.json`: `candidate`, `baseline` (or None), `decision`,
            `thresholds`, `split`.
        cleaning_report: the TextCleaner's `cleaning_report.json`: {split: {input, kept, dropped}}.
        curves: the Trainer's training curves.
        sources / references / hypotheses: the scored split (cleaned), one string per pair, in order.
    """

    summary: Dict
    metrics: Dict
    cleaning_report: Dict
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

    evaluation_uri = _artifact_uri(summary, EVALUATION)
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
        cleaning_report=files.read_json(os.path.join(_artifact_uri(summary, CLEANING_REPORT), contract.CLEANING_REPORT_FILE)),
        curves=read_training_curves(_artifact_uri(summary, MODEL_RUN)),
        sources=sources, references=references, hypotheses=hypotheses,
    )
