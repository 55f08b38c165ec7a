"""Cleaning rules for batches of sentence pairs, as plain Python (TextCleaner runs them in Beam).

Every pair is normalized (`tfx_nmt.text.normalization.normalize`). On the train and eval splits a pair
is then dropped for the first reason that applies, in this order (`tfx_nmt.contract.CLEANING_DROP_REASONS`):

- `empty`: a side is empty after normalization;
- `too_long`: a side has more than `max_tokens` whitespace-separated words;
- `length_ratio`: the longer side has more than `max_length_ratio` times the words of the shorter;
- `copy` (`drop_copies`): the source equals the target, an untranslated copy;
- `test_overlap` (`drop_test_overlap`, train only): the source is the source of an eval or test pair, so
  that the model is not scored on sentences it was trained on;
- `source_language` / `target_language` (`lid`): language identification (`language_identification`)
  gives the side another most probable language than `source_language` / `target_language`, with a
  probability of at least `lid_min_probability`; a side shorter than `lid_min_chars` characters is never
  judged (on a few characters the identifier guesses);

and on train (`deduplicate`), exact duplicate pairs (after normalization) are dropped as `duplicate`,
keeping one. All texts are compared after normalization. The test split is normalized only: dropping
test pairs would make its BLEU incomparable with other systems.

The defaults were tuned on Multi30k's train and val splits (README.md, Data cleaning): together the rules
that identify languages, copies and the test overlap drop 1 of its 29,000 train pairs.
"""
from __future__ import annotations

import dataclasses
from typing import Container, List, Optional, Sequence, Tuple

from tfx_nmt.components.language_identification import BatchLanguageIdentifier, model_languages
from tfx_nmt.config import RunConfig
from tfx_nmt.contract import CLEANING_DROP_REASONS as DROP_REASONS
from tfx_nmt.errors import ConfigError
from tfx_nmt.text.normalization import normalize

KEPT = "kept"
# Rejected pairs kept per reason as examples for the report (of ingest and of cleaning).
SAMPLE_SIZE = 20


def parse_languages(text: str) -> Tuple[str, ...]:
    """`lid_languages` as given on the command line: comma-separated codes, or `all` (or nothing) for all
    of the model's languages, ()."""
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    return () if codes == ("all",) else codes


# RunConfig's defaults are the rules' defaults.
_DEFAULTS = RunConfig()


@dataclasses.dataclass(frozen=True)
class CleaningRules:
    """Thresholds and switches of the pair filter: RunConfig's fields of the same names (which give the
    defaults and the `--help` texts; `from_config`).

    Attributes:
        max_tokens: longest side allowed, in whitespace-separated words.
        max_length_ratio: largest allowed ratio of the longer side's word count to the shorter's.
        drop_copies: drop pairs whose source equals their target.
        drop_test_overlap: drop train pairs whose source is an eval or test source.
        deduplicate: drop repeated train pairs, keeping the first.
        lid: drop pairs whose side language identification assigns to another language.
        source_language / target_language: the languages expected (ISO 639-1 codes, `en`, `de`, ...):
            RunConfig's `source` and `target`.
        lid_min_probability: a side is another language only when that language's probability is at
            least this (0 to 1).
        lid_min_chars: sides shorter than this many characters are never judged.
        lid_languages: the languages the identifier chooses from (with `source_language` and
            `target_language`); empty: all of the model's 97.
    """

    max_tokens: int = _DEFAULTS.max_tokens
    max_length_ratio: float = _DEFAULTS.max_length_ratio
    drop_copies: bool = _DEFAULTS.drop_copies
    drop_test_overlap: bool = _DEFAULTS.drop_test_overlap
    deduplicate: bool = _DEFAULTS.deduplicate
    lid: bool = _DEFAULTS.lid
    source_language: str = _DEFAULTS.source
    target_language: str = _DEFAULTS.target
    lid_min_probability: float = _DEFAULTS.lid_min_probability
    lid_min_chars: int = _DEFAULTS.lid_min_chars
    lid_languages: Tuple[str, ...] = parse_languages(_DEFAULTS.lid_languages)

    @classmethod
    def from_config(cls, config: RunConfig) -> "CleaningRules":
        """The rules of a run."""
        return cls(max_tokens=config.max_tokens, max_length_ratio=config.max_length_ratio,
                   drop_copies=config.drop_copies, drop_test_overlap=config.drop_test_overlap,
                   deduplicate=config.deduplicate, lid=config.lid, source_language=config.source,
                   target_language=config.target, lid_min_probability=config.lid_min_probability,
                   lid_min_chars=config.lid_min_chars, lid_languages=parse_languages(config.lid_languages))

    def candidate_languages(self) -> Tuple[str, ...]:
        """The identifier's languages: `lid_languages` plus the source and target languages, in that
        order without repeats; () for all of the model's."""
        if not self.lid_languages:
            return ()
        return tuple(dict.fromkeys(self.lid_languages + (self.source_language, self.target_language)))


