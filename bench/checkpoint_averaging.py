"""Checkpoint averaging measured offline on a finished run, without retraining: for N = 1 .. `--max-n`
(as many as the run's Trainer kept), the model weights of the newest N checkpoints are averaged
(`tfx_nmt.models.checkpoint_averaging`) and the validation split is translated (greedily, or with `--beam`
by the serving signature's beam search, as the TranslationEvaluator scores) and scored. N is a choice, so
it is made on the validation split (`eval`); `--split test` reports the chosen N's test score once.

Reads from `<output-dir>`: the run's model, config and SentencePiece model
(`finished_run.restore_run_model`), the Trainer's `training_stats.json` (`checkpoint_dir`) and
the TextCleaner's cleaned validation (or test) split. Prints, per
N, the steps averaged, cased sacreBLEU and the lowercased Moses-tokenized BLEU of the translations
(greedy: `translate_greedy`, so N = 1 is below the run's BLEU; `--beam`: `serving_default`, the run's
beam size and length penalty).

    python bench/checkpoint_averaging.py --output-dir outputs/quick [--min-n 1] [--max-n 5] [--batch-size 64] [--beam]
        [--split {eval,test}] [--checkpoint-dir DIR]
"""
import argparse
import json
import os
from typing import List

import tensorflow as tf
from finished_run import read_summary, restore_run_model
from machine import machine_line

from tfx_nmt import contract
from tfx_nmt.components.translation_evaluator import read_pairs
from tfx_nmt.scoring.translation_metrics import comparable_bleu, corpus_bleu
from tfx_nmt.models.checkpoint_averaging import average_checkpoints, checkpoint_steps
from tfx_nmt.models.export import TranslatorServingModule
from tfx_nmt.models.trainer import compiled_model
from tfx_nmt.serving.clients import translate_all
from tfx_nmt.text.tokenizers import SentencePieceTokenizer


def translations(module: TranslatorServingModule, sources: List[str], batch_size: int, beam: bool) -> List[str]:
    """`module.serve` (beam search) or `module.translate_greedy` over `sources` in length-sorted batches of
    `batch_size`, in input order."""
    signature = module.serve if beam else module.translate_greedy

    def translate(texts):
        outputs = signature(tf.constant(texts))
        return [t.decode("utf-8") for t in outputs["translation"].numpy()], outputs["log_probability_per_token"].numpy().tolist()

    return translate_all(translate, sources, batch_size)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", required=True, help="the `--output-dir` of a finished `tfx-nmt run`")
    parser.add_argument("--max-n", type=int, default=5, help="average up to this many newest checkpoints")
    parser.add_argument("--min-n", type=int, default=1, help="start from this many (with --max-n: one N only)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the run's decode_batch_size")
    parser.add_argument("--beam", action="store_true", help="beam search (the run's beam size and length "
                        "penalty) instead of greedy decoding")
    parser.add_argument("--split", choices=("eval", "test"), default="eval",
                        help="the cleaned split to translate (default eval: choose N on validation)")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="average the checkpoints of this CheckpointManager directory (a copy of the "
                        "Trainer's checkpoints saved earlier in the run, to compare step counts on one run) "
                        "instead of the Trainer's own (default)")
    args = parser.parse_args()
    summary = read_summary(args.output_dir)
    artifacts = summary["artifacts"]
    with open(os.path.join(artifacts[contract.artifact_key(contract.TRAINER, contract.MODEL_RUN)], contract.TRAINING_STATS_FILE)) as f:
        stats = json.load(f)
    checkpoint_dir = args.checkpoint_dir or stats["checkpoint_dir"]
    kept = checkpoint_steps(checkpoint_dir)
    if not kept:
        parser.error(f"no checkpoint in {checkpoint_dir}")
    sources, references = read_pairs(artifacts["TextCleaner.cleaned_examples"], args.split)
    run = restore_run_model(args.output_dir)
    config, model = run.config, run.model
    scratch = compiled_model(config, model.vocabulary_size)
    module = TranslatorServingModule(model, SentencePieceTokenizer(run.tokenizer_model), config.max_decode_length_a,
                                     config.max_decode_length_b, config.beam_size, config.length_penalty_alpha)

    print(machine_line(), flush=True)
    print(f"run {args.output_dir}: preset {config.preset}, {summary['train_steps']} steps, "
          f"{len(kept)} checkpoints kept (steps {', '.join(str(s) for s, _ in kept)}), "
          f"{len(sources)} {args.split} sentences, "
          + (f"beam {config.beam_size}, alpha {config.length_penalty_alpha}" if args.beam else "greedy"), flush=True)
    print(f"{'N':>2s}  {'steps averaged':32s} {'BLEU':>6s} {'BLEU lc tok':>11s}", flush=True)
    for n in range(args.min_n, min(args.max_n, len(kept)) + 1):
        chosen = kept[-n:]
        average_checkpoints(model, [path for _, path in chosen], scratch)
        hypotheses = translations(module, sources, args.batch_size or config.decode_batch_size, args.beam)
        scores = corpus_bleu(hypotheses, references)
        lowercase_bleu = comparable_bleu(hypotheses, references, config.target)
        steps = ", ".join(str(step) for step, _ in chosen)
        print(f"{n:>2d}  {steps:32s} {scores.score:>6.2f} {lowercase_bleu:>11.2f}", flush=True)
    print(f"BLEU: cased sacreBLEU, {scores.signature}; BLEU lc tok: lowercased, punctuation-normalized, "
          "Moses-tokenized (BENCHMARKS.md, BLEU procedures)", flush=True)


if __name__ == "__main__":
    main()
