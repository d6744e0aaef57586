"""The report page's charts as numbers the SVG template draws: lengths on a fixed scale,
computed here so the template only places them."""

from __future__ import annotations

from typing import Any

BAR_AREA = 360.0  # SVG units the longest bar spans
SEGMENT_CLASSES = 6  # share segments cycle through this many fill classes (app.css)


def _length(value: float | None, largest: float) -> float:
    if not value or value <= 0 or largest <= 0:
        return 0.0
    return round(BAR_AREA * value / largest, 2)


def module_pairs(modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per module: this year's bar and the year before's, on one scale."""
    values = [v for m in modules for v in (m["this"], m["before"]) if v]
    largest = max(values, default=0.0)
    return [{"name": m["name"], "this": m["this"], "before": m["before"],
             "this_length": _length(m["this"], largest),
             "before_length": _length(m["before"], largest)} for m in modules]


def share_bars(entry_types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entry types as the segments of one bar of BAR_AREA: `{entry_type, kg, share,
    x, width, fill}` (types without emissions take no room)."""
    segments, x = [], 0.0
    total = sum(e["kg"] for e in entry_types if e["kg"] > 0)
    for index, entry in enumerate(e for e in entry_types if e["kg"] > 0):
        width = round(BAR_AREA * entry["kg"] / total, 2)
        segments.append({**entry, "x": round(x, 2), "width": width,
                         "fill": f"seg-{index % SEGMENT_CLASSES}"})
        x += width
    return segments
