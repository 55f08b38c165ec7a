"""Continuous training: warm start from the latest blessed model, baseline comparison, no push unless blessed.

The unit tests restore a real checkpoint into a fresh model. The end-to-end test makes three `smoke` runs
into one output directory: a first model; a second run with `--warm-start` that continues from the
first model's weights and step; a third with `min_bleu` above any reachable BLEU, which is not pushed.
"""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from processes import REPO
from tfx_nmt import contract
from tfx_nmt.config import RunConfig
from tfx_nmt.models.trainer import build_model, make_optimizer
from tfx_nmt.models.warm_start import (CHECKPOINT_DIR, SHAPE_FIELDS, STATE_FILE, RestoreWarmStart,
                                       plan_warm_start, write_model_checkpoint)

SHA_A, SHA_B = "a" * 64, "b" * 64
TINY = RunConfig(d_model=32, num_encoder_layers=1, num_decoder_layers=1, num_heads=2, ff_dim=64,
                 learning_rate=1e-2, warmup_steps=2)
INGEST = [contract.EXAMPLE_GEN, contract.STATISTICS_GEN, contract.SCHEMA_GEN, contract.EXAMPLE_VALIDATOR,
          contract.TEXT_CLEANER, contract.SUBWORD_TOKENIZER]


def tiny_batch():
    rng = np.random.default_rng(0)
    source = rng.integers(4, 50, (4, 7)).astype(np.int32)
    target = rng.integers(4, 50, (4, 6)).astype(np.int32)
    target[:, 0] = 2
    return {"source_ids": source, "target_in": target[:, :-1]}, target[:, 1:]


def trained_tiny_model(steps):
    model = build_model(TINY, vocabulary_size=50)
    model.compile(optimizer=make_optimizer(TINY))
    if steps:
        model.fit(tf.data.Dataset.from_tensors(tiny_batch()).repeat(), epochs=1, steps_per_epoch=steps, verbose=0)
    return model


def test_plan_warm_start_needs_the_same_tokenizer_and_shape(tmp_path):
    base = str(tmp_path / "model")
    write_model_checkpoint(trained_tiny_model(3), base, SHA_A, TINY.model_config())
    with open(os.path.join(base, CHECKPOINT_DIR, STATE_FILE)) as f:
        state = json.load(f)
    assert state["step"] == 3 and state["tokenizer_sha256"] == SHA_A and state["model_config"]["d_model"] == 32

    same = plan_warm_start(base, SHA_A, TINY.replace(dropout=0.3).model_config())
    assert same.checkpoint == os.path.join(base, CHECKPOINT_DIR, "ckpt") and same.initial_step == 3
    assert same.reason == "same tokenizer and shape; continuing from step 3"
    # The maximum lengths create no variable; the vocabulary is compared through the tokenizer's SHA-256.
    longer = plan_warm_start(base, SHA_A, TINY.replace(max_source_length=64, max_target_length=96,
                                                       vocabulary_size=4000).model_config())
    assert longer.checkpoint == same.checkpoint and longer.reason == same.reason
    assert SHAPE_FIELDS == ("d_model", "num_encoder_layers", "num_decoder_layers", "num_heads", "ff_dim",
                            "normalize_first", "tie_embeddings")
    other_tokenizer = plan_warm_start(base, SHA_B, TINY.model_config())
    assert other_tokenizer.checkpoint is None and other_tokenizer.initial_step == 0
    assert other_tokenizer.reason == "the tokenizer changed (base model's sha256 aaaaaaaaaaaa, this run's bbbbbbbbbbbb)"
    wider = plan_warm_start(base, SHA_A, TINY.replace(d_model=64, ff_dim=128).model_config())
    assert wider.checkpoint is None and wider.reason == "the model shape changed: d_model 32 -> 64, ff_dim 64 -> 128"
    untied = plan_warm_start(base, SHA_A, TINY.replace(tie_embeddings=False).model_config())
    assert untied.checkpoint is None and untied.reason == "the model shape changed: tie_embeddings True -> False"
    # A base model saved before `tie_embeddings` existed was tied.
    del state["model_config"]["tie_embeddings"]
    with open(os.path.join(base, CHECKPOINT_DIR, STATE_FILE), "w") as f:
        json.dump(state, f)
    assert plan_warm_start(base, SHA_A, TINY.model_config()).initial_step == 3
    assert plan_warm_start(None, SHA_A, TINY.model_config()).reason == "no blessed model in ML Metadata yet"
    assert plan_warm_start(str(tmp_path / "old"), SHA_A, TINY.model_config()).reason == \
        "the base model has no Format-Checkpoint/model_state.json"


def test_restore_gives_the_base_model_weights_and_step(tmp_path):
    base_model = trained_tiny_model(3)
    prefix = write_model_checkpoint(base_model, str(tmp_path), SHA_A, TINY.model_config())
    fresh = trained_tiny_model(0)
    fresh.optimizer.build(fresh.trainable_variables)
    assert not np.allclose(fresh.get_weights()[0], base_model.get_weights()[0])
    callback = RestoreWarmStart(prefix)
    callback.set_model(fresh)
    callback.on_train_begin()
    assert int(fresh.optimizer.iterations.numpy()) == 3
    for restored, original in zip(fresh.get_weights(), base_model.get_weights()):
        np.testing.assert_array_equal(restored, original)
    for restored, original in zip(fresh.optimizer.variables, base_model.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), keras.ops.convert_to_numpy(original))


