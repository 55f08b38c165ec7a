"""TF Serving's warm-up file of the exported (and pushed) SavedModel.

No TF Serving model server runs here: the tests check the file against TF Serving's own protos
(tensorflow_serving.apis, PredictionLog in a TFRecord, https://www.tensorflow.org/tfx/serving/saved_model_warmup)
and replay every request on the pushed SavedModel in a fresh process, as the server would before it makes
the version available."""
import json
import os

import pytest

from processes import fresh_python
from tfx_nmt import contract
from tfx_nmt.models.warmup import LONG_SENTENCE, SHORT_SENTENCE, WARMUP_BATCHES, warmup_records


def _parse(records):
    from tensorflow_serving.apis import prediction_log_pb2

    return [prediction_log_pb2.PredictionLog.FromString(record) for record in records]


def _texts(log):
    import tensorflow as tf

    return [t.decode("utf-8") for t in tf.make_ndarray(log.predict_log.request.inputs["text"]).tolist()]


def test_records_are_serving_default_predict_requests_short_long_empty_and_a_batch():
    import tensorflow as tf

    logs = _parse(warmup_records("translator"))
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log"] * 4
    assert [_texts(log) for log in logs] == [[SHORT_SENTENCE], [LONG_SENTENCE], [""],
                                             [SHORT_SENTENCE, LONG_SENTENCE, ""]]
    for log in logs:
        request = log.predict_log.request
        assert request.model_spec.name == "translator"
        assert request.model_spec.signature_name == "serving_default"
        assert list(request.inputs) == ["text"]
        tensor = request.inputs["text"]
        assert tensor.dtype == tf.string.as_datatype_enum
        assert [d.size for d in tensor.tensor_shape.dim] == [len(_texts(log))]
    assert len(LONG_SENTENCE.split()) > 40 and len(SHORT_SENTENCE.split()) == 3
    assert len(WARMUP_BATCHES) == 4


def test_every_pushed_version_holds_the_warmup_file_and_each_request_replays(smoke_run):
    import tensorflow as tf

    _, summary, _ = smoke_run
    path = os.path.join(summary["pushed_model_dir"], contract.ASSETS_EXTRA_DIR, contract.SERVING_WARMUP_FILE)
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]  # TFRecord framing, CRCs checked.
    assert records == warmup_records("translator")
    # A fresh process loads the pushed SavedModel as TF Serving would and runs each request's inputs through
    # the signature it names.
    result = fresh_python(f"""
        import json
        import tensorflow as tf
        import tensorflow_text  # noqa: F401, registers the SentencePiece ops
        from tensorflow_serving.apis import prediction_log_pb2

        model = tf.saved_model.load({summary["pushed_model_dir"]!r})
        replies = []
        for record in tf.data.TFRecordDataset({path!r}):
            request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
            inputs = {{k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}}
            outputs = model.signatures[request.model_spec.signature_name](**inputs)
            replies.append({{"translation": [t.decode() for t in outputs["translation"].numpy()],
                             "log_probability_per_token": outputs["log_probability_per_token"].numpy().tolist()}})
        print(json.dumps(replies))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    replies = json.loads(result.stdout.strip().splitlines()[-1])
    assert [len(r["translation"]) for r in replies] == [1, 1, 1, 3]
    assert [len(r["log_probability_per_token"]) for r in replies] == [1, 1, 1, 3]
    short, long, empty, batch = replies
    assert empty == {"translation": [""], "log_probability_per_token": [0.0]}
    assert short["translation"][0] and long["translation"][0]
    # A row's translation does not depend on its batch (export.py): the batch replays the three alone.
    assert batch["translation"] == short["translation"] + long["translation"] + empty["translation"]
    per_token = "log_probability_per_token"
    assert batch[per_token] == pytest.approx(short[per_token] + long[per_token] + empty[per_token], abs=1e-4)
