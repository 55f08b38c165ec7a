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


@pytest.mark.parametrize("bleu, baseline, p_value, blessed, reason", [
    (25.0, 25.5, 0.2, True,
     "BLEU 25.00 >= min_bleu 22.00; below the baseline's 25.50, not significantly (paired bootstrap p = 0.2000 "
     ">= max_p 0.05)"),
    (25.0, 25.5, 0.01, False,
     "BLEU 25.00 is significantly below the baseline's 25.50 (paired bootstrap p = 0.0100 < max_p 0.05)"),
    # Better than the baseline: blessed however small p is.
    (27.0, 25.5, 0.001, True,
     "BLEU 27.00 >= min_bleu 22.00 and not below the baseline's 25.50 (paired bootstrap p = 0.0010)"),
    # A drop of more than max_bleu_drop that the test cannot tell from noise is blessed.
    (23.0, 25.5, 0.3, True,
     "BLEU 23.00 >= min_bleu 22.00; below the baseline's 25.50, not significantly (paired bootstrap p = 0.3000 "
     ">= max_p 0.05)"),
    (21.0, 25.5, 0.3, False, "BLEU 21.00 is below min_bleu 22.00"),
    (25.0, 25.5, float("nan"), False, "BLEU 25.00 >= min_bleu 22.00, but the paired test against the baseline "
                                      "has no p-value"),
])
def test_the_significance_rule(bleu, baseline, p_value, blessed, reason):
    assert blessing_decision(bleu, 22.0, 1.0, baseline, rule="significance", p_value=p_value, max_p=0.05) == {
        "blessed": blessed, "reason": reason}


def test_the_significance_rule_without_a_baseline_is_the_floor_alone():
    assert blessing_decision(25.0, 22.0, 1.0, None, rule="significance") == {
        "blessed": True, "reason": "BLEU 25.00 >= min_bleu 22.00; no baseline"}
    with pytest.raises(ValueError, match="rule must be one of significance, threshold, got 'vote'"):
        blessing_decision(25.0, 22.0, 1.0, None, rule="vote")