def run_smoke(data_dir, output_dir, *flags):
    result = subprocess.run(
        [sys.executable, "-m", "tfx_nmt.cli", "run", "--preset", "smoke", "--data-dir", data_dir,
         "--output-dir", output_dir, *flags], capture_output=True, text=True, timeout=1200, cwd=REPO)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    with open(os.path.join(output_dir, contract.RUN_SUMMARY_FILE)) as f:
        summary = json.load(f)
    return {"summary": summary, "log": log, "versions": sorted(os.listdir(os.path.join(output_dir, "serving",
                                                                                      "translator")))}


def newest_output(output_dir, component, key, file_name):
    """The JSON file of the newest artifact of `component`'s output `key` (artifact dirs are execution ids)."""
    directory = os.path.join(output_dir, "pipeline_root", component, key)
    newest = max(os.listdir(directory), key=int)
    with open(os.path.join(directory, newest, file_name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory, data_dir):
    output_dir = str(tmp_path_factory.mktemp("continuous"))
    runs = []
    # The first two runs are too short for the smoke preset's blessing floor: they are blessed without one.
    for flags in (["--train-steps", "50", "--min-bleu", "0"],
                  ["--warm-start", "--train-steps", "50", "--min-bleu", "0"],
                  ["--warm-start", "--train-steps", "5", "--min-bleu", "101"]):
        run = run_smoke(data_dir, output_dir, *flags)
        run["stats"] = newest_output(output_dir, contract.TRAINER, contract.MODEL_RUN, contract.TRAINING_STATS_FILE)
        run["metrics"] = newest_output(output_dir, contract.EVALUATOR, contract.EVALUATION, contract.METRICS_FILE)
        runs.append(run)
    return output_dir, runs


@pytest.mark.pipeline_run
def test_second_run_starts_from_the_first_model(three_runs):
    output_dir, (first, second, _) = three_runs
    assert first["stats"]["steps"] == 50 and first["stats"]["initial_step"] == 0
    assert first["stats"]["warm_start"] is None
    assert first["summary"]["blessed"] is True and len(first["versions"]) == 1
    assert set(INGEST) <= set(second["summary"]["cached_components"])
    assert contract.TRAINER not in second["summary"]["cached_components"]
    warm_start = second["stats"]["warm_start"]
    assert warm_start["checkpoint"].startswith(os.path.join(output_dir, "pipeline_root", contract.TRAINER, contract.MODEL))
    assert warm_start["checkpoint"].endswith(os.path.join(CHECKPOINT_DIR, "ckpt"))
    assert warm_start["reason"] == "same tokenizer and shape; continuing from step 50"
    assert second["stats"]["initial_step"] == 50 and second["stats"]["steps"] == 100
    assert second["stats"]["tokenizer_sha256"] == first["stats"]["tokenizer_sha256"]
    assert "Warm start from " in second["log"]


@pytest.mark.pipeline_run
def test_evaluator_scores_the_baseline_on_the_same_test_split(three_runs):
    _, (first, second, _) = three_runs
    assert first["metrics"]["baseline"] is None
    baseline, candidate = second["metrics"]["baseline"], second["metrics"]["candidate"]
    # The baseline is the first model, scored again on the same 40 test sentences: the same scores.
    assert baseline["bleu"] == first["metrics"]["candidate"]["bleu"]
    assert baseline["chrf"] == pytest.approx(first["metrics"]["candidate"]["chrf"], rel=1e-9)
    assert baseline["perplexity"] == pytest.approx(first["metrics"]["candidate"]["perplexity"], rel=1e-6)
    assert baseline["perplexity"] != pytest.approx(candidate["perplexity"], rel=1e-6)
    assert baseline["num_sentences"] == candidate["num_sentences"] == 40
    assert second["summary"]["baseline_bleu"] == first["summary"]["bleu"]
    # The significance rule (the default): rejected only when significantly worse in the paired bootstrap test.
    significance = second["metrics"]["significance"]
    assert second["metrics"]["blessing_rule"] == "significance" and 0 < significance["p_value"] <= 1
    assert significance["candidate"]["score"] == candidate["bleu"] and significance["baseline"]["score"] == baseline["bleu"]
    assert second["summary"]["blessing_p_value"] == significance["p_value"]
    assert second["metrics"]["decision"]["blessed"] == (
        candidate["bleu"] >= baseline["bleu"] or significance["p_value"] >= 0.05)


@pytest.mark.pipeline_run
def test_a_model_below_min_bleu_is_not_pushed(three_runs):
    output_dir, (_, second, third) = three_runs
    assert third["summary"]["blessed"] is False and third["summary"]["pushed_model_dir"] is None
    assert third["metrics"]["decision"] == {
        "blessed": False, "reason": f"BLEU {third['metrics']['candidate']['bleu']:.2f} is below min_bleu 101.00"}
    assert third["versions"] == second["versions"]
    assert third["stats"]["steps"] - third["stats"]["initial_step"] == 5
