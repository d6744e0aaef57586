"""`flask users|tokens|units|members ...` and `flask seed-demo` for operators."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from webapp import audit
from webapp.errors import InvalidFile, NotFound, Refusal
from webapp.extensions import db
from webapp.ingestion.loading.sinks import recount_entries
from webapp.ingestion.providers.base import describe_row_error
from webapp.models import FactorType, Inventory, InventoryYear, Module, Unit, User
from webapp.models.inventory import MODULE_TYPES
from webapp.models.organisation import UNIT_ROLES
from webapp.organisation import members, tokens, users
from webapp.organisation.units import get_unit, import_units_file, store_paths

users_cli = AppGroup("users", help="Manage user accounts.")
units_cli = AppGroup("units", help="Manage the university's units.")
members_cli = AppGroup("members", help="Manage who belongs to which unit, with which role.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")

FACTOR_TYPES = [  # (slug, module_type, name)
    ("plane", "travel", "Plane travel"),
    ("train", "travel", "Train travel"),
    ("equipment", "equipment", "Equipment electricity"),
    ("purchase", "purchases", "Purchases"),
    ("headcount", "headcount", "Headcount"),
]


def create_user(email: str, password: str | None, name: str = "", *, admin: bool = False,
                unit: Unit | None = None, role: str | None = None) -> User:
    """A user with a password (None: single sign-on only), an admin or, with `unit` and
    `role`, a member of that unit. Audited, committed."""
    user = users.create_user(email, name, admin=admin, password=password,
                             unit_code=unit.code if unit is not None else None, role=role,
                             via="cli")
    db.session.commit()
    return user


def _user(email: str) -> User:
    try:
        return members.get_user(email)
    except NotFound:
        raise click.ClickException(f"no user with email {email}") from None


@users_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May do everything, in every unit.")
@click.option("--unit", "unit_code", default=None,
              help="Make the user a member of this unit (and every unit below it)...")
@click.option("--role", type=click.Choice(UNIT_ROLES), default=None,
              help="...with this role (default: viewer).")
@click.option("--name", default="")
@click.option("--password", envvar="NEW_USER_PASSWORD", default=None,
              help="Defaults to a generated password, printed once.")
def users_create(email: str, admin: bool, unit_code: str | None, role: str, name: str,
                 password: str | None) -> None:
    """Create a user: an admin, or a member of a unit (`flask members add` for more)."""
    if db.session.execute(db.select(User).filter_by(email=email.strip().lower())).scalar():
        raise click.ClickException(f"a user with email {email} already exists")
    if role and not unit_code:
        raise click.ClickException("--role is a role in a unit: give the unit with --unit")
    try:
        unit = get_unit(unit_code) if unit_code else None
    except NotFound as refusal:
        raise click.ClickException(refusal.message) from None
    role = role or "viewer"
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        create_user(email, password, name, admin=admin, unit=unit, role=role)
    except Refusal as refusal:
        raise click.ClickException(refusal.message) from None
    what = "admin" if admin else f"{role} of {unit.code}" if unit else "user (no unit yet)"
    click.echo(f"created {what} {email}")
    if generated:
        click.echo(f"password: {password}")


@users_cli.command("list")
def users_list() -> None:
    for user in db.session.execute(db.select(User).order_by(User.id)).scalars():
        state = "active" if user.active else "inactive"
        click.echo(f"{user.id}\t{user.email}\t{'admin' if user.admin else '-'}\t{state}")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Deactivate EMAIL: its sessions end and its API tokens stop working."""
    user = users.deactivate_user(_user(email), via="cli")
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True,
              help="Read the new password from standard input instead of generating one.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password (generated and printed once, unless --password-stdin);
    the user's open sessions end."""
    user = _user(email)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
    else:
        password = secrets.token_urlsafe(12)
    user.set_password(password)
    audit.record("user.password_changed", target_type="user", target_id=user.id,
                 details={"email": user.email, "via": "cli"})
    db.session.commit()
    click.echo(f"password changed for {user.email}")
    if not password_stdin:
        click.echo(f"password: {password}")


@tokens_cli.command("create")
@click.argument("email")
@click.argument("name")
def tokens_create(email: str, name: str) -> None:
    """Create an API token for EMAIL named NAME; prints only the token."""
    try:
        _, clear = tokens.create_token(_user(email), name, via="cli")
    except Refusal as refusal:
        raise click.ClickException(refusal.message) from None
    db.session.commit()
    click.echo(clear)


