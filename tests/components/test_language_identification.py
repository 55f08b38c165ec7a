"""BatchLanguageIdentifier gives what py3langid's own `classify` gives, sentence by sentence."""
import pytest
from py3langid import langid as py3langid

from tfx_nmt.components.language_identification import BatchLanguageIdentifier, model_languages

EDGE_CASES = ["", "a", "что", "Ein Hund.", "x" * 3000, "😀 \ud800 tab\tand\nnewline", "Un chien court dans l'herbe."]


def _py3langid(languages=None):
    model = py3langid.LanguageIdentifier.from_pickled_model(py3langid.MODEL_FILE, norm_probs=True)
    model.set_languages(languages)
    return model


@pytest.mark.parametrize("languages", [(), ("en", "de", "fr", "ru")])
def test_batches_classify_as_py3langid_does_one_by_one(train_sentences, languages):
    # English and German train sentences, every length in one batch, and edge cases (empty, a lone
    # surrogate, longer than any other).
    texts = train_sentences[:1500] + EDGE_CASES
    reference = _py3langid(list(languages) or None)
    expected = [reference.classify(text) for text in texts]
    found = BatchLanguageIdentifier(languages).classify(texts)
    assert [language for language, _ in found] == [language for language, _ in expected]
    assert max(abs(p - float(q)) for (_, p), (_, q) in zip(found, expected)) < 1e-4
    assert {language for language, _ in found} >= {"en", "de"}


def test_languages_are_py3langid_codes_and_unknown_ones_are_refused():
    languages = model_languages()
    assert len(languages) == 97 and {"en", "de", "fr", "ru", "zh"} <= set(languages)
    assert BatchLanguageIdentifier(["ru", "en"]).languages == ("en", "ru")  # The model's order.
    assert BatchLanguageIdentifier().classify([]) == []
    with pytest.raises(ValueError, match="^language identification knows no language qq, xx$"):
        BatchLanguageIdentifier(["en", "xx", "qq"])
