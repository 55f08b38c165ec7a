"""`tfx-nmt evaluate`: score a model, a TF Serving server or a file of translations on any test set.

    tfx-nmt evaluate --source test.en --reference test.de --model-dir serving/translator/<version>
    tfx-nmt evaluate --source test.en --reference test.de --server http://localhost:8501 --target-language de
    tfx-nmt evaluate --source test.en --reference test.de --grpc localhost:8500 --target-language de
    tfx-nmt evaluate --reference test.de --hypotheses hyp.de --target-language de
    tfx-nmt evaluate ... --baseline-model-dir DIR | --baseline-hypotheses FILE   # paired bootstrap test
    tfx-nmt evaluate ... --json scores.json

Prints BLEU (tokenized for the target language), chrF, chrF++, TER (each with its 95 % bootstrap interval),
the comparable lowercased Moses-tokenized BLEU, perplexity (teacher forcing through the SavedModel's `score`
signature, with a local model only) and the sacreBLEU signatures; with a baseline, both systems side by side
and the p-value of sacreBLEU's paired bootstrap test on BLEU. The target language defaults to the one the
SavedModel records (`assets.extra/translation_settings.json`); give it with `--hypotheses`, `--server` and
`--grpc`. Pairs whose reference is empty are left out of every score (and counted).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, List, Optional, Tuple

from tfx_nmt import contract, files
from tfx_nmt.arguments import positive_int
from tfx_nmt.errors import UserError
from tfx_nmt.scoring import translation_metrics
from tfx_nmt.scoring.scorers import PERPLEXITY, SCORERS, format_with_interval
from tfx_nmt.serving import clients
from tfx_nmt.serving.translate_command import input_lines


class EvaluateInputError(UserError, ValueError):
    """Files that cannot be scored together (line counts that differ, an empty file), a model directory that
    is not a SavedModel of this project, or a missing target language; the message names the files."""


def register(subparsers) -> None:
    """Adds the `evaluate` subcommand to the `tfx-nmt` subparsers."""
    parser = subparsers.add_parser("evaluate", help="score a model or translations on a test set (BLEU, chrF, chrF++, "
                                                    "TER with intervals; a paired test against a baseline)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default=None, metavar="FILE",
                        help="UTF-8 file of source sentences, one a line (needed to translate; with --hypotheses "
                             "only its line count is checked)")
    parser.add_argument("--reference", required=True, metavar="FILE",
                        help="UTF-8 file of reference translations, line by line")
    system = parser.add_mutually_exclusive_group(required=True)
    system.add_argument("--model-dir", default=None, metavar="DIR",
                        help="a SavedModel version directory of this project")
    system.add_argument("--server", default=None, metavar="URL", help="TF Serving REST base URL, e.g. http://HOST:8501")
    system.add_argument("--grpc", default=None, metavar="HOST:PORT",
                        help="TF Serving gRPC address HOST:PORT, e.g. HOST:8500")
    system.add_argument("--hypotheses", default=None, metavar="FILE",
                        help="UTF-8 file of translations already made, line by line")
    parser.add_argument("--target-language", default=None, metavar="CODE",
                        help="language code of the references (BLEU's tokenizer: zh, ja-mecab, ko-mecab, else "
                             "13a); default: the one --model-dir records; needed with --hypotheses, --server, --grpc")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline-model-dir", default=None, metavar="DIR",
                          help="a SavedModel to compare with (paired bootstrap test on BLEU; needs --source)")
    baseline.add_argument("--baseline-hypotheses", default=None, metavar="FILE",
                          help="the baseline's translations, line by line")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write every figure to this file as JSON")
    parser.add_argument("--model-name", default="translator", metavar="NAME",
                        help="TF Serving: the served model's name")
    parser.add_argument("--model-version", type=int, default=None, metavar="V", help="TF Serving: a specific version")
    parser.add_argument("--signature", default=clients.DEFAULT_SIGNATURE, choices=clients.TRANSLATION_SIGNATURES,
                        help="serving_default (beam search, the default) or translate_greedy")
    parser.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="sentences per request")
    parser.set_defaults(func=run)


def read_lines(flag: str, path: str) -> List[str]:
    """The lines of a UTF-8 file (`translate_command.input_lines`: gzip, UTF-16 and bytes that are not
    UTF-8 are refused, naming the file and line).

    Raises:
        EvaluateInputError: the file has no line.
        translate_command.TranslateFileError: see `input_lines`.
    """
    texts, _ = input_lines(path)
    texts = list(texts)
    if not texts:
        raise EvaluateInputError(f"{flag} {path}: is empty")
    return texts


def check_line_counts(named: List[Tuple[str, str, List[str]]]) -> None:
    """Raises EvaluateInputError naming both files and counts when two of `named` ((flag, path, lines))
    differ in length."""
    (flag, path, lines), *others = named
    for other_flag, other_path, other_lines in others:
        if len(other_lines) != len(lines):
            raise EvaluateInputError(
                f"{flag} {path} has {len(lines)} lines but {other_flag} {other_path} has {len(other_lines)}: "
                f"they must pair up line by line")


def project_model_dir(flag: str, model_dir: str) -> Dict:
    """The translation settings of a SavedModel of this project (`contract.TRANSLATION_SETTINGS_FILE`, which
    every export writes beside the graph).

    Raises:
        EvaluateInputError: `model_dir` is not a directory, holds no `saved_model.pb`, or no settings file.
    """
    if not os.path.isdir(model_dir):
        raise EvaluateInputError(f"{flag} {model_dir}: is not a directory")
    if not os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
        raise EvaluateInputError(f"{flag} {model_dir}: not a SavedModel (no saved_model.pb); give a version "
                                 f"directory such as outputs/quick/serving/translator/<version>")
    settings = os.path.join(model_dir, contract.ASSETS_EXTRA_DIR, contract.TRANSLATION_SETTINGS_FILE)
    if not os.path.isfile(settings):
        raise EvaluateInputError(f"{flag} {model_dir}: not a SavedModel of tfx-nmt (no "
                                 f"{contract.ASSETS_EXTRA_DIR}/{contract.TRANSLATION_SETTINGS_FILE})")
    return files.read_json(settings)


def _saved_model_client(flag: str, model_dir: str, signature: str) -> clients.SavedModelClient:
    client = clients.SavedModelClient(model_dir, signature)
    if clients.SCORE_SIGNATURE not in client.signature_names():
        raise EvaluateInputError(f"{flag} {model_dir}: not a SavedModel of tfx-nmt (no "
                                 f"{clients.SCORE_SIGNATURE!r} signature)")
    return client


def _translate(client, sources: List[str], batch_size: int) -> List[str]:
    translations, _ = clients.translate_all(client.translate, sources, batch_size, progress=True)
    return translations


def _perplexity(client: clients.SavedModelClient, sources: List[str], references: List[str],
                batch_size: int) -> Tuple[float, int]:
    kept = [(s, r) for s, r in zip(sources, references) if r.strip()]
    total, tokens = client.log_likelihood([s for s, _ in kept], [r for _, r in kept], batch_size)
    return translation_metrics.perplexity(total, tokens), tokens


def score_system(hypotheses: List[str], references: List[str], language: str,
                 perplexity: Optional[Tuple[float, int]]) -> Dict[str, object]:
    """Every registered scorer's entries (`ScorerRegistry.score_corpus`), `perplexity` (None without a
    local model) and `reference_tokens`."""
    metrics = SCORERS.score_corpus(hypotheses, references, language)
    metrics[PERPLEXITY.name] = perplexity[0] if perplexity else None
    metrics["reference_tokens"] = perplexity[1] if perplexity else None
    return metrics


def format_report(result: Dict) -> str:
    """The table `tfx-nmt evaluate` prints: one row per metric (candidate, and with a baseline the baseline
    and the difference), the paired test, the sacreBLEU signatures."""
    candidate, baseline = result["candidate"], result["baseline"]
    header = ["metric", "this system"] + (["baseline", "difference"] if baseline else [])
    rows = [header]
    for metric in SCORERS.metrics():
        row = [metric.label,
               format_with_interval(metric, candidate[metric.name], candidate.get(f"{metric.name}_interval"))]
        if baseline:
            row.append(format_with_interval(metric, baseline[metric.name], baseline.get(f"{metric.name}_interval")))
            both = (candidate[metric.name], baseline[metric.name])
            finite = all(isinstance(v, float) and math.isfinite(v) for v in both)
            row.append(format(both[0] - both[1], "+" + metric.fmt) if finite else "n/a")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"{result['num_sentences']} sentences ({candidate['num_empty_references']} with an empty reference "
             f"left out), target language {result['target_language']}"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    if result["significance"]:
        test = result["significance"]
        lines.append(f"paired bootstrap test on {SCORERS.primary.label} ({test['resamples']} resamples, seed "
                     f"{test['seed']}): p = {test['p_value']:.4f}")
    lines.append("signatures (sacreBLEU):")
    lines += [f"  {s.label}: {candidate[s.signature_key]}" for s in SCORERS.values() if s.signature_key]
    for scorer in SCORERS.values():
        reason = candidate.get(f"{scorer.name}_not_applicable")
        if reason:
            lines.append(f"{scorer.label}: not applicable ({reason})")
    return "\n".join(lines)


def _finite_or_null(value):
    """`value` with every float that is not finite (a score of nothing) replaced by None: strict JSON."""
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _target_language(args: argparse.Namespace, settings: Optional[Dict]) -> str:
    if args.target_language:
        return args.target_language
    if settings is None:
        given = "--hypotheses" if args.hypotheses else "--server" if args.server else "--grpc"
        raise EvaluateInputError(f"--target-language is needed with {given} (only a --model-dir records its target "
                                 f"language)")
    target = (settings.get("languages") or {}).get("target")
    if not target:
        raise EvaluateInputError(f"--model-dir {args.model_dir}: records no target language (exported before "
                                 f"SavedModels recorded it); pass --target-language")
    return target


def run(args: argparse.Namespace) -> int:
    """Runs `tfx-nmt evaluate`; returns the exit code (0).

    Raises:
        EvaluateInputError, translate_command.TranslateFileError, clients.SavedModelLoadError,
            clients.ServingError, translation_metrics.MissingTokenizerError: the command line prints them as
            one line.
    """
    if args.source is None and not args.hypotheses:
        raise EvaluateInputError("--source is needed to translate (with --model-dir, --server or --grpc)")
    if args.baseline_model_dir and args.source is None:
        raise EvaluateInputError("--baseline-model-dir needs --source, the sentences it translates")
    references = read_lines("--reference", args.reference)
    named = [("--reference", args.reference, references)]
    sources = None
    if args.source is not None:
        sources = read_lines("--source", args.source)
        named.append(("--source", args.source, sources))
    hypotheses = read_lines("--hypotheses", args.hypotheses) if args.hypotheses else None
    if hypotheses is not None:
        named.append(("--hypotheses", args.hypotheses, hypotheses))
    baseline_hypotheses = read_lines("--baseline-hypotheses", args.baseline_hypotheses) \
        if args.baseline_hypotheses else None
    if baseline_hypotheses is not None:
        named.append(("--baseline-hypotheses", args.baseline_hypotheses, baseline_hypotheses))
    check_line_counts(named)
    settings = project_model_dir("--model-dir", args.model_dir) if args.model_dir else None
    if args.baseline_model_dir:
        project_model_dir("--baseline-model-dir", args.baseline_model_dir)
    language = _target_language(args, settings)
    translation_metrics.bleu_tokenizer(language)  # A missing tokenizer package fails before translating.

    perplexity = None
    if hypotheses is None:
        if args.model_dir:
            client = _saved_model_client("--model-dir", args.model_dir, args.signature)
            hypotheses = _translate(client, sources, args.batch_size)
            perplexity = _perplexity(client, sources, references, args.batch_size)
        elif args.server:
            hypotheses = _translate(clients.RestClient(args.server, args.model_name, args.signature,
                                                       args.model_version), sources, args.batch_size)
        else:
            client = clients.GrpcClient(args.grpc, args.model_name, args.signature, args.model_version)
            try:
                hypotheses = _translate(client, sources, args.batch_size)
            finally:
                client.close()
    candidate = score_system(hypotheses, references, language, perplexity)

    baseline, significance = None, None
    if args.baseline_model_dir:
        client = _saved_model_client("--baseline-model-dir", args.baseline_model_dir, args.signature)
        baseline_hypotheses = _translate(client, sources, args.batch_size)
        baseline_perplexity = _perplexity(client, sources, references, args.batch_size)
        baseline = score_system(baseline_hypotheses, references, language, baseline_perplexity)
    elif baseline_hypotheses is not None:
        baseline = score_system(baseline_hypotheses, references, language, None)
    if baseline is not None:
        significance = SCORERS.paired_test(hypotheses, baseline_hypotheses, references, language).as_dict()
    result = {"num_sentences": len(references), "target_language": language,
              "bleu_tokenizer": translation_metrics.bleu_tokenizer(language),
              "candidate": candidate, "baseline": baseline, "significance": significance}
    print(format_report(result))
    if args.json:
        files.write_text(args.json, json.dumps(_finite_or_null(result), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0
