"""Turn HR API headcount records into member entries, the shape a headcount CSV gives.

Pure functions, no I/O. The entry's data has the CSV member columns (name,
position_category, user_institutional_id, fte), so a person loaded from HR and the same
person from a CSV get the same emissions, plus `unit_code`, the unit the record belongs
to (what a filtered sync replaces, and what routing to units will read). Every problem
becomes a (field, value, reason) tuple, fields named as the HR API names them and the
reason written to follow them ("Row 7: fte '2' must be between 0 and 1.5").
"""

from __future__ import annotations

import math
import re
from typing import Any

PERSON_ID = "person_id"
UNIT_CODE = "unit_code"
CATEGORY = "position_category"
FTE = "fte"
DISPLAY_NAME = "display_name"  # optional: HR systems need not give names away

# More than 1: HR records overtime and a second contract as FTE above 1; beyond 1.5 it
# is a typo (15 for 1.5) that would inflate the figures.
MAX_FTE = 1.5
MAX_ID_LENGTH = 100  # as user_institutional_id in the headcount CSV
MAX_NAME_LENGTH = 255
# The categories headcount factors are declared for; a record of another category
# would load but never get emissions, so it is reported instead.
POSITION_CATEGORIES = (
    "professor", "lecturer", "postdoc", "phd_student", "scientific_staff",
    "technician", "administrative_staff", "apprentice",
)
ENTRY_TYPE = "member"

RecordProblem = tuple[str, Any, str]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _identifier(value: Any) -> str | None:
    """Text for ids that may arrive as numbers (123456 or 123456.0 → "123456")."""
    if _blank(value) or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def normalise_category(value: Any) -> str:
    """"PhD student", "phd-student" and "PHD_STUDENT" → "phd_student".

    Raises:
        ValueError: blank, or not one of POSITION_CATEGORIES.
    """
    key = re.sub(r"[\s\-]+", "_", str(value or "").strip()).lower()
    if not key:
        raise ValueError("is missing")
    if key not in POSITION_CATEGORIES:
        raise ValueError(f"is not a known position category; expected one of "
                         f"{', '.join(POSITION_CATEGORIES)}")
    return key


def _fte(value: Any, problems: list[RecordProblem]) -> float | None:
    if _blank(value):
        problems.append((FTE, value, "is missing"))
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
    except ValueError:
        problems.append((FTE, value, "is not a number"))
        return None
    if not math.isfinite(number) or not 0 <= number <= MAX_FTE:
        problems.append((FTE, value, f"must be between 0 and {MAX_FTE:g}"))
        return None
    return number


def map_record(record: Any) -> tuple[dict[str, Any] | None, list[RecordProblem]]:
    """One HR record → (member entry, []) or (None, [(field, value, reason), ...]).

    All problems of the record are reported at once, so they are fixed in one pass.
    """
    if not isinstance(record, dict):
        return None, [("record", str(record)[:100], "is not a JSON object")]
    problems: list[RecordProblem] = []
    person = _identifier(record.get(PERSON_ID))
    if person is None:
        problems.append((PERSON_ID, record.get(PERSON_ID), "is missing"))
    elif len(person) > MAX_ID_LENGTH:
        problems.append((PERSON_ID, person, f"is longer than {MAX_ID_LENGTH} characters"))
    unit = _identifier(record.get(UNIT_CODE))
    if unit is None:
        problems.append((UNIT_CODE, record.get(UNIT_CODE), "is missing"))
    try:
        category = normalise_category(record.get(CATEGORY))
    except ValueError as error:
        problems.append((CATEGORY, record.get(CATEGORY), str(error)))
    fte = _fte(record.get(FTE), problems)
    if problems:
        return None, problems
    name = _identifier(record.get(DISPLAY_NAME)) or person
    return {
        "entry_type": ENTRY_TYPE,
        "data": {
            "name": name[:MAX_NAME_LENGTH],
            "position_category": category,
            "user_institutional_id": person,
            "fte": fte,
            "unit_code": unit,
        },
        "kg_co2eq": None,  # the emissions recalculation computes it, as for a CSV
    }, []
