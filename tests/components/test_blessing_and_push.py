"""TranslationEvaluator's blessing and the atomic Pusher, run through their real executors on a real
SavedModel (tests/support/echo_model.py: its translation is its input, so BLEU is known exactly)."""
import json
import math
import os

import keras
import pytest
import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.io.filesystem import NotFoundError
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from echo_model import save_echo_model
from processes import tree_hashes
from tf_examples import make_pair_example
from tfx_nmt import contract
from tfx_nmt.components.artifacts import ModelCard
from tfx_nmt.components.atomic_push import AtomicPushExecutor
from tfx_nmt.components.examples_io import split_uri
from tfx_nmt.components.translation_evaluator import TranslationEvaluator, evaluate_model
from tfx_nmt.config import RunConfig
from tfx_nmt.reporting.summary_table import summary_rows
from tfx_nmt.scoring.scorers import SCORERS, Scored, Scorer

REFS = ["the cat sat on the mat", "a dog ran in the park", "we like green tea very much"]
HYPS = ["the cat sat on the mat", "zebras eat blue hay every morning", "birds fly over tall dark hills"]


def _artifact(kind, uri, artifact_id=None):
    artifact = kind()
    artifact.uri = str(uri)
    os.makedirs(artifact.uri, exist_ok=True)
    if artifact_id is not None:
        artifact.id = artifact_id
    return artifact


def _examples(tmp_path, sources, references):
    examples = _artifact(standard_artifacts.Examples, tmp_path / "examples")
    examples.split_names = '["test"]'
    os.makedirs(split_uri(examples.uri, "test"))
    with tf.io.TFRecordWriter(os.path.join(split_uri(examples.uri, "test"), "data.gz"), "GZIP") as writer:
        for number in reversed(range(1, len(sources) + 1)):  # Out of order, as Beam may write them.
            writer.write(make_pair_example(number, sources[number - 1], references[number - 1]))
    return examples


@pytest.fixture(scope="module")
def echo_model(tmp_path_factory):
    model = _artifact(standard_artifacts.Model, tmp_path_factory.mktemp("model") / "model", artifact_id=7)
    save_echo_model(os.path.join(model.uri, "Format-Serving"))
    return model


def _evaluate(tmp_path, model, sources, references, **parameters):
    """Runs the TranslationEvaluator executor; returns (metrics.json, blessing files, blessing artifact,
    evaluation artifact)."""
    evaluation = _artifact(standard_artifacts.ModelEvaluation, tmp_path / "evaluation")
    blessing = _artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing")
    TranslationEvaluator.EXECUTOR_SPEC.executor_class().Do(
        {"examples": [_examples(tmp_path, sources, references)], "model": [model]},
        {"evaluation": [evaluation], "blessing": [blessing]},
        dict(parameters, batch_size=2))
    with open(os.path.join(evaluation.uri, contract.METRICS_FILE)) as f:
        metrics = json.load(f)
    return metrics, sorted(os.listdir(blessing.uri)), blessing, evaluation


def _push(tmp_path, model, blessing, **inputs):
    """Runs the atomic Pusher executor (`inputs`: infra_blessing, model_card); returns (serving base
    directory, PushedModel artifact)."""
    serving_dir = str(tmp_path / "serving" / "translator")
    pushed_model = _artifact(standard_artifacts.PushedModel, tmp_path / "pushed_model")
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_dir))
    AtomicPushExecutor().Do({"model": [model], "model_blessing": [blessing], **{k: [v] for k, v in inputs.items()}},
                            {"pushed_model": [pushed_model]},
                            {"push_destination": proto_utils.proto_to_json(destination)})
    return serving_dir, pushed_model


def _blessing(kind, uri, blessed):
    blessing = _artifact(kind, uri)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _model_card(tmp_path, text=None):
    card = _artifact(ModelCard, tmp_path / "model_card")
    if text is not None:
        (tmp_path / "model_card" / contract.MODEL_CARD_FILE).write_text(text)
    return card


def test_the_model_card_is_staged_into_the_version_before_the_rename(tmp_path, echo_model):
    blessing = _blessing(standard_artifacts.ModelBlessing, tmp_path / "blessing", True)
    card_text = "# Model card: translator (en to de)\n\nÜberall.\n"
    serving_dir, pushed_model = _push(tmp_path, echo_model, blessing, model_card=_model_card(tmp_path, card_text))
    [version] = os.listdir(serving_dir)
    pushed = tree_hashes(os.path.join(serving_dir, version))
    card = f"{contract.ASSETS_EXTRA_DIR}/{contract.MODEL_CARD_FILE}"
    with open(os.path.join(serving_dir, version, card), encoding="utf-8") as f:
        assert f.read() == card_text
    assert {p: h for p, h in pushed.items() if p != card} == tree_hashes(os.path.join(echo_model.uri, "Format-Serving"))


