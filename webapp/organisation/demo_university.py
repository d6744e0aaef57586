"""A small, realistic university for `make run` and `make demo` (and `flask seed-demo
--university`): a school, three institutes and twelve labs, with the inventories of 2024
and 2025, both open. (`make demo`'s accounts are in webapp/standalone/demo_accounts.py.)

The labs' codes are the Tableau stand-in's centres financiers (its dataset's CENTRES; a
test holds them equal), so an institution-wide sync routes its flights to real labs; the
stand-in's last two centres are left out on purpose, to show an unknown centre's rows
refused. They are written out here rather than imported: the organisation does not
depend on the standalone mode.

It is built on the minimal seed (`webapp.cli.seed_demo`: unit F0892 with the 2025
modules 1-4, which the tests rely on), through the same functions an operator uses: the
units import and the years' creation. Every step is idempotent: a second run changes
nothing, so the launcher runs it at each start, unless the database holds units of the
operator's own (other_units()).
"""

from __future__ import annotations

from webapp import audit
from webapp.extensions import db
from webapp.ingestion.providers.base import describe_row_error
from webapp.models import Inventory, InventoryYear, Module, Unit
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.units import import_units
from webapp.organisation.years import create_year, open_year

SCHOOL = ("SCI", "School of Natural Sciences")
INSTITUTES = {  # code: (name, its labs as (code, name))
    "SCI-ENV": ("Institute of Environmental Engineering", (
        ("F0892", "Atmospheric Chemistry Lab"), ("F0901", "Hydrology Lab"),
        ("F0915", "Soil Mechanics Lab"), ("F1023", "Urban Ecology Lab"))),
    "SCI-CHEM": ("Institute of Chemical Sciences", (
        ("F1107", "Catalysis Lab"), ("F1150", "Polymer Lab"),
        ("F1234", "Organic Synthesis Lab"), ("F1310", "Electrochemistry Lab"))),
    "SCI-PHYS": ("Institute of Physics", (
        ("F1402", "Quantum Optics Lab"), ("F1488", "Plasma Physics Lab"),
        ("F1561", "Condensed Matter Lab"), ("F1620", "Astrophysics Lab"))),
}
LABS = tuple(code for _, labs in INSTITUTES.values() for code, _ in labs)
SEED_UNIT = "F0892"  # seed_demo's unit, with the modules 1-4: one of the labs
YEARS = (2024, 2025)


def university_rows() -> list[dict[str, object]]:
    """The tree as units-import rows, parents first (the import takes any order)."""
    rows = [{"code": SCHOOL[0], "name": SCHOOL[1], "parent_code": None, "active": True}]
    for code, (name, labs) in INSTITUTES.items():
        rows.append({"code": code, "name": name, "parent_code": SCHOOL[0], "active": True})
        rows += [{"code": lab, "name": lab_name, "parent_code": code, "active": True}
                 for lab, lab_name in labs]
    return rows


def other_units() -> list[str]:
    """The codes of units that are not the demo university's (at most 3): units of the
    operator's own, which the launcher does not mix with the demo's."""
    ours = [row["code"] for row in university_rows()]
    return list(db.session.execute(db.select(Unit.code).where(Unit.code.not_in(ours))
                                   .order_by(Unit.code).limit(3)).scalars())


def seed_demo_university() -> None:
    """The school, its institutes and labs, and their open 2024 and 2025 inventories with
    their modules, on top of `seed_demo`'s F0892 (which becomes a lab). Committed.

    Raises:
        RuntimeError: the units import refused the tree (a unit of the database would
            become its own ancestor): the database was changed by hand.
    """
    result = import_units(enumerate(university_rows(), start=1))
    if result.errors:
        db.session.rollback()
        raise RuntimeError("the demo university cannot be imported: " + "; ".join(
            describe_row_error(error) for error in result.errors[:3]))
    if result.inserted or result.updated:
        audit.record("units.imported", target_type="units", target_id=None,
                     details={**result.counts, "via": "demo"})
    for year in YEARS:
        if db.session.get(InventoryYear, year) is None:
            create_year(year)
        else:
            _add_missing_inventories(year)
        open_year(year)
    _rename_seed_inventory()
    db.session.commit()


def _add_missing_inventories(year: int) -> None:
    """A year created before the university (seed_demo's 2025, for F0892 alone) gets the
    other units' inventories and modules, as create_year would have made them."""
    have = set(db.session.execute(
        db.select(Inventory.unit_id).filter_by(year=year)).scalars())
    for unit in db.session.execute(db.select(Unit).filter_by(active=True)
                                   .order_by(Unit.id)).scalars():
        if unit.id in have:
            continue
        inventory = Inventory(name=f"{unit.name} {year}", year=year, unit_code=unit.code,
                              unit_id=unit.id)
        db.session.add(inventory)
        db.session.flush()
        db.session.add_all(Module(inventory_id=inventory.id, module_type=module_type,
                                  name=name) for module_type, name in MODULE_TYPES.items())


def _rename_seed_inventory() -> None:
    """seed_demo named F0892's inventory after the whole demo; it is one lab's now."""
    unit = db.session.execute(db.select(Unit).filter_by(code=SEED_UNIT)).scalar_one()
    for inventory in db.session.execute(db.select(Inventory).filter_by(
            unit_id=unit.id, name=f"Demo university {YEARS[-1]}")).scalars():
        inventory.name = f"{unit.name} {inventory.year}"
