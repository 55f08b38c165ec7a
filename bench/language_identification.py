"""Language identification on Multi30k: seconds per 1,000 sentences and accuracy on the val split.

Times, side by side in one process, alternating, median of `--rounds` rounds, over the first 1,000 val
sentences of each of English and German: py3langid's own `classify` (one sentence a call, normalized
probabilities), the TextCleaner's `BatchLanguageIdentifier` (batches of 1,024) and, when the `langid`
package is importable (it is not a dependency: `pip install langid` into a scratch environment), langid.py's
`classify`. Model load times too. Then the accuracy of each on the whole val split of en, de and fr (the
most probable language among all 97, and among the cleaning's default candidate languages), and what the
cleaning's default rule (`CleaningRules()`) drops of the train and val splits' en and de sides, and catches
of the other languages' val sentences put in their place (a French line in an English file, ...).

    python bench/language_identification.py --data-dir DIR [--rounds 5]
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

from corpora import read_corpus
from machine import machine_line

from tfx_nmt.components.cleaning import CleaningRules
from tfx_nmt.components.examples_io import MAX_BATCH_SIZE
from tfx_nmt.components.language_identification import BatchLanguageIdentifier
from tfx_nmt.text.normalization import normalize

Classify = Callable[[Sequence[str]], List[Tuple[str, float]]]


def batched(identifier: BatchLanguageIdentifier) -> Classify:
    return lambda texts: [r for i in range(0, len(texts), MAX_BATCH_SIZE)
                          for r in identifier.classify(texts[i:i + MAX_BATCH_SIZE])]


def one_by_one(model) -> Classify:
    return lambda texts: [model.classify(text) for text in texts]


def load_identifiers() -> Dict[str, Tuple[float, Classify]]:
    """{name: (seconds to load its model, classify)}."""
    identifiers = {}
    started = time.time()
    from py3langid import langid as py3langid
    model = py3langid.LanguageIdentifier.from_pickled_model(py3langid.MODEL_FILE, norm_probs=True)
    identifiers["py3langid classify"] = (time.time() - started, one_by_one(model))
    started = time.time()
    classify = batched(BatchLanguageIdentifier())
    identifiers["BatchLanguageIdentifier"] = (time.time() - started, classify)
    try:
        started = time.time()
        from langid import langid
        model = langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)
        identifiers["langid.py classify"] = (time.time() - started, one_by_one(model))
    except ImportError:
        print("langid is not installed: its rows are left out")
    return identifiers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("TFX_NMT_DATA_DIR"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    languages = ("en", "de", "fr")
    en_de = read_corpus(args.data_dir, "en", "de", {})
    val_fr = read_corpus(args.data_dir, "fr", "en", {})["eval"]
    val = {"en": [normalize(s) for s, _ in en_de["eval"]], "de": [normalize(t) for _, t in en_de["eval"]],
           "fr": [normalize(s) for s, _ in val_fr]}
    identifiers = load_identifiers()
    sample = val["en"][:1000] + val["de"][:1000]
    seconds = {name: [] for name in identifiers}
    for _ in range(args.rounds):
        for name, (_, classify) in identifiers.items():
            started = time.time()
            classify(sample)
            seconds[name].append((time.time() - started) / 2)
    print(f"{'identifier':26s} {'load s':>7s} {'s / 1,000 sentences':>20s} {'x batch':>8s}   fastest-slowest "
          f"(median of {args.rounds} rounds, en and de val)")
    batch = statistics.median(seconds["BatchLanguageIdentifier"])
    for name, times in seconds.items():
        median = statistics.median(times)
        print(f"{name:26s} {identifiers[name][0]:>7.2f} {median:>20.3f} {median / batch:>8.1f}   "
              f"{min(times):.3f}-{max(times):.3f}")
    candidates = CleaningRules().candidate_languages()
    choices = {"all 97": identifiers, ",".join(candidates): {
        "BatchLanguageIdentifier": (0.0, batched(BatchLanguageIdentifier(candidates)))}}
    for choice, chosen in choices.items():
        for name, (_, classify) in chosen.items():
            found = {language: classify(val[language]) for language in languages}
            print(f"accuracy, {name}, among {choice}: " + ", ".join(
                f"{language} {100 * sum(f == language for f, _ in found[language]) / len(found[language]):.2f} %"
                for language in languages))
    rules = CleaningRules()
    identify = batched(BatchLanguageIdentifier(candidates))

    def dropped(texts: List[str], language: str) -> int:
        judged = [text for text in texts if len(text) >= rules.lid_min_chars]
        return sum(found != language and p >= rules.lid_min_probability for found, p in identify(judged))

    print(f"default rule (min probability {rules.lid_min_probability}, min {rules.lid_min_chars} characters, among "
          f"{','.join(candidates)}):")
    for split, pairs in (("train", [(normalize(s), normalize(t)) for s, t in en_de["train"]]),
                         ("val", list(zip(val["en"], val["de"])))):
        print(f"  {split}: drops {dropped([s for s, _ in pairs], 'en')} en sides, {dropped([t for _, t in pairs], 'de')}"
              f" de sides of {len(pairs)} pairs")
    for language, expected in (("fr", "en"), ("de", "en"), ("en", "de"), ("fr", "de")):
        print(f"  val {language} sentences as {expected} sides: {dropped(val[language], expected)} of "
              f"{len(val[language])} caught")


if __name__ == "__main__":
    main()
