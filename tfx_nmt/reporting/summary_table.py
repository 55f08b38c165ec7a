"""The run summary (`run_summary.json`) as rows and as the console table that `tfx-nmt run` prints."""
from __future__ import annotations

from typing import Dict, List, Tuple

from tfx_nmt.scoring.scorers import SCORERS, ScorerRegistry, format_with_interval


def summary_rows(summary: Dict, scorers: ScorerRegistry = SCORERS) -> List[Tuple[str, str]]:
    """(name, value) rows of the run's outcome and timings, for the console table and the HTML report;
    one row per metric of `scorers.metrics()`, with its 95 % interval when the summary has one, and per
    headline metric of each further test set (`test_sets`)."""
    def number(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    rows = [
        ("preset", summary["preset"]),
        ("language pair", summary["language_pair"]),
        ("data span", _span(summary)),
        *((metric.label, format_with_interval(metric, summary.get(metric.name), summary.get(f"{metric.name}_interval")))
          for metric in scorers.metrics()),
        ("sacreBLEU", summary["sacrebleu_signature"] or "n/a"),
        *((f"{split} {metric.label}", number(entry.get(metric.name), metric.fmt))
          for split, entry in summary.get("test_sets", {}).items() for metric in scorers.metrics(headline_only=True)),
        ("blessed", f"{summary['blessed']} ({summary['blessing_reason']})"),
        ("blessing rule", _rule(summary)),
        ("pushed to", summary["pushed_model_dir"] or "not pushed"),
        ("train steps", number(summary["train_steps"], "d")),
        ("train tokens/s", number(summary["train_target_tokens_per_sec"], ".0f")),
    ]
    for split, counts in summary["num_examples"].items():
        rows.append((f"{split} pairs", f"{counts['before_cleaning']} -> {counts['after_cleaning']} after cleaning"))
    for component, seconds in summary["component_seconds"].items():
        rows.append((f"  {component}", "cached" if component in summary["cached_components"] else f"{seconds:.1f} s"))
    return rows


def _rule(summary: Dict) -> str:
    """The blessing rule and, when a baseline was tested, the paired test's p-value."""
    rule = summary.get("blessing_rule") or "n/a"
    p_value = summary.get("blessing_p_value")
    return rule if p_value is None else f"{rule} (paired bootstrap p = {p_value:.4f})"


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
