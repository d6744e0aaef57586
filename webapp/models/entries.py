"""What ingestion produces: data entries of a module and emission factors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class DataEntry(db.Model):
    """One entry of a module. Bulk loads write millions of these, and PostgreSQL checks a
    foreign key with a trigger per row (measured: each FK costs more than the insert
    itself). So only module_id is a foreign key: inventory_id follows from the module,
    and job_id is provenance that must survive the job row being purged."""

    __tablename__ = "data_entries"
    # The slice a provider replaces: (module, year, source, entry_type).
    __table_args__ = (Index("idx_entries_slice", "module_id", "year", "source", "entry_type"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    inventory_id: Mapped[int]
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id"))
    year: Mapped[int]
    entry_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSONB)
    kg_co2eq: Mapped[float | None] = mapped_column(Float)
    # {method, factor_id, distance_km, missing_reason}: see webapp/emissions.
    emission: Mapped[dict | None] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(String(50))  # provider_type, or "manual"
    job_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class EmissionFactor(db.Model):
    __tablename__ = "emission_factors"
    __table_args__ = (Index("uq_factors_identity", "factor_type_id", "year", "classification",
                            unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    factor_type_id: Mapped[int] = mapped_column(ForeignKey("factor_types.id"))
    year: Mapped[int]
    classification: Mapped[dict] = mapped_column(JSONB)
    values: Mapped[dict] = mapped_column(JSONB)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_ingestion_jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class ModuleEntryCount(db.Model):
    """How many entries a module holds per entry type and source, adjusted by the entry
    sink and undo in their own transaction (migration 0006), so the module page reads a
    few rows whatever the entries."""

    __tablename__ = "module_entry_counts"

    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"),
                                           primary_key=True)
    entry_type: Mapped[str] = mapped_column(String(50), primary_key=True)
    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger)


class ModuleEmissionSummary(db.Model):
    """A module's figures as of its last recalculation, written in the same transaction
    (webapp/emissions/recalculation.py), so pages read one row whatever the entries."""

    __tablename__ = "module_emission_summaries"

    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"),
                                           primary_key=True)
    total_kg_co2eq: Mapped[float] = mapped_column(Float, server_default="0")
    entries: Mapped[int] = mapped_column(BigInteger, server_default="0")
    entries_with_emissions: Mapped[int] = mapped_column(BigInteger, server_default="0")
    by_entry_type: Mapped[list] = mapped_column(JSONB, server_default="[]")
    missing: Mapped[list] = mapped_column(JSONB, server_default="[]")  # the most frequent
    missing_reasons: Mapped[int] = mapped_column(server_default="0")  # how many in all
    job_id: Mapped[int | None]  # provenance, like DataEntry.job_id: no foreign key
    recalculated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                      server_default=func.now())


class Airport(db.Model):
    """Coordinates for the plane rule, copied from the pinned `airportsdata` package."""

    __tablename__ = "airports"

    iata: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(50))  # "airportsdata <version>"
