"""Translation clients with one interface: `translate(texts) -> (translations, scores)`.

- `SavedModelClient`: the SavedModel loaded in this process (tensorflow and tensorflow_text only); it also
  gives the teacher-forced log-likelihood of references through the `score` signature (perplexity).
- `RestClient`: a TF Serving model server's REST API, `POST /v1/models/<name>[/versions/<v>]:predict`
  with the row ("instances") request format; response `{"predictions": [{"translation", "score"}...]}`
  (https://www.tensorflow.org/tfx/serving/api_rest).
- `GrpcClient`: a TF Serving model server's gRPC `PredictionService.Predict` (tensorflow-serving-api).

`translate_all` sends any number of texts in length-sorted batches and returns results in input order.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tfx_nmt.errors import UserError

DEFAULT_SIGNATURE = "serving_default"
# The input of the translation signatures: tf.string [batch].
TEXT_INPUT = "text"
# Takes `source` and `target` text, returns each pair's `log_probability` and `num_tokens` (teacher forcing).
SCORE_SIGNATURE = "score"
# The signatures that take `text` and return `translation` and `score`: beam search and greedy decoding.
TRANSLATION_SIGNATURES = (DEFAULT_SIGNATURE, "translate_greedy")
Result = Tuple[List[str], List[float]]
log = logging.getLogger(__name__)


class ServingError(UserError, RuntimeError):
    """TF Serving refused a request (unknown model or signature, bad input) or could not be reached."""


class SavedModelLoadError(UserError, OSError):
    """A directory that should hold the translation SavedModel cannot be loaded as one."""


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[np.ndarray]:
    """Index arrays of `texts` in batches of similar character length (less padding per batch).

    Raises:
        ValueError: when `batch_size < 1`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def translate_all(translate: Callable[[List[str]], Result], texts: Sequence[str], batch_size: int,
                  progress: bool = False, log_every_seconds: Optional[float] = None) -> Result:
    """Translates `texts` with `translate` (a client's method) in length-sorted batches.

    Args:
        translate: `texts -> (translations, scores)` for one batch.
        texts: any number of sentences.
        batch_size: sentences per call.
        progress: show a tqdm progress bar (in sentences) on stderr.
        log_every_seconds: when set, log the sentences done and the rate (INFO) at most this often, and
            once at the end: the progress of a pipeline component, whose log is not a terminal.

    Returns:
        (translations, scores), in the order of `texts`.
    """
    from tqdm import tqdm

    translations, scores = [""] * len(texts), [0.0] * len(texts)
    done, started, last_log = 0, time.time(), time.time()
    with tqdm(total=len(texts), unit="sent", disable=not progress) as bar:
        for indices in length_sorted_batches(texts, batch_size):
            batch_translations, batch_scores = translate([texts[i] for i in indices])
            for i, translation, score in zip(indices, batch_translations, batch_scores):
                translations[i], scores[i] = translation, score
            bar.update(len(indices))
            done += len(indices)
            if log_every_seconds is not None and (time.time() - last_log > log_every_seconds
                                                  or done == len(texts)):
                log.info("Translated %d of %d sentences (%.1f sentences/s)", done, len(texts),
                         done / max(time.time() - started, 1e-9))
                last_log = time.time()
    return translations, scores


