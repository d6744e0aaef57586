"""Entries and factors written straight into PostgreSQL, for the emissions tests."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tests.support.polling import wait_for
from webapp.emissions import recalculate_module


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine on a sphere of radius 6371 km, written out independently of the SQL."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


class Plant:
    """Writes rows of the seeded demo inventory (year 2025) and recalculates."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def module(self, module_type: str) -> tuple[int, int]:
        return self.conn.execute("SELECT inventory_id, id FROM modules WHERE module_type = %s",
                                 (module_type,)).fetchone()

    def factor(self, slug: str, classification: dict, values: dict, year: int = 2025) -> int:
        return self.conn.execute(
            "INSERT INTO emission_factors (factor_type_id, year, classification, values) "
            "SELECT id, %s, %s, %s FROM factor_types WHERE slug = %s RETURNING id",
            (year, Jsonb(classification), Jsonb(values), slug)).fetchone()[0]

    def entry(self, module_type: str, entry_type: str, data: dict[str, Any],
              kg_co2eq: float | None = None, year: int = 2025) -> int:
        inventory_id, module_id = self.module(module_type)
        return self.conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
            "kg_co2eq, source) VALUES (%s, %s, %s, %s, %s, %s, 'csv_upload') RETURNING id",
            (inventory_id, module_id, year, entry_type, Jsonb(data), kg_co2eq)).fetchone()[0]

    def recalculate(self, module_type: str, **kw):
        return recalculate_module(self.conn, self.module(module_type)[1], **kw)

    def result(self, entry_id: int) -> tuple[float | None, dict | None]:
        return self.conn.execute("SELECT kg_co2eq, emission FROM data_entries WHERE id = %s",
                                 (entry_id,)).fetchone()

    def airport(self, iata: str) -> tuple[float, float]:
        return self.conn.execute("SELECT lat, lon FROM airports WHERE iata = %s",
                                 (iata,)).fetchone()


def wait_recalculated(api, module_id: int, load: dict, timeout: float = 60) -> dict:
    """The module's emissions once a recalculation that ended after `load` (a job's final
    status body) has run and none is pending or running. Loads queue one by themselves;
    one already pending serves them too, so its id may be older than the load's."""
    loaded_at = datetime.fromisoformat(load["completed_at"])
    latest: list[dict] = []

    def recalculated() -> dict | None:
        latest[:] = api.get(f"/sync/history/{module_id}?provider_type=recalculation"
                            "&limit=1").get_json()["items"]
        # Read after the history: figures read before it could predate the run it shows.
        figures = api.get(f"/modules/{module_id}/emissions").get_json()
        if latest and not figures["stale"] and latest[0]["completed_at"] \
                and datetime.fromisoformat(latest[0]["completed_at"]) > loaded_at:
            return figures
        return None

    return wait_for(recalculated, timeout, lambda: f"module {module_id}: a recalculation "
                    f"ended after job {load['job_id']} (latest: {latest})")
