"""The model card's Hugging Face front matter and sections, on a hand-made run (exact values)."""
import yaml

from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.reporting.model_card import model_card_metadata, render_model_card
from tfx_nmt.reporting.run_artifacts import RunArtifacts

BLEU_SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
CHRF_SIGNATURE = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
CHRF_PLUS_PLUS_SIGNATURE = "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
TER_SIGNATURE = "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0"


def _interval(low, high):
    return {"low": low, "high": high, "mean": (low + high) / 2, "resamples": 1000, "seed": "12345"}


def _run(**config_overrides) -> RunArtifacts:
    config = get_preset("quick").replace(**config_overrides).training_config()
    summary = {
        "config": config, "preset": "quick", "pipeline_run_id": "run-1",
        "pushed_model_dir": None,  # The card is written before the push.
        "num_examples": {"train": {"before_cleaning": 29000, "after_cleaning": 28990},
                         "eval": {"before_cleaning": 1014, "after_cleaning": 1014},
                         "test": {"before_cleaning": 1000, "after_cleaning": 1000}},
        "train_steps": 2800, "train_seconds": 1380.0, "train_target_tokens_per_sec": 1622.4,
        "train_hardware": {"cpu": "AMD EPYC 7B13", "cpu_cores": 2, "gpus": [], "replicas": 1, "workers": 1},
        "train_finished_at": "2025-12-04T09:30:12+00:00",
        "blessed": True, "blessing_reason": "BLEU 30.79 >= 22.00",
    }
    candidate = {"bleu": 30.7912, "bleu_signature": BLEU_SIGNATURE, "bleu_interval": _interval(29.514, 32.0551),
                 "chrf": 58.123, "chrf_signature": CHRF_SIGNATURE, "chrf_interval": _interval(57.1, 59.2),
                 "chrf_plus_plus": 55.5, "chrf_plus_plus_signature": CHRF_PLUS_PLUS_SIGNATURE,
                 "chrf_plus_plus_interval": _interval(54.4, 56.6),
                 "ter": 50.25, "ter_signature": TER_SIGNATURE, "ter_interval": _interval(49.0, 51.5),
                 "perplexity": 5.5, "num_sentences": 1000, "bleu_lowercase_tokenized": 31.0}
    metrics = {"candidate": candidate, "baseline": None, "split": "test", "blessing_rule": "significance",
               "significance": None}
    return RunArtifacts(summary=summary, metrics=metrics, cleaning_report={}, rejected_samples={}, curves=None,
                        sources=[], references=[], hypotheses=[])


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    head, _, body = card[4:].partition("\n---\n")
    assert body.startswith("\n# Model card: translator (en to de)\n")
    return yaml.safe_load(head)


def test_front_matter_is_hugging_face_model_card_metadata():
    card = render_model_card(_run())
    metadata = _front_matter(card)
    assert metadata == model_card_metadata(_run())
    assert metadata["language"] == ["en", "de"]
    assert metadata["license"] == "unknown"
    assert metadata["datasets"] == ["bentrevett/multi30k"]
    assert metadata["metrics"] == ["bleu", "chrf", "chrf_plus_plus", "ter"]
    assert metadata["pipeline_tag"] == "translation"
    [model] = metadata["model-index"]
    assert model["name"] == "translator"
    [result] = model["results"]
    assert result["task"] == {"type": "translation", "name": "Translation en-de"}
    assert result["dataset"] == {"type": "bentrevett/multi30k", "name": "Multi30k task 1 (en-de)", "split": "test"}
    assert result["metrics"] == [
        {"type": "bleu", "value": 30.79, "name": "BLEU (sacreBLEU)",
         "args": {"signature": BLEU_SIGNATURE, "confidence_interval_95": [29.51, 32.06]}},
        {"type": "chrf", "value": 58.12, "name": "chrF (sacreBLEU)",
         "args": {"signature": CHRF_SIGNATURE, "confidence_interval_95": [57.1, 59.2]}},
        {"type": "chrf_plus_plus", "value": 55.5, "name": "chrF++ (sacreBLEU)",
         "args": {"signature": CHRF_PLUS_PLUS_SIGNATURE, "confidence_interval_95": [54.4, 56.6]}},
        {"type": "ter", "value": 50.25, "name": "TER (sacreBLEU)",
         "args": {"signature": TER_SIGNATURE, "confidence_interval_95": [49.0, 51.5]}}]
    # The metrics section: each score with its interval and signature.
    assert f"- BLEU 30.79 [29.51, 32.06] (`{BLEU_SIGNATURE}`)\n- chrF 58.12 [57.10, 59.20] (`{CHRF_SIGNATURE}`)" in card
    assert "- Blessing (rule `significance`): blessed (BLEU 30.79 >= 22.00)." in card


def test_card_has_data_terms_training_facts_and_usage():
    card = render_model_card(_run())
    assert ("- Trained 2800 steps (preset `quick`) in 23.0 minutes of training, at\n  1622 target tokens/s, on "
            "AMD EPYC 7B13 (2 cores, no GPU), 1 replica(s) in sync; training\n  finished 2025-12-04 09:30 UTC.") in card
    assert "### Licence and terms of the data\nMulti30k (Elliott et al. 2016" in card
    assert "Flickr30K" in card
    assert "curl -d '{\"instances\": [{\"text\": \"A man in a red shirt.\"}]}' \\\n" \
           "  http://localhost:8501/v1/models/translator:predict" in card
    assert "tfx-nmt translate --model-dir <this version directory>" in card
    for section in ("## Model", "## Languages", "## Data", "## Metrics", "## Usage", "## Intended use", "## Limits"):
        assert f"\n{section}\n" in card


def test_another_corpus_is_named_without_claiming_multi30k_terms():
    run = _run(dataset="wmt14", source="en", target="fr")
    run.summary["train_hardware"] = None
    card = render_model_card(run)
    head = yaml.safe_load(card[4:].partition("\n---\n")[0])
    assert head["datasets"] == ["wmt14"] and head["language"] == ["en", "fr"]
    assert head["model-index"][0]["results"][0]["dataset"]["type"] == "wmt14"
    assert "Multi30k" not in card and "the pipeline does not record its licence" in card
    assert "on hardware not recorded" in card


def test_card_counts_layers_in_the_singular_and_says_which_pairs_a_capped_run_read():
    card = render_model_card(_run(num_encoder_layers=1, num_decoder_layers=1))
    assert "d_model 128, 1 encoder layer and 1 decoder layer, " in card
    assert "the test split is never filtered):\n" in card
    card = render_model_card(_run(num_encoder_layers=2, num_decoder_layers=1, max_train_pairs=400,
                                  max_eval_pairs=40, max_test_pairs=40))
    assert "d_model 128, 2 encoder layers and 1 decoder layer, " in card
    assert ("the test split is never filtered), of the files only the first 400 train, 40 eval, 40 test pairs "
            "(`max_train_pairs`, `max_eval_pairs`, `max_test_pairs`):\n") in card
