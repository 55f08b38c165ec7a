"""TranslationEvaluator: translates the test split with the exported SavedModel, scores BLEU, chrF and
perplexity, compares with the baseline (the latest blessed model, when there is one) and writes a
ModelBlessing, blessed or not.

The blessing carries the custom properties the standard Pusher and `LatestBlessedModelStrategy` read
(`blessed` 1/0, `current_model_id`; names from `tfx.components.evaluator.constants`).
"""
import dataclasses
import json
import logging
import math
import os
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  Registers the SentencePiece ops the SavedModel uses.
from tfx import v1 as tfx
from tfx.components.evaluator import constants
from tfx.utils import path_utils

from tfx_nmt.components import translation_metrics
from tfx_nmt.components.examples_io import bytes_feature, iterate_examples, line_number
from tfx_nmt.contract import HYPOTHESES_FILE, METRICS_FILE
from tfx_nmt.serving.clients import length_sorted_batches

log = logging.getLogger(__name__)


def read_pairs(examples_uri: str, split: str) -> Tuple[List[str], List[str]]:
    """(sources, references) of one split of cleaned Examples, in corpus line order."""
    numbered = sorted(
        (line_number(example), bytes_feature(example, "source").decode("utf-8"),
         bytes_feature(example, "target").decode("utf-8"))
        for example in iterate_examples(examples_uri, split))
    return [s for _, s, _ in numbered], [r for _, _, r in numbered]


class SavedModelTranslator:
    """Calls the signatures of an exported translation SavedModel in length-sorted batches.

    Args:
        export_dir: the SavedModel directory.
        batch_size: sentences per call.
    """

    def __init__(self, export_dir: str, batch_size: int = 64):
        self._model = tf.saved_model.load(export_dir)
        self._batch_size = batch_size

    def _batches(self, sources: Sequence[str]):
        return length_sorted_batches(sources, self._batch_size)

    def translate(self, sources: Sequence[str], signature: str = "serving_default") -> List[str]:
        """Translations of `sources`, in input order."""
        function = self._model.signatures[signature]
        translations = [""] * len(sources)
        done, started, last_log = 0, time.time(), time.time()
        for indices in self._batches(sources):
            outputs = function(text=tf.constant([sources[i] for i in indices]))
            for i, text in zip(indices, outputs["translation"].numpy()):
                translations[i] = text.decode("utf-8")
            done += len(indices)
            if time.time() - last_log > 10 or done == len(sources):
                log.info("Translated %d of %d sentences (%.1f sentences/s)", done, len(sources),
                         done / max(time.time() - started, 1e-9))
                last_log = time.time()
        return translations

    def log_likelihood(self, sources: Sequence[str], targets: Sequence[str]) -> Tuple[float, int]:
        """(sum of target log-probabilities, number of target tokens) under teacher forcing."""
        function = self._model.signatures["score"]
        total, tokens = 0.0, 0
        for indices in self._batches(sources):
            outputs = function(source=tf.constant([sources[i] for i in indices]),
                               target=tf.constant([targets[i] for i in indices]))
            total += float(np.sum(outputs["log_probability"].numpy().astype(np.float64)))
            tokens += int(np.sum(outputs["num_tokens"].numpy()))
        return total, tokens


def evaluate_model(export_dir: str, sources: Sequence[str], references: Sequence[str],
                   batch_size: int, target_language: str) -> Tuple[Dict, List[str]]:
    """Translates and scores one model. Returns (metrics dict, hypotheses)."""
    translator = SavedModelTranslator(export_dir, batch_size)
    started = time.time()
    hypotheses = translator.translate(sources)
    translate_seconds = time.time() - started
    scores = translation_metrics.corpus_scores(hypotheses, references)
    scored = [(s, r) for s, r in zip(sources, references) if r.strip()]
    total, tokens = translator.log_likelihood([s for s, _ in scored], [r for _, r in scored])
    metrics = dataclasses.asdict(scores)
    metrics.update({
        "perplexity": translation_metrics.perplexity(total, tokens),
        "bleu_lowercase_tokenized": translation_metrics.comparable_bleu(hypotheses, references,
                                                                        target_language),
        "reference_tokens": tokens,
        "num_sentences": len(sources),
        "translate_seconds": translate_seconds,
    })
    return metrics, hypotheses


