"""Decoding with the trained smoke model on real Multi30k test sentences: the incremental cache gives the
same tokens as full recomputation, and each row of a batch is translated as if it were alone."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  The pushed SavedModel's SentencePiece ops.

from corpora import read_corpus
from finished_run import restore_run_model
from tfx_nmt.models import decoding
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text.tokenizers import SentencePieceTokenizer


@pytest.fixture(scope="module")
def test_sentences(data_dir):
    """The first 20 English sentences of the test split."""
    pairs = read_corpus(data_dir, "en", "de", {"train": 1, "eval": 1, "test": 20})["test"]
    return [source for source, _ in pairs]


@pytest.fixture(scope="module")
def smoke_module(smoke_run):
    """A TranslatorServingModule over the smoke model rebuilt in Python from the run's Model artifact."""
    run = restore_run_model(smoke_run[0])
    config = run.config
    return TranslatorServingModule(run.model, SentencePieceTokenizer(run.tokenizer_model), config.max_decode_length_a,
                                   config.max_decode_length_b, config.beam_size, config.length_penalty_alpha)


@pytest.fixture(scope="module")
def pushed_model(smoke_run):
    return tf.saved_model.load(smoke_run[1]["pushed_model_dir"])


def test_cache_gives_the_same_tokens_as_full_recomputation(smoke_module, test_sentences):
    model = smoke_module.model
    config = get_preset("smoke")
    source_ids = smoke_module.tokenize(tf.constant(test_sentences))["token_ids"]
    max_lengths = decoding.max_decode_lengths(source_ids, config.max_decode_length_a, config.max_decode_length_b,
                                              model.max_target_length)

    @tf.function
    def decode(use_cache):
        greedy, greedy_log_prob, greedy_tokens = decoding.greedy_decode(model, source_ids, max_lengths, use_cache)
        beam, beam_log_prob, beam_tokens = decoding.beam_decode(model, source_ids, max_lengths, config.beam_size,
                                                                config.length_penalty_alpha, use_cache)
        beam, beam_log_prob, beam_tokens = beam[:, 0], beam_log_prob[:, 0], beam_tokens[:, 0]
        return greedy, beam, greedy_tokens, beam_tokens, greedy_log_prob, beam_log_prob

    cached, recomputed = decode(True), decode(False)
    for with_cache, without_cache in zip(cached[:4], recomputed[:4]):
        np.testing.assert_array_equal(with_cache.numpy(), without_cache.numpy())
    for with_cache, without_cache in zip(cached[4:], recomputed[4:]):
        np.testing.assert_allclose(with_cache.numpy(), without_cache.numpy(), atol=1e-4)
    # The searches' own log-probabilities are those of teacher-forced scoring of their outputs, but for
    # the small probability the model gives to PAD: the searches never generate PAD and normalize without it.
    for output_ids, log_prob, num_tokens in ((cached[0], cached[4], cached[2]), (cached[1], cached[5], cached[3])):
        forced_log_prob, forced_tokens = decoding.sequence_log_probability(model, source_ids, output_ids)
        np.testing.assert_array_equal(num_tokens.numpy(), forced_tokens.numpy())
        assert np.all(log_prob.numpy() >= forced_log_prob.numpy())
        np.testing.assert_allclose(log_prob.numpy(), forced_log_prob.numpy(), rtol=1e-3)
    # Real outputs, not trivial ones: every row has generated tokens.
    lengths = np.sum(cached[0].numpy() != 0, axis=1)
    assert np.all(lengths > 3), lengths
    assert not np.array_equal(cached[0].numpy(), cached[1].numpy()[:, :cached[0].shape[1]])


def test_each_row_is_translated_as_if_alone(pushed_model, test_sentences):
    sentences = test_sentences + ["", "A dog."]
    for signature in ("serving_default", "translate_greedy"):
        function = pushed_model.signatures[signature]
        batch = function(text=tf.constant(sentences))
        for i, sentence in enumerate(sentences):
            alone = function(text=tf.constant([sentence]))
            assert alone["translation"].numpy()[0] == batch["translation"].numpy()[i], (signature, sentence)
            assert alone["log_probability_per_token"].numpy()[0] == pytest.approx(batch["log_probability_per_token"].numpy()[i], abs=1e-5)


def test_restored_model_translates_as_the_pushed_model(smoke_module, pushed_model, test_sentences):
    """`restore_run_model` rebuilds the weights the Trainer exported (benchmarks decode with it)."""
    text = tf.constant(test_sentences)
    restored = smoke_module.translate_greedy(text)["translation"].numpy().tolist()
    pushed = pushed_model.signatures["translate_greedy"](text=text)["translation"].numpy().tolist()
    assert restored == pushed
    assert len(set(restored)) > 1, restored
