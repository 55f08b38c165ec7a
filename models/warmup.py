"""TF Serving's warm-up file of the serving SavedModel: `assets.extra/tf_serving_warmup_requests`.

TensorFlow Serving replays the requests of that file on a version before it marks the version available
(https://www.tensorflow.org/tfx/serving/saved_model_warmup), so the first client request does not pay for
the first run of the while-loop decoding graph (graph optimization, memory allocation). The format is TF
Serving's: a TFRecord file of `tensorflow_serving.apis.prediction_log_pb2.PredictionLog` protos, here each a
`predict_log` holding one `serving_default` PredictRequest (input `text`, tf.string `[batch]`).

The requests cover the shapes a translator sees: a short sentence, a long one, an empty input (the
graph's empty-input branch) and a batch of the three. TF Serving reads at most 1,000 records and only the
request of each (the response is not needed), and ignores `model_spec.name` and the version when warming up.
"""
from __future__ import annotations

import os
from typing import List, Sequence

from tfx_nmt.contract import ASSETS_EXTRA_DIR, SERVING_WARMUP_FILE
from tfx_nmt.serving.clients import DEFAULT_SIGNATURE, TEXT_INPUT

SHORT_SENTENCE = "A dog runs."
LONG_SENTENCE = ("A young man in a red shirt and blue jeans is standing on a ladder in front of an old brick "
                 "building, painting the wooden window frames white while two children and a small brown "
                 "dog watch him from the sidewalk on a sunny afternoon.")
# One batch per request: short, long, empty, and the three together (padding across rows).
WARMUP_BATCHES = ((SHORT_SENTENCE,), (LONG_SENTENCE,), ("",), (SHORT_SENTENCE, LONG_SENTENCE, ""))


def warmup_records(model_name: str, batches: Sequence[Sequence[str]] = WARMUP_BATCHES) -> List[bytes]:
    """Serialized PredictionLog protos, one per batch: a `serving_default` PredictRequest whose `text` input
    is the batch (tf.string `[len(batch)]`, UTF-8) and whose `model_spec.name` is `model_name`."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    records = []
    for batch in batches:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = DEFAULT_SIGNATURE
        request.inputs[TEXT_INPUT].CopyFrom(tf.make_tensor_proto(list(batch), dtype=tf.string, shape=[len(batch)]))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def write_warmup_requests(saved_model_dir: str, model_name: str) -> str:
    """Writes `<saved_model_dir>/assets.extra/tf_serving_warmup_requests` (see the module docstring).

    Call it on the SavedModel before it is renamed into place (`export.export_serving_model` does), so the
    file appears together with the model.

    Returns:
        The file's path.
    """
    import tensorflow as tf

    directory = os.path.join(saved_model_dir, ASSETS_EXTRA_DIR)
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, SERVING_WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for record in warmup_records(model_name):
            writer.write(record)
    return path
