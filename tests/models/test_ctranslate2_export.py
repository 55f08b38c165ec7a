"""The CTranslate2 export of a TransformerTranslator: the same per-token log-probabilities as the Keras model
(pre-norm and post-norm, tied and untied output projection), the files of the export directory, the
SavedModel round trip of `export-ctranslate2`, and the refusal of models the spec cannot hold."""
import dataclasses
import json
import os

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt import contract
from tfx_nmt.cli import main
from tfx_nmt.config import ModelConfig
from tfx_nmt.models import ctranslate2_export
from tfx_nmt.models.transformer import TransformerTranslator
from tfx_nmt.text.subword import SubwordEncoder

SOURCES = ["A man in a red shirt.", "Two dogs play in the snow.", "hello 😀 world"]
TARGETS = ["Ein Mann in einem roten Hemd.", "Zwei Hunde spielen im Schnee.", "Hallo Welt"]
DECODING = {"max_decode_length_a": 1.5, "max_decode_length_b": 10, "beam_size": 4, "length_penalty_alpha": 0.6}


def _model(vocabulary_size, seed=7, **shape):
    keras.utils.set_random_seed(seed)
    arguments = dict(vocabulary_size=vocabulary_size, d_model=32, num_encoder_layers=2, num_decoder_layers=2,
                     num_heads=4, ff_dim=64, max_source_length=40, max_target_length=40)
    arguments.update(shape)
    model = TransformerTranslator(**arguments)
    model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    return model


def _settings(model):
    return {"model": {f.name: getattr(model, f.name) for f in dataclasses.fields(ModelConfig)}, "decoding": DECODING}


def _keras_log_probs(model, source_ids, target_ids):
    """Teacher-forced log-probability of each target token after BOS (EOS included), from Keras."""
    logits = model({"source_ids": tf.constant([source_ids]), "target_in": tf.constant([target_ids[:-1]])})
    log_probs = tf.nn.log_softmax(logits)[0].numpy()
    return [log_probs[i, token] for i, token in enumerate(target_ids[1:])]


@pytest.mark.parametrize("shape", [{}, {"normalize_first": False}, {"tie_embeddings": False}],
                         ids=["pre_norm", "post_norm", "untied"])
def test_per_token_log_probabilities_equal_the_keras_models(spm_model, tmp_path, shape):
    import ctranslate2

    encoder = SubwordEncoder(spm_model)
    model = _model(encoder.vocabulary_size, **shape)
    output = str(tmp_path / "ct2")
    assert ctranslate2_export.export_ctranslate2(model, spm_model, _settings(model), output) == output
    assert sorted(os.listdir(output)) == sorted(["model.bin", "config.json", "shared_vocabulary.json",
                                                 contract.TOKENIZER_MODEL_FILE, contract.TRANSLATION_SETTINGS_FILE])
    with open(os.path.join(output, contract.TRANSLATION_SETTINGS_FILE)) as f:
        settings = json.load(f)
    assert settings["decoding"] == DECODING and settings["model"]["d_model"] == 32
    assert settings["ctranslate2"] == {"quantization": "none", "compute_type": "float32", "intra_threads": 0}
    with open(os.path.join(output, "config.json")) as f:
        config = json.load(f)
    assert config["layer_norm_epsilon"] == 1e-5
    assert (config["bos_token"], config["eos_token"], config["decoder_start_token"]) == ("<s>", "</s>", "<s>")
    vocabulary = encoder.vocabulary()
    translator = ctranslate2.Translator(output)
    sources = [encoder.encode(s) for s in SOURCES]
    targets = [encoder.encode(t) for t in TARGETS]
    results = translator.score_batch([[vocabulary[i] for i in s] for s in sources],
                                     [[vocabulary[i] for i in t[1:-1]] for t in targets])
    for source, target, result in zip(sources, targets, results):
        expected = _keras_log_probs(model, source, target)
        assert len(result.log_probs) == len(target) - 1  # The pieces and EOS.
        np.testing.assert_allclose(result.log_probs, expected, atol=1e-4)


def test_export_refuses_an_existing_directory_and_unknown_quantization(spm_model, tmp_path):
    model = _model(SubwordEncoder(spm_model).vocabulary_size)
    with pytest.raises(FileExistsError):
        ctranslate2_export.export_ctranslate2(model, spm_model, _settings(model), str(tmp_path))
    with pytest.raises(ValueError, match="quantization must be one of"):
        ctranslate2_export.export_ctranslate2(model, spm_model, _settings(model), str(tmp_path / "x"), "int4")


