"""`model_card.md` beside a pushed SavedModel: what the model is, what it was trained on, how well it
translates (with the sacreBLEU signature that makes the figure reproducible), what it is for and where it
fails. Its sections follow Mitchell et al. 2019, "Model Cards for Model Reporting"
(https://arxiv.org/abs/1810.03993), shortened to what a translation pipeline knows about its model.

It opens with Hugging Face's model-card YAML front matter (https://huggingface.co/docs/hub/model-cards,
the `model-index` results as in https://github.com/huggingface/hub-docs/blob/main/modelcard.md):
`language`, `license`, `datasets`, `metrics`, `pipeline_tag: translation` and the test scores with their
sacreBLEU signatures, so that the Hub (or any tool that reads the format) shows them.

The ModelCardGen component (`document_components`) writes it before the push; the Pusher puts it into the
version's `assets.extra/` directory, which TensorFlow Serving loads nothing from but its warm-up file
(https://www.tensorflow.org/tfx/serving/saved_model_warmup). Written before the push, the card does not
name the version: the directory it is in does.
"""
from __future__ import annotations

import dataclasses
import datetime
import math
import os
from typing import Dict, List, Optional

from tfx_nmt import files
from tfx_nmt.contract import MODEL_CARD_FILE
from tfx_nmt.reporting.run_artifacts import RunArtifacts, ordered_splits
from tfx_nmt.scoring.scorers import SCORERS, format_with_interval

# Shown as the licence of the model: the pipeline grants none (the code's Apache-2.0 does not cover the
# weights, whose terms follow the training data's).
MODEL_LICENSE = "unknown"


@dataclasses.dataclass(frozen=True)
class DatasetCard:
    """What the model card says about a known corpus (`RunConfig.dataset`)."""

    hub_id: str  # Hugging Face dataset id, for `datasets` and `model-index`
    name: str
    terms: str  # the data's licence and terms of use, as Markdown


KNOWN_DATASETS = {
    "multi30k": DatasetCard(
        hub_id="bentrevett/multi30k", name="Multi30k task 1",
        terms="Multi30k (Elliott et al. 2016, https://github.com/multi30k/dataset; the Hub copy "
              "`bentrevett/multi30k`) is published for research and states no licence of its own. Its English "
              "sentences are the Flickr30K image descriptions (Young et al. 2014, "
              "https://shannon.cs.illinois.edu/DenotationGraph/), distributed under Flickr30K's terms of use; "
              "the German and French sentences are translations of them made for Multi30k; the photographs "
              "stay under their Flickr owners' terms. Read those terms before using this model beyond "
              "research: the pipeline grants no licence for the weights (`license: unknown`)."),
}


