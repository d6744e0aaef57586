"""The page number of a paginated page (`?page=N`, from 1), bounded so the offset it
gives stays within what PostgreSQL takes."""

from __future__ import annotations

from flask import request

MAX_PAGE = 10**6


def page_number() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
