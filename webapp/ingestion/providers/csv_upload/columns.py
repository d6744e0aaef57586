"""What a CSV schema is declared with: a `Column` (its name, whether it is required, its
parser, its default, and what templates tell people about it) and the schema of a
data-entry type (`EntrySchema`) or of a factor type (`FactorSchema`).
The declarations themselves are in `schemas.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.parsers import Parser, text

RowCheck = Callable[[int, dict[str, Any]], list[RowError]]


class Column(NamedTuple):
    """One CSV column. A tuple, so the validation loop can unpack it cheaply."""

    name: str
    required: bool = False
    parse: Parser = text()
    default: Any = None  # used when the optional cell is empty; None = leave it out
    # For templates and their explanations: what the column holds (its unit, its form),
    # and a value that passes `parse`, as a person would type it.
    description: str = ""
    example: str = ""


# Every data file may say which organisational unit a row belongs to.
UNIT_COLUMN = Column(
    "unit_institutional_id", parse=text(100),
    description="The institutional id of the unit or cost centre the row belongs to, if "
                "your source records it (kept as text)",
    example="0105")
# An institution-wide file must say which unit's module each row goes to (SPEC §14): the
# unit's code, as /admin/units lists it. A unit's own file has no use for it.
ROUTING_COLUMN = Column(
    "unit_code", required=True, parse=text(100),
    description="The code of the unit whose module the row goes to, as Units lists it",
    example="ENAC-LAB")


@dataclass(frozen=True)
class EntrySchema:
    """The columns of one data-entry type; `unit_institutional_id` is always added."""

    module_type: str
    entry_type: str
    columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    def __post_init__(self) -> None:
        if UNIT_COLUMN not in self.columns:
            object.__setattr__(self, "columns", (*self.columns, UNIT_COLUMN))

    def routed(self) -> EntrySchema:
        """This schema for an institution-wide file: the same columns and checks, and a
        required `unit_code`, kept in each entry's data."""
        return replace(self, columns=(*self.columns, ROUTING_COLUMN))


@dataclass(frozen=True)
class FactorSchema:
    """The columns of one factor type: classification = identity, values = numbers."""

    factor_type: str
    classification_columns: tuple[Column, ...]
    value_columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.classification_columns + self.value_columns


Schema = EntrySchema | FactorSchema
