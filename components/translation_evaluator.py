"""TranslationEvaluator: translates the test split, and every further test set, with the exported SavedModel
(through `tfx_nmt.serving.clients.SavedModelClient`), scores each with every registered scorer
(`tfx_nmt.scoring.scorers.SCORERS`: BLEU, chrF, chrF++, TER, ..., with 95 % bootstrap intervals) and
perplexity, compares with the baseline (the latest blessed model, when there is one) on the registry's
primary metric by sacreBLEU's paired bootstrap test (`tfx_nmt.scoring.blessing`) and writes a
ModelBlessing, blessed or not.

The blessing carries the custom properties the standard Pusher and `LatestBlessedModelStrategy` read
(`blessed` 1/0, `current_model_id`; names from `tfx.components.evaluator.constants`).
"""
import json
import logging
import math
import os
import time
from typing import Dict, List, Sequence, Tuple

import tensorflow as tf
from tfx import v1 as tfx
from tfx.components.evaluator import constants
from tfx.types import artifact_utils
from tfx.utils import path_utils

from tfx_nmt.components.examples_io import bytes_feature, iterate_examples, line_number
from tfx_nmt.contract import HYPOTHESES_FILE, METRICS_FILE, extra_test_splits, test_set_hypotheses_file
from tfx_nmt.scoring import translation_metrics
from tfx_nmt.scoring.blessing import blessing_decision
from tfx_nmt.scoring.scorers import PERPLEXITY, SCORERS, ScorerRegistry
from tfx_nmt.serving.clients import SavedModelClient, translate_all

log = logging.getLogger(__name__)


def read_pairs(examples_uri: str, split: str) -> Tuple[List[str], List[str]]:
    """(sources, references) of one split of cleaned Examples, in corpus line order."""
    numbered = sorted(
        (line_number(example), bytes_feature(example, "source").decode("utf-8"),
         bytes_feature(example, "target").decode("utf-8"))
        for example in iterate_examples(examples_uri, split))
    return [s for _, s, _ in numbered], [r for _, _, r in numbered]


def evaluate_model(export_dir: str, sources: Sequence[str], references: Sequence[str], batch_size: int,
                   target_language: str, scorers: ScorerRegistry = SCORERS) -> Tuple[Dict, List[str]]:
    """Translates `sources` with the SavedModel at `export_dir` and scores the translations.

    Args:
        export_dir: the serving SavedModel (`serving_default` and `score` signatures).
        sources, references: the split's pairs, detokenized.
        batch_size: sentences per SavedModel call.
        target_language: the references' language code, for the scorers.
        scorers: the scorers to report.

    Returns:
        (metrics: every scorer's entries (`ScorerRegistry.score_corpus`), `perplexity` of the non-empty
        references, `reference_tokens`, `num_sentences`, `translate_seconds`; the hypotheses, in input
        order).
    """
    client = SavedModelClient(export_dir)
    started = time.time()
    hypotheses, _ = translate_all(client.translate, sources, batch_size, log_every_seconds=10.0)
    translate_seconds = time.time() - started
    metrics = scorers.score_corpus(hypotheses, references, target_language)
    scored = [(s, r) for s, r in zip(sources, references) if r.strip()]
    total, tokens = client.log_likelihood([s for s, _ in scored], [r for _, r in scored], batch_size)
    metrics.update({
        PERPLEXITY.name: translation_metrics.perplexity(total, tokens),
        "reference_tokens": tokens,
        "num_sentences": len(sources),
        "translate_seconds": translate_seconds,
    })
    return metrics, hypotheses


def evaluate_test_sets(export_dir: str, examples, evaluation_uri: str, batch_size: int,
                       target_language: str) -> Dict[str, Dict]:
    """Translates and scores every further test set of `examples` (`contract.extra_test_splits`: the
    `test_<name>` splits) with the SavedModel at `export_dir`, as `evaluate_model` does the test split, and
    writes each one's hypotheses to `evaluation_uri/contract.test_set_hypotheses_file(split)`.

    Returns:
        {split: `evaluate_model`'s metrics}, by split name; {} when there is no further test set.
    """
    test_sets = {}
    for split in extra_test_splits(artifact_utils.decode_split_names(examples.split_names)):
        sources, references = read_pairs(examples.uri, split)
        log.info("TranslationEvaluator: scoring %d pairs of the test set %s", len(sources), split)
        test_sets[split], hypotheses = evaluate_model(export_dir, sources, references, batch_size, target_language)
        _write_hypotheses(os.path.join(evaluation_uri, test_set_hypotheses_file(split)), hypotheses)
    return test_sets


