"""Scheduled syncs (SPEC §11): a schedule row per recurring request, and one run row per
due time. The run's UNIQUE (schedule_id, due_at) is what lets the database, not a
check-then-insert, decide which process fires a due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db


class SyncSchedule(db.Model):
    __tablename__ = "sync_schedules"
    __table_args__ = (
        Index("idx_schedules_module", "module_id"),
        CheckConstraint("(module_id IS NULL) <> (module_type IS NULL)",
                        name="ck_schedules_one_target"),
        # The firing loop's query: enabled schedules by due time.
        Index("idx_schedules_due", "next_run_at", postgresql_where=text("enabled")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One module's syncs, or every unit's modules of `module_type` (an institution-wide
    # sync, webapp/feeds/): exactly one of the two (migration 0011).
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"))
    module_type: Mapped[str | None] = mapped_column(String(50))
    factor_type_id: Mapped[int | None] = mapped_column(ForeignKey("factor_types.id"))
    provider_type: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    filters: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    config: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'"))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_ingestion_jobs.id", ondelete="SET NULL"))
    last_outcome: Mapped[str | None] = mapped_column(String(20))
    last_message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now(), onupdate=func.now())

    module = relationship("Module")
    creator = relationship("User")


class ScheduleRun(db.Model):
    """One due time of a schedule (or one "run now"), and what came of it."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_due"),
                      Index("idx_schedule_runs_job", "job_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("sync_schedules.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    manual: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # claimed → created (a job exists) → completed | failed | cancelled; or skipped | refused
    outcome: Mapped[str] = mapped_column(String(20), server_default="claimed")
    message: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_ingestion_jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