def test_a_card_that_cannot_be_staged_leaves_no_version_directory(tmp_path, echo_model):
    # The card is copied into the staging directory, before the rename: when that copy fails, no version
    # has appeared (a card copied after the rename would leave a version without its card).
    blessing = _blessing(standard_artifacts.ModelBlessing, tmp_path / "blessing", True)
    with pytest.raises(NotFoundError):
        _push(tmp_path, echo_model, blessing, model_card=_model_card(tmp_path))
    assert os.listdir(tmp_path / "serving" / "translator") == []


@pytest.mark.parametrize("model_blessed, infra_blessed, pushed", [
    (True, True, True), (True, False, False), (False, True, False)])
def test_with_an_infra_blessing_both_blessings_are_needed(tmp_path, echo_model, model_blessed, infra_blessed, pushed):
    serving_dir, pushed_model = _push(
        tmp_path, echo_model, _blessing(standard_artifacts.ModelBlessing, tmp_path / "blessing", model_blessed),
        infra_blessing=_blessing(standard_artifacts.InfraBlessing, tmp_path / "infra_blessing", infra_blessed),
        model_card=_model_card(tmp_path, "card\n"))
    assert pushed_model.get_int_custom_property("pushed") == int(pushed)
    assert (len(os.listdir(serving_dir)) == 1) if pushed else not os.path.exists(serving_dir)


def test_above_threshold_is_blessed_and_pushed_atomically(tmp_path, echo_model):
    metrics, files, blessing, _ = _evaluate(tmp_path, echo_model, HYPS, REFS, min_bleu=30.0)
    assert round(metrics["candidate"]["bleu"], 2) == 33.33
    assert metrics["decision"] == {"blessed": True, "reason": "BLEU 33.33 >= min_bleu 30.00; no baseline"}
    assert files == ["BLESSED"]
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("current_model_id") == 7
    # Hypotheses in the test file's line order, although the Examples were written in reverse.
    with open(os.path.join(tmp_path, "evaluation", contract.HYPOTHESES_FILE)) as f:
        assert f.read().splitlines() == HYPS
    # Perplexity of the echo model: every token has log-probability -1.
    assert metrics["candidate"]["perplexity"] == pytest.approx(math.e)
    # The keys of metrics.json (DESIGN.md, Contracts), those of the registry's scorers among them.
    assert set(metrics) == {"candidate", "baseline", "decision", "blessing_rule", "thresholds", "significance",
                            "split", "test_sets"}
    assert metrics["blessing_rule"] == "significance" and metrics["significance"] is None  # No baseline.
    assert metrics["test_sets"] == {}  # The Examples have no further test set.
    assert set(metrics["candidate"]) == {
        "bleu", "chrf", "chrf_plus_plus", "ter", "bleu_signature", "chrf_signature", "chrf_plus_plus_signature",
        "ter_signature", "bleu_interval", "chrf_interval", "chrf_plus_plus_interval", "ter_interval",
        "bleu_precisions", "brevity_penalty", "num_scored", "num_empty_references", "perplexity",
        "bleu_lowercase_tokenized", "reference_tokens", "num_sentences", "translate_seconds"}
    assert set(metrics["candidate"]["bleu_interval"]) == {"low", "high", "mean", "resamples", "seed"}
    assert metrics["candidate"]["reference_tokens"] == 21  # 18 words and 3 EOS.

    serving_dir, pushed_model = _push(tmp_path, echo_model, blessing)
    [version] = os.listdir(serving_dir)  # No staging directory left beside it.
    assert version.isdigit()
    assert pushed_model.get_int_custom_property("pushed") == 1
    assert pushed_model.get_string_custom_property("pushed_destination") == os.path.join(serving_dir, version)
    pushed = tree_hashes(os.path.join(serving_dir, version))
    assert pushed == tree_hashes(os.path.join(echo_model.uri, "Format-Serving"))
    assert {"saved_model.pb", "assets/vocabulary.txt", "variables/variables.index"} <= set(pushed)


