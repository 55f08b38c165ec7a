"""`model_card.md` beside a pushed SavedModel: what the model is, what it was trained on, how well it
translates (with the sacreBLEU signature that makes the figure reproducible), what it is for and where it
fails. Its sections follow Mitchell et al. 2019, "Model Cards for Model Reporting"
(https://arxiv.org/abs/1810.03993), shortened to what a translation pipeline knows about its model.

The ModelCardGen component (`document_components`) writes it before the push; the Pusher puts it into the
version's `assets.extra/` directory, which TensorFlow Serving loads nothing from but its warm-up file
(https://www.tensorflow.org/tfx/serving/saved_model_warmup). Written before the push, the card does not
name the version: the directory it is in does.
"""
from __future__ import annotations

import math
import os
from typing import Dict

from tfx_nmt import files
from tfx_nmt.contract import MODEL_CARD_FILE
from tfx_nmt.reporting.run_artifacts import RunArtifacts, ordered_splits
from tfx_nmt.scoring.scorers import SCORERS


def _number(value, fmt: str = ".2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def render_model_card(run: RunArtifacts) -> str:
    """The model card of the run's model, as Markdown."""
    summary, config = run.summary, run.summary["config"]
    candidate, baseline = run.metrics["candidate"], run.metrics["baseline"]
    source, target = config["source"], config["target"]
    shape = (f"d_model {config['d_model']}, {config['num_encoder_layers']} encoder and "
             f"{config['num_decoder_layers']} decoder layers, {config['num_heads']} heads, feed-forward width "
             f"{config['ff_dim']}, dropout {config['dropout']}, "
             f"{'pre' if config['normalize_first'] else 'post'}-layer-norm, "
             f"{'tied' if config['tie_embeddings'] else 'untied'} output embedding")
    length_cap = (f"min({config['max_target_length']}, ceil({config['max_decode_length_a']} x source tokens "
                  f"+ {config['max_decode_length_b']}))")
    decoding = (f"beam search (beam size {config['beam_size']}, GNMT length penalty alpha "
                f"{config['length_penalty_alpha']}, Wu et al. 2016) in `serving_default`, greedy in `translate_greedy`")
    examples: Dict[str, Dict[str, int]] = summary["num_examples"]
    data_rows = "\n".join(
        f"| {split} | {examples[split]['before_cleaning']} | {examples[split]['after_cleaning']} |"
        for split in ordered_splits(examples))
    scorers = [s for s in SCORERS.values() if s.headline]
    score_lines = "\n".join(
        f"- {s.label} {_number(candidate[s.name], s.fmt)}"
        + (f" (`{candidate[s.signature_key]}`)" if s.signature_key else "") for s in scorers)
    baseline_line = ("- Baseline (the previously blessed model) on the same sentences: "
                     + ", ".join(f"{s.label} {_number(baseline[s.name], s.fmt)}" for s in scorers) + "."
                     if baseline else "- No baseline: this is the first blessed model of the pipeline.")
    return f"""# Model card: {config['model_name']} ({source} to {target})

## Model
- Encoder-decoder Transformer (Vaswani et al. 2017) built from keras-hub layers: {shape}.
- Joint SentencePiece {config['tokenizer_model_type']} vocabulary of up to {config['vocabulary_size']} pieces,
  embedded in the SavedModel; text is normalized (NFC, control characters removed, whitespace collapsed)
  inside the graph.
- Trained {summary['train_steps']} steps (preset `{summary['preset']}`), at
  {_number(summary['train_target_tokens_per_sec'], '.0f')} target tokens/s.
- Decoding: {decoding}; outputs of at most {length_cap} tokens.
- Serving: TensorFlow Serving signature `serving_default`, input `text` (string [batch]), outputs
  `translation` (string [batch]) and `score` (float32 [batch], log-probability per output token).
- Pipeline run `{summary['pipeline_run_id']}`.

## Languages
Source `{source}`, target `{target}`; one sentence in, one sentence out.

## Data
Pairs per split of the parallel corpus given to the run (Multi30k task 1 by default: English, German and
French image descriptions), before and after cleaning (train/eval pairs dropped when a side is empty,
longer than {config['max_tokens']} words, or the length ratio exceeds {config['max_length_ratio']}; train
duplicates dropped; the test split is never filtered):

| split | pairs | after cleaning |
| --- | --- | --- |
{data_rows}

## Metrics
On the {run.metrics['split']} split ({candidate['num_sentences']} sentences), detokenized, cased:
{score_lines}
- Perplexity of the references {_number(candidate['perplexity'])} (per target token, EOS included).
{baseline_line}
- Blessing: {'blessed' if summary['blessed'] else 'not blessed'} ({summary['blessing_reason']}).

## Intended use
Translating short, single sentences from {source} to {target} in the domain of the training data (with the
default corpus: one-sentence descriptions of everyday scenes in photographs), behind TensorFlow Serving;
and as a reproducible baseline for experiments with the pipeline.

## Limits
- Trained on one small corpus: quality drops sharply on other domains (news, dialogue, technical text),
  on long sentences and on rare words; check the per-length BLEU in the run report.
- Sentence by sentence: no document context, so pronouns, gender and terminology may be inconsistent
  across sentences; biases of the training descriptions (for example gendered defaults) carry over.
- Inputs longer than {config['max_source_length']} subword tokens are truncated.
- Automatic metrics on one reference per sentence; they do not replace human evaluation.
"""


def write_model_card(run: RunArtifacts, directory: str) -> str:
    """Writes `<directory>/model_card.md` atomically (a local path or a `tf.io.gfile` URI); returns its path."""
    path = os.path.join(directory, MODEL_CARD_FILE)
    files.write_text(path, render_model_card(run))
    return path