@tokens_cli.command("revoke")
@click.argument("email")
@click.argument("name")
def tokens_revoke(email: str, name: str) -> None:
    """Revoke EMAIL's tokens named NAME."""
    revoked = tokens.revoke_tokens_named(_user(email), name, via="cli")
    db.session.commit()
    click.echo(f"revoked {revoked} token(s)")


def seed_demo(year: int = 2025) -> Inventory:
    """The demo inventory with the four modules and the five factor types; idempotent."""
    for slug, module_type, name in FACTOR_TYPES:
        if not db.session.execute(db.select(FactorType).filter_by(slug=slug)).scalar():
            db.session.add(FactorType(slug=slug, module_type=module_type, name=name))
    unit = db.session.execute(db.select(Unit).filter_by(code="F0892")).scalar()
    if unit is None:
        unit = Unit(code="F0892", name="Demo university")
        db.session.add(unit)
        db.session.flush()
        store_paths()
    if db.session.get(InventoryYear, year) is None:
        db.session.add(InventoryYear(year=year, open=True))
    inventory = db.session.execute(db.select(Inventory).filter_by(year=year)).scalar()
    if inventory is None:
        inventory = Inventory(name=f"Demo university {year}", year=year, unit_code=unit.code,
                              unit_id=unit.id)
        db.session.add(inventory)
        db.session.flush()
        for module_type, name in MODULE_TYPES.items():
            db.session.add(Module(inventory_id=inventory.id, module_type=module_type, name=name))
    db.session.commit()
    return inventory


@click.command("seed-demo")
@with_appcontext
@click.option("--year", default=2025, show_default=True)
@click.option("--university", is_flag=True,
              help="Also the demo university: a school, 3 institutes, 12 labs, with the "
                   "open years 2024 and 2025 (what `make run` shows).")
def seed_demo_command(year: int, university: bool) -> None:
    """Create the demo inventory, its modules and the factor types (idempotent)."""
    inventory = seed_demo(year)
    click.echo(f"demo inventory {inventory.name!r} (id {inventory.id}) is ready")
    if university:
        from webapp.organisation.demo_university import YEARS, seed_demo_university, university_rows

        seed_demo_university()
        click.echo(f"demo university: {len(university_rows())} units, open years "
                   f"{', '.join(map(str, YEARS))}")


@click.command("recount-entries")
@with_appcontext
def recount_entries_command() -> None:
    """Recount the entries each module page shows, after writing entries by hand in SQL."""
    counts = recount_entries(db.session.connection().connection.driver_connection)
    db.session.commit()
    click.echo(f"recounted: {counts} (module, entry type, source) count(s)")


@units_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_units_command(path: str) -> None:
    """Create or update units from a CSV file or an Excel workbook (its first sheet):
    code, name, parent_code, active."""
    with open(path, "rb") as stream:
        try:
            result = import_units_file(stream)
        except InvalidFile as refusal:
            raise click.ClickException(refusal.message) from None
    if result.errors:
        db.session.rollback()
        for error in result.errors[:20]:
            click.echo(describe_row_error(error), err=True)
        more = len(result.errors) - 20
        raise click.ClickException(
            f"{len(result.errors):,} error(s){f' ({more:,} more not shown)' if more > 0 else ''}"
            "; nothing was changed.")
    audit.record("units.imported", target_type="units", target_id=None,
                 details={**result.counts, "via": "cli", "file": path[-200:]})
    db.session.commit()
    click.echo(f"units: {result.inserted:,} created, {result.updated:,} updated, "
               f"{result.unchanged:,} unchanged")


@members_cli.command("add")
@click.argument("email")
@click.argument("unit_code")
@click.argument("role", type=click.Choice(UNIT_ROLES))
def add_member_command(email: str, unit_code: str, role: str) -> None:
    """Give EMAIL the ROLE in UNIT_CODE and every unit below it."""
    try:
        unit = get_unit(unit_code)
    except NotFound as refusal:
        raise click.ClickException(refusal.message) from None
    members.set_member(unit, _user(email), role)
    db.session.commit()
    click.echo(f"{email} is {role} of {unit.code} and every unit below it")


@members_cli.command("remove")
@click.argument("email")
@click.argument("unit_code")
def remove_member_command(email: str, unit_code: str) -> None:
    """Remove EMAIL's membership of UNIT_CODE."""
    try:
        members.remove_member(get_unit(unit_code), _user(email))
    except NotFound as refusal:
        raise click.ClickException(refusal.message) from None
    db.session.commit()
    click.echo(f"{email} is no longer a member of {unit_code}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(units_cli)
    app.cli.add_command(members_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(recount_entries_command)
