"""The registry of the scorers a run reports, after OpenNMT-tf's `register_scorer`
(`opennmt/utils/scorers.py`): each scorer is a small record with its name, its scoring function,
whether higher is better, how it is shown, and the signature it stores.

Consumers (the evaluator, the run summary, the report, the model card, validation during training,
the blessing rule) loop over `SCORERS` instead of naming metrics, so a new metric is one `Scorer` in
`SCORERS` below. The registry is immutable: `with_scorer` returns a new one (a test, or a caller that
scores more, passes it down), so there is no module-level state to register into.

Perplexity is not a scorer: it is not a function of hypotheses and references but of the model's
probabilities of the references (teacher forcing through the SavedModel's `score` signature), so only
the evaluator can compute it. It is a `Metric` (`PERPLEXITY`), the display-and-direction part that
every `Scorer` has too, and `ScorerRegistry.metrics()` lists it after the scorers, so that consumers
show every figure of a run with one loop.

`metrics.json` (per model) holds, for each scorer, `<name>`, `<name>_signature` when it stores one,
`<name>_interval` (the 95 % bootstrap interval: `low`, `high`, `mean`, `resamples`, `seed`; null when
nothing was scored) when it reports one, `<name>_not_applicable` (why) when it does not apply to the
target, and its details (BLEU: `bleu_precisions`, `brevity_penalty`).

The scorers: BLEU (the primary; tokenized by the target language, see
`translation_metrics.bleu_tokenizer`), the comparable lowercased Moses-tokenized BLEU (Latin-script
targets only), chrF, chrF++ and TER, each sacreBLEU's.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, Iterable, Iterator, Mapping, Optional, Sequence, Tuple

from tfx_nmt.scoring import translation_metrics
from tfx_nmt.scoring.translation_metrics import BOOTSTRAP_RESAMPLES, Interval, MetricFactory


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metric:
    """A figure a run reports: its key, how it is shown, which way is better.

    Attributes:
        name: its key in `metrics.json` and `run_summary.json`.
        label: its name for people (tables, the model card, logs).
        higher_is_better: False for error rates and perplexity; the blessing rule follows it.
        fmt: `format()` spec of its value.
        headline: True for a figure that describes the model (the report's test-metrics table, the model
            card, the evaluation's ML Metadata custom properties, the evaluator's log line); False for a
            supplementary figure kept in `metrics.json`, the run summary and its table only.
    """

    name: str
    label: str
    higher_is_better: bool = True
    fmt: str = ".2f"
    headline: bool = True

    def format(self, value: Optional[float]) -> str:
        """`value` formatted with `fmt`; `n/a` for None or NaN."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return format(value, self.fmt)


@dataclasses.dataclass(frozen=True)
class Scored:
    """One scorer's result on a corpus.

    Attributes:
        value: the corpus score, NaN when nothing was scored or the scorer does not apply.
        signature: what reproduces it (sacreBLEU's signature), None for a scorer that stores none.
        details: further `metrics.json` entries (key -> JSON value), such as BLEU's n-gram precisions.
        interval: the 95 % bootstrap interval, None when not computed or nothing was scored.
        not_applicable: why the scorer does not apply to this target (the value is then NaN), else None.
    """

    value: float
    signature: Optional[str] = None
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)
    interval: Optional[Interval] = None
    not_applicable: Optional[str] = None


# (hypotheses, references, target language code) -> Scored; pairs with an empty reference left out.
ScoreFunction = Callable[[Sequence[str], Sequence[str], str], Scored]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scorer(Metric):
    """A metric computed from detokenized hypotheses and one reference each.

    Attributes:
        score: the scoring function; raises ValueError when hypotheses and references differ in length.
        stores_signature: whether `metrics.json` keeps its signature, as `<name>_signature`.
        reports_interval: whether `metrics.json` keeps its 95 % bootstrap interval, as `<name>_interval`.
        sacrebleu_metric: the factory of the sacreBLEU metric behind the scorer (language code -> metric),
            for the paired significance test (`translation_metrics.paired_bootstrap`); None for a scorer
            that is not one of sacreBLEU's metrics.
    """

    score: ScoreFunction
    stores_signature: bool = True
    reports_interval: bool = False
    sacrebleu_metric: Optional[MetricFactory] = None

    @property
    def signature_key(self) -> Optional[str]:
        """`<name>_signature`, or None when the scorer stores no signature."""
        return f"{self.name}_signature" if self.stores_signature else None

    @property
    def interval_key(self) -> Optional[str]:
        """`<name>_interval`, or None when the scorer reports no interval."""
        return f"{self.name}_interval" if self.reports_interval else None

    def metrics(self, hypotheses: Sequence[str], references: Sequence[str], language: str) -> Dict[str, object]:
        """The scorer's `metrics.json` entries: `<name>`, `<name>_signature` when stored, `<name>_interval`
        when reported, `<name>_not_applicable` when it does not apply, the details."""
        scored = self.score(hypotheses, references, language)
        entries: Dict[str, object] = {self.name: scored.value}
        if self.signature_key:
            entries[self.signature_key] = scored.signature
        if self.interval_key:
            entries[self.interval_key] = scored.interval.as_dict() if scored.interval else None
        if scored.not_applicable:
            entries[f"{self.name}_not_applicable"] = scored.not_applicable
        entries.update(scored.details)
        return entries


def _bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> Scored:
    bleu = translation_metrics.corpus_bleu(hypotheses, references, language, BOOTSTRAP_RESAMPLES)
    return Scored(bleu.score, bleu.signature,
                  {"bleu_precisions": bleu.precisions, "brevity_penalty": bleu.brevity_penalty}, bleu.interval)


