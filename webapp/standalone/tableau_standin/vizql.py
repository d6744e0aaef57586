"""The VizQL Data Service query semantics the stand-in implements: fields and filters.

Only what a published extract answers for dimension-style reads: fields by caption
(with optional fieldAlias), SET and MATCH filters, OBJECTS and ARRAYS results. Anything
else is refused with the 400 body VizQL Data Service sends, so a client that relies on
more than this fails loudly here instead of silently in production.
"""

from __future__ import annotations

from typing import Any


class VizqlError(Exception):
    """An error VizQL Data Service would answer: HTTP status, errorCode, message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> VizqlError:
    return VizqlError(400, "400803", message)


def _caption(obj: Any, known: set[str], where: str) -> str:
    if not isinstance(obj, dict) or not isinstance(obj.get("fieldCaption"), str):
        raise VizqlError(400, "400802", f"Each {where} needs a fieldCaption.")
    caption = obj["fieldCaption"]
    if caption not in known:
        raise _invalid(f"Unknown Field: {caption}.")
    return caption


def _keep(value: Any, flt: dict[str, Any]) -> bool:
    kind = flt.get("filterType")
    if kind == "SET":
        hit = value in flt["values"]
    else:  # MATCH: every given pattern must hold, on the text of the value
        text = "" if value is None else str(value)
        hit = all(
            test(text, flt[key]) for key, test in (
                ("startsWith", str.startswith), ("endsWith", str.endswith),
                ("contains", str.__contains__)) if key in flt)
    return hit != bool(flt.get("exclude", False))


def _check_filter(flt: Any, known: set[str]) -> tuple[str, dict[str, Any]]:
    if not isinstance(flt, dict):
        raise VizqlError(400, "400802", "Each filter must be an object.")
    caption = _caption(flt.get("field"), known, "filter field")
    kind = flt.get("filterType")
    if kind == "SET":
        if not isinstance(flt.get("values"), list):
            raise VizqlError(400, "400802", "A SET filter needs a values list.")
    elif kind == "MATCH":
        if not any(isinstance(flt.get(k), str) for k in ("startsWith", "endsWith", "contains")):
            raise VizqlError(400, "400802",
                             "A MATCH filter needs startsWith, endsWith or contains.")
    else:
        raise _invalid(f"The stand-in does not implement filterType {kind!r}.")
    return caption, flt


def run_query(rows: list[dict[str, Any]], known: set[str], body: dict[str, Any]
              ) -> list[Any]:
    """Answer a query-datasource body against `rows` (dicts keyed by caption).

    Raises:
        VizqlError: the body is malformed or names a caption the datasource lacks.
    """
    query = body.get("query")
    if not isinstance(query, dict) or not isinstance(query.get("fields"), list) \
            or not query["fields"]:
        raise VizqlError(400, "400802", "query.fields must be a non-empty list.")
    fields = [(_caption(f, known, "field"), f.get("fieldAlias")) for f in query["fields"]]
    filters = [_check_filter(f, known) for f in query.get("filters") or []]
    options = body.get("options") or {}
    return_format = options.get("returnFormat", "OBJECTS")
    if return_format not in ("OBJECTS", "ARRAYS"):
        raise VizqlError(400, "400802", f"Unknown returnFormat {return_format!r}.")
    kept = [row for row in rows
            if all(_keep(row.get(caption), flt) for caption, flt in filters)]
    if return_format == "ARRAYS":
        return [[row.get(caption) for caption, _ in fields] for row in kept]
    return [{(alias or caption): row.get(caption) for caption, alias in fields}
            for row in kept]
