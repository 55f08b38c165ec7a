"""The whole DAG, once, on the `smoke` preset (a few hundred real Multi30k pairs)."""
import json
import math
import os
import subprocess
import sys

import pytest

from pipelines import component_ids
from corpora import read_corpus
from processes import REPO, fresh_python
from tfx_nmt import contract
from tfx_nmt.pipeline.presets import get_preset

SUMMARY_KEYS = {"bleu", "chrf", "perplexity", "sacrebleu_signature", "blessed", "pushed_model_dir",
                "train_target_tokens_per_sec", "component_seconds", "preset", "language_pair", "num_examples"}


def test_every_component_ran_and_summary_is_complete(smoke_run):
    output_dir, summary, _ = smoke_run
    assert SUMMARY_KEYS <= set(summary)
    assert set(summary["component_seconds"]) == set(component_ids(get_preset("smoke")))
    assert summary["cached_components"] == []
    for key in ("bleu", "chrf", "perplexity", "train_target_tokens_per_sec"):
        assert isinstance(summary[key], float) and math.isfinite(summary[key]), key
    assert all(math.isfinite(s) and s >= 0 for s in summary["component_seconds"].values())
    assert summary["preset"] == "smoke" and summary["language_pair"] == "en-de"
    assert summary["sacrebleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert summary["num_examples"]["train"]["before_cleaning"] == 400
    assert summary["num_examples"]["test"] == {"before_cleaning": 40, "after_cleaning": 40}
    assert summary["blessed"] is True
    assert summary["pushed_model_dir"].startswith(os.path.join(output_dir, "serving", "translator") + os.sep)


def test_evaluator_outputs(smoke_run):
    output_dir, summary, _ = smoke_run
    evaluator_dir = os.path.join(output_dir, "pipeline_root", contract.EVALUATOR)
    [metrics_dir] = [os.path.join(evaluator_dir, contract.EVALUATION, d)
                     for d in os.listdir(os.path.join(evaluator_dir, contract.EVALUATION))]
    with open(os.path.join(metrics_dir, contract.METRICS_FILE)) as f:
        metrics = json.load(f)
    assert metrics["candidate"]["bleu"] == summary["bleu"]
    # The first run has no baseline: the smoke preset's floor alone blesses it (significance rule, no test).
    assert metrics["blessing_rule"] == "significance" and metrics["significance"] is None
    assert metrics["decision"]["reason"] == f"BLEU {summary['bleu']:.2f} >= min_bleu 0.50; no baseline"
    interval = metrics["candidate"]["bleu_interval"]
    assert interval["low"] <= summary["bleu"] <= interval["high"] and summary["bleu_interval"] == interval
    assert summary["blessing_rule"] == "significance" and summary["blessing_p_value"] is None
    with open(os.path.join(metrics_dir, contract.HYPOTHESES_FILE)) as f:
        assert len(f.read().splitlines()) == 40
    [blessing_dir] = [os.path.join(evaluator_dir, contract.BLESSING, d)
                      for d in os.listdir(os.path.join(evaluator_dir, contract.BLESSING))]
    assert os.listdir(blessing_dir) == ["BLESSED"]


def test_pushed_model_translates_in_a_fresh_process(smoke_run):
    _, summary, _ = smoke_run
    result = fresh_python(f"""
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # noqa: F401
        model = tf.saved_model.load({summary["pushed_model_dir"]!r})
        outputs = model.signatures["serving_default"](
            text=tf.constant(["A man in a red shirt.", "Two dogs play in the snow.", "A girl is reading."]))
        allowed = {{"tensorflow", "tensorflow_text"}}
        ours = sorted(m for m in sys.modules if m.split(".")[0] in ("tfx_nmt", "tfx", "keras_hub", "keras"))
        print(json.dumps({{"translations": [t.decode() for t in outputs["translation"].numpy()],
                          "scores": outputs["log_probability_per_token"].numpy().tolist(), "modules": ours}}))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(out["translations"]) == 3
    assert all(t.strip() for t in out["translations"]), out["translations"]
    assert all(math.isfinite(s) and s <= 0 for s in out["scores"])
    assert not [m for m in out["modules"] if m.split(".")[0] in ("tfx_nmt", "tfx", "keras_hub")]


def test_evaluate_scores_the_pushed_model_as_the_evaluator_did(smoke_run, data_dir, tmp_path):
    # The SavedModel records its languages; `tfx-nmt evaluate` takes the target language from it.
    _, summary, _ = smoke_run
    settings_path = os.path.join(summary["pushed_model_dir"], contract.ASSETS_EXTRA_DIR,
                                 contract.TRANSLATION_SETTINGS_FILE)
    with open(settings_path) as f:
        assert json.load(f)["languages"] == {"source": "en", "target": "de"}
    pairs = read_corpus(data_dir, "en", "de", {"train": 1, "eval": 1, "test": 40})["test"]
    (tmp_path / "test.en").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    (tmp_path / "test.de").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tfx_nmt.cli", "evaluate", "--source", str(tmp_path / "test.en"), "--reference",
         str(tmp_path / "test.de"), "--model-dir", summary["pushed_model_dir"], "--batch-size", "16",
         "--json", str(tmp_path / "scores.json")], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "scores.json") as f:
        scores = json.load(f)
    assert scores["target_language"] == "de"
    assert scores["candidate"]["bleu"] == pytest.approx(summary["bleu"], abs=1e-9)
    assert scores["candidate"]["bleu_interval"] == summary["bleu_interval"]
    assert scores["candidate"]["perplexity"] == pytest.approx(summary["perplexity"], rel=1e-5)
    assert "BLEU " in result.stdout and "sent" in result.stderr  # The table; the progress bar on stderr.


def test_a_further_test_set_is_cleaned_like_the_test_split_and_scored_on_its_own(smoke_run):
    """The smoke run's data directory holds a hand-made `test_handmade` set beside test_2016_flickr
    (tests/support/extra_test_set.py): kept whole, normalized, translated and scored apart; blessing
    looks at the test split only."""
    from extra_test_set import EXTRA_TEST_PAIRS, EXTRA_TEST_SPLIT
    from tfx_nmt.components.translation_evaluator import read_pairs
    from tfx_nmt.scoring import translation_metrics
    from tfx_nmt.scoring.scorers import SCORERS
    from tfx_nmt.serving.clients import SavedModelClient
    from tfx_nmt.text.normalization import normalize

    output_dir, summary, _ = smoke_run
    artifacts = summary["artifacts"]
    sources = [normalize(s) for s, _ in EXTRA_TEST_PAIRS]
    references = [normalize(t) for _, t in EXTRA_TEST_PAIRS]
    assert sources[0] == "A woman reads a newspaper on the train."
    # Nothing dropped: not the copy, the blank pair or the pair of 1 and 9 words that train would lose.
    assert summary["num_examples"][EXTRA_TEST_SPLIT] == {"before_cleaning": 5, "after_cleaning": 5}
    cleaned = artifacts[contract.artifact_key(contract.TEXT_CLEANER, contract.CLEANED_EXAMPLES)]
    assert read_pairs(cleaned, EXTRA_TEST_SPLIT) == (sources, references)

    evaluation = artifacts[contract.artifact_key(contract.EVALUATOR, contract.EVALUATION)]
    with open(os.path.join(evaluation, contract.METRICS_FILE)) as f:
        metrics = json.load(f)
    with open(os.path.join(evaluation, contract.test_set_hypotheses_file(EXTRA_TEST_SPLIT)), encoding="utf-8") as f:
        hypotheses = f.read().splitlines()
    assert len(hypotheses) == 5 and hypotheses[2] == ""
    assert list(metrics["test_sets"]) == [EXTRA_TEST_SPLIT]
    entry = metrics["test_sets"][EXTRA_TEST_SPLIT]
    # Its scores are those of its own hypotheses and references (the blank reference left out), and its
    # perplexity that of its 4 non-empty references under the pushed model.
    expected = SCORERS.score_corpus(hypotheses, references, "de")
    assert expected["num_scored"] == 4 and expected["num_empty_references"] == 1
    for key, value in expected.items():
        assert entry[key] == (pytest.approx(value, nan_ok=True) if isinstance(value, float) else value), key
    scored = [(s, r) for s, r in zip(sources, references) if r]
    total, tokens = SavedModelClient(summary["pushed_model_dir"]).log_likelihood(
        [s for s, _ in scored], [r for _, r in scored], batch_size=8)
    assert entry["reference_tokens"] == tokens
    assert entry["perplexity"] == pytest.approx(translation_metrics.perplexity(total, tokens), rel=1e-4)
    assert entry["num_sentences"] == 5
    # The test split is still what is blessed on, and what the summary's headline metrics are.
    assert metrics["split"] == "test" and metrics["candidate"]["num_sentences"] == 40
    assert summary["bleu"] == metrics["candidate"]["bleu"]
    assert summary["test_sets"] == {EXTRA_TEST_SPLIT: {
        **{m.name: (entry[m.name] if math.isfinite(entry[m.name]) else None) for m in SCORERS.metrics()},
        "sacrebleu_signature": entry["bleu_signature"], "num_sentences": 5}}
    # Shown per set in the report.
    with open(os.path.join(output_dir, contract.RUN_REPORT_FILE), encoding="utf-8") as f:
        report = f.read()
    table = report.split('<table id="test-sets">')[1].split("</table>")[0]
    assert f"<td>{EXTRA_TEST_SPLIT}</td>" in table and '<td class="number">5</td>' in table
