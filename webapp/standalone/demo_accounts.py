"""`make demo`'s local accounts: an institute's manager and a lab's editor, with known
passwords (the banner prints them), so a visitor sees what a member of one unit sees.

Known passwords suit a demo on one's own machine only, which is why `make run` does not
create them.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.cli import create_user
from webapp.extensions import db
from webapp.models import Unit, User
from webapp.organisation.demo_university import SEED_UNIT


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    unit_code: str
    role: str

    def described(self) -> str:
        return f"{self.email} / {self.password}   {self.role} of {self.unit_code}"


DEMO_ACCOUNTS = (
    DemoAccount("manager@demo.example.org", "demo-manager-password", "SCI-ENV", "manager"),
    DemoAccount("editor@demo.example.org", "demo-editor-password", SEED_UNIT, "editor"),
)


def seed_demo_accounts() -> tuple[DemoAccount, ...]:
    """The DEMO_ACCOUNTS, each a member of its unit of the demo university (seeded
    first); an account that exists is left as it is (its password may have been changed
    on purpose). Committed."""
    for account in DEMO_ACCOUNTS:
        if db.session.execute(db.select(User.id).filter_by(email=account.email)).scalar():
            continue
        unit = db.session.execute(db.select(Unit).filter_by(code=account.unit_code)
                                  ).scalar_one()
        create_user(account.email, account.password, unit=unit, role=account.role)
    return DEMO_ACCOUNTS