def test_below_threshold_is_not_blessed_and_nothing_is_pushed(tmp_path, echo_model):
    metrics, files, blessing, _ = _evaluate(tmp_path, echo_model, HYPS, REFS, min_bleu=40.0)
    assert metrics["decision"] == {"blessed": False, "reason": "BLEU 33.33 is below min_bleu 40.00"}
    assert files == ["NOT_BLESSED"]
    assert blessing.get_int_custom_property("blessed") == 0
    serving_dir, pushed_model = _push(tmp_path, echo_model, blessing)
    assert pushed_model.get_int_custom_property("pushed") == 0
    assert not os.path.exists(serving_dir)


def test_no_threshold_configured_applies_the_documented_default(tmp_path, echo_model):
    # The component's default and RunConfig's default are the same documented value, 0.0.
    assert RunConfig().min_bleu == 0.0
    metrics, files, _, _ = _evaluate(tmp_path, echo_model, HYPS, REFS)
    assert (RunConfig().blessing_rule, RunConfig().max_p) == ("significance", 0.05)
    assert metrics["thresholds"] == {"min_bleu": 0.0, "max_bleu_drop": 1.0, "max_p": 0.05}
    assert metrics["blessing_rule"] == "significance"
    assert metrics["decision"] == {"blessed": True, "reason": "BLEU 33.33 >= min_bleu 0.00; no baseline"}
    assert files == ["BLESSED"]


@pytest.mark.parametrize("rule", ["significance", "threshold"])
def test_a_baseline_with_the_same_translations_is_not_significantly_different(tmp_path, echo_model, rule):
    # The baseline is the same echo model: the same translations, p-value 1, blessed by either rule.
    evaluation = _artifact(standard_artifacts.ModelEvaluation, tmp_path / "evaluation")
    blessing = _artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing")
    TranslationEvaluator.EXECUTOR_SPEC.executor_class().Do(
        {"examples": [_examples(tmp_path, HYPS, REFS)], "model": [echo_model], "baseline_model": [echo_model]},
        {"evaluation": [evaluation], "blessing": [blessing]}, {"batch_size": 2, "blessing_rule": rule})
    with open(os.path.join(evaluation.uri, contract.METRICS_FILE)) as f:
        metrics = json.load(f)
    significance = metrics["significance"]
    assert significance["test"] == "paired_bootstrap" and significance["p_value"] == 1.0
    assert significance["candidate"]["score"] == significance["baseline"]["score"] == metrics["candidate"]["bleu"]
    assert significance["candidate"]["interval"] == significance["baseline"]["interval"]
    assert (significance["resamples"], significance["seed"]) == (1000, "12345")
    assert metrics["blessing_rule"] == rule and blessing.get_int_custom_property("blessed") == 1
    assert metrics["decision"]["reason"] == {
        "significance": "BLEU 33.33 >= min_bleu 0.00 and not below the baseline's 33.33 (paired bootstrap p = 1.0000)",
        "threshold": "BLEU 33.33 >= min_bleu 0.00 and not below the baseline's 33.33"}[rule]


def test_bleu_nan_is_not_blessed(tmp_path, echo_model):
    # Every reference empty: nothing to score, BLEU NaN, a NOT_BLESSED blessing all the same.
    metrics, files, blessing, evaluation = _evaluate(tmp_path, echo_model, ["a b", "c"], ["", " "])
    assert math.isnan(metrics["candidate"]["bleu"])
    assert metrics["candidate"]["num_empty_references"] == 2
    assert metrics["decision"]["blessed"] is False
    assert files == ["NOT_BLESSED"]
    assert blessing.get_int_custom_property("blessed") == 0
    # ML Metadata gets the finite metrics only: its SQLite store refuses NaN ("no such column: nan").
    finite = {name for name in ("bleu", "chrf", "perplexity") if math.isfinite(metrics["candidate"][name])}
    assert "bleu" not in finite and set(evaluation.mlmd_artifact.custom_properties) == finite
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(tmp_path / "metadata.sqlite")
    store = metadata_store.MetadataStore(connection)
    evaluation.mlmd_artifact.type_id = store.put_artifact_type(evaluation.artifact_type)
    [stored] = store.get_artifacts_by_id(store.put_artifacts([evaluation.mlmd_artifact]))
    assert set(stored.custom_properties) == finite


def test_empty_test_split_does_not_crash_and_is_not_blessed(tmp_path, echo_model):
    metrics, files, _, _ = _evaluate(tmp_path, echo_model, [], [])
    assert metrics["candidate"]["num_sentences"] == 0 and math.isnan(metrics["candidate"]["bleu"])
    assert metrics["decision"] == {
        "blessed": False, "reason": "BLEU is not a number (empty test split or nothing scored)"}
    assert files == ["NOT_BLESSED"]


