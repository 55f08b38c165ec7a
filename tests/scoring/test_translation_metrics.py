import math

import pytest

from tfx_nmt.scoring import translation_metrics as tm
from tfx_nmt.scoring.scorers import SCORERS

REFS = ["the cat sat on the mat", "a dog ran in the park", "we like green tea very much"]


def test_identical_sentences_score_100():
    assert tm.corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]).score == pytest.approx(100.0)
    assert tm.corpus_chrf(["the cat sat on the mat"], ["the cat sat on the mat"]).score == pytest.approx(100.0)


def test_bleu_hand_computed_one_of_three_correct():
    # n-gram matches: only the first sentence matches (6,5,4,3 of 18,15,12,9 hypothesis n-grams);
    # BLEU = exp(mean(log(6/18), log(5/15), log(4/12), log(3/9))) = 1/3, brevity penalty 1.
    hyps = ["the cat sat on the mat", "zebras eat blue hay every morning", "birds fly over tall dark hills"]
    bleu = tm.corpus_bleu(hyps, REFS)
    assert bleu.score == pytest.approx(100 / 3, abs=1e-9)
    assert bleu.precisions == pytest.approx([100 * 6 / 18, 100 * 5 / 15, 100 * 4 / 12, 100 * 3 / 9])
    assert bleu.brevity_penalty == pytest.approx(1.0)
    shuffled = tm.corpus_bleu([hyps[2], hyps[0], hyps[1]], [REFS[2], REFS[0], REFS[1]])
    assert shuffled.score == pytest.approx(bleu.score, abs=1e-9)


def test_bleu_hand_computed_brevity_penalty():
    # 12 of 18 hypothesis words; all n-grams match; BP = exp(1 - 18/12) = exp(-0.5).
    bleu = tm.corpus_bleu(["the cat sat on the mat", "", "we like green tea very much"], REFS)
    assert bleu.brevity_penalty == pytest.approx(math.exp(-0.5))
    assert bleu.score == pytest.approx(100 * math.exp(-0.5), abs=1e-9)
    assert round(bleu.score, 2) == 60.65


def test_signature_is_cased_13a():
    signature = tm.corpus_bleu(["a"], ["a"]).signature
    assert "case:mixed" in signature and "tok:13a" in signature and "nrefs:1" in signature


def test_length_mismatch_is_an_error():
    for score in (tm.corpus_bleu, tm.corpus_chrf):
        with pytest.raises(ValueError, match="4 hypotheses for 3 references"):
            score(["a", "b", "c", "d"], REFS)


def test_empty_references_are_left_out_and_counted():
    metrics = SCORERS.score_corpus(["the cat sat on the mat", "anything"], ["the cat sat on the mat", "  "], "en")
    assert metrics["num_scored"] == 1 and metrics["num_empty_references"] == 1
    assert metrics["bleu"] == pytest.approx(100.0)


def test_nothing_to_score_is_nan():
    assert math.isnan(tm.corpus_bleu([], []).score)
    assert math.isnan(tm.corpus_chrf([], []).score)
    assert math.isnan(tm.comparable_bleu([], [], "de"))


def test_perplexity():
    assert tm.perplexity(-2 * math.log(4.0), 2) == pytest.approx(4.0)
    assert math.isnan(tm.perplexity(0.0, 0))


def test_comparable_bleu_lowercases_and_moses_tokenizes():
    # Case and the tokenization of punctuation differ; after lowercasing and Moses tokenization they match.
    hyps = ["Ein Mann, der läuft."]
    refs = ["ein Mann , der läuft ."]
    assert tm.comparable_bleu(hyps, refs, "de") == pytest.approx(100.0)
    assert tm.corpus_bleu(hyps, refs).score < 100.0
    assert tm.moses_tokenize(["Zwei „Hunde“ spielen."], "de") == ['zwei " hunde " spielen .']
