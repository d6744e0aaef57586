"""Deterministic people of the demo labs, shaped like an HR system's headcount records.

Seeded, so every run (and every test) sees the same records. The unit codes are the
Tableau stand-in's centres financiers, so one demo unit has both flights and people.
Each year holds a known handful of records our mapping must refuse, one of them in
DEFECT_UNIT so a sync of that unit alone shows row errors; tests ask `matching` and
`expected_defects` instead of hard-coding counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from webapp.standalone.tableau_standin.dataset import CENTRES

SEED = 20250301
YEARS = (2023, 2024, 2025)
UNITS = CENTRES
PEOPLE_PER_UNIT = (8, 30)  # a lab's size, drawn per unit and year
DEFECT_UNIT = "F0892"  # the demo university's own unit: every year it has one bad record
CATEGORIES = (  # (how the HR system writes it, weight)
    ("Professor", 6), ("postdoc", 14), ("PhD student", 30), ("scientific_staff", 12),
    ("technician", 8), ("administrative-staff", 8), ("lecturer", 4), ("apprentice", 2),
)
FTES = (1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.5, 1.2)
FIRST = ("Ada", "Alan", "Chloé", "Lukas", "Zoë", "Jean", "Åsa", "Marco", "Nina", "Omar",
         "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Ursula", "Viktor", "Wen", "Yara")
LAST = ("Rey", "Brändli", "Müller", "Dupont", "Öberg", "Rossi", "Keller", "Haddad",
        "Nair", "Favre", "Silva", "Berg", "Khan", "Meier", "Costa", "Li", "Moreau")
# Ways a record is broken, each refused by the mapping with exactly one problem.
DEFECTS = ("missing_person_id", "fte_not_a_number", "fte_too_high", "unknown_category")


@dataclass(frozen=True)
class PersonRecord:
    """One HR record; `defect` says why our mapping must refuse it (None if valid)."""

    year: int
    values: dict[str, Any]
    defect: str | None = None

    @property
    def unit(self) -> str:
        return self.values["unit_code"]


def _spoil(values: dict[str, Any], defect: str) -> None:
    if defect == "missing_person_id":
        values["person_id"] = None
    elif defect == "fte_not_a_number":
        values["fte"] = "half"
    elif defect == "fte_too_high":
        values["fte"] = 10  # someone typed 10 for 1.0
    elif defect == "unknown_category":
        values["position_category"] = "astronaut"


def build_dataset(seed: int = SEED) -> list[PersonRecord]:
    """Every year's people, unit after unit, in the order the stand-in answers them."""
    rng = random.Random(seed)
    records: list[PersonRecord] = []
    for year in YEARS:
        year_records = []
        for unit in UNITS:
            for _ in range(rng.randint(*PEOPLE_PER_UNIT)):
                year_records.append(PersonRecord(year, {
                    "person_id": str(rng.randrange(100_000, 400_000)),
                    "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    "unit_code": unit,
                    "position_category": rng.choices(
                        [c for c, _ in CATEGORIES], weights=[w for _, w in CATEGORIES])[0],
                    "fte": rng.choice(FTES),
                }))
        own = [i for i, r in enumerate(year_records) if r.unit == DEFECT_UNIT]
        others = [i for i, r in enumerate(year_records) if r.unit != DEFECT_UNIT]
        spoiled = [rng.choice(own), *rng.sample(others, len(DEFECTS) - 1)]
        for index, defect in zip(spoiled, DEFECTS, strict=True):
            record = year_records[index]
            values = dict(record.values)
            _spoil(values, defect)
            year_records[index] = PersonRecord(year, values, defect)
        records.extend(year_records)
    return records


@lru_cache(maxsize=4)
def default_dataset(seed: int = SEED) -> tuple[PersonRecord, ...]:
    return tuple(build_dataset(seed))


def matching(year: int, units: str | list[str] | None = None,
             records: tuple[PersonRecord, ...] | None = None) -> list[PersonRecord]:
    """The records the stand-in answers for a year and, optionally, some unit codes."""
    wanted = [units] if isinstance(units, str) else units
    return [r for r in (default_dataset() if records is None else records)
            if r.year == year and (not wanted or r.unit in wanted)]


def expected_defects(year: int, units: str | list[str] | None = None) -> int:
    """How many of those records our mapping must refuse (one problem each)."""
    return sum(1 for r in matching(year, units) if r.defect)
