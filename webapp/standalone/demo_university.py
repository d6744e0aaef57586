"""A small, realistic university for `make run` and `make demo`: a school, three
institutes and twelve labs, with the inventories of 2024 and 2025 (both open), and, for
`make demo`, two local accounts that show what a member of one unit sees.

The labs' codes are the Tableau stand-in's centres financiers, so an institution-wide
sync routes its flights to real labs; the stand-in's last centres are left out on
purpose, to show the rows of an unknown centre refused.

It is built on the minimal seed (`webapp.cli.seed_demo`: unit F0892 with the 2025
modules 1-4, which the tests rely on), through the same functions an operator uses: the
units import and the years' creation. Every step is idempotent: a second run changes
nothing, so the launcher runs it at each start.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp import audit
from webapp.extensions import db
from webapp.models import Inventory, InventoryYear, Module, Unit, User
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.units import import_units
from webapp.organisation.years import create_year, open_year
from webapp.standalone.tableau_standin.dataset import CENTRES

SCHOOL = ("SCI", "School of Natural Sciences")
INSTITUTES = {  # code: (name, its labs as (code, name))
    "SCI-ENV": ("Institute of Environmental Engineering", (
        (CENTRES[0], "Atmospheric Chemistry Lab"), (CENTRES[1], "Hydrology Lab"),
        (CENTRES[2], "Soil Mechanics Lab"), (CENTRES[3], "Urban Ecology Lab"))),
    "SCI-CHEM": ("Institute of Chemical Sciences", (
        (CENTRES[4], "Catalysis Lab"), (CENTRES[5], "Polymer Lab"),
        (CENTRES[6], "Organic Synthesis Lab"), (CENTRES[7], "Electrochemistry Lab"))),
    "SCI-PHYS": ("Institute of Physics", (
        (CENTRES[8], "Quantum Optics Lab"), (CENTRES[9], "Plasma Physics Lab"),
        (CENTRES[10], "Condensed Matter Lab"), (CENTRES[11], "Astrophysics Lab"))),
}
YEARS = (2024, 2025)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    unit_code: str
    role: str

    def described(self) -> str:
        return f"{self.email} / {self.password}   {self.role} of {self.unit_code}"


# Known passwords, printed in `make demo`'s banner: for a demo on one's own machine only,
# which is why `make run` does not create them.
DEMO_ACCOUNTS = (
    DemoAccount("manager@demo.example.org", "demo-manager-password", "SCI-ENV", "manager"),
    DemoAccount("editor@demo.example.org", "demo-editor-password", CENTRES[0], "editor"),
)


def university_rows() -> list[dict[str, object]]:
    """The tree as units-import rows, parents first (the import takes any order)."""
    rows = [{"code": SCHOOL[0], "name": SCHOOL[1], "parent_code": None, "active": True}]
    for code, (name, labs) in INSTITUTES.items():
        rows.append({"code": code, "name": name, "parent_code": SCHOOL[0], "active": True})
        rows += [{"code": lab, "name": lab_name, "parent_code": code, "active": True}
                 for lab, lab_name in labs]
    return rows


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
        raise RuntimeError(f"the demo university cannot be imported: {result.errors[:3]}")
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
    unit = db.session.execute(db.select(Unit).filter_by(code=CENTRES[0])).scalar_one()
    for inventory in db.session.execute(db.select(Inventory).filter_by(
            unit_id=unit.id, name=f"Demo university {YEARS[-1]}")).scalars():
        inventory.name = f"{unit.name} {inventory.year}"


def seed_demo_accounts() -> tuple[DemoAccount, ...]:
    """The DEMO_ACCOUNTS, each a member of its unit; an account that exists is left as it
    is (its password may have been changed on purpose). Committed."""
    from webapp.cli import create_user  # the CLI module imports this one

    for account in DEMO_ACCOUNTS:
        if db.session.execute(db.select(User.id).filter_by(email=account.email)).scalar():
            continue
        unit = db.session.execute(db.select(Unit).filter_by(code=account.unit_code)
                                  ).scalar_one()
        create_user(account.email, account.password, unit=unit, role=account.role)
    return DEMO_ACCOUNTS

