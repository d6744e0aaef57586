"""A small university for the tests of users and members: the tree of test_units
(S-1 › I-10 › L-101, S-1 › I-20 › L-201) and people in it."""

from __future__ import annotations

from tests.integration.test_units import TREE, run_import

# name -> (unit, role); None: of no unit. Emails are <name>@example.org.
PEOPLE = {
    "admin": (None, "admin"),
    "manager": ("I-10", "manager"),  # manages the institute and its lab
    "school editor": ("S-1", "editor"),  # sees it all, manages nothing
    "lab member": ("L-101", "viewer"),
    "materials member": ("I-20", "viewer"),  # beside the manager's institute
    "plain": (None, "viewer"),
}


def email_of(name: str) -> str:
    return f"{name.replace(' ', '-')}@example.org"


def set_up_people(app, tmp_path, create_user) -> dict[str, dict]:
    """Import the tree and create PEOPLE; name -> the create_user dict."""
    assert run_import(app, tmp_path, TREE).exit_code == 0
    return {name: create_user(role, email=email_of(name), unit=unit)
            for name, (unit, role) in PEOPLE.items()}
