"""Decoding with the trained smoke model on real Multi30k test sentences: the incremental cache gives the
same tokens as full recomputation, and each row of a batch is translated as if it were alone."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  The pushed SavedModel's SentencePiece ops.

from tfx_nmt.components import corpus
from tfx_nmt.components.subword_tokenizer import read_tokenizer_model
from tfx_nmt.models import decoding
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.trainer import build_model
from tfx_nmt.pipeline.presets import get_preset
from tfx_nmt.text.subword import SubwordEncoder


@pytest.fixture(scope="module")
def test_sentences(data_dir):
    """The first 20 English sentences of the test split."""
    pairs = corpus.read_corpus(data_dir, "en", "de", {"train": 1, "eval": 1, "test": 20})["test"]
    return [source for source, _ in pairs]


@pytest.fixture(scope="module")
def smoke_module(smoke_run):
    """A TranslatorServingModule over the smoke model rebuilt in Python from the Trainer's checkpoint."""
    output_dir, summary, _ = smoke_run
    [tokenizer_dir] = glob.glob(os.path.join(output_dir, "pipeline_root", "SubwordTokenizer", "tokenizer", "*"))
    tokenizer_model = read_tokenizer_model(tokenizer_dir)
    config = get_preset("smoke")
    model = build_model(config, SubwordEncoder(tokenizer_model).vocabulary_size)
    # The Trainer's last checkpoint (tfx_nmt.models.callbacks.CheckpointAndResume) holds the final weights;
    # training_stats.json says where it is.
    [stats_path] = glob.glob(os.path.join(output_dir, "pipeline_root", "Trainer", "model_run", "*",
                                          "training_stats.json"))
    with open(stats_path) as f:
        checkpoint_dir = json.load(f)["checkpoint_dir"]
    status = tf.train.Checkpoint(model=model).read(tf.train.latest_checkpoint(checkpoint_dir))
    status.expect_partial().assert_existing_objects_matched()
    return TranslatorServingModule(model, tokenizer_model, config.max_decode_length_a, config.max_decode_length_b,
                                   config.beam_size, config.length_penalty_alpha)


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
        greedy = decoding.greedy_decode(model, source_ids, max_lengths, use_cache)
        beam, log_prob, _ = decoding.beam_decode(model, source_ids, max_lengths, config.beam_size,
                                                 config.length_penalty_alpha, use_cache)
        return greedy, beam, log_prob

    cached, recomputed = decode(True), decode(False)
    for with_cache, without_cache in zip(cached[:2], recomputed[:2]):
        np.testing.assert_array_equal(with_cache.numpy(), without_cache.numpy())
    np.testing.assert_allclose(cached[2].numpy(), recomputed[2].numpy(), atol=1e-4)
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
            assert alone["score"].numpy()[0] == pytest.approx(batch["score"].numpy()[i], abs=1e-5)
