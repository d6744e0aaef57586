"""A preview's rows as a table people read: one column per field, one row per previewed
row, each value in the characters it was typed in (`Müller`, never `M\\u00fcller`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS, FACTOR_SCHEMAS
from webapp.models import DataIngestionJob, TargetType


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False  # right-aligned, as numbers are in the other tables
    note: str = ""  # shown small beside the value, e.g. why an emission is missing


@dataclass(frozen=True)
class PreviewTable:
    columns: list[str]
    rows: list[list[Cell]]


def preview_table(job: DataIngestionJob) -> PreviewTable:
    """The table of a preview job's rows (`metadata.preview`), as they would be stored.

    Entries: their entry type, every field of their `data`, and kg CO2eq. Factors: their
    classification fields, their value fields, and what the load would do to the factor
    (insert, update, unchanged). Fields come in the order of the CSV template (stored
    JSON keeps its own order), then any others.
    """
    rows = list(job.info.preview or [])
    if job.target_type == TargetType.FACTORS:
        schema = FACTOR_SCHEMAS.get(job.factor_type.slug if job.factor_type else "")
        keys = _fields((row.get("classification") for row in rows),
                       [c.name for c in schema.classification_columns] if schema else [])
        values = _fields((row.get("values") for row in rows),
                         [c.name for c in schema.value_columns] if schema else [])
        return PreviewTable(
            columns=[*keys, *values, "Change"],
            rows=[[*(cell((row.get("classification") or {}).get(k)) for k in keys),
                   *(cell((row.get("values") or {}).get(k)) for k in values),
                   Cell(str(row.get("change") or ""))] for row in rows])
    module_type = job.module.module_type if job.module else ""
    template = [c.name for entry_type in dict.fromkeys(row.get("entry_type") for row in rows)
                for c in getattr(ENTRY_SCHEMAS.get((module_type, entry_type)), "columns", ())]
    fields = _fields((row.get("data") for row in rows), template)
    return PreviewTable(
        columns=["Entry type", *fields, "kg CO₂eq"],
        rows=[[Cell(str(row.get("entry_type") or "")),
               *(cell((row.get("data") or {}).get(f)) for f in fields),
               _emission(row)] for row in rows])


def cell(value: Any) -> Cell:
    """A stored JSON value as text: strings as typed, numbers as stored, nested values
    as JSON that keeps its characters."""
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell("yes" if value else "no")
    if isinstance(value, int | float):
        return Cell(str(value), numeric=True)
    if isinstance(value, str):
        return Cell(value)
    return Cell(json.dumps(value, ensure_ascii=False))


def json_text(value: Any) -> str:
    """A stored JSON value for people to read: text as typed (`Zürich`, no quotes), other
    values as JSON that keeps its characters (Jinja's `tojson` and json.dumps' default
    escape every non-ASCII one: `Z\\u00fcrich`)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _fields(dicts: Iterable[Mapping[str, Any] | None], order: Sequence[str]) -> list[str]:
    """The keys present in any of `dicts`: those named in `order` first, in that order."""
    present: dict[str, None] = {}
    for data in dicts:
        present.update(dict.fromkeys(data or {}))
    return [key for key in dict.fromkeys(order) if key in present] + [
        key for key in present if key not in order]


def _emission(row: Mapping[str, Any]) -> Cell:
    kg = row.get("kg_co2eq")
    if kg is not None:
        return Cell(f"{kg:,.3f}", numeric=True)
    reason = (row.get("emission") or {}).get("missing_reason") or ""
    return Cell("–", numeric=True, note=reason)
