"""The carbon inventory, its modules and the factor types they use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.organisation import Unit

MODULE_TYPES = {
    "headcount": "Headcount",
    "travel": "Professional travel",
    "equipment": "Equipment",
    "purchases": "Purchases",
}


class Inventory(db.Model):
    """One unit's inventory for one year."""

    __tablename__ = "inventories"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_inventories_unit_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    unit_code: Mapped[str] = mapped_column(String(50), default="")
    # The unit this inventory is for; unit_code repeats its code (the plan's column).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    unit: Mapped[Unit | None] = relationship()
    modules: Mapped[list[Module]] = relationship(back_populates="inventory",
                                                 order_by="Module.id")


class Module(db.Model):
    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("inventory_id", "module_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inventory_id: Mapped[int] = mapped_column(ForeignKey("inventories.id"))
    module_type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    # {"<provider>:<target>[:<factor type>]": {provider, status, status_code, last_run,
    #  last_job_id, ...}} — kept by the service layer so badges need no history query.
    last_sync_status: Mapped[dict | None] = mapped_column(JSONB, default=dict,
                                                   server_default=text("'{}'"))

    inventory: Mapped[Inventory] = relationship(back_populates="modules")

    @property
    def year(self) -> int:
        return self.inventory.year


class FactorType(db.Model):
    __tablename__ = "factor_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(50), unique=True)
    module_type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
