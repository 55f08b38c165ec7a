"""The blessing rule: whether a candidate model is good enough to ship, on one registered metric (the
registry's primary scorer, BLEU, unless told otherwise), in the metric's own direction.

Two rules compare a candidate with the baseline (the last blessed model), both after the floor
(`min_<name>`, which alone decides when there is no baseline):

- `threshold`: rejected when the candidate is more than `max_drop` worse than the baseline.
- `significance`: rejected only when the candidate is worse than the baseline and the difference is
  significant, p < `max_p` in sacreBLEU's paired bootstrap resampling test
  (`translation_metrics.paired_bootstrap`) on the same test sentences. The test is two-sided, so a
  rejection at `max_p` is a one-sided test at `max_p / 2`: a candidate is not rejected for a difference
  the test sentences cannot tell from noise (reruns of one configuration differ by about 1 BLEU on 1,000
  sentences).
"""
from __future__ import annotations

import math
from typing import Dict, Optional

from tfx_nmt.config import BLESSING_RULES
from tfx_nmt.scoring.scorers import SCORERS, Metric


def blessing_decision(value: Optional[float], threshold: float, max_drop: float,
                      baseline: Optional[float] = None, metric: Metric = SCORERS.primary, rule: str = "threshold",
                      p_value: Optional[float] = None, max_p: float = 0.05) -> Dict[str, object]:
    """Whether a candidate model is blessed, and why.

    For a metric where higher is better (BLEU): blessed when the value is a number, value >= `threshold`
    (`min_<name>`), and, when a baseline exists, by `rule`: `threshold`: value >= baseline - `max_drop`;
    `significance`: not (value < baseline and `p_value` < `max_p`). Where lower is better, the other way
    round: value <= `threshold` (`max_<name>`), value <= baseline + `max_drop`, or not (value > baseline and
    p < max_p).

    Args:
        p_value: the paired test's p-value of candidate against baseline; needed by the significance rule
            when a baseline exists (NaN or None there: not blessed).

    Returns:
        {"blessed": bool, "reason": str}.

    Raises:
        ValueError: an unknown `rule`.
    """
    if rule not in BLESSING_RULES:
        raise ValueError(f"rule must be one of {', '.join(BLESSING_RULES)}, got {rule!r}")
    label = metric.label

    def show(number: float) -> str:
        return format(number, metric.fmt)

    if value is None or math.isnan(value):
        return {"blessed": False, "reason": f"{label} is not a number (empty test split or nothing scored)"}
    if metric.higher_is_better:
        bound, meets, worse = f"min_{metric.name}", ">=", "below"
        misses_threshold = value < threshold
    else:
        bound, meets, worse = f"max_{metric.name}", "<=", "above"
        misses_threshold = value > threshold
    if misses_threshold:
        return {"blessed": False, "reason": f"{label} {show(value)} is {worse} {bound} {show(threshold)}"}
    floor = f"{label} {show(value)} {meets} {bound} {show(threshold)}"
    if baseline is None or math.isnan(baseline):
        return {"blessed": True, "reason": f"{floor}; no baseline"}
    is_worse = value < baseline if metric.higher_is_better else value > baseline
    if rule == "significance":
        if p_value is None or math.isnan(p_value):
            return {"blessed": False, "reason": f"{floor}, but the paired test against the baseline has no p-value"}
        test = f"paired bootstrap p = {p_value:.4f}"
        if is_worse and p_value < max_p:
            return {"blessed": False, "reason": (
                f"{label} {show(value)} is significantly {worse} the baseline's {show(baseline)} "
                f"({test} < max_p {max_p:g})")}
        if is_worse:
            return {"blessed": True, "reason": (
                f"{floor}; {worse} the baseline's {show(baseline)}, not significantly ({test} >= max_p {max_p:g})")}
        return {"blessed": True, "reason": f"{floor} and not {worse} the baseline's {show(baseline)} ({test})"}
    if value < baseline - max_drop if metric.higher_is_better else value > baseline + max_drop:
        return {"blessed": False, "reason": (
            f"{label} {show(value)} is more than {show(max_drop)} {worse} the baseline's {show(baseline)}")}
    relation = f"within {show(max_drop)} of" if is_worse else f"not {worse}"
    return {"blessed": True, "reason": f"{floor} and {relation} the baseline's {show(baseline)}"}
