import dataclasses
import inspect

import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt.config import ModelConfig, RunConfig
from tfx_nmt.models.schedules import InverseSquareRootSchedule
from tfx_nmt.models.transformer import TransformerTranslator, label_smoothed_nll


@pytest.fixture(scope="module")
def model():
    tf.random.set_seed(0)
    model = TransformerTranslator(vocabulary_size=50, d_model=32, num_encoder_layers=2, num_decoder_layers=2,
                                  num_heads=4, ff_dim=64, dropout=0.0)
    model({"source_ids": tf.constant([[2, 3]]), "target_in": tf.constant([[2, 3]])})
    return model


def _pad(ids, length):
    return tf.constant([ids + [0] * (length - len(ids))])


def test_decoder_logits_do_not_depend_on_padding(model):
    source, target = [2, 11, 12, 13, 14, 3], [2, 21, 22, 23]
    short = model({"source_ids": _pad(source, 8), "target_in": _pad(target, 8)})
    long = model({"source_ids": _pad(source, 32), "target_in": _pad(target, 32)})
    np.testing.assert_allclose(short[:, : len(target)], long[:, : len(target)], atol=1e-5)


@pytest.mark.parametrize("k", [0, 2, 4])
def test_decoder_is_causal(model, k):
    source = tf.constant([[2, 11, 12, 13, 3]])
    target = [2, 21, 22, 23, 24, 25, 26]
    changed = target[: k + 1] + [40 + i for i in range(len(target) - k - 1)]
    a = model({"source_ids": source, "target_in": tf.constant([target])})
    b = model({"source_ids": source, "target_in": tf.constant([changed])})
    np.testing.assert_allclose(a[:, : k + 1], b[:, : k + 1], atol=1e-6)
    assert not np.allclose(a[:, k + 1:], b[:, k + 1:], atol=1e-6)


def test_label_smoothed_loss_matches_the_formula():
    logits = tf.constant([[2.0, 0.0, 1.0], [0.5, 0.5, 0.5], [-1.0, 3.0, 0.0]])
    labels = tf.constant([2, 0, 1])
    log_probs = tf.nn.log_softmax(logits).numpy()
    expected = [0.9 * -log_probs[i, label] + 0.1 * -log_probs[i].mean() for i, label in enumerate([2, 0, 1])]
    np.testing.assert_allclose(label_smoothed_nll(labels, logits, 0.1).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(label_smoothed_nll(labels, logits, 0.0).numpy(),
                               [-log_probs[0, 2], -log_probs[1, 0], -log_probs[2, 1]], rtol=1e-6)
    # Any leading shape.
    np.testing.assert_allclose(label_smoothed_nll(labels[tf.newaxis], logits[tf.newaxis], 0.1).numpy(), [expected],
                               rtol=1e-6)


def test_the_loss_scores_the_non_padding_target_positions_only(model):
    inputs = {"source_ids": tf.constant([[2, 11, 12, 3], [2, 13, 3, 0]]),
              "target_in": tf.constant([[2, 21, 22], [2, 23, 0]])}
    labels = tf.constant([[21, 22, 3], [23, 3, 0]])
    logits, scored = model._scored_logits((inputs, labels), training=False)
    assert scored.numpy().tolist() == [21, 22, 3, 23, 3]
    full = model(inputs).numpy()
    np.testing.assert_allclose(logits.numpy(), full[[0, 0, 0, 1, 1], [0, 1, 2, 0, 1]], atol=1e-5)
    # The validation loss: the mean over the 5 real tokens of the label-smoothed loss of the full logits.
    log_probs = tf.nn.log_softmax(full).numpy()
    expected = np.mean([0.9 * -log_probs[b, t, labels[b, t]] + 0.1 * -log_probs[b, t].mean()
                        for b, t in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]])
    model.reset_metrics()
    logs = model.test_step((inputs, labels))
    np.testing.assert_allclose(float(logs["loss"]), expected, rtol=1e-5)
    assert float(logs["target_tokens"]) == 5.0
    model.reset_metrics()


def test_inverse_square_root_schedule():
    schedule = InverseSquareRootSchedule(1e-3, warmup_steps=100)
    # Steps are counted from 1: optimizer step 0 is schedule step 1.
    np.testing.assert_allclose(float(schedule(0)), 1e-5, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(99)), 1e-3, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(399)), 1e-3 * 0.5, rtol=1e-6)


def test_config_round_trip(model):
    rebuilt = TransformerTranslator.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()


def test_untied_output_projection_is_its_own_matrix(model):
    untied = TransformerTranslator.from_config({**model.get_config(), "tie_embeddings": False})
    inputs = {"source_ids": tf.constant([[2, 3]]), "target_in": tf.constant([[2, 3]])}
    untied(inputs)
    # One more [d_model, vocabulary_size] matrix: 32 x 50 weights.
    assert untied.count_params() - model.count_params() == 32 * 50
    assert tuple(untied.token_embedding.reverse_embeddings.shape) == (32, 50)
    assert not hasattr(model.token_embedding, "reverse_embeddings")
    assert untied.get_config()["tie_embeddings"] is False and model.get_config()["tie_embeddings"] is True
    untied.token_embedding.reverse_embeddings.assign(tf.zeros([32, 50]))
    np.testing.assert_array_equal(untied(inputs).numpy(), np.zeros([1, 2, 50], np.float32))


def test_arguments_are_the_model_config_and_label_smoothing(model):
    """One list of the model's shape: ModelConfig's fields, whose defaults are RunConfig's."""
    parameters = list(inspect.signature(TransformerTranslator).parameters.values())[:-1]  # Without **kwargs.
    names = [field.name for field in dataclasses.fields(ModelConfig)] + ["label_smoothing"]
    assert [parameter.name for parameter in parameters] == names
    assert set(names) <= set(model.get_config())
    run_defaults = {field.name: field.default for field in dataclasses.fields(RunConfig)}
    for parameter in parameters:
        assert parameter.default in (inspect.Parameter.empty, run_defaults[parameter.name]), parameter


def test_train_on_batch_counts_target_tokens_and_refuses_sample_weights():
    model = TransformerTranslator(vocabulary_size=50, d_model=16, num_encoder_layers=1, num_decoder_layers=1,
                                  num_heads=2, ff_dim=32, dropout=0.0)
    model.compile(optimizer="adam")
    inputs = {"source_ids": np.array([[2, 5, 6, 3], [2, 7, 3, 0]]), "target_in": np.array([[2, 8, 9], [2, 4, 0]])}
    labels = np.array([[8, 9, 3], [4, 3, 0]])
    first = model.train_on_batch(inputs, labels, return_dict=True)
    second = model.train_on_batch(inputs, labels, return_dict=True)
    assert float(first["target_tokens"]) == 5 and float(second["target_tokens"]) == 10  # a Sum over steps
    assert np.isfinite(float(second["loss"]))
    with pytest.raises(ValueError, match="sample weights"):
        model.train_on_batch(inputs, labels, sample_weight=np.ones(2))
