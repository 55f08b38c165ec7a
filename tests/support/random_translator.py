"""A small randomly initialised TransformerTranslator, for tests of decoding that need no trained model."""
import tensorflow as tf

from tfx_nmt.models.transformer import TransformerTranslator


def random_model(seed: int, **overrides) -> TransformerTranslator:
    """A built model (vocabulary 50, d_model 16, 2+2 layers, 2 heads, ff 32) with `overrides` applied,
    its weights drawn with Keras' random seed `seed`."""
    tf.keras.utils.set_random_seed(seed)
    shape = dict(vocabulary_size=50, d_model=16, num_encoder_layers=2, num_decoder_layers=2, num_heads=2,
                 ff_dim=32, max_source_length=16, max_target_length=16)
    model = TransformerTranslator(**{**shape, **overrides})
    model({"source_ids": tf.constant([[2, 5, 3]]), "target_in": tf.constant([[2, 5]])})
    return model