def _number(value, fmt: str = ".2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def _cleaning_rules(config: Dict) -> str:
    """The cleaning rules the run applied, as one clause."""
    pair_rules = [f"a side is empty, longer than {config['max_tokens']} words, or the length ratio exceeds "
                  f"{config['max_length_ratio']}"]
    if config["drop_copies"]:
        pair_rules.append("the target is a copy of the source")
    if config["lid"]:
        pair_rules.append(f"language identification (py3langid) takes a side of {config['lid_min_chars']} or "
                          f"more characters for another language with probability {config['lid_min_probability']} "
                          "or more")
    train_rules = (["whose source is an eval or test source"] if config["drop_test_overlap"] else []) + (
        ["that repeat an earlier pair"] if config["deduplicate"] else [])
    train = f"; train pairs {' or '.join(train_rules)} dropped" if train_rules else ""
    return f"train/eval pairs dropped when {'; or '.join(pair_rules)}{train}"


def _dataset(config: Dict) -> DatasetCard:
    name = config.get("dataset") or "multi30k"
    return KNOWN_DATASETS.get(name) or DatasetCard(
        hub_id=name, name=name,
        terms=f"The run was given the corpus `{name}`; the pipeline does not record its licence: add its "
              f"licence and terms of use here before sharing the model.")


def _trained_at(finished_at: Optional[str]) -> str:
    """`training_stats.json`'s `finished_at` (ISO 8601, UTC) as `YYYY-MM-DD HH:MM UTC`."""
    if not finished_at:
        return "n/a"
    return datetime.datetime.fromisoformat(finished_at).strftime("%Y-%m-%d %H:%M UTC")


def _finite(value) -> Optional[float]:
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _hardware(hardware: Optional[Dict]) -> str:
    """`training_stats.json`'s `hardware` (`tfx_nmt.models.devices.training_hardware`) in words."""
    if not hardware:
        return "hardware not recorded"
    devices = (", ".join(hardware["gpus"]) if hardware["gpus"]
               else f"{hardware['cpu']} ({hardware['cpu_cores']} cores, no GPU)")
    workers = f", {hardware['workers']} workers" if hardware["workers"] > 1 else ""
    return f"{devices}, {hardware['replicas']} replica(s) in sync{workers}"


def model_card_metadata(run: RunArtifacts) -> Dict:
    """The Hugging Face model-card metadata (the YAML front matter) of the run's model.

    Keys: `language` (source and target codes), `license`, `library_name`, `tags`, `datasets` (Hub ids),
    `metrics` (the headline scorers' names: bleu, chrf), `pipeline_tag: translation`, and `model-index`:
    one result (task translation, the dataset and the scored split) whose metrics are the candidate's test
    scores, each with its sacreBLEU signature under `args.signature` and its 95 % bootstrap interval under
    `args.confidence_interval_95` ([low, high]); a score that is not a finite number is left out.
    """
    summary, config = run.summary, run.summary["config"]
    candidate = run.metrics["candidate"]
    source, target = config["source"], config["target"]
    dataset = _dataset(config)
    scorers = [s for s in SCORERS.values() if s.headline]
    results: List[Dict] = []
    for scorer in scorers:
        value = _finite(candidate.get(scorer.name))
        if value is None:
            continue
        entry = {"type": scorer.name, "value": round(float(value), 2), "name": f"{scorer.label} (sacreBLEU)"}
        args = {}
        if scorer.signature_key:
            args["signature"] = candidate[scorer.signature_key]
        interval = candidate.get(scorer.interval_key) if scorer.interval_key else None
        if interval:
            args["confidence_interval_95"] = [round(float(interval["low"]), 2), round(float(interval["high"]), 2)]
        if args:
            entry["args"] = args
        results.append(entry)
    return {
        "language": [source, target],
        "license": MODEL_LICENSE,
        "library_name": "keras",
        "tags": ["translation", "tensorflow", "keras", "tfx", "transformer", "tensorflow-serving"],
        "datasets": [dataset.hub_id],
        "metrics": [s.name for s in scorers],
        "pipeline_tag": "translation",
        "model-index": [{
            "name": config["model_name"],
            "results": [{
                "task": {"type": "translation", "name": f"Translation {source}-{target}"},
                "dataset": {"type": dataset.hub_id, "name": f"{dataset.name} ({source}-{target})",
                            "split": run.metrics["split"]},
                "metrics": results,
            }],
        }],
    }


def _pair_caps(config: Dict) -> str:
    """", of the files only the first 400 train, 40 eval and 40 test pairs (max_train_pairs, ...)" when the
    run read only the first pairs of a split's files, else ""."""
    caps = [(split, config[f"max_{split}_pairs"]) for split in ("train", "eval", "test")
            if config[f"max_{split}_pairs"]]
    if not caps:
        return ""
    return (", of the files only the first " + ", ".join(f"{count:,} {split}" for split, count in caps) + " pairs ("
            + ", ".join(f"`max_{split}_pairs`" for split, _ in caps) + ")")


def render_model_card(run: RunArtifacts) -> str:
    """The model card of the run's model, as Markdown with Hugging Face's YAML front matter
    (`model_card_metadata`)."""
    import yaml

    summary, config = run.summary, run.summary["config"]
    candidate, baseline = run.metrics["candidate"], run.metrics["baseline"]
    source, target = config["source"], config["target"]
    layers = " and ".join(f"{count} {side} layer{'' if count == 1 else 's'}" for side, count in
                          (("encoder", config["num_encoder_layers"]), ("decoder", config["num_decoder_layers"])))
    shape = (f"d_model {config['d_model']}, {layers}, {config['num_heads']} heads, feed-forward width "
             f"{config['ff_dim']}, dropout {config['dropout']}, "
             f"{'pre' if config['normalize_first'] else 'post'}-layer-norm, "
             f"{'tied' if config['tie_embeddings'] else 'untied'} output embedding")
    length_cap = (f"min({config['max_target_length']}, ceil({config['max_decode_length_a']} x source tokens "
                  f"+ {config['max_decode_length_b']}))")
    decoding = (f"beam search (beam size {config['beam_size']}, GNMT length penalty alpha "
                f"{config['length_penalty_alpha']}, Wu et al. 2016) in `serving_default`, greedy in `translate_greedy`")
    dataset = _dataset(config)
    hardware = _hardware(summary.get("train_hardware"))
    train_minutes = _finite(summary.get("train_seconds"))
    train_time = f"{train_minutes / 60:.1f} minutes" if train_minutes is not None else "n/a"
    model_name = config["model_name"]
    front_matter = yaml.safe_dump(model_card_metadata(run), sort_keys=False, allow_unicode=True)
    examples: Dict[str, Dict[str, int]] = summary["num_examples"]
    data_rows = "\n".join(
        f"| {split} | {examples[split]['before_cleaning']} | {examples[split]['after_cleaning']} |"
        for split in ordered_splits(examples))
    scorers = [s for s in SCORERS.values() if s.headline]
    def scored(entries: Dict, s) -> str:
        return format_with_interval(s, entries.get(s.name), entries.get(s.interval_key) if s.interval_key else None)

    score_lines = "\n".join(
        f"- {s.label} {scored(candidate, s)}"
        + (f" (`{candidate[s.signature_key]}`)" if s.signature_key else "") for s in scorers)
    significance = run.metrics.get("significance")
    test = (f" Paired bootstrap test on {SCORERS.primary.label} against it: p = {significance['p_value']:.4f}."
            if significance else "")
    baseline_line = ("- Baseline (the previously blessed model) on the same sentences: "
                     + ", ".join(f"{s.label} {scored(baseline, s)}" for s in scorers) + "." + test
                     if baseline else "- No baseline: this is the first blessed model of the pipeline.")
    return f"""---
{front_matter}---

# Model card: {config['model_name']} ({source} to {target})

## Model
- Encoder-decoder Transformer (Vaswani et al. 2017) built from keras-hub layers: {shape}.
- Joint SentencePiece {config['tokenizer_model_type']} vocabulary of up to {config['vocabulary_size']} pieces,
  embedded in the SavedModel; text is normalized (NFC, control characters removed, whitespace collapsed)
  inside the graph.
- Trained {summary['train_steps']} steps (preset `{summary['preset']}`) in {train_time} of training, at
  {_number(summary['train_target_tokens_per_sec'], '.0f')} target tokens/s, on {hardware}; training
  finished {_trained_at(summary.get('train_finished_at'))}.
- Decoding: {decoding}; outputs of at most {length_cap} tokens.
- Serving: TensorFlow Serving signature `serving_default`, input `text` (string [batch]), outputs
  `translation` (string [batch]) and `log_probability_per_token` (float32 [batch]).
- Pipeline run `{summary['pipeline_run_id']}`.

## Languages
Source `{source}`, target `{target}`; one sentence in, one sentence out.

## Data
{dataset.name} (`{dataset.hub_id}`), {source}-{target}. Pairs per split of the parallel corpus given to the
run, before and after cleaning ({_cleaning_rules(config)}; the test split is never filtered){_pair_caps(config)}:

| split | pairs | after cleaning |
| --- | --- | --- |
{data_rows}

### Licence and terms of the data
{dataset.terms}

## Metrics
On the {run.metrics['split']} split ({candidate['num_sentences']} sentences), detokenized, cased; in brackets the
95 % confidence interval by bootstrap resampling of the test sentences (sacreBLEU, 1,000 resamples):
{score_lines}
- Perplexity of the references {_number(candidate['perplexity'])} (per target token, EOS included).
{baseline_line}
- Blessing (rule `{run.metrics.get('blessing_rule', 'threshold')}`): {'blessed' if summary['blessed'] else 'not blessed'} ({summary['blessing_reason']}).

## Intended use
Translating short, single sentences from {source} to {target} in the domain of the training data (with the
default corpus: one-sentence descriptions of everyday scenes in photographs), behind TensorFlow Serving;
and as a reproducible baseline for experiments with the pipeline.

## Usage
With TensorFlow Serving, this card's version directory being `<model_base_path>/{model_name}/<version>/`
(`tfx-nmt serving-config` writes the server's config files and Kubernetes manifests):

```
curl -d '{{"instances": [{{"text": "A man in a red shirt."}}]}}' \\
  http://localhost:8501/v1/models/{model_name}:predict
# {{"predictions": [{{"translation": "...", "log_probability_per_token": -0.42}}]}}
```

With `tfx-nmt translate`, in process or through the server (`--grpc HOST:8500` for gRPC):

```
tfx-nmt translate --model-dir <this version directory> "A man in a red shirt."
cat {source}.txt | tfx-nmt translate --server http://localhost:8501 --model-name {model_name} > {target}.txt
```

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
