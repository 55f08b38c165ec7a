"""Corpus-level translation metrics, as pure functions.

- BLEU (Papineni et al. 2002) and chrF (Popović 2015) from sacreBLEU (Post 2018,
  https://aclanthology.org/W18-6319): cased, on detokenized text, sacreBLEU's default `13a` tokenizer.
  The sacreBLEU signature is returned with the score so that it can be compared and reproduced.
- Comparable BLEU: the figure the Multi30k literature reports (for example fairseq's and the WMT16
  multimodal task's): lowercased text, punctuation normalized and tokenized with the Moses scripts
  (sacremoses' `MosesPunctNormalizer` and `MosesTokenizer` for the target language, no escaping), then
  BLEU with no further tokenization (sacreBLEU `tokenize="none"`).
- Perplexity: exp of the mean negative log-likelihood per target token (EOS included) of the references
  under teacher forcing, without label smoothing, padding excluded.

Every corpus metric leaves out the pairs whose reference is empty (`scored_pairs`), and is NaN when
nothing is left to score.
"""
from __future__ import annotations

import dataclasses
import math
from typing import List, Sequence, Tuple

import sacrebleu


@dataclasses.dataclass(frozen=True)
class BleuScore:
    """Corpus BLEU (0-100) with its sacreBLEU signature, n-gram precisions (percent, n = 1..4) and
    brevity penalty (in [0, 1]); every number NaN when nothing was scored."""

    score: float
    signature: str
    precisions: List[float]
    brevity_penalty: float


@dataclasses.dataclass(frozen=True)
class ChrfScore:
    """Corpus chrF (0-100), NaN when nothing was scored, with its sacreBLEU signature."""

    score: float
    signature: str


def scored_pairs(hypotheses: Sequence[str], references: Sequence[str]) -> List[Tuple[str, str]]:
    """The (hypothesis, reference) pairs that are scored: those whose reference is not empty.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses for {len(references)} references: they must pair up one to one")
    return [(h, r) for h, r in zip(hypotheses, references) if r.strip()]


def _split(kept: Sequence[Tuple[str, str]]) -> Tuple[List[str], List[str]]:
    return [h for h, _ in kept], [r for _, r in kept]


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> BleuScore:
    """Cased sacreBLEU (`13a`) of detokenized hypotheses against one reference each.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    kept = scored_pairs(hypotheses, references)
    metric = sacrebleu.BLEU()
    if not kept:
        # The signature needs a scored corpus to know the number of references; score a dummy one.
        metric.corpus_score([""], [[""]])
        return BleuScore(float("nan"), str(metric.get_signature()), [float("nan")] * 4, float("nan"))
    hyps, refs = _split(kept)
    bleu = metric.corpus_score(hyps, [refs])
    return BleuScore(bleu.score, str(metric.get_signature()), list(bleu.precisions), bleu.bp)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> ChrfScore:
    """sacreBLEU's chrF (character 6-grams, beta 2) of detokenized hypotheses against one reference each.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    kept = scored_pairs(hypotheses, references)
    metric = sacrebleu.CHRF()
    if not kept:
        metric.corpus_score([""], [[""]])  # For the signature, as in corpus_bleu.
        return ChrfScore(float("nan"), str(metric.get_signature()))
    hyps, refs = _split(kept)
    return ChrfScore(metric.corpus_score(hyps, [refs]).score, str(metric.get_signature()))


def moses_tokenize(sentences: Sequence[str], language: str) -> List[str]:
    """Lowercases, normalizes punctuation and Moses-tokenizes each sentence (tokens joined by spaces)."""
    from sacremoses import MosesPunctNormalizer, MosesTokenizer

    normalizer, tokenizer = MosesPunctNormalizer(lang=language), MosesTokenizer(lang=language)
    return [" ".join(tokenizer.tokenize(normalizer.normalize(s.lower()), escape=False)) for s in sentences]


def comparable_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> float:
    """BLEU on lowercased, punctuation-normalized, Moses-tokenized text (see the module docstring).

    Raises:
        ValueError: when the two lists differ in length.
    """
    kept = scored_pairs(hypotheses, references)
    if not kept:
        return float("nan")
    hyps, refs = _split(kept)
    return sacrebleu.BLEU(tokenize="none", force=True).corpus_score(
        moses_tokenize(hyps, language), [moses_tokenize(refs, language)]).score


def perplexity(total_log_probability: float, num_tokens: int) -> float:
    """exp(-total_log_probability / num_tokens); NaN when num_tokens is 0."""
    if num_tokens <= 0:
        return float("nan")
    return math.exp(-total_log_probability / num_tokens)
