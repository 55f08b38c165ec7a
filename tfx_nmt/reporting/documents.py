"""Writes the documents of a finished run: `<output_dir>/report.html` always, and the model card into the
pushed version's `assets.extra/` when the model was pushed."""
from __future__ import annotations

import logging
from typing import Dict

from tfx_nmt.reporting.model_card import write_model_card
from tfx_nmt.reporting.report import write_report
from tfx_nmt.reporting.run_artifacts import load_run_artifacts

log = logging.getLogger(__name__)


def write_run_documents(summary: Dict, output_dir: str) -> Dict[str, str]:
    """Builds the report (and the model card) of the run described by `summary` (`run_summary.json`).

    Returns:
        {"report": path, "model_card": path (only when the model was pushed)}.

    Raises:
        LookupError / ValueError: as `run_artifacts.load_run_artifacts`.
    """
    run = load_run_artifacts(summary)
    paths = {"report": write_report(run, output_dir)}
    log.info("Run report: %s", paths["report"])
    if summary["pushed_model_dir"]:
        paths["model_card"] = write_model_card(run, summary["pushed_model_dir"])
        log.info("Model card: %s", paths["model_card"])
    return paths
