"""Validation BLEU during training: the pairs it reads and the translations it scores, which must be the
serving model's greedy translations."""
import os

import keras
import numpy as np
import tensorflow as tf

from tfx_nmt.components.examples_io import split_uri
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.models.validation_bleu import ValidationBleu, read_validation_pairs
from tfx_nmt.scoring import translation_metrics
from tfx_nmt.text import subword
from tfx_nmt.text.tokenizers import SentencePieceTokenizer


def _write_tokenized(directory, pairs):
    os.makedirs(directory)
    with tf.io.TFRecordWriter(os.path.join(directory, "data.gz"), "GZIP") as writer:
        for ids, target in pairs:
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                "source_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
                "target": tf.train.Feature(bytes_list=tf.train.BytesList(value=[target.encode()])),
            })).SerializeToString())


def test_read_validation_pairs_skips_long_sources_and_pads(tmp_path):
    eval_dir = split_uri(str(tmp_path), "eval")
    _write_tokenized(eval_dir, [([2, 5, 6, 3], "eins"), ([2] + [7] * 10 + [3], "zu lang"), ([2, 8, 3], "zwei"),
                                ([2, 9, 9, 9, 3], "drei"), ([2, 4, 3], "vier")])
    source_ids, references = read_validation_pairs([os.path.join(eval_dir, "*")], 3, max_source_length=6)
    assert references == ["eins", "zwei", "drei"]
    np.testing.assert_array_equal(source_ids, [[2, 5, 6, 3, 0], [2, 8, 3, 0, 0], [2, 9, 9, 9, 3]])
    assert source_ids.dtype == np.int32


def test_validation_bleu_scores_the_serving_models_greedy_translations(spm_model):
    keras.utils.set_random_seed(0)  # Weights whose greedy outputs are non-empty for all three sources.
    encoder = subword.SubwordEncoder(spm_model)
    sources = ["A man in a red shirt.", "Two dogs play in the snow.", "A girl is reading a book on a bench."]
    references = ["Ein Mann in einem roten Hemd.", "Zwei Hunde spielen im Schnee.", "Ein Mädchen liest."]
    model = TransformerTranslator(vocabulary_size=encoder.vocabulary_size, d_model=32, num_encoder_layers=1,
                                  num_decoder_layers=1, num_heads=2, ff_dim=32, max_source_length=32,
                                  max_target_length=32)
    model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    ids = [encoder.encode(s) for s in sources]
    source_ids = np.zeros((len(ids), max(map(len, ids))), np.int32)
    for row, sentence_ids in zip(source_ids, ids):
        row[:len(sentence_ids)] = sentence_ids

    callback = ValidationBleu(source_ids, references, spm_model, 1.5, 10)
    callback.set_model(model)
    callback.on_train_begin()
    serving = TranslatorServingModule(model, SentencePieceTokenizer(spm_model), 1.5, 10)
    served = serving.translate_greedy(tf.constant(sources))
    expected = [t.decode() for t in served["translation"].numpy()]
    assert callback.translations() == expected
    assert all(expected), expected
    logs = {}
    callback.on_epoch_end(0, logs)
    assert logs["val_bleu"] == translation_metrics.corpus_bleu(expected, references).score
