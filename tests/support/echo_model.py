"""A real SavedModel with the translator's serving contract whose translation is its input, unchanged.

With it the evaluator's BLEU is known exactly: the references scored against the sources. It has a
variable and an asset file, so a push copies `variables/` and `assets/` as for the real model.
"""
import os

import tensorflow as tf

_TEXT = tf.TensorSpec([None], tf.string)


class EchoTranslator(tf.Module):
    def __init__(self, asset_path):
        super().__init__()
        self.bias = tf.Variable(0.0)
        self.vocabulary = tf.saved_model.Asset(asset_path)

    @tf.function(input_signature=[_TEXT])
    def serve(self, text):
        return {"translation": text,
                "log_probability_per_token": tf.zeros_like(tf.strings.length(text), tf.float32) + self.bias}

    @tf.function(input_signature=[_TEXT, _TEXT])
    def score(self, source, target):
        # One "token" per word plus EOS, each with log-probability -1.
        num_tokens = tf.cast(tf.strings.split(target).row_lengths(), tf.int32) + 1
        return {"log_probability": -tf.cast(num_tokens, tf.float32), "num_tokens": num_tokens}


def save_echo_model(export_dir: str) -> str:
    """Writes the echo SavedModel to `export_dir` (created) and returns it."""
    asset_dir = os.path.join(os.path.dirname(export_dir.rstrip("/")), "echo-asset")
    os.makedirs(asset_dir, exist_ok=True)
    asset_path = os.path.join(asset_dir, "vocabulary.txt")
    with open(asset_path, "w") as f:
        f.write("a\nb\n")
    module = EchoTranslator(asset_path)
    tf.saved_model.save(module, export_dir, signatures={
        "serving_default": module.serve.get_concrete_function(),
        "score": module.score.get_concrete_function(),
    })
    return export_dir
