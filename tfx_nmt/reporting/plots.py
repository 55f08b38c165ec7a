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


def two_axis_line_chart_png(left: Dict[str, List[Tuple[float, float]]], right: Dict[str, List[Tuple[float, float]]],
                            title: str, left_label: str, right_label: str, x_label: str) -> bytes:
    """A line chart of quantities in two units over one x axis: the `left` series against the left y axis
    (solid lines), the `right` series against a right y axis (dashed lines), one legend for both. Empty
    series are left out of the chart and its legend.

    Returns:
        PNG bytes, 560x320 pixels.
    """
    figure = Figure(figsize=_SIZE_INCHES)
    left_axes = figure.add_subplot()
    right_axes = left_axes.twinx()
    lines = []
    drawn = [(left_axes, "-", name, points) for name, points in left.items() if points] + \
        [(right_axes, "--", name, points) for name, points in right.items() if points]
    for color, (axes, style, name, points) in enumerate(drawn):
        xs, ys = zip(*points)
        lines += axes.plot(xs, ys, style, marker="o", markersize=3, color=f"C{color}", label=name)
    left_axes.set_title(title)
    left_axes.set_xlabel(x_label)
    left_axes.set_ylabel(left_label)
    right_axes.set_ylabel(right_label)
    left_axes.grid(True, alpha=0.3)
    if lines:
        left_axes.legend(lines, [line.get_label() for line in lines], fontsize="small")
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
