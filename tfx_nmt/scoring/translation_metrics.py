"""Corpus-level translation metrics and the blessing rule, as pure functions.

- BLEU (Papineni et al. 2002) and chrF (Popović 2015) from sacreBLEU (Post 2018,
  https://aclanthology.org/W18-6319): cased, on detokenized text, sacreBLEU's default `13a` tokenizer.
  The sacreBLEU signature is returned with the scores so that they can be compared and reproduced.
- Comparable BLEU: the figure the Multi30k literature reports (for example fairseq's and the WMT16
  multimodal task's): lowercased text, punctuation normalized and tokenized with the Moses scripts
  (sacremoses' `MosesPunctNormalizer` and `MosesTokenizer` for the target language, no escaping), then
  BLEU with no further tokenization (sacreBLEU `tokenize="none"`).
- Perplexity: exp of the mean negative log-likelihood per target token (EOS included) of the references
  under teacher forcing, without label smoothing, padding excluded.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple

import sacrebleu


@dataclasses.dataclass(frozen=True)
class CorpusScores:
    """BLEU and chrF of a test set (0-100), with what was scored.

    Attributes:
        bleu, chrf: corpus scores.
        bleu_signature, chrf_signature: sacreBLEU signatures.
        bleu_precisions: the four n-gram precisions (percent); brevity_penalty in [0, 1].
        num_scored: pairs scored; num_empty_references: pairs left out because the reference is empty.
    """

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str
    bleu_precisions: List[float]
    brevity_penalty: float
    num_scored: int
    num_empty_references: int


def scored_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> List[Tuple[str, str]]:
    """The (hypothesis, reference) pairs that are scored: those whose reference is not empty.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references: they must pair up one to one")
    return [(h, r) for h, r in zip(hypotheses, references) if r.strip()]


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> CorpusScores:
    """Scores detokenized hypotheses against one reference each.

    Pairs whose reference is empty (after stripping) are left out and counted. With nothing left to
    score, BLEU and chrF are NaN.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    kept = scored_pairs(hypotheses, references)
    bleu_metric, chrf_metric = sacrebleu.BLEU(), sacrebleu.CHRF()
    if kept:
        hyps, refs = [h for h, _ in kept], [r for _, r in kept]
        bleu = bleu_metric.corpus_score(hyps, [refs])
        chrf = chrf_metric.corpus_score(hyps, [refs])
        bleu_score, chrf_score, precisions, bp = bleu.score, chrf.score, list(bleu.precisions), bleu.bp
    else:
        # The signature needs a scored corpus to know the number of references; score a dummy one.
        bleu_metric.corpus_score([""], [[""]])
        chrf_metric.corpus_score([""], [[""]])
        bleu_score = chrf_score = bp = float("nan")
        precisions = [float("nan")] * 4
    return CorpusScores(
        bleu=bleu_score, chrf=chrf_score,
        bleu_signature=str(bleu_metric.get_signature()), chrf_signature=str(chrf_metric.get_signature()),
        bleu_precisions=precisions, brevity_penalty=bp,
        num_scored=len(kept), num_empty_references=len(references) - len(kept))


def moses_tokenize(sentences: Sequence[str], language: str) -> List[str]:
    """Lowercases, normalizes punctuation and Moses-tokenizes each sentence (tokens joined by spaces)."""
    from sacremoses import MosesPunctNormalizer, MosesTokenizer

    normalizer, tokenizer = MosesPunctNormalizer(lang=language), MosesTokenizer(lang=language)
    return [" ".join(tokenizer.tokenize(normalizer.normalize(s.lower()), escape=False)) for s in sentences]


def comparable_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> float:
    """BLEU on lowercased, punctuation-normalized, Moses-tokenized text (see the module docstring).

    Pairs with an empty reference are left out, as in `corpus_scores`; NaN when nothing is left.

    Raises:
        ValueError: when the two lists differ in length.
    """
    kept = scored_pairs(hypotheses, references)
    if not kept:
        return float("nan")
    hyps = moses_tokenize([h for h, _ in kept], language)
    refs = moses_tokenize([r for _, r in kept], language)
    return sacrebleu.BLEU(tokenize="none", force=True).corpus_score(hyps, [refs]).score


def perplexity(total_log_probability: float, num_tokens: int) -> float:
    """exp(-total_log_probability / num_tokens); NaN when num_tokens is 0."""
    if num_tokens <= 0:
        return float("nan")
    return math.exp(-total_log_probability / num_tokens)


def blessing_decision(bleu: float, min_bleu: float, max_bleu_drop: float,
                      baseline_bleu: Optional[float] = None) -> Dict[str, object]:
    """Whether a candidate model is blessed, and why.

    Blessed when BLEU is a number, BLEU >= `min_bleu`, and, when a baseline exists, BLEU >=
    baseline BLEU - `max_bleu_drop`.

    Returns:
        {"blessed": bool, "reason": str}.
    """
    if bleu is None or math.isnan(bleu):
        return {"blessed": False, "reason": "BLEU is not a number (empty test split or nothing scored)"}
    if bleu < min_bleu:
        return {"blessed": False, "reason": f"BLEU {bleu:.2f} is below min_bleu {min_bleu:.2f}"}
    if baseline_bleu is not None and not math.isnan(baseline_bleu) and bleu < baseline_bleu - max_bleu_drop:
        return {"blessed": False, "reason": (
            f"BLEU {bleu:.2f} is more than {max_bleu_drop:.2f} below the baseline's {baseline_bleu:.2f}")}
    if baseline_bleu is None:
        return {"blessed": True, "reason": f"BLEU {bleu:.2f} >= min_bleu {min_bleu:.2f}; no baseline"}
    return {"blessed": True, "reason": (
        f"BLEU {bleu:.2f} >= min_bleu {min_bleu:.2f} and within {max_bleu_drop:.2f} of the baseline's "
        f"{baseline_bleu:.2f}")}
