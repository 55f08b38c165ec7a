"""PNG charts for the run report, drawn with matplotlib's Agg renderer (no display, no pyplot state)."""
from __future__ import annotations

import io
import math
from typing import Dict, List, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_SIZE_INCHES = (5.6, 3.2)
_DPI = 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def line_chart_png(series: Dict[str, List[Tuple[int, float]]], title: str, y_label: str,
                   x_label: str = "optimizer step") -> bytes:
    """A line chart with one line per named series of (x, y) points; a series with one point is drawn
    as a marker. Empty series are left out of the chart and its legend.

    Returns:
        PNG bytes, 560x320 pixels.
    """
    figure = Figure(figsize=_SIZE_INCHES)
    axes = figure.add_subplot()
    for name, points in series.items():
        if points:
            xs, ys = zip(*points)
            axes.plot(xs, ys, marker="o", markersize=3, label=name)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # Steps are whole numbers.
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, alpha=0.3)
    if any(series.values()):
        axes.legend()
    return _png(figure)


def bar_chart_png(labels: Sequence[str], values: Sequence[float], annotations: Sequence[str], title: str,
                  x_label: str, y_label: str) -> bytes:
    """A bar chart with one bar per label, its annotation written above it. NaN values draw no bar (the
    annotation still shows).

    Returns:
        PNG bytes, 560x320 pixels.
    """
    figure = Figure(figsize=_SIZE_INCHES)
    axes = figure.add_subplot()
    heights = [0.0 if math.isnan(v) else v for v in values]
    bars = axes.bar(labels, heights, color="#4878a8")
    axes.bar_label(bars, labels=list(annotations), padding=2)
    axes.set_ylim(0, max(heights + [1.0]) * 1.2)
    axes.set_title(title)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, axis="y", alpha=0.3)
    return _png(figure)
