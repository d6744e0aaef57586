"""What a completed load or units import replaced, kept so an undo can put it back
(SPEC §11, §13).

Copies of rows as they were, keyed by the job that replaced them (`replaced_by`); no
foreign keys, so the live tables never wait on them. Purged after UNDO_KEEP_DAYS.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class ReplacedEntry(db.Model):
    """A data entry a load deleted, every column as it was."""

    __tablename__ = "replaced_entries"
    __table_args__ = (Index("idx_replaced_entries_job", "replaced_by", postgresql_using="brin"),)
    __mapper_args__ = {"primary_key": ["replaced_by", "id"]}

    replaced_by: Mapped[int] = mapped_column(Integer)
    id: Mapped[int] = mapped_column(BigInteger)
    inventory_id: Mapped[int] = mapped_column(Integer)
    module_id: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    entry_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSONB)
    kg_co2eq: Mapped[float | None] = mapped_column(Float)
    emission: Mapped[dict | None] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(50))
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kept_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReplacedFactor(db.Model):
    """A factor a load inserted (`inserted`), or changed (its previous values)."""

    __tablename__ = "replaced_factors"
    __table_args__ = (Index("idx_replaced_factors_job", "replaced_by"),)
    __mapper_args__ = {"primary_key": ["replaced_by", "id"]}

    replaced_by: Mapped[int] = mapped_column(Integer)
    id: Mapped[int] = mapped_column(BigInteger)
    inserted: Mapped[bool] = mapped_column(Boolean)
    values: Mapped[dict | None] = mapped_column(JSONB)
    job_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kept_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReplacedUnit(db.Model):
    """A unit an import created (`inserted`), or changed (its previous name, parent and
    active flag): what an undo of the import puts back."""

    __tablename__ = "replaced_units"

    replaced_by: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50))
    inserted: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool | None] = mapped_column(Boolean)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kept_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
