"""Translation clients with one interface: `translate(texts) -> (translations, scores)`, each score the
translation's log-probability per token (the signatures' `log_probability_per_token` output). The SavedModel
and TF Serving clients also have `translate_n_best(texts) -> (hypotheses, scores)`, through the
`translate_n_best` signature: per text, the beam search's K finished hypotheses best first and their scores.

- `SavedModelClient`: the SavedModel loaded in this process (tensorflow and tensorflow_text only); it also
  gives the teacher-forced log-likelihood of references through the `score` signature (perplexity).
- `RestClient`: a TF Serving model server's REST API, `POST /v1/models/<name>[/versions/<v>]:predict`
  with the row ("instances") request format; response
  `{"predictions": [{"translation", "log_probability_per_token"}...]}`
  (https://www.tensorflow.org/tfx/serving/api_rest).
- `GrpcClient`: a TF Serving model server's gRPC `PredictionService.Predict` (tensorflow-serving-api).
- `CTranslate2Client`: the CTranslate2 export of the same weights (`tfx-nmt export-ctranslate2`), in this
  process, with the SavedModel's normalization, truncation, length limits and output contract.

`translate_stream` translates texts as they arrive and yields the translations in input order, batch by
batch; `translate_all` translates a list in batches length-sorted over the whole list.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import os
import time
import urllib.error
import urllib.request
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from tfx_nmt import contract, files
from tfx_nmt.contract import (LOG_PROBABILITY_PER_TOKEN_OUTPUT, N_BEST_SCORES_OUTPUT, N_BEST_SIGNATURE,
                              N_BEST_TRANSLATIONS_OUTPUT, TRANSLATION_OUTPUT)
from tfx_nmt.errors import UserError
from tfx_nmt.text.normalization import normalize
from tfx_nmt.text.subword import BOS_ID, EOS_ID, PAD_ID, SubwordEncoder

DEFAULT_SIGNATURE = "serving_default"
# The input of the translation signatures: tf.string [batch].
TEXT_INPUT = "text"
# Takes `source` and `target` text, returns each pair's `log_probability` and `num_tokens` (teacher forcing).
SCORE_SIGNATURE = "score"
# The signatures that take `text` and return `translation` and `log_probability_per_token`: beam search and
# greedy decoding.
TRANSLATION_SIGNATURES = (DEFAULT_SIGNATURE, "translate_greedy")
Result = Tuple[List[str], List[float]]
# Per text, the K hypotheses best first and their log-probabilities per token (-inf: a slot the search left
# unfilled; see `tfx_nmt.models.export`).
NBestResult = Tuple[List[List[str]], List[List[float]]]
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


def translate_stream(translate: Callable[[List[str]], Result], texts: Iterable[str], batch_size: int,
                     sort_window: int = 1, progress: bool = False, total: Optional[int] = None,
                     log_every_seconds: Optional[float] = None) -> Iterator[Result]:
    """Translates `texts` as they arrive, yielding the translations in input order as soon as they are done.

    Reads `batch_size * sort_window` texts at a time (fewer at the end of `texts`), sorts that window by
    length into batches of `batch_size` (less padding, as Marian's `--maxi-batch` does), and after each
    batch yields every translation whose predecessors are all done. With `sort_window=1` each batch is the
    next `batch_size` texts, and its translations are yielded as soon as it is translated: a slow source
    (a pipe) gets its first translations before it has sent its last line.

    Args:
        translate: `texts -> (translations, scores)` for one batch.
        texts: any iterable of sentences, read lazily.
        batch_size: sentences per call.
        sort_window: batches read ahead and sorted by length together.
        progress: show a tqdm progress bar (in sentences) on stderr; `total` gives it an end and an ETA.
        log_every_seconds: when set, log the sentences done and the rate (INFO) at most this often, and
            once at the end: the progress of a pipeline component, whose log is not a terminal.

    Yields:
        (translations, scores) of the next texts in input order, one chunk per translated batch that
        completes any; together, every text once.

    Raises:
        ValueError: when `batch_size < 1` or `sort_window < 1`.
    """
    from tqdm import tqdm

    if batch_size < 1 or sort_window < 1:
        raise ValueError(f"batch_size and sort_window must be >= 1, got {batch_size} and {sort_window}")
    texts = iter(texts)
    done, logged, started, last_log = 0, 0, time.time(), time.time()

    def log_progress():
        of = f" of {total}" if total is not None else ""
        log.info("Translated %d%s sentences (%.1f sentences/s)", done, of, done / max(time.time() - started, 1e-9))

    with tqdm(total=total, unit="sent", disable=not progress) as bar:
        while True:
            window = list(itertools.islice(texts, batch_size * sort_window))
            if not window:
                break
            results: List[Optional[Tuple[str, float]]] = [None] * len(window)
            emitted = 0
            for indices in length_sorted_batches(window, batch_size):
                batch_translations, batch_scores = translate([window[i] for i in indices])
                for i, translation, score in zip(indices, batch_translations, batch_scores):
                    results[i] = (translation, score)
                bar.update(len(indices))
                done += len(indices)
                if log_every_seconds is not None and (time.time() - last_log > log_every_seconds or done == total):
                    log_progress()
                    logged, last_log = done, time.time()
                ready = emitted
                while ready < len(window) and results[ready] is not None:
                    ready += 1
                if ready > emitted:
                    yield [r[0] for r in results[emitted:ready]], [r[1] for r in results[emitted:ready]]
                    emitted = ready
    if log_every_seconds is not None and logged != done:
        log_progress()


def translate_all(translate: Callable[[List[str]], Result], texts: Sequence[str], batch_size: int,
                  progress: bool = False, log_every_seconds: Optional[float] = None) -> Result:
    """Translates `texts` with `translate` (a client's method) in batches sorted by length over all of
    `texts` (`translate_stream` with one window of the whole input).

    Args:
        translate, batch_size, progress, log_every_seconds: as for `translate_stream`.
        texts: any number of sentences.

    Returns:
        (translations, scores), in the order of `texts`.
    """
    translations: List[str] = []
    scores: List[float] = []
    windows = max(1, math.ceil(len(texts) / batch_size))
    for chunk_translations, chunk_scores in translate_stream(translate, texts, batch_size, windows, progress,
                                                             len(texts), log_every_seconds):
        translations.extend(chunk_translations)
        scores.extend(chunk_scores)
    return translations, scores


class SavedModelClient:
    """Calls a signature of the translation SavedModel at `model_dir` in this process.

    Raises:
        SavedModelLoadError: when `model_dir` holds no loadable SavedModel (a corrupt `saved_model.pb`,
            missing variables), naming the directory and TensorFlow's reason, or the SavedModel has no
            `signature`.
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
        if signature not in self._model.signatures:
            raise SavedModelLoadError(f"{model_dir}: the SavedModel has no {signature!r} signature (it has: "
                                      f"{', '.join(sorted(self._model.signatures)) or 'none'})")
        self._function = self._model.signatures[signature]

    def signature_names(self) -> List[str]:
        """The names of the SavedModel's signatures, sorted."""
        return sorted(self._model.signatures)

    def translate(self, texts: List[str]) -> Result:
        outputs = self._function(text=self._tf.constant(texts, self._tf.string))
        return ([t.decode("utf-8") for t in outputs[TRANSLATION_OUTPUT].numpy()],
                [float(s) for s in outputs[LOG_PROBABILITY_PER_TOKEN_OUTPUT].numpy()])

    def translate_n_best(self, texts: List[str]) -> NBestResult:
        """The `translate_n_best` signature's outputs.

        Raises:
            SavedModelLoadError: the SavedModel has no `translate_n_best` signature (exported before it).
        """
        if N_BEST_SIGNATURE not in self._model.signatures:
            raise SavedModelLoadError(f"the SavedModel has no {N_BEST_SIGNATURE} signature (it was exported before "
                                      f"n-best translation); export the model again")
        outputs = self._model.signatures[N_BEST_SIGNATURE](text=self._tf.constant(texts, self._tf.string))
        return ([[t.decode("utf-8") for t in row] for row in outputs[N_BEST_TRANSLATIONS_OUTPUT].numpy()],
                outputs[N_BEST_SCORES_OUTPUT].numpy().astype(float).tolist())

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

    def _predict(self, signature: str, texts: List[str]) -> List[dict]:
        """Raises ServingError with the server's error message on an HTTP error, or the reason when the
        server cannot be reached."""
        body = json.dumps({"signature_name": signature,
                           "instances": [{TEXT_INPUT: t} for t in texts]}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                # TF Serving writes -inf as -Infinity (https://www.tensorflow.org/tfx/serving/api_rest#json_conformance),
                # which Python's json reads.
                return json.load(response)["predictions"]
        except urllib.error.HTTPError as error:
            raise ServingError(f"{self.url}: HTTP {error.code}: {error.read().decode('utf-8', 'replace')}") \
                from None
        except urllib.error.URLError as error:
            raise ServingError(f"{self.url}: cannot reach TF Serving ({error.reason})") from None

    def translate(self, texts: List[str]) -> Result:
        """Raises ServingError as `_predict`."""
        predictions = self._predict(self._signature, texts)
        return ([p[TRANSLATION_OUTPUT] for p in predictions],
                [float(p[LOG_PROBABILITY_PER_TOKEN_OUTPUT]) for p in predictions])

    def translate_n_best(self, texts: List[str]) -> NBestResult:
        """The `translate_n_best` signature's outputs. Raises ServingError as `_predict`."""
        predictions = self._predict(N_BEST_SIGNATURE, texts)
        return ([list(p[N_BEST_TRANSLATIONS_OUTPUT]) for p in predictions],
                [[float(s) for s in p[N_BEST_SCORES_OUTPUT]] for p in predictions])


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

    def _predict(self, signature: str, texts: List[str]):
        """Raises ServingError with the gRPC status (NOT_FOUND, UNAVAILABLE, ...) and the server's message."""
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self._model_name
        request.model_spec.signature_name = signature
        if self._version:
            request.model_spec.version.value = self._version
        request.inputs[TEXT_INPUT].CopyFrom(self._tf.make_tensor_proto(texts, dtype=self._tf.string))
        try:
            return self._stub.Predict(request, timeout=self._timeout)
        except self._grpc.RpcError as error:
            raise ServingError(f"{self._target}: gRPC {error.code().name}: {error.details()}") from None

    def translate(self, texts: List[str]) -> Result:
        """Raises ServingError as `_predict`."""
        response = self._predict(self._signature, texts)
        translations = self._tf.make_ndarray(response.outputs[TRANSLATION_OUTPUT])
        scores = self._tf.make_ndarray(response.outputs[LOG_PROBABILITY_PER_TOKEN_OUTPUT])
        return [t.decode("utf-8") for t in translations], [float(s) for s in scores]

    def translate_n_best(self, texts: List[str]) -> NBestResult:
        """The `translate_n_best` signature's outputs. Raises ServingError as `_predict`."""
        response = self._predict(N_BEST_SIGNATURE, texts)
        translations = self._tf.make_ndarray(response.outputs[N_BEST_TRANSLATIONS_OUTPUT])
        scores = self._tf.make_ndarray(response.outputs[N_BEST_SCORES_OUTPUT])
        return [[t.decode("utf-8") for t in row] for row in translations], scores.astype(float).tolist()

    def close(self) -> None:
        self._channel.close()


class CTranslate2LoadError(UserError, OSError):
    """A directory that should hold a CTranslate2 export (`tfx-nmt export-ctranslate2`) does not."""


class CTranslate2Client:
    """Translates with the CTranslate2 export of the model (`tfx_nmt.models.ctranslate2_export`) in this
    process, under the SavedModel's contract: inputs normalized as `serving_default` normalizes them
    (`tfx_nmt.text.normalization`), tokenized with the same SentencePiece model, sources truncated to their
    first `max_source_length - 2` pieces, each row's output at most `min(max_target_length, ceil(a *
    source_tokens + b))` tokens (BOS included; CTranslate2 has one limit per batch, so a longer output is cut
    to its row's limit and rescored), PAD never generated, an empty input an empty translation with score 0;
    `score` is the log-probability per output token, EOS included.

    `serving_default` is CTranslate2's beam search with the SavedModel's beam size; CTranslate2 has no GNMT
    length penalty, so it searches with its own, `log P / length ** alpha` (the SavedModel's alpha), returns
    its `beam_size` finished hypotheses, and the client picks the best by GNMT's `log P / ((5 + length) / 6)
    ** alpha` as the SavedModel does; the hypotheses the search keeps may still differ. `translate_greedy` is
    greedy search, the same outputs as the SavedModel's up to float rounding.

    Args:
        model_dir: a directory written by `export-ctranslate2` (or the Trainer's `Format-CTranslate2`).
        signature: `serving_default` (beam search) or `translate_greedy`, as the SavedModel's.
        intra_threads: CTranslate2 intra-op threads; None takes the export's default for its quantization
            (`ctranslate2_export.DEFAULT_INTRA_THREADS`: int8 is slow with more than one on some CPUs).

    Raises:
        CTranslate2LoadError: `model_dir` has no CTranslate2 model with its translation settings.
        ValueError: an unknown `signature`.
    """

    def __init__(self, model_dir: str, signature: str = DEFAULT_SIGNATURE, intra_threads: Optional[int] = None):
        import ctranslate2

        if signature not in TRANSLATION_SIGNATURES:
            raise ValueError(f"signature must be one of {TRANSLATION_SIGNATURES}, got {signature!r}")
        settings_path = os.path.join(model_dir, contract.TRANSLATION_SETTINGS_FILE)
        if not os.path.isfile(os.path.join(model_dir, "model.bin")) or not os.path.isfile(settings_path):
            raise CTranslate2LoadError(f"{model_dir}: not a CTranslate2 export (no model.bin or "
                                       f"{contract.TRANSLATION_SETTINGS_FILE}); write one with "
                                       f"`tfx-nmt export-ctranslate2 --model-dir <SavedModel> --output DIR`")
        settings = files.read_json(settings_path)
        with open(os.path.join(model_dir, contract.TOKENIZER_MODEL_FILE), "rb") as f:
            self._encoder = SubwordEncoder(f.read())
        self._vocabulary = self._encoder.vocabulary()
        self._ids = {piece: i for i, piece in enumerate(self._vocabulary)}
        model, decoding, engine = settings["model"], settings["decoding"], settings["ctranslate2"]
        self._max_source_length, self._max_target_length = model["max_source_length"], model["max_target_length"]
        self._a, self._b = decoding["max_decode_length_a"], decoding["max_decode_length_b"]
        beam = signature == DEFAULT_SIGNATURE
        self._beam_size = decoding["beam_size"] if beam else 1
        self._alpha = decoding["length_penalty_alpha"] if beam else 0.0
        self.intra_threads = engine["intra_threads"] if intra_threads is None else intra_threads
        self._translator = ctranslate2.Translator(model_dir, device="cpu", compute_type=engine["compute_type"],
                                                  inter_threads=1, intra_threads=self.intra_threads)

    def _max_length(self, source_tokens: int) -> int:
        """The row's output limit in tokens, BOS included, as `tfx_nmt.models.decoding.max_decode_lengths`."""
        return max(2, min(self._max_target_length, math.ceil(self._a * source_tokens + self._b)))

    def translate(self, texts: List[str]) -> Result:
        texts = [normalize(t) for t in texts]
        rows = [i for i, t in enumerate(texts) if t]
        translations, scores = [""] * len(texts), [0.0] * len(texts)
        if not rows:
            return translations, scores
        pieces = self._encoder.encode_pieces([texts[i] for i in rows])
        sources = [[BOS_ID] + p[:self._max_source_length - 2] + [EOS_ID] for p in pieces]
        # Output tokens after BOS (EOS included) that each row may generate.
        limits = [self._max_length(len(source)) - 1 for source in sources]
        source_tokens = [[self._vocabulary[i] for i in source] for source in sources]
        results = self._translator.translate_batch(
            source_tokens, beam_size=self._beam_size, num_hypotheses=self._beam_size, length_penalty=self._alpha,
            max_decoding_length=max(limits), return_scores=True, return_end_token=True,
            suppress_sequences=[[self._vocabulary[PAD_ID]]], max_input_length=0)
        outputs, truncated = [], []
        for k, (result, limit) in enumerate(zip(results, limits)):
            # CTranslate2's score is log P / length ** length_penalty (length: generated tokens, EOS included);
            # its finished hypotheses are ranked again by the SavedModel's GNMT penalty.
            ranked = [(score * max(len(tokens), 1) ** self._alpha, tokens)
                      for score, tokens in zip(result.scores, result.hypotheses)]
            log_probability, tokens = max(ranked, key=lambda h: h[0] / ((5 + len(h[1])) / 6) ** self._alpha)
            if len(tokens) > limit:
                truncated.append(k)
                tokens = tokens[:limit]
            outputs.append((tokens, log_probability / max(len(tokens), 1)))
        if truncated:
            # Cut at the row's limit: the prefix's own log-probability (score_batch also scores an EOS after it).
            rescored = self._translator.score_batch([source_tokens[k] for k in truncated],
                                                    [outputs[k][0] for k in truncated], max_input_length=0)
            for k, result in zip(truncated, rescored):
                outputs[k] = (outputs[k][0], float(np.mean(result.log_probs[:limits[k]])))
        for i, (tokens, score) in zip(rows, outputs):
            translations[i] = self._encoder.decode([self._ids[t] for t in tokens])
            scores[i] = float(score)
        return translations, scores
