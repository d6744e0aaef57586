"""The recalculation as a whole: source figures kept, factor changes followed, one
transaction, the stored summary and its read side, the airports table's refresh."""

from __future__ import annotations

import itertools
import string
import threading

import airportsdata
import psycopg
import pytest

from tests.support.emissions import Plant
from webapp.emissions import (
    UnknownModule,
    inventory_emissions,
    module_emissions,
    recalculate_module,
)
from webapp.emissions.airports import SOURCE, ensure_airports
from webapp.emissions.recalculation import REASONS_KEPT
from webapp.errors import NotFound

SOURCE_EMISSION = {"method": "source", "factor_id": None, "distance_km": None,
                   "missing_reason": None}


@pytest.fixture
def plant(app, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield Plant(conn)


def flight(distance_km, cabin="economy", **data):
    return {"origin_iata": "GVA", "destination_iata": "LHR", "cabin_class": cabin,
            "distance_km": distance_km, **data}


def test_source_figures_are_kept_and_never_overwritten(plant):
    plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                 {"ef_kg_co2eq_per_km": 0.1})
    given = plant.entry("travel", "plane", flight(1000), kg_co2eq=123.4)
    zero = plant.entry("travel", "plane", flight(1000), kg_co2eq=0.0)
    result = plant.recalculate("travel")
    assert result.changed["plane"] == 2
    assert plant.result(given) == (123.4, SOURCE_EMISSION)
    assert plant.result(zero) == (0.0, SOURCE_EMISSION)
    again = plant.recalculate("travel")
    assert again.changed == dict.fromkeys(again.changed, 0)
    assert plant.result(given) == (123.4, SOURCE_EMISSION)


def test_factor_changes_are_followed_and_a_rerun_writes_nothing(plant):
    factor = plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                          {"ef_kg_co2eq_per_km": 0.1})
    entry = plant.entry("travel", "plane", flight(1000))
    assert plant.recalculate("travel").changed["plane"] == 1
    assert plant.result(entry)[0] == pytest.approx(100.0)
    assert plant.recalculate("travel").changed["plane"] == 0

    plant.conn.execute("UPDATE emission_factors SET values = '{\"ef_kg_co2eq_per_km\": 0.25}'")
    assert plant.recalculate("travel").changed["plane"] == 1
    assert plant.result(entry)[0] == pytest.approx(250.0)

    plant.conn.execute("DELETE FROM emission_factors WHERE id = %s", (factor,))
    plant.recalculate("travel")
    assert plant.result(entry) == (None, {
        "method": None, "factor_id": None, "distance_km": 1000,
        "missing_reason": "no plane factor for economy at 1,000 km in 2025"})


def test_an_entry_type_without_a_rule_says_so(plant):
    entry = plant.entry("travel", "bus", {"origin": "Lausanne"})
    plant.recalculate("travel")
    assert plant.result(entry) == (None, {
        "method": None, "factor_id": None, "distance_km": None,
        "missing_reason": "no emission rule for entry type 'bus'"})


def test_only_the_entry_types_a_module_holds_are_recalculated(plant):
    # A figure the source gave for a type without a rule is kept, and marked as the
    # source's; the other types' steps do not run at all.
    given = plant.entry("travel", "bus", {"origin": "Lausanne"}, kg_co2eq=12.5)
    without = plant.entry("travel", "bus", {"origin": "Bern"})
    result = plant.recalculate("travel")
    assert result.changed == {"unruled": 2}
    assert plant.result(given) == (12.5, SOURCE_EMISSION)
    assert plant.result(without)[1]["missing_reason"] == "no emission rule for entry type 'bus'"
    plant.entry("travel", "plane", flight(1000))
    assert plant.recalculate("travel").changed == {"plane": 1, "unruled": 0}


def test_the_summary_and_its_read_side(plant, ctx):
    inventory_id, travel = plant.module("travel")
    plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                 {"ef_kg_co2eq_per_km": 0.1})
    plant.factor("train", {"country_code": "RoW"}, {"ef_kg_co2eq_per_km": 0.01})
    plant.factor("headcount", {"headcount_category": "staff"}, {"ef_kg_co2eq_per_unit": 500})
    plant.entry("travel", "plane", flight(1000))
    plant.entry("travel", "plane", flight(2000), kg_co2eq=50.0)
    for origin in ("XXX", "XXX", "ZZZ"):
        plant.entry("travel", "plane", {"origin_iata": origin, "destination_iata": "GVA",
                                        "cabin_class": "economy"})
    plant.entry("travel", "train", {"origin_country_code": "CH",
                                    "destination_country_code": "FR", "distance_km": 300})
    plant.entry("travel", "train", {"origin_country_code": "CH",
                                    "destination_country_code": "FR"})
    plant.entry("headcount", "member", {"position_category": "Staff", "fte": 0.8})

    _, headcount = plant.module("headcount")
    assert module_emissions(travel)["recalculated_at"] is None  # never recalculated
    result = plant.recalculate("travel", job_id=42)
    plant.recalculate("headcount")
    assert (result.entries, result.entries_with_emissions) == (7, 3)
    assert result.total_kg_co2eq == pytest.approx(100 + 50 + 3)

    body = module_emissions(travel)
    assert body.pop("recalculated_at")
    assert body == {
        "module_id": travel, "year": 2025, "total_kg_co2eq": pytest.approx(153.0),
        "entries": 7, "entries_with_emissions": 3,
        "by_entry_type": [
            {"entry_type": "plane", "entries": 5, "entries_with_emissions": 2,
             "kg_co2eq": pytest.approx(150.0)},
            {"entry_type": "train", "entries": 2, "entries_with_emissions": 1,
             "kg_co2eq": pytest.approx(3.0)}],
        "missing": [
            {"reason": "unknown airport code 'XXX'", "entries": 2},
            {"reason": "no distance_km: train distances are not computed, give them in "
                       "the file", "entries": 1},
            {"reason": "unknown airport code 'ZZZ'", "entries": 1}],
        "missing_reasons": 3, "last_recalculation_job_id": 42,
    }
    inventory = inventory_emissions(inventory_id)
    assert inventory["total_kg_co2eq"] == pytest.approx(153.0 + 400.0)
    modules = {m["module_type"]: m for m in inventory["modules"]}
    assert modules["headcount"] == {"module_id": headcount, "module_type": "headcount",
                                    "name": "Headcount", "total_kg_co2eq": 400.0,
                                    "entries": 1, "entries_with_emissions": 1}
    assert modules["equipment"]["entries"] == 0  # never recalculated: zeros
    with pytest.raises(NotFound):
        module_emissions(999_999)
    with pytest.raises(NotFound):
        inventory_emissions(999_999)