def test_models_the_spec_cannot_hold_are_refused(spm_model, tmp_path):
    size = SubwordEncoder(spm_model).vocabulary_size
    wrong_vocabulary = _model(size + 5)
    with pytest.raises(ctranslate2_export.UnsupportedModelError,
                       match=f"the vocabulary has {size} pieces but the model's embedding {size + 5} rows"):
        ctranslate2_export.export_ctranslate2(wrong_vocabulary, spm_model, _settings(wrong_vocabulary),
                                              str(tmp_path / "a"))
    gelu = _model(size)
    gelu.encoder_layers[1] = keras_hub.layers.TransformerEncoder(64, 4, activation="gelu", normalize_first=True)
    gelu.encoder_layers[1].build([None, None, 32])
    with pytest.raises(ctranslate2_export.UnsupportedModelError,
                       match="encoder layer 1: feed-forward activation gelu; the CTranslate2 export supports ReLU"):
        ctranslate2_export.export_ctranslate2(gelu, spm_model, _settings(gelu), str(tmp_path / "b"))
    epsilon = _model(size)
    epsilon.decoder_norm.epsilon = 1e-6
    with pytest.raises(ctranslate2_export.UnsupportedModelError, match=r"epsilons \[1e-06, 1e-05\]"):
        ctranslate2_export.export_ctranslate2(epsilon, spm_model, _settings(epsilon), str(tmp_path / "c"))
    assert not [name for name in os.listdir(tmp_path)]  # Nothing written, no scratch directory left.


def test_export_command_converts_a_saved_model_and_reports_bad_directories(spm_model, tmp_path, capsys):
    """`export-ctranslate2` restores the Keras weights from a SavedModel's variables (the encoder and decoder
    stacks included) and its assets.extra settings; bad directories are one error line."""
    from tfx_nmt.models.export import TranslatorServingModule, export_serving_model
    from tfx_nmt.text.tokenizers import SentencePieceTokenizer

    model = _model(SubwordEncoder(spm_model).vocabulary_size)
    # Trained, as the Trainer's: the SavedModel then reaches the stacks' variables through the optimizer.
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.train_on_batch({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])},
                         tf.constant([[5, 3]]))
    saved_model = str(tmp_path / "1")
    export_serving_model(TranslatorServingModule(model, SentencePieceTokenizer(spm_model), beam_size=3), saved_model,
                         "translator")
    restored, tokenizer_model, settings = ctranslate2_export.restore_saved_model(saved_model)
    assert tokenizer_model == spm_model
    # No languages given to the serving module: recorded as unknown.
    assert settings == {"model": _settings(model)["model"], "decoding": {**DECODING, "beam_size": 3},
                        "languages": {"source": None, "target": None}}
    by_path = {v.path.split("/", 1)[1]: v.numpy() for v in model.weights}
    for variable in restored.trainable_variables:
        np.testing.assert_array_equal(variable.numpy(), by_path[variable.path.split("/", 1)[1]])
    assert main(["export-ctranslate2", "--model-dir", saved_model, "--output", str(tmp_path / "int8"),
                 "--quantization", "int8"]) == 0
    with open(tmp_path / "int8" / contract.TRANSLATION_SETTINGS_FILE) as f:
        assert json.load(f)["ctranslate2"] == {"quantization": "int8", "compute_type": "int8", "intra_threads": 1}
    capsys.readouterr()
    assert main(["export-ctranslate2", "--model-dir", str(tmp_path), "--output", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err == (f"tfx-nmt: error: {tmp_path}: no saved_model.pb; --model-dir takes a "
                                       f"SavedModel version directory, such as outputs/quick/serving/translator/"
                                       f"<version>\n")
    os.remove(os.path.join(saved_model, contract.ASSETS_EXTRA_DIR, contract.TRANSLATION_SETTINGS_FILE))
    assert main(["export-ctranslate2", "--model-dir", saved_model, "--output", str(tmp_path / "x")]) == 1
    assert "the SavedModel was exported by an older tfx-nmt" in capsys.readouterr().err
    assert main(["export-ctranslate2", "--model-dir", saved_model, "--output", str(tmp_path / "int8")]) == 1
    assert capsys.readouterr().err == f"tfx-nmt: error: {tmp_path / 'int8'}: exists already; choose a new " \
                                      f"--output directory\n"
