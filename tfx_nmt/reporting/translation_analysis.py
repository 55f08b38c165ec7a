"""Where a model translates well and where it does not, from the evaluator's hypotheses: the corpus score
of a registered scorer (by default the primary one, BLEU) per source-length bucket, and the best and
worst sentences by sentence-level chrF (sacreBLEU, Post 2018, https://aclanthology.org/W18-6319; chrF:
Popović 2015, https://aclanthology.org/W15-3049).
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple

import sacrebleu

from tfx_nmt.scoring.scorers import SCORERS, Scorer
from tfx_nmt.scoring.translation_metrics import scored_pairs

# Source-length buckets in whitespace-separated words, (lowest, highest or None for no upper bound).
LENGTH_BUCKETS: Tuple[Tuple[int, Optional[int]], ...] = ((1, 10), (11, 20), (21, 30), (31, None))


@dataclasses.dataclass(frozen=True)
class BucketScore:
    """The corpus score of the test pairs whose source length falls in one bucket.

    Attributes:
        label: `1-10`, `11-20`, `21-30` or `31+` (source words).
        num_sentences: pairs in the bucket (all of them, empty references included).
        num_scored: pairs scored (non-empty reference).
        score: the scorer's corpus score of the bucket (BLEU: 0-100); NaN when nothing was scored.
    """

    label: str
    num_sentences: int
    num_scored: int
    score: float


@dataclasses.dataclass(frozen=True)
class SampleTranslation:
    """One test pair with the model's translation and its sentence chrF (0-100).

    `index` is the pair's position in the test split (0-based).
    """

    index: int
    source: str
    reference: str
    hypothesis: str
    chrf: float


def bucket_label(lowest: int, highest: Optional[int]) -> str:
    """`1-10` for (1, 10); `31+` for (31, None)."""
    return f"{lowest}+" if highest is None else f"{lowest}-{highest}"


def bucket_index(num_words: int) -> int:
    """Index in LENGTH_BUCKETS of a source of `num_words` words; an empty source counts as 1-10."""
    return next(i for i, (_, highest) in enumerate(LENGTH_BUCKETS) if highest is None or num_words <= highest)


def _check_lengths(sources: Sequence[str], references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if not len(sources) == len(references) == len(hypotheses):
        raise ValueError(f"{len(sources)} sources, {len(references)} references and {len(hypotheses)} "
                         "hypotheses: they must pair up one to one")


def scores_by_length_bucket(sources: Sequence[str], references: Sequence[str], hypotheses: Sequence[str],
                            language: str, scorer: Scorer = SCORERS.primary) -> List[BucketScore]:
    """The corpus score of `scorer` (the evaluator's; `language` is the target language) per
    source-length bucket.

    Every pair lands in exactly one bucket, so the `num_sentences` add up to `len(sources)`.

    Raises:
        ValueError: when the three lists differ in length.
    """
    _check_lengths(sources, references, hypotheses)
    members = [[] for _ in LENGTH_BUCKETS]
    for i, source in enumerate(sources):
        members[bucket_index(len(source.split()))].append(i)
    scores = []
    for (lowest, highest), indices in zip(LENGTH_BUCKETS, members):
        bucket_hypotheses, bucket_references = [hypotheses[i] for i in indices], [references[i] for i in indices]
        scores.append(BucketScore(bucket_label(lowest, highest), len(indices),
                                  len(scored_pairs(bucket_hypotheses, bucket_references)),
                                  scorer.score(bucket_hypotheses, bucket_references, language).value))
    return scores


def best_and_worst(sources: Sequence[str], references: Sequence[str], hypotheses: Sequence[str],
                   count: int = 5) -> Tuple[List[SampleTranslation], List[SampleTranslation]]:
    """The `count` pairs with the highest sentence chrF (best first) and the `count` with the lowest
    (worst first), among pairs with a non-empty reference; ties go to the earlier pair. With fewer than
    `2 * count` scored pairs, the worst are taken from those not among the best.

    Raises:
        ValueError: when the three lists differ in length.
    """
    _check_lengths(sources, references, hypotheses)
    chrf = sacrebleu.CHRF()
    samples = [SampleTranslation(i, s, r, h, chrf.sentence_score(h, [r]).score)
               for i, (s, r, h) in enumerate(zip(sources, references, hypotheses)) if r.strip()]
    best = sorted(samples, key=lambda x: (-x.chrf, x.index))[:count]
    chosen = {x.index for x in best}
    worst = sorted((x for x in samples if x.index not in chosen), key=lambda x: (x.chrf, x.index))[:count]
    return best, worst
