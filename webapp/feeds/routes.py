"""Where an institution-wide sync's rows go: from a unit's code (a Tableau row's centre
financier, an HR record's unit) to that unit's module of the job's type and year.

Built once per job from one query, so routing a row is a dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class Target:
    unit_code: str
    inventory_id: int
    module_id: int


class UnitRoutes:
    """The active units that have a module of `module_type` in `year`, by code; the
    other units' codes, to say why a row naming them is refused."""

    def __init__(self, module_type: str, year: int, targets: dict[str, Target],
                 inactive: set[str], without_module: set[str]):
        self.module_type, self.year = module_type, year
        self.targets, self.inactive, self.without_module = targets, inactive, without_module

    @classmethod
    def load(cls, conn: psycopg.Connection, module_type: str, year: int) -> UnitRoutes:
        targets, inactive, without_module = {}, set(), set()
        for code, active, inventory_id, module_id in conn.execute(
                "SELECT u.code, u.active, i.id, m.id FROM units u "
                "LEFT JOIN inventories i ON i.unit_id = u.id AND i.year = %s "
                "LEFT JOIN modules m ON m.inventory_id = i.id AND m.module_type = %s",
                (year, module_type)):
            if not active:
                inactive.add(code)
            elif module_id is None:
                without_module.add(code)
            else:
                targets[code] = Target(code, inventory_id, module_id)
        return cls(module_type, year, targets, inactive, without_module)

    def target(self, code: object) -> tuple[Target | None, str | None]:
        """The target of a row naming unit `code`, or None and why the row is refused."""
        if code is None or code == "":
            return None, "is missing: the row names no unit to load it into"
        found = self.targets.get(str(code))
        if found is not None:
            return found, None
        if code in self.inactive:
            return None, "is an inactive unit: its rows are not loaded"
        if code in self.without_module:
            return None, f"has no {self.module_type} module in {self.year}"
        return None, "is no unit's code"

    @property
    def module_ids(self) -> list[int]:
        return sorted(target.module_id for target in self.targets.values())

    def codes_of(self, module_ids: set[int]) -> dict[int, str]:
        return {t.module_id: t.unit_code for t in self.targets.values()
                if t.module_id in module_ids}
