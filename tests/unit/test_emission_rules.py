"""Each emission rule of SPEC §10 against hand-computed figures, through PostgreSQL:
entries and factors written directly, the real recalculation run, numbers read back."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.emissions import Plant, great_circle_km
from webapp.ingestion.providers.csv_upload.schemas import (
    ENTRY_SCHEMAS,
    FACTOR_SCHEMAS,
)
from webapp.ingestion.providers.csv_upload.validation import RowValidator
from webapp.ingestion.providers.tableau.mapping import map_flight_row

# airportsdata's coordinates, written out so the distance is checked by hand.
GVA, JFK, LHR = (46.2381, 6.10895), (40.639928, -73.778692), (51.4706, -0.461941)


@pytest.fixture
def plant(app, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield Plant(conn)


def plane(origin="GVA", destination="JFK", cabin="economy", **data):
    return {"origin_iata": origin, "destination_iata": destination, "cabin_class": cabin,
            "user_institutional_id": "1", **data}


def train(origin="CH", destination="FR", **data):
    return {"origin_name": "Lausanne", "origin_country_code": origin,
            "destination_name": "Paris", "destination_country_code": destination,
            "cabin_class": "second", "user_institutional_id": "1", **data}


def computed(factor_id, distance_km=None):
    return {"method": "computed", "factor_id": factor_id, "distance_km": distance_km,
            "missing_reason": None}


def missing(reason, distance_km=None):
    return {"method": None, "factor_id": None, "distance_km": distance_km,
            "missing_reason": reason}


# -- plane -----------------------------------------------------------------------------


def test_plane_great_circle_plus_95_km_trips_round_trip_and_rfi(plant):
    factor = plant.factor("plane", {"category": "long haul", "cabin_class": "economy"},
                          {"ef_kg_co2eq_per_km": 0.1, "rfi_adjustment": 1.9,
                           "min_distance": 3700})
    one_way = plant.entry("travel", "plane", plane(number_of_trips=2))
    round_trip = plant.entry("travel", "plane", plane(number_of_trips=2, round_trip=True))
    plant.recalculate("travel")

    assert plant.airport("GVA") == GVA and plant.airport("JFK") == JFK
    distance = great_circle_km(*GVA, *JFK) + 95
    assert distance == pytest.approx(6296.19, abs=0.01)  # the "6,296 km" of SPEC §10
    kg, emission = plant.result(one_way)
    assert kg == pytest.approx(distance * 2 * 0.1 * 1.9)
    assert emission == computed(factor, pytest.approx(distance))
    kg, _ = plant.result(round_trip)
    assert kg == pytest.approx(distance * 2 * 2 * 0.1 * 1.9)


def test_plane_band_is_half_open_and_the_given_distance_replaces_the_computed_one(plant):
    short = plant.factor("plane", {"category": "short", "cabin_class": "economy"},
                         {"ef_kg_co2eq_per_km": 0.2, "max_distance": 1500})
    long = plant.factor("plane", {"category": "long", "cabin_class": "economy"},
                        {"ef_kg_co2eq_per_km": 0.1, "min_distance": 1500})
    nearby = plant.entry("travel", "plane", plane(destination="LHR"))
    at_bound = plant.entry("travel", "plane", plane(distance_km=1500))
    below = plant.entry("travel", "plane", plane(distance_km=1499.5))
    unknown_but_given = plant.entry("travel", "plane", plane(destination="XXX",
                                                             distance_km=800))
    plant.recalculate("travel")

    distance = great_circle_km(*GVA, *LHR) + 95  # ~845 km: the short band
    assert plant.result(nearby) == (pytest.approx(distance * 0.2),
                                    computed(short, pytest.approx(distance)))
    assert plant.result(at_bound) == (pytest.approx(1500 * 0.1), computed(long, 1500))  # no +95
    assert plant.result(below) == (pytest.approx(1499.5 * 0.2), computed(short, 1499.5))
    assert plant.result(unknown_but_given) == (pytest.approx(800 * 0.2), computed(short, 800))


def test_plane_cabin_class_chooses_the_factor_and_rfi_defaults_to_one(plant):
    plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                 {"ef_kg_co2eq_per_km": 0.1})
    business = plant.factor("plane", {"category": "any", "cabin_class": "business"},
                            {"ef_kg_co2eq_per_km": 0.3})
    entry = plant.entry("travel", "plane", plane(cabin="business", distance_km=1000))
    plant.recalculate("travel")
    assert plant.result(entry) == (pytest.approx(300.0), computed(business, 1000))


def test_plane_missing_reasons(plant):
    plant.factor("plane", {"category": "short", "cabin_class": "economy"},
                 {"ef_kg_co2eq_per_km": 0.2, "max_distance": 1500})
    plant.factor("plane", {"category": "any", "cabin_class": "business"},
                 {"ef_kg_co2eq_per_km": 0.3}, year=2024)  # another year: not used
    entries = {
        "origin": plant.entry("travel", "plane", plane(origin="XXX")),
        "destination": plant.entry("travel", "plane", plane(destination="ZZZ")),
        "both": plant.entry("travel", "plane", plane(origin="XXX", destination="ZZZ")),
        "band": plant.entry("travel", "plane", plane()),
        "year": plant.entry("travel", "plane", plane(cabin="business")),
    }
    plant.recalculate("travel")
    distance = pytest.approx(great_circle_km(*GVA, *JFK) + 95)
    assert {name: plant.result(entry) for name, entry in entries.items()} == {
        "origin": (None, missing("unknown airport code 'XXX'")),
        "destination": (None, missing("unknown airport code 'ZZZ'")),
        "both": (None, missing("unknown airport codes 'XXX' and 'ZZZ'")),
        "band": (None, missing("no plane factor for economy at 6,296 km in 2025", distance)),
        "year": (None, missing("no plane factor for business at 6,296 km in 2025", distance)),
    }


def test_tableau_planes_use_the_corrected_distance_or_keep_the_co2(plant):
    factor = plant.factor("plane", {"category": "any", "cabin_class": "economy"},
                          {"ef_kg_co2eq_per_km": 0.1})
    row = {"SCIPER": 123456, "IN_Departure date": "20250310",
           "IN_Segment origin airport code": "GVA",
           "IN_Segment destination airport code": "JFK", "IN_Segment class": "AIR ECONOMY",
           "Number of trips": 1, "ROUND_TRIP": "YES", "OUT_DISTANCE_CORRECTED": 6200}
    without_co2, _ = map_flight_row(row, 2025)
    with_co2, _ = map_flight_row({**row, "OUT_CO2_CORRECTED": 777.5}, 2025)
    computed_id = plant.entry("travel", "plane", without_co2["data"])
    source_id = plant.entry("travel", "plane", with_co2["data"], with_co2["kg_co2eq"])
    plant.recalculate("travel")
    assert plant.result(computed_id) == (pytest.approx(6200 * 2 * 0.1), computed(factor, 6200))
    assert plant.result(source_id) == (777.5, {"method": "source", "factor_id": None,
                                               "distance_km": None, "missing_reason": None})


# -- train -----------------------------------------------------------------------------


def test_train_country_fallback_destination_origin_rest_of_world(plant):
    france = plant.factor("train", {"country_code": "FR"}, {"ef_kg_co2eq_per_km": 0.004})
    swiss = plant.factor("train", {"country_code": "CH"}, {"ef_kg_co2eq_per_km": 0.007})
    world = plant.factor("train", {"country_code": "RoW"}, {"ef_kg_co2eq_per_km": 0.03})
    to_france = plant.entry("travel", "train", train("CH", "FR", distance_km=500))
    to_italy = plant.entry("travel", "train", train("CH", "IT", distance_km=300,
                                                    number_of_trips=3, round_trip=True))
    elsewhere = plant.entry("travel", "train", train("DE", "IT", distance_km=100))
    plant.recalculate("travel")
    assert plant.result(to_france) == (pytest.approx(500 * 0.004), computed(france, 500))
    assert plant.result(to_italy) == (pytest.approx(300 * 3 * 2 * 0.007),
                                      computed(swiss, 300))
    assert plant.result(elsewhere) == (pytest.approx(100 * 0.03), computed(world, 100))


def test_train_missing_reasons(plant):
    plant.factor("train", {"country_code": "FR"}, {"ef_kg_co2eq_per_km": 0.004})
    plant.factor("train", {"country_code": "RoW"}, {"ef_kg_co2eq_per_km": 0.03}, year=2024)
    no_distance = plant.entry("travel", "train", train("CH", "FR"))
    no_factor = plant.entry("travel", "train", train("CH", "IT", distance_km=300))
    plant.recalculate("travel")
    assert plant.result(no_distance) == (None, missing(
        "no distance_km: train distances are not computed, give them in the file"))
    assert plant.result(no_factor) == (None, missing(
        "no train factor in 2025 for IT, CH or RoW", 300))


# -- equipment -------------------------------------------------------------------------


def equipment(cls="Laptop", sub_class=None, **hours):
    data = {"equipment_id": "E1", "name": "thing", "equipment_class": cls, **hours}
    if sub_class is not None:
        data["sub_class"] = sub_class
    return data


def test_equipment_kwh_from_hours_and_the_factors_powers_with_sub_class_fallback(plant):
    gaming = plant.factor("equipment", {"equipment_class": "Laptop", "sub_class": "Gaming"},
                          {"active_power_w": 120, "standby_power_w": 5,
                           "ef_kg_co2eq_per_kwh": 0.1})
    plain = plant.factor("equipment", {"equipment_class": "Laptop"},
                         {"active_power_w": 50, "standby_power_w": 2,
                          "ef_kg_co2eq_per_kwh": 0.1})
    exact = plant.entry("equipment", "equipment", equipment(
        sub_class="Gaming", active_usage_hours_per_week=40, standby_usage_hours_per_week=128))
    fallback = plant.entry("equipment", "equipment", equipment(
        sub_class="Office", active_usage_hours_per_week=40, standby_usage_hours_per_week=128))
    no_sub_class = plant.entry("equipment", "equipment", equipment(
        active_usage_hours_per_week=10))
    plant.recalculate("equipment")
    # (40 h × 120 W + 128 h × 5 W) × 52 / 1000 = 282.88 kWh
    assert plant.result(exact) == (pytest.approx(28.288), computed(gaming))
    # (40 × 50 + 128 × 2) × 52 / 1000 = 117.312 kWh
    assert plant.result(fallback) == (pytest.approx(11.7312), computed(plain))
    # 10 × 50 × 52 / 1000 = 26 kWh; no standby hours count as none
    assert plant.result(no_sub_class) == (pytest.approx(2.6), computed(plain))


def test_equipment_missing_reasons(plant):
    plant.factor("equipment", {"equipment_class": "Screen"},
                 {"active_power_w": 30, "ef_kg_co2eq_per_kwh": 0.1})
    entries = {
        "no factor, sub-class": plant.entry("equipment", "equipment", equipment(
            "Printer", "Laser", active_usage_hours_per_week=5)),
        "no factor": plant.entry("equipment", "equipment", equipment(
            "Printer", active_usage_hours_per_week=5)),
        "no hours": plant.entry("equipment", "equipment", equipment("Screen")),
        "no standby power": plant.entry("equipment", "equipment", equipment(
            "Screen", active_usage_hours_per_week=5, standby_usage_hours_per_week=20)),
        "zero standby": plant.entry("equipment", "equipment", equipment(
            "Screen", active_usage_hours_per_week=5, standby_usage_hours_per_week=0)),
    }
    plant.recalculate("equipment")
    results = {name: plant.result(entry) for name, entry in entries.items()}
    assert results.pop("zero standby")[0] == pytest.approx(5 * 30 * 52 / 1000 * 0.1)
    assert {name: (kg, emission["missing_reason"]) for name, (kg, emission)
            in results.items()} == {
        "no factor, sub-class": (None, "no equipment factor in 2025 for class 'Printer' "
                                       "with sub-class 'Laser' or without sub-class"),
        "no factor": (None, "no equipment factor in 2025 for class 'Printer' "
                            "without sub-class"),
        "no hours": (None, "no usage hours: give active_usage_hours_per_week or "
                           "standby_usage_hours_per_week"),
        "no standby power": (None, "the equipment factor for class 'Screen' in 2025 has "
                                   "no standby_power_w"),
    }


# -- purchase --------------------------------------------------------------------------


def purchase(code="IT-01", currency="CHF", amount=2500.0):
    data = {"name": "laptops", "purchase_institutional_code": code,
            "total_spent_amount": amount}
    if currency is not None:
        data["currency"] = currency
    return data


def test_purchase_amount_times_the_factor_of_its_code_and_currency(plant):
    chf = plant.factor("purchase", {"purchase_institutional_code": "IT-01", "currency": "CHF"},
                       {"ef_kg_co2eq_per_currency": 0.12})
    plant.factor("purchase", {"purchase_institutional_code": "IT-01", "currency": "EUR"},
                 {"ef_kg_co2eq_per_currency": 0.5})
    entry = plant.entry("purchases", "purchase", purchase())
    other_currency = plant.entry("purchases", "purchase", purchase(currency="USD"))
    no_currency = plant.entry("purchases", "purchase", purchase(currency=None))
    plant.recalculate("purchases")
    assert plant.result(entry) == (pytest.approx(300.0), computed(chf))
    assert plant.result(other_currency) == (None, missing(
        "no purchase factor for code 'IT-01' in USD in 2025"))
    assert plant.result(no_currency) == (None, missing(
        "no currency: the purchase factor for code 'IT-01' depends on it"))


# -- member ----------------------------------------------------------------------------


def test_member_fte_times_the_categorys_factors_summed_case_insensitively(plant):
    office = plant.factor("headcount", {"headcount_category": "Professor",
                                        "headcount_class": "office"},
                          {"ef_kg_co2eq_per_unit": 400})
    commute = plant.factor("headcount", {"headcount_category": "PROFESSOR",
                                         "headcount_class": "commute"},
                           {"ef_kg_co2eq_per_unit": 600})
    student = plant.factor("headcount", {"headcount_category": "PhD student"},
                           {"ef_kg_co2eq_per_unit": 300})
    plant.factor("headcount", {"headcount_category": "professor"},
                 {"ef_kg_co2eq_per_unit": 9999}, year=2024)
    professor = plant.entry("headcount", "member", {"name": "A", "fte": 0.5,
                                                    "position_category": "professor"})
    phd = plant.entry("headcount", "member", {"name": "B", "fte": 1.0,
                                              "position_category": "phd student"})
    unknown = plant.entry("headcount", "member", {"name": "C", "fte": 1.0,
                                                  "position_category": "Visitor"})
    plant.recalculate("headcount")
    assert plant.result(professor) == (pytest.approx(0.5 * (400 + 600)), {
        **computed(None), "factor_ids": [office, commute]})
    assert plant.result(phd) == (pytest.approx(300.0), {**computed(student),
                                                        "factor_ids": [student]})
    assert plant.result(unknown) == (None, {**missing(
        "no headcount factor for category 'visitor' in 2025"), "factor_ids": None})


# -- the CSV columns the rules read ----------------------------------------------------


def test_plane_and_train_files_take_round_trip_and_distance():
    plane_row = {"origin_iata": "GVA", "destination_iata": "JFK",
                 "user_institutional_id": "1", "cabin_class": "eco"}
    validate = RowValidator(ENTRY_SCHEMAS["travel", "plane"]).validate
    clean, errors = validate(2, {**plane_row, "round_trip": "Yes", "distance_km": "6200.5"})
    assert errors == []
    assert (clean["data"]["round_trip"], clean["data"]["distance_km"]) == (True, 6200.5)
    clean, _ = validate(3, {**plane_row, "round_trip": "", "distance_km": ""})
    assert "round_trip" not in clean["data"] and "distance_km" not in clean["data"]
    _, errors = validate(4, {**plane_row, "round_trip": "maybe", "distance_km": "-1"})
    assert [(e.column, e.value, e.reason) for e in errors] == [
        ("round_trip", "maybe", "is not yes or no"),
        ("distance_km", "-1", "must not be negative")]
    train_columns = {c.name for c in ENTRY_SCHEMAS["travel", "train"].columns}
    assert {"round_trip", "distance_km"} <= train_columns


def test_train_factors_accept_rest_of_the_world():
    validate = RowValidator(FACTOR_SCHEMAS["train"]).validate
    clean, _ = validate(2, {"country_code": "row", "ef_kg_co2eq_per_km": "0.03"})
    assert clean["classification"] == {"country_code": "RoW"}
    _, errors = validate(3, {"country_code": "QQ", "ef_kg_co2eq_per_km": "0.03"})
    assert errors[0].reason == ("is not an ISO 3166 country code or RoW "
                                "(expected 2 letters, e.g. CH)")
