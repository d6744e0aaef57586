"""Template filters and globals that turn job data into words people read."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from webapp.ingestion.providers.registry import REGISTRY
from webapp.text import tonnes
from webapp.times import page_zone, timestamp
from webapp.views.preview import json_text, preview_table

PHASES = {
    "validating": "Checking the source", "fetching": "Reading rows",
    "transforming": "Checking rows", "loading": "Writing rows", "done": "Done",
}


def thousands(value) -> str:
    """1204 -> '1,204' (the separator the job messages use)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "–"


def duration(seconds) -> str:
    """A short human duration: '8 s', '3 min 5 s', '2 h 10 min'."""
    if seconds is None:
        return "–"
    seconds = max(0, round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min"


def elapsed(start: datetime | None, end: datetime | None) -> str:
    return duration((end - start).total_seconds()) if start and end else "–"


def provider_label(provider_type: str) -> str:
    """The provider's own label ('CSV upload'), or its type when it is not registered here."""
    for (_module, provider, _target), cls in REGISTRY.items():
        if provider == provider_type and cls.label:
            return cls.label
    return provider_type


def target_label(target_type: str) -> str:
    return {"data_entries": "data entries", "factors": "emission factors",
            "units": "the unit tree"}.get(
        target_type, target_type)


def kg(value) -> str:
    """A kg figure of a detail (an entry, a tooltip): 12345.678 -> '12,345.7'."""
    try:
        return f"{float(value):,.1f}"
    except (TypeError, ValueError):
        return "–"


def register(app: Flask) -> None:
    """Make these available to every template."""
    app.jinja_env.filters.update(tonnes=tonnes, kg=kg, thousands=thousands, duration=duration,
                                 timestamp=timestamp, provider_label=provider_label,
                                 target_label=target_label, json_text=json_text)
    app.jinja_env.globals.update(elapsed=elapsed, PHASES=PHASES, preview_table=preview_table,
                                 page_zone=page_zone)
