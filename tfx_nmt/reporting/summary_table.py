"""The run summary (`run_summary.json`) as rows and as the console table that `tfx-nmt run` prints."""
from __future__ import annotations

from typing import Dict, List, Tuple

from tfx_nmt.scoring.scorers import SCORERS, ScorerRegistry


def summary_rows(summary: Dict, scorers: ScorerRegistry = SCORERS) -> List[Tuple[str, str]]:
    """(name, value) rows of the run's outcome and timings, for the console table and the HTML report;
    one row per metric of `scorers.metrics()`."""
    def number(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    rows = [
        ("preset", summary["preset"]),
        ("language pair", summary["language_pair"]),
        ("data span", _span(summary)),
        *((metric.label, number(summary.get(metric.name), metric.fmt)) for metric in scorers.metrics()),
        ("sacreBLEU", summary["sacrebleu_signature"] or "n/a"),
        ("blessed", f"{summary['blessed']} ({summary['blessing_reason']})"),
        ("pushed to", summary["pushed_model_dir"] or "not pushed"),
        ("train steps", number(summary["train_steps"], "d")),
        ("train tokens/s", number(summary["train_target_tokens_per_sec"], ".0f")),
    ]
    for split, counts in summary["num_examples"].items():
        rows.append((f"{split} pairs", f"{counts['before_cleaning']} -> {counts['after_cleaning']} after cleaning"))
    for component, seconds in summary["component_seconds"].items():
        rows.append((f"  {component}", "cached" if component in summary["cached_components"] else f"{seconds:.1f} s"))
    return rows


def _span(summary: Dict) -> str:
    """The span the run read (`span`, `span_version` of the run summary): "3", "3 version 2", "none" when the
    split patterns have no {SPAN} (TFX then records span 0), or "n/a"."""
    span = summary.get("span")
    if span is None:
        return "n/a"
    if "config" in summary and "{SPAN}" not in summary["config"]["train_pattern"]:
        return "none"
    version = summary.get("span_version")
    return str(span) if version is None else f"{span} version {version}"


def format_table(summary: Dict) -> str:
    """A short human-readable table of the run's outcome and timings."""
    rows = summary_rows(summary)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