def _write_hypotheses(path: str, hypotheses: Sequence[str]) -> None:
    """One translation a line (a newline inside one becomes a space)."""
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("".join(h.replace("\n", " ") + "\n" for h in hypotheses))


@tfx.dsl.components.component
def TranslationEvaluator(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    evaluation: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    min_bleu: tfx.dsl.components.Parameter[float] = 0.0,
    max_bleu_drop: tfx.dsl.components.Parameter[float] = 1.0,
    blessing_rule: tfx.dsl.components.Parameter[str] = "significance",
    max_p: tfx.dsl.components.Parameter[float] = 0.05,
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
            decision, the rule and thresholds applied, with a baseline the paired test: its p-value and
            both systems' BLEU with 95 % intervals, and `test_sets`: the candidate's metrics on each further
            test set, {split: metrics}) and `hypotheses.txt` (one translation a line, in the test file's
            line order; `hypotheses-<split>.txt` for each further test set); the candidate's headline
            metrics (`SCORERS.metrics(headline_only=True)`: `bleu`, `chrf`, `chrf_plus_plus`, `ter`,
            `perplexity`) as float custom properties, those that are finite (ML Metadata's SQLite store
            cannot hold NaN; `metrics.json` keeps every value).
        blessing: output ModelBlessing with `blessed` (1/0) and `current_model_id`, plus a `BLESSED`
            or `NOT_BLESSED` file.
        baseline_model: the latest blessed model (from a Resolver); absent on a first run.
        min_bleu: BLEU (the registry's primary metric) below this is never blessed; when not
            configured, RunConfig's default (0.0: any BLEU that is a number) is applied and recorded in
            `metrics.json`.
        max_bleu_drop: threshold rule: largest BLEU drop below the baseline still blessed.
        blessing_rule: `significance` (RunConfig's default) or `threshold` (`tfx_nmt.scoring.blessing`).
        max_p: significance rule: a BLEU below the baseline's with a paired bootstrap p-value below this
            is not blessed.
        batch_size: sentences per SavedModel call.
        split: the split to score and bless on; every further test set (`test_<name>` split) of `examples`
            is scored too, never blessed on.
        target_language: language code of the references: BLEU's tokenizer (`zh`, `ja-mecab`, `ko-mecab`,
            else `13a`), the Moses tokenizer of the comparable BLEU.
    """
    sources, references = read_pairs(examples.uri, split)
    log.info("TranslationEvaluator: scoring %d %s pairs", len(sources), split)
    metrics, hypotheses = evaluate_model(path_utils.serving_model_path(model.uri), sources, references,
                                         batch_size, target_language)
    test_sets = evaluate_test_sets(path_utils.serving_model_path(model.uri), examples, evaluation.uri, batch_size,
                                   target_language)
    baseline_metrics, significance = None, None
    if baseline_model is not None:
        log.info("TranslationEvaluator: scoring the baseline model %s", baseline_model.uri)
        baseline_metrics, baseline_hypotheses = evaluate_model(path_utils.serving_model_path(baseline_model.uri),
                                                               sources, references, batch_size, target_language)
        significance = SCORERS.paired_test(hypotheses, baseline_hypotheses, references, target_language)
    metric = SCORERS.primary
    decision = blessing_decision(metrics[metric.name], min_bleu, max_bleu_drop,
                                 baseline_metrics[metric.name] if baseline_metrics else None, metric,
                                 blessing_rule, significance.p_value if significance else None, max_p)
    result = {"candidate": metrics, "baseline": baseline_metrics, "decision": decision,
              "blessing_rule": blessing_rule,
              "thresholds": {"min_bleu": min_bleu, "max_bleu_drop": max_bleu_drop, "max_p": max_p},
              "significance": significance.as_dict() if significance else None, "split": split,
              "test_sets": test_sets}
    with tf.io.gfile.GFile(os.path.join(evaluation.uri, METRICS_FILE), "w") as f:
        json.dump(result, f, indent=2, allow_nan=True)
    _write_hypotheses(os.path.join(evaluation.uri, HYPOTHESES_FILE), hypotheses)
    headline = SCORERS.metrics(headline_only=True)
    for name in (m.name for m in headline):
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
    log.info("TranslationEvaluator: %s: %s (%s)",
             ", ".join(f"{m.label} {format(metrics[m.name], m.fmt)}" for m in headline),
             "BLESSED" if blessed else "NOT BLESSED", decision["reason"])
