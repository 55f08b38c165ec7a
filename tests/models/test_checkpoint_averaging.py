"""Checkpoint averaging: the mean of the model weights of the newest N checkpoints, the optimizer untouched;
and the checkpoint cadence that feeds it."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_nmt.config import RunConfig
from tfx_nmt.models.callbacks import CheckpointAndResume
from tfx_nmt.models.checkpoint_averaging import average_checkpoints, average_last_checkpoints, checkpoint_steps
from tfx_nmt.models.trainer import build_model, compiled_model

TINY = RunConfig(d_model=8, num_encoder_layers=1, num_decoder_layers=1, num_heads=2, ff_dim=16,
                 max_source_length=8, max_target_length=8)
VOCABULARY = 20


def _pattern(weight) -> np.ndarray:
    """Distinct values per element, exact in float32 at every multiple used below."""
    size = int(np.prod(weight.shape))
    return ((np.arange(size) % 7 - 3) * 0.25).reshape(weight.shape)


def _set_weights(model, factor: float) -> None:
    for weight in model.weights:
        weight.assign((_pattern(weight) * factor).astype(weight.dtype))


@pytest.fixture
def checkpoints(tmp_path):
    """Checkpoints of a tiny Transformer at steps 50, 100, 200 and 300 with all weights equal to
    `_pattern` times 100, 1, 2 and 6, written as `CheckpointAndResume` writes them (the compiled model
    and its optimizer, numbered by step); returns the directory."""
    model = compiled_model(TINY, VOCABULARY)
    model.optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=10)
    for step, factor in ((50, 100.0), (100, 1.0), (200, 2.0), (300, 6.0)):
        _set_weights(model, factor)
        model.optimizer.iterations.assign(step)
        manager.save(checkpoint_number=step)
    return str(tmp_path)


def test_the_last_three_checkpoints_are_averaged_exactly(checkpoints):
    assert [step for step, _ in checkpoint_steps(checkpoints)] == [50, 100, 200, 300]
    model = compiled_model(TINY, VOCABULARY)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(999)

    assert average_last_checkpoints(model, checkpoints, 3, scratch=compiled_model(TINY, VOCABULARY)) == [100, 200, 300]

    assert len(model.weights) > 10  # Embedding, attention, feed-forward and layer-norm weights.
    for weight in model.weights:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), _pattern(weight) * 3.0)  # (1+2+6)/3
    # The encoder and decoder stacks too, which the checkpoint reaches only through the optimizer.
    assert any("encoder_0" in w.path for w in model.weights) and any("decoder_0" in w.path for w in model.weights)
    # The model's own optimizer is neither read from the checkpoints nor averaged.
    assert int(model.optimizer.iterations.numpy()) == 999


def test_fewer_checkpoints_than_asked_averages_them_all(checkpoints, tmp_path_factory):
    model, scratch = build_model(TINY, VOCABULARY), compiled_model(TINY, VOCABULARY)
    assert average_last_checkpoints(model, checkpoints, 10, scratch) == [50, 100, 200, 300]
    for weight in model.weights:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), _pattern(weight) * 27.25)  # 109/4
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        average_last_checkpoints(model, str(tmp_path_factory.mktemp("empty")), 3, scratch)
    with pytest.raises(ValueError, match="count must be >= 1"):
        average_last_checkpoints(model, checkpoints, 0, scratch)


def test_a_checkpoint_missing_weights_or_another_shape_is_refused(checkpoints, tmp_path):
    model = build_model(TINY, VOCABULARY)
    # Without the optimizer, Keras 3 checkpoints leave out the layers kept in lists (the stacks).
    model_only = tf.train.Checkpoint(model=model).write(str(tmp_path / "model-only"))
    with pytest.raises(ValueError, match="holds no value .* for the weight .*encoder_0"):
        average_checkpoints(model, [model_only], compiled_model(TINY, VOCABULARY))
    wider = compiled_model(TINY.replace(ff_dim=32), VOCABULARY)
    with pytest.raises(ValueError, match="differ in number or shape"):
        average_checkpoints(model, [path for _, path in checkpoint_steps(checkpoints)], wider)


def test_checkpoints_are_written_every_n_steps_and_at_every_epoch_end(tmp_path):
    model = compiled_model(TINY, VOCABULARY)
    batch = ({"source_ids": tf.constant([[2, 5, 6, 3]]), "target_in": tf.constant([[2, 7, 8]])},
             tf.constant([[7, 8, 3]]))
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    callback = CheckpointAndResume(str(tmp_path), max_to_keep=10, every_steps=2)
    model.fit(dataset, epochs=2, steps_per_epoch=3, callbacks=[callback], verbose=0)
    # Steps 2, 4, 6 (every 2) and 3, 6 (epoch ends); step 6 once.
    assert [step for step, _ in checkpoint_steps(str(tmp_path))] == [2, 3, 4, 6]


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="average_checkpoints must be >= 0"):
        RunConfig(average_checkpoints=-1)
    with pytest.raises(ValueError, match="checkpoint_every_steps must be >= 0"):
        RunConfig(checkpoint_every_steps=-5)