def test_entries_loaded_since_the_last_run_are_counted_as_not_calculated(plant, ctx):
    _, travel = plant.module("travel")
    plant.entry("travel", "plane", flight(1000))
    plant.conn.execute("UPDATE data_entries SET emission = NULL")  # as a new load leaves it
    from webapp.emissions.recalculation import store_summary
    store_summary(plant.conn, travel)
    assert module_emissions(travel)["missing"] == [{"reason": "not calculated yet",
                                                    "entries": 1}]


def test_the_summary_keeps_the_most_frequent_reasons_and_counts_them_all(plant, ctx):
    known = set(airportsdata.load("IATA"))
    codes = ("".join(c) for c in itertools.product(string.ascii_uppercase, repeat=3))
    unknown = list(itertools.islice((c for c in codes if c not in known), REASONS_KEPT + 1))
    for code in unknown:
        plant.entry("travel", "plane", {"origin_iata": code, "destination_iata": "GVA",
                                        "cabin_class": "economy"})
    plant.entry("travel", "plane", {"origin_iata": unknown[-1], "destination_iata": "GVA",
                                    "cabin_class": "economy"})
    plant.recalculate("travel")
    body = module_emissions(plant.module("travel")[1])
    assert body["missing_reasons"] == REASONS_KEPT + 1
    assert len(body["missing"]) == REASONS_KEPT
    assert body["missing"][0] == {"reason": f"unknown airport code '{unknown[-1]}'",
                                  "entries": 2}


class Cancelled(Exception):
    pass


def test_a_failure_midway_leaves_the_previous_figures(plant, ctx):
    factor = plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                          {"ef_kg_co2eq_per_km": 0.1})
    entry = plant.entry("travel", "plane", flight(1000))
    plant.recalculate("travel", job_id=1)
    before = module_emissions(plant.module("travel")[1])
    plant.conn.execute("UPDATE emission_factors SET values = '{\"ef_kg_co2eq_per_km\": 0.5}' "
                       "WHERE id = %s", (factor,))
    steps = []

    def cancel_at_summary(name, done, total):
        steps.append((name, done, total))
        if name == "summary":
            raise Cancelled

    with pytest.raises(Cancelled):
        plant.recalculate("travel", job_id=2, progress=cancel_at_summary)
    # Only the steps of the entry types the module holds: its planes, then the summary.
    assert steps == [("plane", 0, 2), ("summary", 1, 2)]
    assert plant.result(entry)[0] == pytest.approx(100.0)  # the plane update rolled back
    assert module_emissions(plant.module("travel")[1]) == before


def test_an_unknown_module_is_refused(plant):
    with pytest.raises(UnknownModule):
        recalculate_module(plant.conn, 999_999)


def test_two_recalculations_of_a_module_run_one_after_the_other(plant, db_url):
    _, travel = plant.module("travel")
    plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                 {"ef_kg_co2eq_per_km": 0.1})
    plant.entry("travel", "plane", flight(1000))
    with psycopg.connect(db_url) as first:
        first.execute("SELECT 1")  # a transaction is open: the recalculation stays in it
        recalculate_module(first, travel)  # and so does the module's lock
        finished = threading.Event()

        def second():
            with psycopg.connect(db_url) as conn:
                recalculate_module(conn, travel)
                conn.commit()
            finished.set()

        thread = threading.Thread(target=second)
        thread.start()
        assert not finished.wait(1.0)  # waits for the first to commit
        first.commit()
        assert finished.wait(10)
        thread.join()


def test_airports_are_refreshed_when_the_package_version_changes(plant):
    ensure_airports(plant.conn)
    assert ensure_airports(plant.conn) == 0  # current: nothing written
    plant.conn.execute("UPDATE airports SET source = 'airportsdata 2000'")
    plant.conn.execute("DELETE FROM airports WHERE iata = 'GVA'")
    written = ensure_airports(plant.conn)
    assert written == plant.conn.execute("SELECT count(*) FROM airports").fetchone()[0] > 7000
    assert plant.conn.execute("SELECT DISTINCT source FROM airports").fetchall() == [(SOURCE,)]
    assert plant.airport("GVA") == (46.2381, 6.10895)
