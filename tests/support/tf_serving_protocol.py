"""Test servers that speak TF Serving's REST and gRPC protocols, with the real SavedModel behind them.

Why not the real `tensorflow_model_server`: it is not installable on the test machines (not on PyPI or
Debian, no Docker engine). These servers implement the parts of its documented protocol that clients
use, on 127.0.0.1 only, and run the SavedModel's signatures with TensorFlow in this process:

- REST (https://www.tensorflow.org/tfx/serving/api_rest): `GET /v1/models/<name>` (model status),
  `POST /v1/models/<name>[/versions/<v>]:predict` with `signature_name` and either the row format
  (`instances`: a list of values, or of {input name: value} objects) answered with `predictions` (a list
  of values for one output, of {output name: value} objects for several), or the columnar format
  (`inputs`) answered with `outputs`; errors as HTTP 400/404 with `{"error": message}`. String
  tensors are JSON strings.
- gRPC: `tensorflow.serving.PredictionService/Predict` from tensorflow-serving-api's stubs; unknown
  model names give NOT_FOUND, unknown signatures INVALID_ARGUMENT.
"""
import json
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  Registers the SentencePiece ops of the SavedModel.
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

HOST = "127.0.0.1"


class ServedModel:
    """A SavedModel version served under `name`."""

    def __init__(self, model_dir: str, name: str, version: int):
        self.model = tf.saved_model.load(model_dir)
        self.name, self.version = name, version

    def run(self, signature_name: str, inputs: dict) -> dict:
        """Calls a signature with numpy inputs; returns numpy outputs. KeyError for an unknown signature."""
        function = self.model.signatures[signature_name or "serving_default"]
        specs = function.structured_input_signature[1]
        tensors = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in inputs.items()}
        return {k: v.numpy() for k, v in function(**tensors).items()}


def _json_value(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def start_rest_server(served: ServedModel):
    """Starts the REST server on 127.0.0.1 at a free port. Returns (base URL, server); `server.shutdown()`."""
    predict_path = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status, body):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != f"/v1/models/{served.name}":
                return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
            self._reply(200, {"model_version_status": [{
                "version": str(served.version), "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""}}]})

        def do_POST(self):
            match = predict_path.match(self.path)
            if not match or match.group(1) != served.name or \
                    (match.group(2) and int(match.group(2)) != served.version):
                return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signature = request.get("signature_name", "serving_default")
            try:
                function = served.model.signatures[signature]
            except KeyError:
                return self._reply(400, {"error": f"Serving signature name: \"{signature}\" not found"})
            input_names = list(function.structured_input_signature[1])
            if "instances" in request:
                rows = request["instances"]
                inputs = {n: [r[n] if isinstance(r, dict) else r for r in rows] for n in input_names}
            else:
                columns = request["inputs"]
                inputs = columns if isinstance(columns, dict) else {input_names[0]: columns}
            outputs = served.run(signature, inputs)
            if "instances" in request:
                names = sorted(outputs)
                if len(names) == 1:
                    predictions = _json_value(outputs[names[0]])
                else:
                    predictions = [{n: _json_value(outputs[n][i]) for n in names}
                                   for i in range(len(outputs[names[0]]))]
                return self._reply(200, {"predictions": predictions})
            self._reply(200, {"outputs": {n: _json_value(v) for n, v in outputs.items()}})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://{HOST}:{server.server_address[1]}", server


class _PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, served: ServedModel):
        self._served = served

    def Predict(self, request, context):
        if request.model_spec.name != self._served.name:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request.model_spec.name}")
        signature = request.model_spec.signature_name or "serving_default"
        if signature not in self._served.model.signatures:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Serving signature name: \"{signature}\" not found")
        outputs = self._served.run(signature, {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self._served.name
        response.model_spec.version.value = self._served.version
        response.model_spec.signature_name = signature
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response


def start_grpc_server(served: ServedModel):
    """Starts the gRPC PredictionService on 127.0.0.1 at a free port. Returns ("127.0.0.1:PORT", server);
    `server.stop(None)` stops it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(served), server)
    port = server.add_insecure_port(f"{HOST}:0")
    server.start()
    return f"{HOST}:{port}", server
