"""Helpers the copy-forward tests share: an earlier year made through the API, its
modules looked up, loads through the API, and a module's entries and a year's factors
read straight from PostgreSQL."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

FACTOR_TYPE_IDS = {"plane": 1, "train": 2, "equipment": 3, "purchase": 4, "headcount": 5}
TRAIN_FACTORS = b"country_code,ef_kg_co2eq_per_km\n"
TRAIN_HEADER = ("origin_name,origin_country_code,destination_name,destination_country_code,"
                "user_institutional_id,cabin_class,distance_km")


def module_id(db_url: str, year: int, module_type: str, unit: str = "F0892") -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT m.id FROM modules m JOIN inventories i ON i.id = m.inventory_id "
            "WHERE i.year = %s AND i.unit_code = %s AND m.module_type = %s",
            (year, unit, module_type)).fetchone()[0]


def create_year(admin_api, year: int, **body) -> dict:
    response = admin_api.post(f"/years/{year}", json=body) if body \
        else admin_api.post(f"/years/{year}")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def load(api, module: int, year: int, content: bytes, factor_type: str | None = None,
         **config) -> dict:
    """A CSV load through the API, waited for; it must complete."""
    response = api.sync(module, "csv_upload", year=year, file=content,
                        factor_type_id=FACTOR_TYPE_IDS[factor_type] if factor_type else None,
                        config=config or None)
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    return final


def copy(api, module: int, year: int = 2025, **config) -> dict:
    """A copy_previous_year load of `module`'s entries, waited for (any final state)."""
    response = api.sync(module, "copy_previous_year", year=year, config=config or None)
    assert response.status_code == 202, response.get_json()
    return api.wait(response.get_json()["job_id"])


def trains(*distances: int) -> bytes:
    lines = [TRAIN_HEADER] + [f"Lausanne,CH,Bern,CH,{7000 + n},second,{km}"
                              for n, km in enumerate(distances)]
    return ("\n".join(lines) + "\n").encode()


def entries(db_url: str, module: int) -> list[tuple]:
    """(id, entry_type, data, year, source, job_id, kg_co2eq) of a module's entries, by id."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, entry_type, data, year, source, job_id, kg_co2eq FROM data_entries "
            "WHERE module_id = %s ORDER BY id", (module,)).fetchall()


def factors(db_url: str, year: int) -> list[tuple]:
    """(factor type, classification, values) of a year's factors."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            'SELECT factor_type_id, classification, "values" FROM emission_factors '
            "WHERE year = %s ORDER BY factor_type_id, id", (year,)).fetchall()


def plant_previous_year(db_url: str, admin_api, year: int = 2024) -> None:
    """`year` for the demo unit with one entry in each module and one factor of each
    type, written straight into PostgreSQL (what a copy reads needs no load of its own)."""
    create_year(admin_api, year)
    samples = {"headcount": ("member", {"name": "A", "position_category": "staff",
                                        "user_institutional_id": "1", "fte": 1.0}),
               "travel": ("train", {"origin_name": "Lausanne", "origin_country_code": "CH",
                                    "destination_name": "Bern",
                                    "destination_country_code": "CH",
                                    "user_institutional_id": "1", "cabin_class": "second",
                                    "distance_km": 100.0}),
               "equipment": ("equipment", {"equipment_id": "E1", "name": "Fridge",
                                           "equipment_class": "cold"}),
               "purchases": ("purchase", {"name": "Paper", "total_spent_amount": 10.0,
                                          "purchase_institutional_code": "P1"})}
    with psycopg.connect(db_url) as conn:
        for module_type, (entry_type, data) in samples.items():
            conn.execute(
                "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
                "source) SELECT m.inventory_id, m.id, %s, %s, %s, 'csv_upload' FROM modules m "
                "JOIN inventories i ON i.id = m.inventory_id WHERE i.year = %s "
                "AND m.module_type = %s", (year, entry_type, Jsonb(data), year, module_type))
        conn.execute(
            "INSERT INTO emission_factors (factor_type_id, year, classification, \"values\") "
            "SELECT id, %s, jsonb_build_object('key', slug), '{\"ef\": 1}' FROM factor_types",
            (year,))