def test_push_failing_half_way_leaves_no_version_directory(tmp_path):
    model = _artifact(standard_artifacts.Model, tmp_path / "model", artifact_id=3)
    export_dir = save_echo_model(os.path.join(model.uri, "Format-Serving"))
    # A file that cannot be read: the copy fails after saved_model.pb's siblings were copied.
    os.symlink(str(tmp_path / "nowhere"), os.path.join(export_dir, "variables", "zz_unreadable"))
    blessing = _artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing")
    blessing.set_int_custom_property("blessed", 1)
    with pytest.raises(NotFoundError):
        _push(tmp_path, model, blessing)
    # The staging directory (under the base directory) was created and removed; no version directory.
    serving_dir = tmp_path / "serving" / "translator"
    assert serving_dir.exists() and os.listdir(serving_dir) == []


def test_bleu_is_computed_on_detokenized_text(tmp_path, spm_model):
    import sacrebleu

    from tfx_nmt.models.export import TranslatorServingModule, export_serving_model
    from tfx_nmt.models.transformer import TransformerTranslator
    from tfx_nmt.text.subword import SubwordEncoder
    from tfx_nmt.text.tokenizers import SentencePieceTokenizer

    # An untrained model emits arbitrary pieces, most of them with the SentencePiece word marker. Keras's own
    # seed, not only TensorFlow's: the weights must not depend on what earlier tests drew.
    keras.utils.set_random_seed(1)
    model = TransformerTranslator(vocabulary_size=SubwordEncoder(spm_model).vocabulary_size, d_model=16,
                                  num_encoder_layers=1, num_decoder_layers=1, num_heads=2, ff_dim=16)
    export_dir = export_serving_model(TranslatorServingModule(model, SentencePieceTokenizer(spm_model), 1.0, 6),
                                      str(tmp_path / "model"), "translator")
    sources = ["A man in a red shirt.", "Two dogs play.", "A girl reads a book in the park."]
    references = ["Ein Mann in einem roten Hemd.", "Zwei Hunde spielen.", "Ein Mädchen liest im Park."]
    metrics, hypotheses = evaluate_model(export_dir, sources, references, batch_size=2, target_language="de")
    assert any(h.strip() for h in hypotheses)
    assert not any("\u2581" in h for h in hypotheses), hypotheses
    assert metrics["bleu"] == sacrebleu.corpus_bleu(hypotheses, [references]).score


def test_a_registered_scorer_reaches_the_evaluators_metrics_and_the_summary_rows(echo_model):
    def word_ratio(hypotheses, references, language):
        return Scored(sum(len(h.split()) for h in hypotheses) / sum(len(r.split()) for r in references),
                      signature=f"words|lang:{language}")

    scorers = SCORERS.with_scorer(Scorer(name="word_ratio", label="words hyp/ref", score=word_ratio, fmt=".3f"))
    metrics, hypotheses = evaluate_model(os.path.join(echo_model.uri, "Format-Serving"), HYPS, REFS,
                                         batch_size=2, target_language="de", scorers=scorers)
    assert hypotheses == HYPS
    assert metrics["word_ratio"] == pytest.approx(1.0) and metrics["word_ratio_signature"] == "words|lang:de"
    assert round(metrics["bleu"], 2) == 33.33  # The registry's own scorers as before.
    summary = {"preset": "smoke", "language_pair": "en-de", "sacrebleu_signature": metrics["bleu_signature"],
               "blessed": True, "blessing_reason": "r", "pushed_model_dir": None, "train_steps": None,
               "train_target_tokens_per_sec": None, "num_examples": {}, "component_seconds": {},
               "cached_components": [], **{m.name: metrics[m.name] for m in scorers.metrics()}}
    rows = summary_rows(summary, scorers)
    assert rows[2] == ("data span", "n/a")  # No span in the summary: not a file-based span run.
    assert rows[3:11] == [("BLEU", "33.33"), ("BLEU lc tok", "33.33"), ("chrF", f"{metrics['chrf']:.2f}"),
                          ("chrF++", f"{metrics['chrf_plus_plus']:.2f}"), ("TER", f"{metrics['ter']:.2f}"),
                          ("words hyp/ref", "1.000"), ("perplexity", "2.72"), ("sacreBLEU", metrics["bleu_signature"])]
