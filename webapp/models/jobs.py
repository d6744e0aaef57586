"""data_ingestion_jobs, exactly as the plan's database contract, plus one partial unique
index that lets the database (not a check-then-insert) refuse a second active job."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.job_meta import JobMeta


class TargetType(StrEnum):
    """What a job writes (the job row's target_type). Each feature's job kinds name theirs."""

    DATA_ENTRIES = "data_entries"
    FACTORS = "factors"
    EMISSIONS = "emissions"  # a recalculation of a module's figures (webapp/emissions)
    UNITS = "units"  # the unit tree: an import or a directory sync (webapp/organisation)


class DataIngestionJob(db.Model):
    __tablename__ = "data_ingestion_jobs"
    __table_args__ = (
        Index("idx_jobs_module", "module_id"),
        Index("idx_jobs_status", "status"),
        # A job without a module (a units job) counts as module 0: one at a time.
        Index("uq_jobs_one_active", text("COALESCE(module_id, 0)"), "target_type",
              text("COALESCE(factor_type_id, 0)"), unique=True,
              # Previews (metadata.dry_run) write nothing, so they never keep a load off.
              postgresql_where=text("status IN ('pending', 'processing') "
                                    "AND (metadata->>'dry_run') IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Both null for a units job, which belongs to no inventory or year (0009).
    inventory_id: Mapped[int | None] = mapped_column(ForeignKey("inventories.id"))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id"))
    factor_type_id: Mapped[int | None] = mapped_column(ForeignKey("factor_types.id"))

    provider_type: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(20))
    year: Mapped[int | None]

    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    status_code: Mapped[int | None]
    message: Mapped[str | None] = mapped_column(Text)

    # "metadata" is reserved by SQLAlchemy's declarative base, hence the attribute name.
    meta: Mapped[dict | None] = mapped_column("metadata", JSONB,
                                              server_default=text("'{}'"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    module = relationship("Module")
    factor_type = relationship("FactorType")
    creator = relationship("User")

    @property
    def info(self) -> JobMeta:
        """The metadata, typed (webapp/models/job_meta.py)."""
        return JobMeta(self.meta)

    @property
    def processing_started_at(self) -> datetime | None:
        """When a worker took the job (`started_at` is the plan's column, set at creation);
        the service records it in the metadata."""
        return self.info.processing_started_at


class IngestionRowError(db.Model):
    """Every row error of a job, for the downloadable report (the job keeps the first 100)."""

    __tablename__ = "ingestion_row_errors"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("data_ingestion_jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    row: Mapped[int]
    column: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    cell: Mapped[str | None] = mapped_column(String(100))  # a workbook's, e.g. Travel!C17
