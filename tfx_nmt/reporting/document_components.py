"""The run's documents as TFX components of the DAG, so that every orchestrator (LocalDagRunner, Kubeflow
Pipelines) produces them as artifacts with lineage in ML Metadata:

- `ModelCardGen`, after the TranslationEvaluator and before the Pusher: a ModelCard artifact holding
  `model_card.md` (`model_card.render_model_card`). The Pusher (`components.atomic_push.AtomicPusher`)
  copies it into the staged version directory before its atomic rename, so a pushed version has its card
  from the moment it appears.
- `RunReport`, last, after the Pusher: a RunReport artifact holding `report.html` (`report.render_report`),
  whose verdict names the pushed version.

Both read what they present from their input artifacts (ML Metadata resolves them: URIs, and the
PushedModel's `pushed`/`pushed_destination` properties) and from the run's config, as
`run_artifacts.summarize_artifacts` puts them together. An executor does not see ML Metadata's executions,
so the report's summary table has no per-component seconds: those are in the local run's
`run_summary.json`, the table `tfx-nmt run` prints and `<output-dir>/report.html`, which the local runner
renders again with them (`local_runner.run_local`).

They are class-based components (not `@component` functions) because they need the executor's context
for the pipeline run's id.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List

from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from tfx_nmt import contract
from tfx_nmt.components.artifacts import CleaningReport, ModelCard, RunReport as RunReportArtifact
from tfx_nmt.components.atomic_push import PUSHED_DESTINATION_KEY, PUSHED_KEY
from tfx_nmt.reporting.model_card import write_model_card
from tfx_nmt.reporting.report import write_report
from tfx_nmt.reporting.run_artifacts import RunArtifacts, data_span, load_run_artifacts, summarize_artifacts

CONFIG = "config"  # exec property: RunConfig.training_config() as JSON
# The components' input keys (their constructors' argument names).
EXAMPLES, CLEANED_EXAMPLES, CLEANING_REPORT, MODEL_RUN, EVALUATION, PUSHED_MODEL = (
    "examples", "cleaned_examples", "cleaning_report", "model_run", "evaluation", "pushed_model")

# Input key -> (the producing component id, its output key): how the inputs map onto the run summary's
# `artifacts` (contract.artifact_key).
_INPUT_SOURCES = {
    EXAMPLES: (contract.EXAMPLE_GEN, contract.EXAMPLES),
    CLEANED_EXAMPLES: (contract.TEXT_CLEANER, contract.CLEANED_EXAMPLES),
    CLEANING_REPORT: (contract.TEXT_CLEANER, contract.CLEANING_REPORT),
    MODEL_RUN: (contract.TRAINER, contract.MODEL_RUN),
    EVALUATION: (contract.EVALUATOR, contract.EVALUATION),
    PUSHED_MODEL: (contract.PUSHER, contract.PUSHED_MODEL),
}
_RUN_INPUTS = {
    EXAMPLES: ChannelParameter(type=standard_artifacts.Examples),  # its span (`run_artifacts.data_span`)
    CLEANED_EXAMPLES: ChannelParameter(type=standard_artifacts.Examples),
    CLEANING_REPORT: ChannelParameter(type=CleaningReport),
    MODEL_RUN: ChannelParameter(type=standard_artifacts.ModelRun),
    EVALUATION: ChannelParameter(type=standard_artifacts.ModelEvaluation),
}
_PARAMETERS = {CONFIG: ExecutionParameter(type=str)}


class _DocumentExecutor(base_executor.BaseExecutor):
    """Reads a run's artifacts from the component's inputs (module docstring)."""

    def _run_artifacts(self, input_dict: Dict[str, List[types.Artifact]],
                       exec_properties: Dict[str, Any]) -> RunArtifacts:
        inputs = {key: artifact_utils.get_single_instance(artifacts)
                  for key, artifacts in input_dict.items() if artifacts}
        pushed_model_dir = None
        pushed = inputs.get(PUSHED_MODEL)
        if pushed is not None and pushed.get_int_custom_property(PUSHED_KEY) == 1:
            pushed_model_dir = pushed.get_string_custom_property(PUSHED_DESTINATION_KEY)
        uris = {contract.artifact_key(*_INPUT_SOURCES[key]): artifact.uri for key, artifact in inputs.items()}
        # On Kubeflow, TFX's container entry point gives the executor no pipeline run id: the task's id stands in.
        run_id = (self._context.pipeline_run_id or self._context.unique_id) if self._context else None
        span = data_span(inputs[EXAMPLES].mlmd_artifact.custom_properties) if EXAMPLES in inputs else None
        summary = summarize_artifacts(json.loads(exec_properties[CONFIG]), run_id or "n/a", uris, pushed_model_dir,
                                      span=span)
        return load_run_artifacts(summary)


class ModelCardGenExecutor(_DocumentExecutor):
    """Writes `<model_card.uri>/model_card.md`."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        """Renders the model card of the run's model into the ModelCard output.

        Raises:
            LookupError / ValueError: as `run_artifacts.load_run_artifacts` (an input artifact lacks a file).
        """
        card = artifact_utils.get_single_instance(output_dict[contract.MODEL_CARD])
        write_model_card(self._run_artifacts(input_dict, exec_properties), card.uri)


class RunReportExecutor(_DocumentExecutor):
    """Writes `<report.uri>/report.html`."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        """Renders the run report into the RunReport output.

        Raises:
            LookupError / ValueError: as `run_artifacts.load_run_artifacts` (an input artifact lacks a file).
        """
        report = artifact_utils.get_single_instance(output_dict[contract.REPORT])
        write_report(self._run_artifacts(input_dict, exec_properties), report.uri)


class ModelCardGenSpec(ComponentSpec):
    PARAMETERS = _PARAMETERS
    INPUTS = _RUN_INPUTS
    OUTPUTS = {contract.MODEL_CARD: ChannelParameter(type=ModelCard)}


class RunReportSpec(ComponentSpec):
    PARAMETERS = _PARAMETERS
    INPUTS = {**_RUN_INPUTS, PUSHED_MODEL: ChannelParameter(type=standard_artifacts.PushedModel)}
    OUTPUTS = {contract.REPORT: ChannelParameter(type=RunReportArtifact)}


class ModelCardGen(base_component.BaseComponent):
    """The model card of the run's model, before the push (module docstring).

    Args:
        examples: ParallelCorpusExampleGen's Examples (the span read, `run_artifacts.data_span`).
        cleaned_examples: the TextCleaner's Examples (the scored split's sources and references).
        cleaning_report: the TextCleaner's CleaningReport (pairs per split before and after cleaning).
        model_run: the Trainer's ModelRun (training statistics and curves).
        evaluation: the TranslationEvaluator's ModelEvaluation (metrics, decision, hypotheses).
        config: the run's `RunConfig.training_config()`.

    Outputs `model_card`: a ModelCard holding `model_card.md`.
    """

    SPEC_CLASS = ModelCardGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(ModelCardGenExecutor)

    def __init__(self, examples: types.BaseChannel, cleaned_examples: types.BaseChannel,
                 cleaning_report: types.BaseChannel, model_run: types.BaseChannel, evaluation: types.BaseChannel,
                 config: Dict[str, Any]):
        super().__init__(spec=ModelCardGenSpec(
            examples=examples, cleaned_examples=cleaned_examples, cleaning_report=cleaning_report, model_run=model_run,
            evaluation=evaluation, config=json.dumps(config, sort_keys=True),
            model_card=types.Channel(type=ModelCard)))


class RunReport(base_component.BaseComponent):
    """The run report, last in the DAG (module docstring).

    Args: as ModelCardGen's, plus `pushed_model`: the Pusher's PushedModel (pushed or not, and where).

    Outputs `report`: a RunReport holding `report.html`.
    """

    SPEC_CLASS = RunReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(RunReportExecutor)

    def __init__(self, examples: types.BaseChannel, cleaned_examples: types.BaseChannel,
                 cleaning_report: types.BaseChannel, model_run: types.BaseChannel, evaluation: types.BaseChannel,
                 pushed_model: types.BaseChannel, config: Dict[str, Any]):
        super().__init__(spec=RunReportSpec(
            examples=examples, cleaned_examples=cleaned_examples, cleaning_report=cleaning_report, model_run=model_run,
            evaluation=evaluation, pushed_model=pushed_model, config=json.dumps(config, sort_keys=True),
            report=types.Channel(type=RunReportArtifact)))
