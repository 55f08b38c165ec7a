"""The scorer registry: what it holds, how it grows, and what each scorer stores in metrics.json."""
import math

import pytest

from tfx_nmt.scoring import translation_metrics
from tfx_nmt.scoring.scorers import PERPLEXITY, SCORERS, Scored, Scorer, ScorerRegistry

HYPS = ["the cat sat on the mat", "zebras eat blue hay every morning", "birds fly over tall dark hills"]
REFS = ["the cat sat on the mat", "a dog ran in the park", "we like green tea very much"]


def _word_ratio(hypotheses, references, language):
    kept = translation_metrics.scored_pairs(hypotheses, references)
    return Scored(sum(len(h.split()) for h, _ in kept) / sum(len(r.split()) for _, r in kept))


WORD_RATIO = Scorer(name="word_ratio", label="words hyp/ref", score=_word_ratio, higher_is_better=False,
                    fmt=".3f", stores_signature=False)


SCORER_NAMES = ["bleu", "bleu_lowercase_tokenized", "chrf", "chrf_plus_plus", "ter"]


def test_the_registry_holds_bleu_comparable_bleu_chrf_chrf_plus_plus_and_ter_then_perplexity():
    assert list(SCORERS) == SCORER_NAMES
    assert SCORERS.primary is SCORERS["bleu"] and SCORERS.primary.higher_is_better
    assert [m.name for m in SCORERS.metrics()] == [*SCORER_NAMES, "perplexity"]
    assert [m.name for m in SCORERS.metrics(headline_only=True)] == ["bleu", "chrf", "chrf_plus_plus", "ter",
                                                                     "perplexity"]
    assert [m.label for m in SCORERS.metrics()] == ["BLEU", "BLEU lc tok", "chrF", "chrF++", "TER", "perplexity"]
    assert not PERPLEXITY.higher_is_better and not SCORERS["ter"].higher_is_better
    assert [s.name for s in SCORERS.values() if s.interval_key] == ["bleu", "chrf", "chrf_plus_plus", "ter"]


def test_score_corpus_writes_the_metrics_json_entries():
    metrics = SCORERS.score_corpus(HYPS, REFS, "en")
    assert set(metrics) == {"bleu", "bleu_signature", "bleu_interval", "bleu_precisions", "brevity_penalty",
                            "bleu_lowercase_tokenized", "chrf", "chrf_signature", "chrf_interval", "chrf_plus_plus",
                            "chrf_plus_plus_signature", "chrf_plus_plus_interval", "ter", "ter_signature",
                            "ter_interval", "num_scored", "num_empty_references"}
    assert metrics["bleu"] == pytest.approx(100 / 3, abs=1e-9)
    assert metrics["bleu_lowercase_tokenized"] == pytest.approx(100 / 3, abs=1e-9)  # Already lowercase, tokenized.
    assert metrics["chrf"] == translation_metrics.corpus_chrf(HYPS, REFS).score
    assert metrics["bleu_signature"] == translation_metrics.corpus_bleu(HYPS, REFS).signature
    assert metrics["chrf_signature"] == "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
    # chrF++: chrF with word unigrams and bigrams; TER: edits per reference word (0 + 6 + 6 substitutions of 18 words).
    assert metrics["chrf_plus_plus"] == translation_metrics.corpus_chrf(HYPS, REFS, word_order=2).score
    assert metrics["chrf_plus_plus_signature"] == "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
    assert metrics["ter"] == pytest.approx(100 * 12 / 18)
    assert metrics["ter_signature"] == "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0"
    assert metrics["bleu_precisions"] == pytest.approx([100 * 6 / 18, 100 * 5 / 15, 100 * 4 / 12, 100 * 3 / 9])
    assert (metrics["num_scored"], metrics["num_empty_references"]) == (3, 0)


def test_with_scorer_returns_a_new_registry():
    grown = SCORERS.with_scorer(WORD_RATIO)
    assert list(grown) == [*SCORER_NAMES, "word_ratio"]
    assert list(SCORERS) == SCORER_NAMES  # Unchanged.
    assert grown.primary is SCORERS.primary
    assert grown.score_corpus(HYPS, REFS, "en")["word_ratio"] == pytest.approx(1.0)
    assert "word_ratio_signature" not in grown.score_corpus(HYPS, REFS, "en")
    assert WORD_RATIO.format(1.0) == "1.000" and WORD_RATIO.format(math.nan) == "n/a"


def test_names_are_unique_and_the_primary_registered():
    with pytest.raises(ValueError, match="'bleu' is already registered"):
        SCORERS.with_scorer(Scorer(name="bleu", label="BLEU again", score=_word_ratio))
    with pytest.raises(ValueError, match="'perplexity' is already registered"):
        SCORERS.with_scorer(Scorer(name="perplexity", label="ppl", score=_word_ratio))
    with pytest.raises(ValueError, match="primary scorer 'comet' is not registered"):
        ScorerRegistry(SCORERS.values(), primary="comet")
