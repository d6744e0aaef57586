"""The university's organisation (SPEC §13): units in a tree, who belongs to which unit
with which role, and the inventory years."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db

# Each role can do what the ones before it can, in its unit and every unit below it.
UNIT_ROLES = ("viewer", "editor", "manager")


class Unit(db.Model):
    """A school, institute, lab…: one node of the tree, known by its institutional code
    (the centre financier, e.g. F0892)."""

    __tablename__ = "units"
    __table_args__ = (
        # Subtrees are path prefixes: "LIKE '/1/5/%'" walks this index.
        Index("idx_units_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("idx_units_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # The ids from the root down to this unit, "/1/5/23/": a unit's subtree is every
    # unit whose path starts with its own. Kept by organisation.units.store_paths().
    path: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(),
                                                 onupdate=func.now())

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Membership(db.Model):
    """A user's role in a unit, which holds in every unit below it too."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"role IN {UNIT_ROLES}", name="ck_memberships_role"),
        Index("idx_memberships_unit", "unit_id"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"),
                                         primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    # "manual" (a manager, an admin, the CLI) or "sso": the ones single sign-on's groups
    # claim gave, replaced at each login; manual ones are never touched by a login.
    source: Mapped[str] = mapped_column(String(20), default="manual",
                                        server_default="manual")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    unit: Mapped[Unit] = relationship()


class InventoryYear(db.Model):
    """A year of inventories. Closed to everyone but admins until they open it."""

    __tablename__ = "inventory_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    open: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
