"""Uploads a compiled pipeline to Kubeflow Pipelines and creates a recurring run, with the kfp 2.5 client.

    tfx-nmt schedule --host URL --pipeline pipeline.json --cron "0 0 3 * * *" --experiment NAME [--dry-run]

Steps, each a kfp.Client call:
1. `upload_pipeline` of the pipeline spec under the pipeline's name (`pipelineSpec.pipelineInfo.name`),
   or `upload_pipeline_version` when a pipeline of that name exists (version `<name>-<spec sha256[:12]>`);
2. `create_experiment` (kfp returns the existing experiment of that name);
3. `create_recurring_run` with the cron schedule, the runtime parameters' values of the compiled
   `runtimeConfig` (overridable with `--param NAME=VALUE`), and its pipeline root.

`--dry-run` prints these calls and their arguments as JSON and contacts nothing.

KFP schedules with six-field cron expressions, seconds first
(`second minute hour day-of-month month day-of-week`, https://pkg.go.dev/github.com/robfig/cron):
`0 0 3 * * *` is every day at 03:00:00.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from typing import Any, Dict, List, Optional

import yaml

from tfx_nmt.errors import UserError

CRON_FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
VERSION_PLACEHOLDER = "<id of the uploaded pipeline version>"
PIPELINE_PLACEHOLDER = "<id of the uploaded pipeline>"
EXPERIMENT_PLACEHOLDER = "<id of the experiment>"


class ScheduleError(UserError, ValueError):
    """A bad cron expression, pipeline file or parameter."""


def _field_is_valid(index: int, value: str) -> bool:
    """Whether one field is valid on its own, the others set to a neutral value."""
    from croniter import croniter

    fields = ["0", "0", "0", "*", "*", "*"]
    fields[index] = value
    return croniter.is_valid(" ".join(fields), second_at_beginning=True)


def validate_cron(expression: str) -> str:
    """Checks a KFP cron expression: six fields, seconds first, each within its range.

    Returns:
        The expression with its fields separated by single spaces.

    Raises:
        ScheduleError: naming the problem and the expected form.
    """
    from croniter import croniter

    fields = expression.split()
    expected = f"KFP takes six fields: {' '.join(CRON_FIELDS)}, e.g. '0 0 3 * * *' for 03:00:00 daily"
    if len(fields) != len(CRON_FIELDS):
        raise ScheduleError(f"invalid cron expression {expression!r}: {len(fields)} field(s); {expected}")
    normalized = " ".join(fields)
    if not croniter.is_valid(normalized, second_at_beginning=True):
        bad = [f"{name} {value!r}" for index, (name, value) in enumerate(zip(CRON_FIELDS, fields))
               if not _field_is_valid(index, value)]
        raise ScheduleError(f"invalid cron expression {expression!r}: bad "
                            f"{', '.join(bad) or 'combination of fields'}; {expected}")
    return normalized


def read_pipeline_job(path: str) -> dict:
    """The PipelineJob JSON written by `tfx-nmt compile-kubeflow`.

    Raises:
        ScheduleError: the file is missing, not JSON, or holds no `pipelineSpec`.
    """
    try:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
    except OSError as e:
        raise ScheduleError(f"cannot read the pipeline file {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ScheduleError(f"{path}, line {e.lineno}: not JSON ({e.msg}); expected the output of "
                            "tfx-nmt compile-kubeflow") from e
    if not isinstance(job, dict) or "pipelineSpec" not in job:
        raise ScheduleError(f"{path}: no 'pipelineSpec'; expected the output of tfx-nmt compile-kubeflow")
    return job


def _parameter_value(value: Any) -> Any:
    """A runtimeConfig value (`parameterValues` plain JSON, or legacy `{"stringValue": ...}`) as Python."""
    if isinstance(value, dict) and len(value) == 1:
        (kind, inner), = value.items()
        if kind in ("stringValue", "doubleValue"):
            return inner
        if kind == "intValue":
            return int(inner)
    return value


@dataclasses.dataclass(frozen=True)
class SchedulePlan:
    """What `schedule` uploads and creates.

    Attributes:
        pipeline_name: the KFP pipeline's name (from the spec).
        package_yaml: the pipeline spec as YAML (the form kfp 2.5 uploads).
        experiment: experiment name.
        job_name: the recurring run's name.
        cron: validated six-field cron expression.
        pipeline_root: where the runs write artifacts.
        parameters: runtime parameter values, by name.
        tasks: the spec's task names (for the dry-run printout).
    """

    pipeline_name: str
    package_yaml: str
    experiment: str
    job_name: str
    cron: str
    pipeline_root: Optional[str]
    parameters: Dict[str, Any]
    tasks: List[str]

    @property
    def version_name(self) -> str:
        """`<pipeline name>-<sha256 of the spec, 12 hex digits>`: a re-upload of the same spec is detected."""
        return f"{self.pipeline_name}-{hashlib.sha256(self.package_yaml.encode()).hexdigest()[:12]}"

    def recurring_run_arguments(self, experiment_id: str, pipeline_id: str, version_id: str) -> dict:
        """Keyword arguments of `kfp.Client.create_recurring_run`."""
        return {
            "experiment_id": experiment_id,
            "job_name": self.job_name,
            "cron_expression": self.cron,
            "pipeline_id": pipeline_id,
            "version_id": version_id,
            "params": dict(self.parameters),
            "pipeline_root": self.pipeline_root,
            "max_concurrency": 1,
            "no_catchup": True,
            "enabled": True,
        }

    def dry_run(self, host: str) -> dict:
        """The calls `execute` would make, as a JSON-serializable dict; contacts nothing."""
        return {
            "host": host,
            "dry_run": True,
            "requests": [
                {"call": "upload_pipeline", "pipeline_name": self.pipeline_name,
                 "if_pipeline_exists": {"call": "upload_pipeline_version",
                                        "pipeline_version_name": self.version_name},
                 "package": {"tasks": self.tasks,
                             "sha256": hashlib.sha256(self.package_yaml.encode()).hexdigest()}},
                {"call": "create_experiment", "name": self.experiment},
                {"call": "create_recurring_run",
                 "arguments": self.recurring_run_arguments(EXPERIMENT_PLACEHOLDER, PIPELINE_PLACEHOLDER,
                                                           VERSION_PLACEHOLDER)},
            ],
        }

    def execute(self, client) -> dict:
        """Uploads the pipeline (or a new version of it), gets the experiment, creates the recurring run.

        Args:
            client: a `kfp.Client`.

        Returns:
            {pipeline_id, version_id, experiment_id, recurring_run_id}.
        """
        with tempfile.TemporaryDirectory() as tmp:
            package = os.path.join(tmp, "pipeline.yaml")
            with open(package, "w", encoding="utf-8") as f:
                f.write(self.package_yaml)
            pipeline_id = client.get_pipeline_id(self.pipeline_name)
            if pipeline_id is None:
                pipeline_id = client.upload_pipeline(package, pipeline_name=self.pipeline_name).pipeline_id
                versions = client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
                version_id = versions.pipeline_versions[0].pipeline_version_id
            else:
                version_id = client.upload_pipeline_version(
                    package, self.version_name, pipeline_id=pipeline_id).pipeline_version_id
        experiment_id = client.create_experiment(self.experiment).experiment_id
        run = client.create_recurring_run(**self.recurring_run_arguments(experiment_id, pipeline_id, version_id))
        return {"pipeline_id": pipeline_id, "version_id": version_id, "experiment_id": experiment_id,
                "recurring_run_id": run.recurring_run_id}


def make_plan(pipeline_path: str, cron: str, experiment: str, job_name: Optional[str] = None,
              overrides: Optional[Dict[str, str]] = None) -> SchedulePlan:
    """Reads the compiled pipeline and validates the schedule.

    Args:
        pipeline_path: the `compile-kubeflow` output.
        cron: six-field cron expression.
        experiment: KFP experiment name.
        job_name: the recurring run's name; default `<pipeline name>-recurring`.
        overrides: runtime parameter values as strings, converted to the spec's parameter type.

    Raises:
        ScheduleError: bad cron, bad file, unknown parameter or a value of the wrong type.
    """
    cron = validate_cron(cron)
    job = read_pipeline_job(pipeline_path)
    spec = job["pipelineSpec"]
    name = spec.get("pipelineInfo", {}).get("name")
    if not name:
        raise ScheduleError(f"{pipeline_path}: the spec has no pipelineInfo.name")
    runtime = job.get("runtimeConfig", {})
    values = runtime.get("parameterValues") or runtime.get("parameters") or {}
    parameters = {k: _parameter_value(v) for k, v in values.items()}
    declared = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for key, text in (overrides or {}).items():
        if key not in declared:
            raise ScheduleError(f"unknown runtime parameter {key!r}; the pipeline has "
                                f"{', '.join(sorted(declared)) or 'none'}")
        kind = declared[key].get("parameterType") or declared[key].get("type")
        try:
            parameters[key] = {"NUMBER_DOUBLE": float, "DOUBLE": float, "NUMBER_INTEGER": int,
                               "INT": int}.get(kind, str)(text)
        except ValueError:
            raise ScheduleError(f"runtime parameter {key}: {text!r} is not a {kind}") from None
    return SchedulePlan(
        pipeline_name=name,
        package_yaml=yaml.safe_dump(spec, sort_keys=True),
        experiment=experiment,
        job_name=job_name or f"{name}-recurring",
        cron=cron,
        pipeline_root=runtime.get("gcsOutputDirectory"),
        parameters=parameters,
        tasks=sorted(spec.get("root", {}).get("dag", {}).get("tasks", {})),
    )
