"""The `translate_n_best` signature of the pushed smoke model: its first hypothesis is `serving_default`'s, a
beam of one is greedy search, and every score is the teacher-forced rescoring of its hypothesis through the
`score` signature (the text's own tokens, teacher-forced), normalized as `serving_default`'s (log-probability
per token, EOS included)."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  The pushed SavedModel's SentencePiece ops.

from corpora import read_corpus
from finished_run import restore_run_model
from tfx_nmt.contract import N_BEST_SCORES_OUTPUT, N_BEST_SIGNATURE, N_BEST_TRANSLATIONS_OUTPUT
from tfx_nmt.models import decoding
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text.tokenizers import SentencePieceTokenizer


@pytest.fixture(scope="module")
def sentences(data_dir):
    """The first 20 English sentences of the test split, an empty one and a short one."""
    pairs = read_corpus(data_dir, "en", "de", {"train": 1, "eval": 1, "test": 20})["test"]
    return [source for source, _ in pairs] + ["", "A dog."]


@pytest.fixture(scope="module")
def pushed_model(smoke_run):
    return tf.saved_model.load(smoke_run[1]["pushed_model_dir"])


@pytest.fixture(scope="module")
def n_best(pushed_model, sentences):
    outputs = pushed_model.signatures[N_BEST_SIGNATURE](text=tf.constant(sentences))
    return ([[t.decode() for t in row] for row in outputs[N_BEST_TRANSLATIONS_OUTPUT].numpy()],
            outputs[N_BEST_SCORES_OUTPUT].numpy())


def test_the_first_hypothesis_is_serving_defaults_translation(pushed_model, sentences, n_best):
    translations, scores = n_best
    beam_size = get_preset("smoke").beam_size
    assert scores.shape == (len(sentences), beam_size) and scores.dtype == np.float32
    assert all(len(row) == beam_size for row in translations)
    best = pushed_model.signatures["serving_default"](text=tf.constant(sentences))
    assert [row[0] for row in translations] == [t.decode() for t in best["translation"].numpy()]
    np.testing.assert_allclose(scores[:, 0], best["log_probability_per_token"].numpy(), atol=1e-5)
    # The empty input: one hypothesis, empty, with score 0; the other slots unfilled.
    assert translations[-2] == [""] * beam_size
    assert scores[-2, 0] == 0.0 and np.all(np.isneginf(scores[-2, 1:]))
    # Real n-best lists: the other rows have several different hypotheses, each with a finite score.
    others = [i for i in range(len(sentences)) if sentences[i]]
    assert all(len({h for h, s in zip(translations[i], scores[i]) if math.isfinite(s)}) > 1 for i in others)
    assert all(t for i in others for t, s in zip(translations[i], scores[i]) if math.isfinite(s))


@pytest.fixture(scope="module")
def restored(smoke_run):
    """The smoke run's model rebuilt in Python from its Model artifact (`finished_run.restore_run_model`)."""
    return restore_run_model(smoke_run[0])


def serving_module(run, beam_size):
    """A TranslatorServingModule over `run`'s model with its decoding settings and `beam_size`."""
    config = run.config
    return TranslatorServingModule(run.model, SentencePieceTokenizer(run.tokenizer_model), config.max_decode_length_a,
                                   config.max_decode_length_b, beam_size, config.length_penalty_alpha)