def _comparable_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str) -> Scored:
    if not translation_metrics.latin_script(references):
        return Scored(float("nan"), not_applicable=(
            "the references are not mostly in Latin script; the Moses tokenizer of this figure splits "
            "alphabetic scripts at spaces and punctuation only"))
    return Scored(translation_metrics.comparable_bleu(hypotheses, references, language))


def _sacrebleu_scorer(factory: MetricFactory) -> ScoreFunction:
    """The ScoreFunction of a sacreBLEU metric, with its 95 % bootstrap interval."""

    def score(hypotheses: Sequence[str], references: Sequence[str], language: str) -> Scored:
        scored = translation_metrics.corpus_score(factory(language), hypotheses, references, BOOTSTRAP_RESAMPLES)
        return Scored(scored.score, scored.signature, interval=scored.interval)

    return score


def format_with_interval(metric: Metric, value: Optional[float], interval: Optional[Mapping[str, float]]) -> str:
    """`value` formatted by `metric`, followed by its 95 % interval when there is one: `33.33 [31.02, 35.61]`.

    Args:
        interval: a `<name>_interval` entry of `metrics.json` (`low`, `high`, ...), or None.
    """
    shown = metric.format(value)
    if not interval or shown == "n/a":
        return shown
    return f"{shown} [{metric.format(interval['low'])}, {metric.format(interval['high'])}]"


PERPLEXITY = Metric(name="perplexity", label="perplexity", higher_is_better=False)


class ScorerRegistry(Mapping[str, Scorer]):
    """Scorers by name, in the order they are shown; immutable.

    Args:
        scorers: the scorers; names must be unique and differ from `PERPLEXITY`'s.
        primary: the name of the scorer that blesses a model (and that validation during training and
            the report's per-length table use).

    Raises:
        ValueError: on a duplicate name, or a `primary` that is not among the scorers.
    """

    def __init__(self, scorers: Iterable[Scorer], primary: str):
        self._scorers: Dict[str, Scorer] = {}
        for scorer in scorers:
            if scorer.name in self._scorers or scorer.name == PERPLEXITY.name:
                raise ValueError(f"a scorer named {scorer.name!r} is already registered")
            self._scorers[scorer.name] = scorer
        if primary not in self._scorers:
            raise ValueError(f"primary scorer {primary!r} is not registered; registered: {list(self._scorers)}")
        self._primary = primary

    def __getitem__(self, name: str) -> Scorer:
        return self._scorers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scorers)

    def __len__(self) -> int:
        return len(self._scorers)

    @property
    def primary(self) -> Scorer:
        """The scorer that blesses a model."""
        return self._scorers[self._primary]

    def with_scorer(self, scorer: Scorer) -> "ScorerRegistry":
        """A new registry with `scorer` added last (OpenNMT-tf's `register_scorer`, without shared state).

        Raises:
            ValueError: when its name is taken.
        """
        return ScorerRegistry([*self.values(), scorer], self._primary)

    def metrics(self, headline_only: bool = False) -> Tuple[Metric, ...]:
        """Every figure a run reports, in display order: the scorers, then perplexity (see the module
        docstring); with `headline_only`, those whose `headline` is True."""
        return tuple(m for m in (*self.values(), PERPLEXITY) if m.headline or not headline_only)

    def paired_test(self, candidate: Sequence[str], baseline: Sequence[str], references: Sequence[str],
                    language: str) -> translation_metrics.PairedTest:
        """sacreBLEU's paired bootstrap test of two systems' translations of the same sources on the primary
        scorer (`translation_metrics.paired_bootstrap`), which must be one of sacreBLEU's metrics.

        Raises:
            ValueError: the lists differ in length, or the primary scorer has no `sacrebleu_metric`.
        """
        if self.primary.sacrebleu_metric is None:
            raise ValueError(f"the primary scorer {self.primary.name!r} is not a sacreBLEU metric")
        return translation_metrics.paired_bootstrap(self.primary.sacrebleu_metric, language, candidate, baseline,
                                                    references)

    def score_corpus(self, hypotheses: Sequence[str], references: Sequence[str],
                     language: str) -> Dict[str, object]:
        """Every scorer's `metrics.json` entries, plus `num_scored` and `num_empty_references` (pairs left
        out because the reference is empty).

        Args:
            hypotheses, references: detokenized text, one reference per hypothesis.
            language: the target language code (ISO 639-1, such as `de`).

        Raises:
            ValueError: when the two lists differ in length (naming both lengths).
        """
        num_scored = len(translation_metrics.scored_pairs(hypotheses, references))
        entries: Dict[str, object] = {}
        for scorer in self.values():
            entries.update(scorer.metrics(hypotheses, references, language))
        entries.update(num_scored=num_scored, num_empty_references=len(references) - num_scored)
        return entries


SCORERS = ScorerRegistry([
    Scorer(name="bleu", label="BLEU", score=_bleu, reports_interval=True,
           sacrebleu_metric=translation_metrics.bleu_metric),
    Scorer(name="bleu_lowercase_tokenized", label="BLEU lc tok", score=_comparable_bleu, stores_signature=False,
           headline=False),
    Scorer(name="chrf", label="chrF", score=_sacrebleu_scorer(translation_metrics.chrf_metric),
           reports_interval=True, sacrebleu_metric=translation_metrics.chrf_metric),
    Scorer(name="chrf_plus_plus", label="chrF++", score=_sacrebleu_scorer(translation_metrics.chrf_plus_plus_metric),
           reports_interval=True, sacrebleu_metric=translation_metrics.chrf_plus_plus_metric),
    Scorer(name="ter", label="TER", score=_sacrebleu_scorer(translation_metrics.ter_metric), higher_is_better=False,
           reports_interval=True, sacrebleu_metric=translation_metrics.ter_metric),
], primary="bleu")