def drop_reason(source: str, target: str, rules: CleaningRules,
                held_out_sources: Optional[Container[str]] = None) -> Optional[str]:
    """The reason a normalized pair is dropped from train/eval by the rules before language
    identification, or None when they keep it; `held_out_sources` (train only): the eval and test
    sources, normalized."""
    source_words, target_words = len(source.split()), len(target.split())
    if source_words == 0 or target_words == 0:
        return "empty"
    if max(source_words, target_words) > rules.max_tokens:
        return "too_long"
    if max(source_words, target_words) > rules.max_length_ratio * min(source_words, target_words):
        return "length_ratio"
    if rules.drop_copies and source == target:
        return "copy"
    if rules.drop_test_overlap and held_out_sources is not None and source in held_out_sources:
        return "test_overlap"
    return None


def check_languages(rules: CleaningRules) -> None:
    """Checks that language identification knows every language of `rules` (when `rules.lid`).

    Raises:
        ConfigError: naming the unknown codes (with the lowercase code when that one is known), the options that
            set them and the known codes.
    """
    if not rules.lid:
        return
    known = model_languages()
    unknown = [code for code in dict.fromkeys((rules.source_language, rules.target_language) + rules.lid_languages)
               if code not in known]
    if unknown:
        # ISO 639-1 codes are lowercase: `EN` is most likely `en`.
        named = [f"{code!r} (lowercase: {code.lower()!r})" if code.lower() in known else repr(code) for code in unknown]
        raise ConfigError(f"language identification (py3langid) knows no language {', '.join(named)}: "
                          f"give --source, --target and --lid-languages as ISO 639-1 codes it knows "
                          f"({' '.join(sorted(known))}), or turn it off with --no-lid")


class PairCleaner:
    """Normalizes batches of pairs and decides each pair's fate by `CleaningRules`.

    Holds the language identifier (its model loads in about 0.2 s), so build one per process or DoFn
    instance and reuse it.

    Raises (at construction):
        ConfigError: a language of the rules is not one of the identifier's (when `rules.lid`).
    """

    def __init__(self, rules: CleaningRules):
        self.rules = rules
        self._identifier = None
        if rules.lid:
            check_languages(rules)
            self._identifier = BatchLanguageIdentifier(rules.candidate_languages())

    def clean(self, pairs: Sequence[Tuple[str, str]], filter_pairs: bool,
              held_out_sources: Optional[Container[str]] = None) -> List[Tuple[str, str, str]]:
        """Normalizes N pairs and decides their fate.

        Args:
            pairs: N raw (source, target) sentences.
            filter_pairs: False for the test split (normalize, never drop).
            held_out_sources: the normalized eval and test sources, for the train split's `test_overlap`
                rule; None on the other splits.

        Returns:
            N (normalized source, normalized target, outcome), outcome being `KEPT` or a reason of
            DROP_REASONS (`duplicate` excepted, which needs the whole split: `cleaning_pipeline`).
        """
        cleaned = [(normalize(source), normalize(target)) for source, target in pairs]
        if not filter_pairs:
            return [(source, target, KEPT) for source, target in cleaned]
        outcomes = [drop_reason(source, target, self.rules, held_out_sources) or KEPT for source, target in cleaned]
        if self._identifier is not None:
            for side, language, reason in ((0, self.rules.source_language, "source_language"),
                                           (1, self.rules.target_language, "target_language")):
                judged = [n for n, outcome in enumerate(outcomes)
                          if outcome == KEPT and len(cleaned[n][side]) >= self.rules.lid_min_chars]
                identified = self._identifier.classify([cleaned[n][side] for n in judged])
                for n, (found, probability) in zip(judged, identified):
                    if found != language and probability >= self.rules.lid_min_probability:
                        outcomes[n] = reason
        return [(source, target, outcome) for (source, target), outcome in zip(cleaned, outcomes)]
