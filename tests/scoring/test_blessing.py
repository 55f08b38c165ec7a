import pytest

from tfx_nmt.scoring.blessing import blessing_decision
from tfx_nmt.scoring.scorers import PERPLEXITY, SCORERS


@pytest.mark.parametrize("bleu, min_bleu, drop, baseline, blessed", [
    (25.0, 22.0, 1.0, None, True),
    (21.9, 22.0, 1.0, None, False),
    (25.0, 0.0, 1.0, 25.9, True),
    (25.0, 0.0, 1.0, 26.1, False),
    (float("nan"), 0.0, 1.0, None, False),
])
def test_blessing_decision(bleu, min_bleu, drop, baseline, blessed):
    assert blessing_decision(bleu, min_bleu, drop, baseline)["blessed"] is blessed


def test_blessing_reasons_name_the_primary_metric():
    assert SCORERS.primary.name == "bleu"
    assert blessing_decision(25.0, 0.0, 1.0, 26.1) == {
        "blessed": False, "reason": "BLEU 25.00 is more than 1.00 below the baseline's 26.10"}
    assert blessing_decision(25.0, 22.0, 1.0, 25.5) == {
        "blessed": True, "reason": "BLEU 25.00 >= min_bleu 22.00 and within 1.00 of the baseline's 25.50"}
    assert blessing_decision(1.84, 0.0, 1.0, 1.14) == {
        "blessed": True, "reason": "BLEU 1.84 >= min_bleu 0.00 and not below the baseline's 1.14"}


@pytest.mark.parametrize("value, threshold, baseline, blessed, reason", [
    (4.0, 5.0, None, True, "perplexity 4.00 <= max_perplexity 5.00; no baseline"),
    (5.5, 5.0, None, False, "perplexity 5.50 is above max_perplexity 5.00"),
    (4.0, 5.0, 3.5, True, "perplexity 4.00 <= max_perplexity 5.00 and within 1.00 of the baseline's 3.50"),
    (4.0, 5.0, 2.9, False, "perplexity 4.00 is more than 1.00 above the baseline's 2.90"),
    (4.0, 5.0, 4.5, True, "perplexity 4.00 <= max_perplexity 5.00 and not above the baseline's 4.50"),
])
def test_lower_is_better_metric_is_blessed_the_other_way_round(value, threshold, baseline, blessed, reason):
    assert blessing_decision(value, threshold, 1.0, baseline, PERPLEXITY) == {"blessed": blessed, "reason": reason}
