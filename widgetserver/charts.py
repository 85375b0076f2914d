"""Charts drawn on the server as SVG: no charting library, no script, readable without CSS.

Why no library: the workspace shows five small charts of monthly figures. A
JavaScript charting library (Chart.js is ~70 KB gzipped) would add the only
script the workspace needs, a CSP exception and a blank box until it runs;
these charts are a few dozen lines of geometry, render instantly, print,
and come with the numbers as a table and a CSV download next to them.

A chart is a plain dict that `templates/analytics/_charts.html` turns into
an `<svg role="img">` with a title, axis labels and one element per data
point carrying `data-value` (tests read values back from the SVG).
"""

from __future__ import annotations

import math

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 12, 30
STAR_COLOURS = {1: "#b42318", 2: "#dc6803", 3: "#a3a3a3", 4: "#4e9a5b", 5: "#1a7f37"}
LINE_COLOURS = ("#0b57d0", "#a85400", "#6f42c1")


def nice_ticks(low: float, high: float, count: int = 4, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten; whole steps for counts)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, math.ceil(step))
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


class Axis:
    """A linear y scale from data values to SVG y coordinates inside the plot area."""

    def __init__(self, low: float, high: float, fixed: bool = False, integer: bool = False):
        self.ticks = [low, (low + high) / 2, high] if fixed else nice_ticks(low, high, integer=integer)
        self.low, self.high = (low, high) if fixed else (self.ticks[0], self.ticks[-1])

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - self.low) / span), 1)


def _x_positions(n: int) -> tuple[list[float], float]:
    inner = WIDTH - LEFT - RIGHT
    step = inner / max(n, 1)
    return [round(LEFT + step * (i + 0.5), 1) for i in range(n)], step


def _labels(months: list[str], labels: dict[str, str]) -> list[str]:
    every = max(1, math.ceil(len(months) / 8))
    return [labels.get(m, m) if i % every == 0 else "" for i, m in enumerate(months)]


def line_chart(chart_id: str, title: str, months: list[str], series: list[tuple[str, list]], *,
               low: float = 0, high: float | None = None, fixed: bool = False, unit: str = "",
               month_labels: dict[str, str] | None = None, bars: list | None = None, bar_label: str = "") -> dict:
    """Lines (one per series; None values leave a gap), optionally over count bars on their own scale."""
    values = [v for _, points in series for v in points if v is not None]
    axis = Axis(low, high if high is not None else max(values + [low + 1]), fixed=fixed)
    xs, step = _x_positions(len(months))
    lines = []
    for index, (name, points) in enumerate(series):
        segments, current = [], []
        dots = []
        for x, value in zip(xs, points):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x, axis.y(value)))
            dots.append({"x": x, "y": axis.y(value), "value": value})
        if current:
            segments.append(current)
        lines.append({"name": name, "colour": LINE_COLOURS[index % len(LINE_COLOURS)], "dots": dots,
                      "paths": [" ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(seg))
                                for seg in segments]})
    bar_shapes = []
    if bars is not None:
        top = max([b or 0 for b in bars] + [1])
        bar_axis = Axis(0, top, integer=True)
        for x, value in zip(xs, bars):
            y = bar_axis.y(value or 0)
            bar_shapes.append({"x": round(x - step * 0.35, 1), "y": y, "w": round(step * 0.7, 1),
                               "h": round(HEIGHT - BOTTOM - y, 1), "value": value or 0})
    return {
        "id": chart_id, "kind": "line", "title": title, "width": WIDTH, "height": HEIGHT, "unit": unit,
        "plot": {"left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": HEIGHT - BOTTOM},
        "ticks": [{"y": axis.y(t), "label": _tick_label(t, unit)} for t in axis.ticks],
        "x_labels": [{"x": x, "label": label} for x, label in zip(xs, _labels(months, month_labels or {}))],
        "lines": lines, "bars": bar_shapes, "bar_label": bar_label,
    }


def stacked_chart(chart_id: str, title: str, months: list[str], stacks: list[dict[int, int]], *,
                  month_labels: dict[str, str] | None = None) -> dict:
    """Per-star counts per month as stacked bars (1 star at the bottom, always visible first)."""
    totals = [sum(s.values()) for s in stacks]
    axis = Axis(0, max(totals + [1]), integer=True)
    xs, step = _x_positions(len(months))
    columns = []
    for x, month, stack in zip(xs, months, stacks):
        base = 0
        parts = []
        for star in range(1, 6):
            value = stack.get(star, 0)
            if value:
                y_top, y_base = axis.y(base + value), axis.y(base)
                parts.append({"star": star, "value": value, "colour": STAR_COLOURS[star],
                              "x": round(x - step * 0.35, 1), "y": y_top, "w": round(step * 0.7, 1),
                              "h": round(y_base - y_top, 1)})
            base += value
        columns.append({"month": month, "parts": parts, "total": base})
    return {
        "id": chart_id, "kind": "stacked", "title": title, "width": WIDTH, "height": HEIGHT, "unit": "",
        "plot": {"left": LEFT, "right": WIDTH - RIGHT, "top": TOP, "bottom": HEIGHT - BOTTOM},
        "ticks": [{"y": axis.y(t), "label": _tick_label(t, "")} for t in axis.ticks],
        "x_labels": [{"x": x, "label": label} for x, label in zip(xs, _labels(months, month_labels or {}))],
        "columns": columns, "legend": [{"star": s, "colour": STAR_COLOURS[s]} for s in range(5, 0, -1)],
    }


def hbar_chart(chart_id: str, title: str, rows: list[tuple[str, float, str]]) -> dict:
    """Horizontal bars of shares 0-1 (label, share, caption), one row per item."""
    row_height = 26
    label_width = 180
    height = max(1, len(rows)) * row_height + 8
    bars = []
    for index, (label, share, caption) in enumerate(rows):
        width = round((WIDTH - label_width - 90) * share, 1)
        bars.append({"label": label, "value": share, "caption": caption, "y": 4 + index * row_height,
                     "x": label_width, "w": max(width, 1 if share else 0), "h": row_height - 8})
    return {"id": chart_id, "kind": "hbar", "title": title, "width": WIDTH, "height": height,
            "label_width": label_width, "rows": bars}


def _tick_label(value: float, unit: str) -> str:
    if unit == "%":
        return f"{round(value * 100)}%"
    return f"{value:g}"
