"""The audit log: who did what to which object, from where (SPEC §12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("idx_audit_at", "at"),
        Index("idx_audit_actor", "actor_id"),
        Index("idx_audit_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The user may be deleted later; the email keeps the row readable then.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict,
                                                    server_default="{}")
    client_address: Mapped[str | None] = mapped_column(String(64))

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat() if self.at else None,
                "actor_id": self.actor_id, "actor_email": self.actor_email,
                "action": self.action, "target_type": self.target_type,
                "target_id": self.target_id, "details": self.details or {},
                "client_address": self.client_address}
