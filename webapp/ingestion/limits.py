"""Bounds on what the product echoes back (SPEC §12): a job's or a refusal's message, and
the cells quoted inside one, so a 120,000-character value never fills a page or a poll."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 500
MAX_CELL_CHARS = 100


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def clip_cell(value: object) -> str:
    return clip("" if value is None else str(value), MAX_CELL_CHARS)


def clip_message(message: str) -> str:
    return clip(message, MAX_MESSAGE_CHARS)