@tfx.dsl.components.component
def TranslationEvaluator(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    evaluation: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    min_bleu: tfx.dsl.components.Parameter[float] = 0.0,
    max_bleu_drop: tfx.dsl.components.Parameter[float] = 1.0,
    batch_size: tfx.dsl.components.Parameter[int] = 64,
    split: tfx.dsl.components.Parameter[str] = "test",
    target_language: tfx.dsl.components.Parameter[str] = "de",
):
    """Scores the candidate (and the baseline) on `split` and blesses or rejects the candidate.

    A ModelBlessing is always written: not blessed when BLEU is NaN (an empty split, or every reference
    empty).

    Args:
        examples: cleaned Examples {source, target} (the test split is normalized, never filtered).
        model: the Trainer's Model; its `Format-Serving` SavedModel is evaluated.
        evaluation: output; `metrics.json` (candidate and, when present, baseline metrics, the
            decision, the thresholds applied) and `hypotheses.txt` (one translation a line, in the
            test file's line order); the candidate's `bleu`, `chrf` and `perplexity` as float custom
            properties, those that are finite (ML Metadata's SQLite store cannot hold NaN; `metrics.json`
            keeps every value).
        blessing: output ModelBlessing with `blessed` (1/0) and `current_model_id`, plus a `BLESSED`
            or `NOT_BLESSED` file.
        baseline_model: the latest blessed model (from a Resolver); absent on a first run.
        min_bleu: BLEU below this is never blessed; when not configured, RunConfig's default (0.0:
            any BLEU that is a number) is applied and recorded in `metrics.json`.
        max_bleu_drop: largest BLEU drop below the baseline still blessed.
        batch_size: sentences per SavedModel call.
        split: the split to score.
        target_language: language code of the references, for the Moses tokenizer of the comparable BLEU.
    """
    sources, references = read_pairs(examples.uri, split)
    log.info("TranslationEvaluator: scoring %d %s pairs", len(sources), split)
    metrics, hypotheses = evaluate_model(path_utils.serving_model_path(model.uri), sources, references,
                                         batch_size, target_language)
    baseline_metrics = None
    if baseline_model is not None:
        log.info("TranslationEvaluator: scoring the baseline model %s", baseline_model.uri)
        baseline_metrics, _ = evaluate_model(path_utils.serving_model_path(baseline_model.uri), sources,
                                             references, batch_size, target_language)
    decision = translation_metrics.blessing_decision(
        metrics["bleu"], min_bleu, max_bleu_drop,
        baseline_metrics["bleu"] if baseline_metrics else None)
    result = {"candidate": metrics, "baseline": baseline_metrics, "decision": decision,
              "thresholds": {"min_bleu": min_bleu, "max_bleu_drop": max_bleu_drop}, "split": split}
    with tf.io.gfile.GFile(os.path.join(evaluation.uri, METRICS_FILE), "w") as f:
        json.dump(result, f, indent=2, allow_nan=True)
    with tf.io.gfile.GFile(os.path.join(evaluation.uri, HYPOTHESES_FILE), "w") as f:
        f.write("".join(h.replace("\n", " ") + "\n" for h in hypotheses))
    for name in ("bleu", "chrf", "perplexity"):
        if math.isfinite(metrics[name]):
            evaluation.set_float_custom_property(name, float(metrics[name]))

    blessed = decision["blessed"]
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                     constants.BLESSED_VALUE if blessed else constants.NOT_BLESSED_VALUE)
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BLESSING_MESSAGE_KEY, decision["reason"])
    if baseline_model is not None:
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline_model.id)
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY,
                                            baseline_model.uri)
    marker = constants.BLESSED_FILE_NAME if blessed else constants.NOT_BLESSED_FILE_NAME
    with tf.io.gfile.GFile(os.path.join(blessing.uri, marker), "w") as f:
        f.write(decision["reason"] + "\n")
    log.info("TranslationEvaluator: BLEU %.2f, chrF %.2f, perplexity %.2f: %s (%s)", metrics["bleu"],
             metrics["chrf"], metrics["perplexity"], "BLESSED" if blessed else "NOT BLESSED", decision["reason"])
