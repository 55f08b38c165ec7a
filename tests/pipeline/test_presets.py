"""The presets' blessing floors: a broken model's translations of the test split a preset scores cannot
reach its `min_bleu`, and the session's smoke run (a working model) does."""
import pytest

from corpora import read_corpus
from tfx_nmt.pipeline.presets import PRESETS
from tfx_nmt.scoring.blessing import blessing_decision
from tfx_nmt.scoring.translation_metrics import corpus_bleu

FLOORS = {"smoke": 0.5, "quick": 15.0, "cpu-long": 20.0, "base": 20.0}

# What the smoke preset's model translated after 1 step (BLEU 0.02): one word repeated to the length cap.
REPEATED_WORD = " ".join(["Wasser"] * 36)
# One frequent sentence whatever the source: 2.4 BLEU on Multi30k's test split, more than the smoke
# preset's 150 steps reach (about 1), so only the floors of the presets that train a translator reject it.
CONSTANT_SENTENCE = "Ein Mann in einem roten Hemd ."


def test_every_preset_has_its_floor():
    assert {name: config.min_bleu for name, config in PRESETS.items()} == FLOORS


@pytest.fixture(scope="module")
def test_references(data_dir):
    return [target for _, target in read_corpus(data_dir, "en", "de", {"test": 1000})["test"]]


@pytest.mark.parametrize("preset, broken", [
    *[(name, output) for name in FLOORS for output in (REPEATED_WORD, "")],
    *[(name, CONSTANT_SENTENCE) for name in ("quick", "cpu-long", "base")],
])
def test_a_broken_model_is_not_blessed(preset, broken, test_references):
    config = PRESETS[preset]
    references = test_references[:config.max_test_pairs or None]  # The test pairs the preset scores.
    bleu = corpus_bleu([broken] * len(references), references).score
    assert bleu < config.min_bleu
    assert blessing_decision(bleu, config.min_bleu, config.max_bleu_drop)["blessed"] is False


def test_the_smoke_run_passes_its_floor(smoke_run):
    _, summary, _ = smoke_run
    assert summary["bleu"] >= PRESETS["smoke"].min_bleu and summary["blessed"] is True
