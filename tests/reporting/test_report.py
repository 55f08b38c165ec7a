"""What a person sees after the session's `smoke` run: report.html, the model card, TensorBoard scalars and
progress lines; and the report in headless Chromium."""
import base64
import dataclasses
import html
import io
import json
import math
import os
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from headless_chromium import screenshot_page
from pipelines import component_ids
from tfx_nmt import contract
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.reporting import translation_analysis
from tfx_nmt.reporting.model_card import render_model_card
from tfx_nmt.reporting.report import render_report
from tfx_nmt.reporting.run_artifacts import MODEL_RUN, load_run_artifacts

CARD = contract.artifact_key(contract.MODEL_CARD_GEN, contract.MODEL_CARD)
REPORT = contract.artifact_key(contract.RUN_REPORT, contract.REPORT)
from tfx_nmt.reporting.training_curves import read_scalar_events, read_training_curves


class ReportPage(HTMLParser):
    """Tables (by id: rows of cell texts, header row first), image sources and links of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.images, self.links = {}, [], []
        self._table = self._row = self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag in ("link", "a", "script"):
            self.links.append(attrs.get("href") or attrs.get("src") or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def report(smoke_run):
    output_dir, summary, _ = smoke_run
    path = os.path.join(output_dir, contract.RUN_REPORT_FILE)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return path, text, ReportPage(text)


@pytest.fixture(scope="module")
def run_artifacts(smoke_run):
    return load_run_artifacts(smoke_run[1])


def test_the_run_writes_the_run_reports_page_with_the_seconds_of_each_component_and_prints_its_path(
        report, smoke_run, run_artifacts):
    path, text, page = report
    output_dir, summary, log = smoke_run
    # Built inside the DAG from the same artifacts: the executions' seconds are not known there yet.
    with open(os.path.join(summary["artifacts"][REPORT], contract.RUN_REPORT_FILE), encoding="utf-8") as f:
        assert f.read() == render_report(dataclasses.replace(
            run_artifacts, summary=dict(run_artifacts.summary, component_seconds={}, cached_components=[])))
    # After the run, the same page with the run summary from ML Metadata: every component's seconds, in the
    # order the components ran (run_summary.json sorts its keys).
    rows = dict((row[0], row[1]) for row in page.tables["run-summary"][1:])
    for component, seconds in summary["component_seconds"].items():
        assert rows[component] == ("cached" if component in summary["cached_components"] else f"{seconds:.1f} s")
    assert contract.TRAINER in rows and contract.RUN_REPORT in rows
    ran = [row[0] for row in page.tables["run-summary"][1:] if row[0] in summary["component_seconds"]]
    assert ran[0] == contract.EXAMPLE_GEN and ran[-1] == contract.RUN_REPORT
    in_order = {component: summary["component_seconds"][component] for component in ran}
    assert text == render_report(dataclasses.replace(
        run_artifacts, summary=dict(run_artifacts.summary, component_seconds=in_order)))
    assert re.search(rf"^Run report: {re.escape(path)}$", log, re.M)
    assert summary["component_seconds"][contract.RUN_REPORT] > 0


def test_report_images_are_embedded_pngs(report):
    _, text, page = report
    assert len(page.images) == 5  # Loss, learning rate, throughput, validation BLEU, BLEU by length.
    for source in page.images:
        assert source.startswith("data:image/png;base64,")
        data = base64.b64decode(source.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        image = Image.open(io.BytesIO(data))
        image.load()
        assert image.size == (560, 320)
    # Self-contained: nothing loaded from elsewhere.
    assert page.links == ["data:,"]
    assert not re.search(r"(src|href)=\"(https?:|file:|/)", text)


def test_report_tables_hold_the_run(report, smoke_run, run_artifacts):
    _, text, page = report
    _, summary, _ = smoke_run
    test_pairs = summary["num_examples"]["test"]["after_cleaning"]
    assert test_pairs == 40

    buckets = page.tables["length-buckets"]
    assert buckets[0] == ["source words", "sentences", "BLEU"]
    assert [row[0] for row in buckets[1:]] == ["1-10", "11-20", "21-30", "31+"]
    assert sum(int(row[1]) for row in buckets[1:]) == test_pairs
    expected = translation_analysis.scores_by_length_bucket(
        run_artifacts.sources, run_artifacts.references, run_artifacts.hypotheses, "de")
    assert [(row[1], row[2]) for row in buckets[1:]] == [
        (str(b.num_sentences), "n/a" if math.isnan(b.score) else f"{b.score:.2f}") for b in expected]

    best, worst = page.tables["best-samples"], page.tables["worst-samples"]
    assert best[0] == worst[0] == ["#", "chrF", "source", "reference", "translation"]
    assert len(best) == len(worst) == 6
    for row in best[1:] + worst[1:]:
        index = int(row[0]) - 1
        assert row[2:] == [run_artifacts.sources[index], run_artifacts.references[index],
                           run_artifacts.hypotheses[index]]
    assert float(best[1][1]) >= float(best[-1][1]) >= float(worst[-1][1]) >= float(worst[1][1])

    metrics = dict((row[0], row[1:]) for row in page.tables["metrics"][1:])
    interval = summary["bleu_interval"]
    # First run: no baseline column; the score with its 95 % interval.
    assert metrics["BLEU"] == [f"{summary['bleu']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}]"]
    assert list(metrics) == ["BLEU", "chrF", "chrF++", "TER", "perplexity"]
    assert "Blessing rule <code>significance</code>" in text
    assert "No baseline" in text
    assert summary["sacrebleu_signature"] in text

    cleaning = page.tables["cleaning"]
    assert cleaning[0][:3] == ["split", "input", "kept"]
    rows = {row[0]: row for row in cleaning[1:]}
    for split, counts in summary["num_examples"].items():
        assert rows[split][1:3] == [str(counts["before_cleaning"]), str(counts["after_cleaning"])]
        assert sum(int(c) for c in rows[split][3:]) == counts["before_cleaning"] - counts["after_cleaning"]

    summary_table = dict((row[0], row[1]) for row in page.tables["run-summary"][1:])
    assert summary_table["pushed to"] == summary["pushed_model_dir"]
    # The smoke run's split patterns have no {SPAN}: TFX's driver records span 0; the report says "none".
    assert summary["span"] == 0 and summary["span_version"] is None
    assert summary["input_fingerprint"].startswith("split:train,num_files:")
    assert summary_table["data span"] == "none"
    assert "Blessed: " + html.escape(summary["blessing_reason"]) in text


def test_report_compares_with_a_baseline_and_escapes_text(run_artifacts):
    candidate = run_artifacts.metrics["candidate"]
    baseline = dict(candidate, bleu=candidate["bleu"] + 1.5, chrf=candidate["chrf"] - 2.0)
    run = dataclasses.replace(
        run_artifacts, metrics=dict(run_artifacts.metrics, baseline=baseline),
        hypotheses=["<script>alert(1)</script> & co"] + run_artifacts.hypotheses[1:])
    page = ReportPage(render_report(run))
    metrics = {row[0]: row[1:] for row in page.tables["metrics"]}
    assert metrics["metric"] == ["this model", "baseline (latest blessed)", "difference"]
    # Scores with their intervals (the baseline here has the candidate's), then the difference.
    assert [value.split(" [")[0] for value in metrics["BLEU"]] == [
        f"{candidate['bleu']:.2f}", f"{candidate['bleu'] + 1.5:.2f}", "-1.50"]
    assert metrics["chrF"][2] == "+2.00"
    html_text = render_report(run)
    assert "<script>" not in html_text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html_text


def test_report_shows_cleaning_counts_per_rule_and_split_with_samples(run_artifacts):
    no_drops = dict.fromkeys(contract.INGEST_DROP_REASONS + contract.CLEANING_DROP_REASONS, 0)
    cleaning_report = {
        "train": {"input": 10, "kept": 5, "dropped": dict(no_drops, source_language=4, test_overlap=1)},
        "eval": {"input": 3, "kept": 2, "dropped": dict(no_drops, copy=1)},
        "test": {"input": 2, "kept": 2, "dropped": no_drops},
    }
    french = [{"line": n, "source": f"Un chien <{n}>.", "target": f"Ein Hund {n}."} for n in (2, 3, 5, 8)]
    samples = {"train": {"source_language": french,
                         "test_overlap": [{"line": 9, "source": "Two dogs.", "target": "Zwei Hunde."}]},
               "eval": {"copy": [{"line": 1, "source": "Hockey", "target": "Hockey"}]}, "test": {}}
    page = ReportPage(render_report(dataclasses.replace(run_artifacts, cleaning_report=cleaning_report,
                                                        rejected_samples=samples)))
    header, *rows = page.tables["cleaning"]
    assert header == ["split", "input", "kept", "dropped: invalid utf8", "dropped: tsv columns", "dropped: empty",
                      "dropped: too long", "dropped: length ratio", "dropped: copy", "dropped: test overlap",
                      "dropped: source language", "dropped: target language", "dropped: duplicate"]
    assert rows == [["train", "10", "5", "0", "0", "0", "0", "0", "0", "1", "4", "0", "0"],
                    ["eval", "3", "2", "0", "0", "0", "0", "0", "1", "0", "0", "0", "0"],
                    ["test", "2", "2", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"]]
    # The first three per split and reason, in the table's order of reasons.
    assert page.tables["cleaning-samples"] == [
        ["split", "reason", "line", "source", "target"],
        ["train", "test overlap", "9", "Two dogs.", "Zwei Hunde."],
        ["train", "source language", "2", "Un chien <2>.", "Ein Hund 2."],
        ["train", "source language", "3", "Un chien <3>.", "Ein Hund 3."],
        ["train", "source language", "5", "Un chien <5>.", "Ein Hund 5."],
        ["eval", "copy", "1", "Hockey", "Hockey"],
    ]


def test_model_card_names_the_cleaning_rules_of_the_run(run_artifacts):
    config = dict(run_artifacts.summary["config"], lid=False, drop_test_overlap=False)
    card = render_model_card(dataclasses.replace(run_artifacts, summary=dict(run_artifacts.summary, config=config)))
    assert ("before and after cleaning (train/eval pairs dropped when a side is empty, longer than 80 words, or "
            "the length ratio exceeds 3.0; or the target is a copy of the source; train pairs that repeat an earlier "
            "pair dropped; the test split is never filtered)") in card
    assert "py3langid" in render_model_card(run_artifacts)


def test_model_card_beside_the_pushed_model(smoke_run, run_artifacts):
    _, summary, _ = smoke_run
    path = os.path.join(summary["pushed_model_dir"], contract.ASSETS_EXTRA_DIR, contract.MODEL_CARD_FILE)
    with open(path, encoding="utf-8") as f:
        card = f.read()
    # The ModelCardGen's artifact, staged into the version by the Pusher, built before the push (so without
    # the pushed directory) from the same run's artifacts.
    with open(os.path.join(summary["artifacts"][CARD], contract.MODEL_CARD_FILE), encoding="utf-8") as f:
        assert f.read() == card
    assert card == render_model_card(dataclasses.replace(
        run_artifacts, summary=dict(run_artifacts.summary, pushed_model_dir=None)))
    assert card.startswith("---\nlanguage:\n- en\n- de\n")  # Hugging Face front matter (test_model_card.py)
    assert "\n---\n\n# Model card: translator (en to de)\n" in card
    assert f"- Pipeline run `{summary['pipeline_run_id']}`." in card
    interval = summary["bleu_interval"]
    assert (f"- BLEU {summary['bleu']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}] "
            f"(`{summary['sacrebleu_signature']}`)") in card
    assert "| train | 400 | 400 |\n| eval | 40 | 40 |\n| test | 40 | 40 |\n" in card
    for section in ("## Model", "## Languages", "## Data", "## Metrics", "## Usage", "## Intended use", "## Limits"):
        assert section in card
    assert "preset `smoke`" in card
    assert ("- Decoding: beam search (beam size 4, GNMT length penalty alpha 0.6, Wu et al. 2016) in "
            "`serving_default`, greedy in `translate_greedy`; outputs of at most min(64, ceil(1.5 x source "
            "tokens + 10)) tokens.\n") in card
    assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".")]  # No temp file.


def test_trainer_writes_tensorboard_scalars(smoke_run):
    _, summary, _ = smoke_run
    model_run = summary["artifacts"][MODEL_RUN]
    train = read_scalar_events(os.path.join(model_run, "train"))
    validation = read_scalar_events(os.path.join(model_run, "validation"))
    assert {"epoch_loss", "epoch_learning_rate", "epoch_target_tokens_per_sec", "epoch_step"} <= {
        e.tag for e in train}
    assert [e.value for e in train if e.tag == "epoch_step"] == [50.0, 100.0, 150.0]
    assert [e.step for e in validation if e.tag == "epoch_loss"] == [0, 1, 2]
    curves = read_training_curves(model_run)
    for series in (curves.train_loss, curves.validation_loss, curves.learning_rate, curves.target_tokens_per_sec,
                   curves.validation_bleu):
        assert [step for step, _ in series] == [50, 100, 150]
    with open(os.path.join(model_run, contract.TRAINING_STATS_FILE)) as f:
        stats = json.load(f)
    assert curves.train_loss[-1][1] == pytest.approx(stats["loss"], rel=1e-6)
    assert curves.validation_loss[-1][1] == pytest.approx(stats["val_loss"], rel=1e-6)
    assert curves.learning_rate[0][1] > curves.learning_rate[-1][1] > 0  # Past warm-up: decaying.


def test_run_log_shows_progress_of_every_component(smoke_run):
    _, summary, log = smoke_run
    validation_bleu = read_training_curves(summary["artifacts"][MODEL_RUN]).validation_bleu
    assert re.findall(r"Trainer: validation BLEU (\d+\.\d\d) on 16 sentences \(greedy\)", log) == [
        f"{bleu:.2f}" for _, bleu in validation_bleu]
    for component in component_ids(get_preset("smoke")):
        assert re.search(rf"^\d\d:\d\d:\d\d {component}: started$", log, re.M), component
        assert re.search(rf"^\d\d:\d\d:\d\d {component}: finished in \d+(s|m \d\ds)$", log, re.M), component
    assert re.search(r"SubwordTokenizer: test: 40 pairs tokenized, \d+\.\d source and \d+\.\d target tokens",
                     log)
    assert re.search(r"Run report: .*/report\.html$", log, re.M)


def test_report_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    path, _, _ = report
    screenshot, errors = screenshot_page("file://" + path)
    assert errors == []
    image = Image.open(io.BytesIO(screenshot))
    image.load()
    width, height = image.size
    assert width == 1280 and height > 2500  # The whole page: summary, charts, tables.
    assert len(image.convert("RGB").getcolors(1 << 20)) > 100  # Rendered text and charts, not a blank page.
    image.save(tmp_path / "report.png")


def test_headless_chromium_check_catches_console_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
                    '<img src="missing.png"><script>console.error("boom"); undefinedFunction();</script>'
                    "</body></html>")
    _, errors = screenshot_page(page.as_uri())
    assert any(e.startswith("console.error: ['boom']") for e in errors), errors
    assert any(e.startswith("exception: Uncaught") for e in errors), errors
    assert any("missing.png" in e for e in errors), errors
