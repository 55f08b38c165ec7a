"""`<output_dir>/report.html`: one self-contained page (CSS inline, charts embedded as base64 PNG) that
shows a person what a run did and whether its model should ship.

Sections: the verdict (blessed, pushed); the run summary table; training and validation loss, learning
rate and throughput against optimizer steps; test metrics with their sacreBLEU signatures and the
comparison with the baseline model; BLEU by source-length bucket; the five best and five worst
translations by sentence chrF; the CleaningReport.
"""
from __future__ import annotations

import base64
import html
import math
import os
from typing import Dict, Iterable, List, Optional, Sequence

from tfx_nmt import files
from tfx_nmt.contract import CLEANING_DROP_REASONS, INGEST_DROP_REASONS, REJECTED_SAMPLES_FILE, RUN_REPORT_FILE
from tfx_nmt.reporting import plots, translation_analysis
from tfx_nmt.reporting.run_artifacts import RunArtifacts, ordered_splits
from tfx_nmt.scoring.scorers import SCORERS, format_with_interval
from tfx_nmt.reporting.summary_table import summary_rows
from tfx_nmt.text.display import shorten


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 74rem;
       color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.subtitle { color: #666; margin-top: 0; }
.verdict { padding: 0.7rem 1rem; border-radius: 6px; font-weight: 600; }
.blessed { background: #e3f4e1; border: 1px solid #7bbf72; }
.rejected { background: #fbe6e4; border: 1px solid #d9837a; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.85rem; word-break: break-all; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.charts img { border: 1px solid #eee; max-width: 100%; }
#best-samples td, #worst-samples td { max-width: 22rem; }
.wide { overflow-x: auto; max-width: 100%; }
"""


def _e(value) -> str:
    return html.escape(str(value))


def _number(value: Optional[float], fmt: str = ".2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _table(table_id: str, header: Sequence[str], rows: Iterable[Sequence], numeric: Iterable[int] = ()) -> str:
    """An HTML table with id `table_id` (tests and scripts find tables by id); cells are escaped,
    columns in `numeric` right-aligned."""
    numeric = set(numeric)
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="number">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _verdict(summary: Dict) -> str:
    if summary["blessed"]:
        pushed = summary["pushed_model_dir"]
        push = f"Pushed to <code>{_e(pushed)}</code>." if pushed else "Not pushed."
        return f'<p class="verdict blessed">Blessed: {_e(summary["blessing_reason"])}. {push}</p>'
    return f'<p class="verdict rejected">Not blessed: {_e(summary["blessing_reason"])}. Not pushed.</p>'


def _training_section(run: RunArtifacts) -> str:
    curves = run.curves
    charts = [
        _image(plots.line_chart_png({"training": curves.train_loss, "validation": curves.validation_loss},
                                    "Loss per target token", "cross-entropy (nats)"),
               "training and validation loss"),
        _image(plots.line_chart_png({"learning rate": curves.learning_rate}, "Learning rate", "learning rate"),
               "learning rate"),
        _image(plots.line_chart_png({"training": curves.target_tokens_per_sec}, "Training throughput",
                                    "target tokens / s"), "target tokens per second"),
    ]
    if curves.validation_bleu:
        sentences = run.summary["config"]["validation_bleu_sentences"]
        charts.append(_image(plots.line_chart_png({"validation": curves.validation_bleu},
                                                  f"Validation BLEU (greedy, {sentences} sentences)", "BLEU"),
                             "validation BLEU"))
    return ("<h2>Training</h2><p>One point per epoch (training loss averaged over the epoch's batches, "
            "label smoothing included; validation loss and BLEU at the epoch's end).</p>"
            f'<div class="charts">{"".join(charts)}</div>')


def _metrics_section(run: RunArtifacts) -> str:
    candidate, baseline = run.metrics["candidate"], run.metrics["baseline"]
    metrics = SCORERS.metrics(headline_only=True)

    def shown(entries: Dict, metric) -> str:
        return format_with_interval(metric, entries[metric.name], entries.get(f"{metric.name}_interval"))

    if baseline:
        rows = [(m.label, shown(candidate, m), shown(baseline, m),
                 _number(candidate[m.name] - baseline[m.name], "+" + m.fmt)) for m in metrics]
        table = _table("metrics", ("metric", "this model", "baseline (latest blessed)", "difference"), rows,
                       (1, 2, 3))
        comparison = "Compared with the baseline, the latest blessed model, on the same sentences."
    else:
        table = _table("metrics", ("metric", "this model"), [(m.label, shown(candidate, m)) for m in metrics], (1,))
        comparison = "No baseline: no model of this pipeline had been blessed before this run."
    thresholds, primary = run.metrics["thresholds"], SCORERS.primary
    rule = run.metrics.get("blessing_rule", "threshold")
    threshold, worse = ("&ge;", "below") if primary.higher_is_better else ("&le;", "above")
    if rule == "significance":
        comparing = (f"not significantly {worse} the baseline: rejected when {_e(primary.label)} is {worse} the "
                     f"baseline's and sacreBLEU's paired bootstrap test gives p &lt; {thresholds['max_p']:g}")
    else:
        comparing = f"at most {_number(thresholds['max_bleu_drop'])} {worse} the baseline"
    significance = run.metrics.get("significance")
    test = ""
    if significance:
        test = (f"<p>Paired bootstrap resampling ({significance['resamples']} resamples, seed "
                f"{_e(significance['seed'])}) of this model against the baseline on {_e(primary.label)}: "
                f"p = {significance['p_value']:.4f}.</p>")
    decision = run.metrics["decision"]
    signatures = ", ".join(f"{_e(s.label)} <code>{_e(candidate[s.signature_key])}</code>"
                           for s in SCORERS.values() if s.headline and s.signature_key)
    return (
        f'<h2>Test metrics ({_e(run.metrics["split"])} split, {candidate["num_sentences"]} sentences)</h2>'
        f"<p>{comparison} In brackets: 95 % confidence intervals by bootstrap resampling of the test "
        f"sentences (sacreBLEU). Blessing rule <code>{_e(rule)}</code>: {_e(primary.label)} {threshold} "
        f"{_number(thresholds['min_bleu'])} and {comparing}.</p>{table}{test}"
        f"<p>Decision: {'blessed' if decision['blessed'] else 'not blessed'} ({_e(decision['reason'])}).</p>"
        f"<p>sacreBLEU signatures: {signatures}</p>")


def _test_sets_section(run: RunArtifacts) -> str:
    """The candidate's headline metrics on every further test set (`metrics.json`'s `test_sets`); "" when
    there is none."""
    test_sets = run.metrics.get("test_sets") or {}
    if not test_sets:
        return ""
    metrics = SCORERS.metrics(headline_only=True)
    rows = [(split, entry["num_sentences"], *(_number(entry[m.name], m.fmt) for m in metrics))
            for split, entry in sorted(test_sets.items())]
    table = _table("test-sets", ("test set", "sentences", *(m.label for m in metrics)), rows,
                   range(1, 2 + len(metrics)))
    return ("<h2>Other test sets</h2><p>This model on the corpus directory's further test sets, cleaned like "
            f"the {_e(run.metrics['split'])} split (normalized, never filtered); blessing uses the "
            f"{_e(run.metrics['split'])} split only.</p>{table}")


def _buckets_section(run: RunArtifacts) -> str:
    scorer = SCORERS.primary
    buckets = translation_analysis.scores_by_length_bucket(run.sources, run.references, run.hypotheses,
                                                           run.summary["config"]["target"], scorer)
    rows = [(b.label, b.num_sentences, _number(b.score, scorer.fmt)) for b in buckets]
    title = f"{scorer.label} by source length"
    chart = plots.bar_chart_png([b.label for b in buckets], [b.score for b in buckets],
                                [f"{_number(b.score, '.1f')} (n={b.num_sentences})" for b in buckets],
                                title, "source length (words)", scorer.label)
    return (f"<h2>{_e(title)}</h2><p>Corpus {_e(scorer.label)} of the test pairs in each bucket of source "
            "length (whitespace-separated words).</p>"
            f'<div class="charts">{_table("length-buckets", ("source words", "sentences", scorer.label), rows, (1, 2))}'
            f'{_image(chart, title)}</div>')


def _samples_section(run: RunArtifacts) -> str:
    best, worst = translation_analysis.best_and_worst(run.sources, run.references, run.hypotheses, 5)

    def rows(samples):
        return [(s.index + 1, _number(s.chrf, ".1f"), shorten(s.source), shorten(s.reference), shorten(s.hypothesis))
                for s in samples]

    header = ("#", "chrF", "source", "reference", "translation")
    return ("<h2>Sample translations</h2><p>The five best and the five worst test translations by sentence "
            "chrF (# is the line in the test split).</p>"
            f"<h3>Best five</h3>{_table('best-samples', header, rows(best), (0, 1))}"
            f"<h3>Worst five</h3>{_table('worst-samples', header, rows(worst), (0, 1))}")


# Rejected pairs shown per split and reason (the CleaningReport keeps SAMPLE_SIZE of them).
CLEANING_SAMPLES_SHOWN = 3


def _cleaning_section(cleaning_report: Dict, rejected_samples: Dict) -> str:
    reasons = INGEST_DROP_REASONS + CLEANING_DROP_REASONS
    splits = ordered_splits(cleaning_report)
    rows = [[split, cleaning_report[split]["input"], cleaning_report[split]["kept"]]
            + [cleaning_report[split]["dropped"].get(r, 0) for r in reasons]
            for split in splits]
    header = ["split", "input", "kept"] + [f"dropped: {r.replace('_', ' ')}" for r in reasons]
    # Texts already cut to display length by the TextCleaner.
    samples = [(split, reason.replace("_", " "), sample["line"], sample["source"], sample["target"])
               for split in splits for reason in reasons
               for sample in rejected_samples.get(split, {}).get(reason, [])[:CLEANING_SAMPLES_SHOWN]]
    shown = (f"<p>The first {CLEANING_SAMPLES_SHOWN} dropped pairs per split and reason, as read (line: in the "
             f"split's files; more in <code>{_e(REJECTED_SAMPLES_FILE)}</code> of the CleaningReport).</p>"
             f"{_table('cleaning-samples', ('split', 'reason', 'line', 'source', 'target'), samples, (2,))}"
             if samples else "<p>No pair was dropped.</p>")
    return ("<h2>Data cleaning</h2><p>Pairs in and kept per split, and why the others were dropped (input = "
            "kept + dropped; the test split is normalized, never filtered).</p>"
            f'<div class="wide">{_table("cleaning", header, rows, range(1, len(header)))}</div>{shown}')


def render_report(run: RunArtifacts) -> str:
    """The report page of one run, as an HTML string (UTF-8, no external resources)."""
    summary = run.summary
    title = f"tfx-nmt run report: {summary['language_pair']}, preset {summary['preset']}"
    sections: List[str] = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="subtitle">Pipeline run <code>{_e(summary["pipeline_run_id"])}</code></p>',
        _verdict(summary),
        "<h2>Run summary</h2>",
        _table("run-summary", ("field", "value"), summary_rows(summary)),
        _training_section(run),
        _metrics_section(run),
        _test_sets_section(run),
        _buckets_section(run),
        _samples_section(run),
        _cleaning_section(run.cleaning_report, run.rejected_samples),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f"<style>{_STYLE}</style></head><body>{''.join(sections)}</body></html>\n")


def write_report(run: RunArtifacts, output_dir: str) -> str:
    """Writes `<output_dir>/report.html` atomically; returns its path."""
    path = os.path.join(output_dir, RUN_REPORT_FILE)
    files.write_text(path, render_report(run))
    return path
