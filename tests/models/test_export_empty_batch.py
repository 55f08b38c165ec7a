"""The serving signatures take an empty batch (a TF Serving request with no instances): empty outputs."""
import tensorflow as tf

from random_translator import random_model

from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.text.tokenizers import SentencePieceTokenizer


def test_an_empty_batch_gives_empty_outputs(spm_model):
    tokenizer = SentencePieceTokenizer(spm_model)
    model = random_model(3, vocabulary_size=tokenizer.vocabulary_size)
    module = TranslatorServingModule(model, tokenizer, beam_size=2)
    empty = tf.constant([], tf.string)
    for function in (module.serve, module.translate_greedy):
        outputs = function(empty)
        assert outputs["translation"].shape == (0,) and outputs["log_probability_per_token"].shape == (0,)
    outputs = module.translate_n_best(empty)
    assert outputs["translations"].shape == (0, 2) and outputs["scores"].shape == (0, 2)