class SavedModelClient:
    """Calls a signature of the translation SavedModel at `model_dir` in this process.

    Raises:
        SavedModelLoadError: when `model_dir` holds no loadable SavedModel (a corrupt `saved_model.pb`,
            missing variables), naming the directory and TensorFlow's reason.
    """

    def __init__(self, model_dir: str, signature: str = DEFAULT_SIGNATURE):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  Registers the SentencePiece and normalization ops.

        self._tf = tf
        try:
            self._model = tf.saved_model.load(model_dir)
        except (OSError, ValueError, tf.errors.OpError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise SavedModelLoadError(f"{model_dir}: not a loadable SavedModel ({reason})") from None
        self._function = self._model.signatures[signature]

    def translate(self, texts: List[str]) -> Result:
        outputs = self._function(text=self._tf.constant(texts, self._tf.string))
        return ([t.decode("utf-8") for t in outputs["translation"].numpy()],
                [float(s) for s in outputs["score"].numpy()])

    def log_likelihood(self, sources: Sequence[str], targets: Sequence[str], batch_size: int) -> Tuple[float, int]:
        """The references' log-likelihood under teacher forcing, through the `score` signature, in
        length-sorted batches of `batch_size` pairs.

        Args:
            sources, targets: detokenized text, pair by pair.

        Returns:
            (sum of the target tokens' log-probabilities in nats, summed in float64; number of target
            tokens, EOS included): what perplexity is computed from.

        Raises:
            ValueError: when `sources` and `targets` differ in length, or `batch_size < 1`.
        """
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources for {len(targets)} targets: they must pair up one to one")
        function = self._model.signatures[SCORE_SIGNATURE]
        total, tokens = 0.0, 0
        for indices in length_sorted_batches(sources, batch_size):
            outputs = function(source=self._tf.constant([sources[i] for i in indices], self._tf.string),
                               target=self._tf.constant([targets[i] for i in indices], self._tf.string))
            total += float(np.sum(outputs["log_probability"].numpy().astype(np.float64)))
            tokens += int(np.sum(outputs["num_tokens"].numpy()))
        return total, tokens


class RestClient:
    """TF Serving REST client.

    Args:
        server: base URL, e.g. `http://localhost:8501`.
        model_name: the served model's name; version: a specific version, else the server's latest.
        timeout: seconds per request.
    """

    def __init__(self, server: str, model_name: str, signature: str = DEFAULT_SIGNATURE,
                 version: Optional[int] = None, timeout: float = 600.0):
        path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version else "") + ":predict"
        self.url = server.rstrip("/") + path
        self._signature = signature
        self._timeout = timeout

    def translate(self, texts: List[str]) -> Result:
        """Raises ServingError with the server's error message on an HTTP error, or the reason when the
        server cannot be reached."""
        body = json.dumps({"signature_name": self._signature,
                           "instances": [{TEXT_INPUT: t} for t in texts]}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                predictions = json.load(response)["predictions"]
        except urllib.error.HTTPError as error:
            raise ServingError(f"{self.url}: HTTP {error.code}: {error.read().decode('utf-8', 'replace')}") \
                from None
        except urllib.error.URLError as error:
            raise ServingError(f"{self.url}: cannot reach TF Serving ({error.reason})") from None
        return [p["translation"] for p in predictions], [float(p["score"]) for p in predictions]


class GrpcClient:
    """TF Serving gRPC client (`tensorflow_serving.apis.PredictionService`).

    Args:
        target: `HOST:PORT`, e.g. `localhost:8500`.
        model_name, signature, version, timeout: as for `RestClient`.
    """

    def __init__(self, target: str, model_name: str, signature: str = DEFAULT_SIGNATURE,
                 version: Optional[int] = None, timeout: float = 600.0):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self._tf, self._grpc, self._target = tf, grpc, target
        self._channel = grpc.insecure_channel(target)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._model_name, self._signature, self._version = model_name, signature, version
        self._timeout = timeout

    def translate(self, texts: List[str]) -> Result:
        """Raises ServingError with the gRPC status (NOT_FOUND, UNAVAILABLE, ...) and the server's message."""
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self._model_name
        request.model_spec.signature_name = self._signature
        if self._version:
            request.model_spec.version.value = self._version
        request.inputs[TEXT_INPUT].CopyFrom(self._tf.make_tensor_proto(texts, dtype=self._tf.string))
        try:
            response = self._stub.Predict(request, timeout=self._timeout)
        except self._grpc.RpcError as error:
            raise ServingError(f"{self._target}: gRPC {error.code().name}: {error.details()}") from None
        translations = self._tf.make_ndarray(response.outputs["translation"])
        scores = self._tf.make_ndarray(response.outputs["score"])
        return [t.decode("utf-8") for t in translations], [float(s) for s in scores]

    def close(self) -> None:
        self._channel.close()
