"""Text the product echoes back, bounded (SPEC §12): a job's or a refusal's message, the
cells quoted inside one, and a request's `filters` and `config` (stored with the job and
shown in every status, history and job page), so a 120,000-character value or 20 MB of
config never fills a page or a poll. And totals as people read them: tonnes (SPEC §15),
in job messages as on pages."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

MAX_MESSAGE_CHARS = 500
MAX_CELL_CHARS = 100
MAX_REQUEST_JSON_BYTES = 16 * 1024  # each of filters and config (SPEC §12, continued)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def clip_cell(value: object) -> str:
    return clip("" if value is None else str(value), MAX_CELL_CHARS)


def clip_message(message: str) -> str:
    return clip(message, MAX_MESSAGE_CHARS)


def json_size(value: object) -> int:
    """The bytes `value` takes as compact UTF-8 JSON (as stored, give or take jsonb)."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def tonnes(kg) -> str:
    """A total in kg CO2eq as tonnes, rounded half up (not truncated, not to even):
    6719951.4 -> '6,719.95', 1235 -> '1.24'."""
    try:
        value = Decimal(str(kg)) / 1000
    except (TypeError, ValueError, ArithmeticError):
        return "–"
    if not value.is_finite():
        return "–"
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
