"""Cleaning rules for one sentence pair, as pure functions (TextCleaner runs them in Beam).

Every pair is normalized (`tfx_nmt.text.normalization.normalize`). On the train and eval splits a pair
is then dropped for the first reason that applies, in this order:

- `empty`: a side is empty after normalization;
- `too_long`: a side has more than `max_tokens` whitespace-separated words;
- `length_ratio`: the longer side has more than `max_length_ratio` times the words of the shorter;

and on train, exact duplicate pairs (after normalization) are dropped as `duplicate`, keeping one. The
test split is normalized only: dropping test pairs would make its BLEU incomparable with other systems.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

from tfx_nmt.contract import CLEANING_DROP_REASONS as DROP_REASONS
from tfx_nmt.text.normalization import normalize

KEPT = "kept"
# Rejected pairs kept per reason as examples for the report (of ingest and of cleaning).
SAMPLE_SIZE = 20


@dataclasses.dataclass(frozen=True)
class CleaningRules:
    """Thresholds of the pair filter.

    Attributes:
        max_tokens: longest side allowed, in whitespace-separated words.
        max_length_ratio: largest allowed ratio of the longer side's word count to the shorter's.
    """

    max_tokens: int = 80
    max_length_ratio: float = 3.0


def drop_reason(source: str, target: str, rules: CleaningRules) -> Optional[str]:
    """The reason a normalized pair is dropped from train/eval, or None when it is kept."""
    source_words, target_words = len(source.split()), len(target.split())
    if source_words == 0 or target_words == 0:
        return "empty"
    if max(source_words, target_words) > rules.max_tokens:
        return "too_long"
    if max(source_words, target_words) > rules.max_length_ratio * min(source_words, target_words):
        return "length_ratio"
    return None


def clean_pair(
    source: str, target: str, rules: CleaningRules, filter_pairs: bool
) -> Tuple[str, str, str]:
    """Normalizes a pair and decides its fate.

    Args:
        source / target: raw sentences.
        rules: the filter thresholds.
        filter_pairs: False for the test split (normalize, never drop).

    Returns:
        (normalized source, normalized target, outcome), outcome being `KEPT` or a reason of DROP_REASONS.
    """
    source, target = normalize(source), normalize(target)
    reason = drop_reason(source, target, rules) if filter_pairs else None
    return source, target, reason or KEPT
