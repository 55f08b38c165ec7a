"""One training step on 2 logical CPU replicas equals one step on 1 replica for the same global batch.

Runs in a fresh process: logical devices must be configured before TensorFlow initializes.
"""
import json

from processes import fresh_python

SCRIPT = """
import json
import numpy as np
import keras
import tensorflow as tf
from tfx_nmt.models.devices import configure_cpu_replicas
configure_cpu_replicas(2)
from tfx_nmt.models.transformer import TransformerTranslator

# Uneven padding between the two halves of the batch: replica 0 gets long rows, replica 1 short ones.
rng = np.random.default_rng(0)
source = np.zeros((8, 12), np.int32); target = np.zeros((8, 10), np.int32)
for i in range(8):
    n = 11 if i < 4 else 3
    source[i, :n] = rng.integers(4, 60, n); target[i, :n - 1 if n > 3 else n] = rng.integers(4, 60, n - 1 if n > 3 else n)
target[:, 0] = 2
inputs = {"source_ids": source, "target_in": target[:, :-1]}
labels = target[:, 1:]

def one_step(devices, initial):
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        model = TransformerTranslator(vocabulary_size=64, d_model=32, num_encoder_layers=1,
                                      num_decoder_layers=1, num_heads=2, ff_dim=64, dropout=0.0)
        model({"source_ids": tf.constant(source[:1]), "target_in": tf.constant(target[:1, :-1])})
        if initial is not None:
            model.set_weights(initial)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
    initial = model.get_weights()
    history = model.fit(tf.data.Dataset.from_tensors((inputs, labels)), epochs=1, verbose=0, shuffle=False)
    return strategy.num_replicas_in_sync, history.history["loss"][0], model.get_weights(), initial

replicas_1, loss_1, weights_1, initial = one_step(["/cpu:0"], None)
replicas_2, loss_2, weights_2, _ = one_step(["/cpu:0", "/cpu:1"], initial)
moved = max(float(np.max(np.abs(a - b))) for a, b in zip(weights_1, initial))
diff = max(float(np.max(np.abs(a - b))) for a, b in zip(weights_1, weights_2))
print(json.dumps({"replicas": [replicas_1, replicas_2], "loss": [loss_1, loss_2], "weight_diff": diff,
                  "weights_moved": moved}))
"""


def test_two_replicas_take_the_same_step_as_one():
    result = fresh_python(SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["replicas"] == [1, 2]
    assert figures["weights_moved"] > 1e-3  # The step did something.
    assert abs(figures["loss"][0] - figures["loss"][1]) < 1e-4
    assert figures["weight_diff"] < 1e-4