def test_every_score_is_the_teacher_forced_rescoring_of_its_hypothesis(pushed_model, restored, sentences, n_best):
    """Through the `score` signature, for every hypothesis and for `serving_default`'s and `translate_greedy`'s
    outputs, also where the search generated pieces other than SentencePiece's segmentation of the text they
    spell (the smoke model spells "Meeeett" in pieces that the tokenizer joins differently): those are
    rescored on the text's own tokens, the others keep the search's score, which is teacher forcing on the
    hypothesis' tokens."""
    translations, scores = n_best
    config, model = restored.config, restored.model
    smoke_module = serving_module(restored, config.beam_size)
    source_ids = smoke_module.tokenize(tf.constant(sentences))["token_ids"]
    max_lengths = decoding.max_decode_lengths(source_ids, config.max_decode_length_a, config.max_decode_length_b,
                                              model.max_target_length)
    output_ids, _, num_tokens = decoding.beam_decode(model, source_ids, max_lengths, config.beam_size,
                                                     config.length_penalty_alpha)
    batch, beams, length = output_ids.shape
    assert [[t.decode() for t in row] for row in smoke_module.translate_n_best(tf.constant(sentences))[
        N_BEST_TRANSLATIONS_OUTPUT].numpy()] == translations
    rows = [(i, k) for i in range(batch) if sentences[i] for k in range(beams) if math.isfinite(scores[i, k])]
    rescored = pushed_model.signatures["score"](source=tf.constant([sentences[i] for i, _ in rows]),
                                                target=tf.constant([translations[i][k] for i, k in rows]))
    per_token = rescored["log_probability"].numpy() / rescored["num_tokens"].numpy()
    retokenized = smoke_module.tokenize(tf.constant([translations[i][k] for i, k in rows]))["token_ids"].numpy()
    canonical = [[t for t in output_ids.numpy()[i, k] if t] == [t for t in ids if t]
                 for (i, k), ids in zip(rows, retokenized)]
    # Both kinds occur, so that both ways of scoring are checked.
    assert 0 < sum(canonical) < len(rows), (sum(canonical), len(rows))
    rescored_rows = [not c for c in canonical]
    np.testing.assert_allclose(np.array([scores[i, k] for i, k in rows])[rescored_rows],
                               per_token[rescored_rows], rtol=1e-5)
    # The search never generates PAD and normalizes without it; teacher forcing keeps the model's small
    # probability of PAD: the same scores to 1e-3 (as for serving_default, tests/models/test_decoding.py).
    np.testing.assert_allclose(np.array([scores[i, k] for i, k in rows])[canonical], per_token[canonical], rtol=1e-3)
    forced, forced_tokens = decoding.sequence_log_probability(
        model, tf.repeat(source_ids, beams, axis=0), tf.reshape(output_ids, [batch * beams, length]))
    forced_per_token = (forced.numpy() / np.maximum(forced_tokens.numpy(), 1)).reshape(batch, beams)
    np.testing.assert_allclose([scores[i, k] for (i, k), c in zip(rows, canonical) if c],
                               [forced_per_token[i, k] for (i, k), c in zip(rows, canonical) if c], rtol=1e-3)
    assert [forced_tokens.numpy().reshape(batch, beams)[i, k] for (i, k), c in zip(rows, canonical) if c] == [
        num_tokens.numpy()[i, k] for (i, k), c in zip(rows, canonical) if c]
    # The one-best signatures report their translation's `score` figure too.
    text = [s for s in sentences if s]
    for signature in ("serving_default", "translate_greedy"):
        outputs = pushed_model.signatures[signature](text=tf.constant(text))
        again = pushed_model.signatures["score"](source=tf.constant(text), target=outputs["translation"])
        np.testing.assert_allclose(outputs["log_probability_per_token"].numpy(),
                                   again["log_probability"].numpy() / again["num_tokens"].numpy(), rtol=1e-3)


def test_a_beam_of_one_is_greedy_search(restored, sentences):
    module = serving_module(restored, 1)
    text = tf.constant(sentences)
    one_best = module.translate_n_best(text)
    greedy = module.translate_greedy(text)
    assert one_best[N_BEST_TRANSLATIONS_OUTPUT].shape == (len(sentences), 1)
    assert one_best[N_BEST_TRANSLATIONS_OUTPUT].numpy()[:, 0].tolist() == greedy["translation"].numpy().tolist()
    np.testing.assert_allclose(one_best[N_BEST_SCORES_OUTPUT].numpy()[:, 0],
                               greedy["log_probability_per_token"].numpy(), atol=1e-5)
