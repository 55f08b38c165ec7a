"""The blessing rule: whether a candidate model is good enough to ship, on one registered metric (the
registry's primary scorer, BLEU, unless told otherwise), in the metric's own direction."""
from __future__ import annotations

import math
from typing import Dict, Optional

from tfx_nmt.scoring.scorers import SCORERS, Metric


def blessing_decision(value: Optional[float], threshold: float, max_drop: float,
                      baseline: Optional[float] = None, metric: Metric = SCORERS.primary) -> Dict[str, object]:
    """Whether a candidate model is blessed, and why.

    For a metric where higher is better (BLEU): blessed when the value is a number, value >= `threshold`
    (`min_<name>`), and, when a baseline exists, value >= baseline - `max_drop`. Where lower is better,
    the other way round: value <= `threshold` (`max_<name>`) and value <= baseline + `max_drop`.

    Returns:
        {"blessed": bool, "reason": str}.
    """
    label = metric.label

    def show(number: float) -> str:
        return format(number, metric.fmt)

    if value is None or math.isnan(value):
        return {"blessed": False, "reason": f"{label} is not a number (empty test split or nothing scored)"}
    if metric.higher_is_better:
        bound, meets, worse = f"min_{metric.name}", ">=", "below"
        misses_threshold = value < threshold
        worse_than_baseline = baseline is not None and not math.isnan(baseline) and value < baseline - max_drop
    else:
        bound, meets, worse = f"max_{metric.name}", "<=", "above"
        misses_threshold = value > threshold
        worse_than_baseline = baseline is not None and not math.isnan(baseline) and value > baseline + max_drop
    if misses_threshold:
        return {"blessed": False, "reason": f"{label} {show(value)} is {worse} {bound} {show(threshold)}"}
    if worse_than_baseline:
        return {"blessed": False, "reason": (
            f"{label} {show(value)} is more than {show(max_drop)} {worse} the baseline's {show(baseline)}")}
    if baseline is None:
        return {"blessed": True, "reason": f"{label} {show(value)} {meets} {bound} {show(threshold)}; no baseline"}
    at_least_baseline = value >= baseline if metric.higher_is_better else value <= baseline
    relation = f"not {worse}" if at_least_baseline else f"within {show(max_drop)} of"
    return {"blessed": True, "reason": (
        f"{label} {show(value)} {meets} {bound} {show(threshold)} and {relation} the baseline's {show(baseline)}")}
