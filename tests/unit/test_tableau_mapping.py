"""Tableau flight rows → plane entries: classes, filters, and every reason a row is refused."""

import pytest

from webapp.ingestion.providers.tableau.mapping import (
    FLIGHT_CAPTIONS,
    build_filters,
    map_flight_row,
    normalise_travel_class,
)

ROW = {
    "SCIPER": 123456,
    "Centre financier": "F0892",
    "IN_Departure date": "20250312",
    "IN_Segment origin airport code": "GVA",
    "IN_Segment destination airport code": "jfk",
    "IN_Segment class": "AIR BUSINESS CLASS",
    "Number of trips": 2,
    "ROUND_TRIP": "YES",
    "TRANSPORT_TYPE": "AIR",
    "PASSENGER_TYPE": "EMPLOYEE",
    "IN_Supplier": "SWISS",
    "IN_Ticket number": "7241234567890",
    "OUT_DISTANCE_CORRECTED": 6316.4,
    "OUT_CO2_CORRECTED": 10864.21,
}


def problems(**changes):
    entry, errors = map_flight_row({**ROW, **changes}, 2025)
    assert entry is None
    return errors


def test_captions_are_the_spec_list():
    assert len(FLIGHT_CAPTIONS) == 14
    assert FLIGHT_CAPTIONS[0] == "SCIPER" and FLIGHT_CAPTIONS[-1] == "OUT_CO2_CORRECTED"


@pytest.mark.parametrize(("raw", "expected"), [
    ("AIR ECONOMY CLASS", "economy"),
    ("AIR BUSINESS CLASS", "business"),
    ("AIR FIRST CLASS", "first"),
    ("AIR PREMIUM ECONOMY CLASS", "premium_economy"),
    ("  air   premium economy  class ", "premium_economy"),
    ("Air_Economy_Class", "economy"),
    ("business", "business"),
])
def test_travel_class(raw, expected):
    assert normalise_travel_class(raw) == expected


@pytest.mark.parametrize("raw", ["AIR SLEEPER CLASS", "", None, "RAIL FIRST CLASS"])
def test_unknown_travel_class(raw):
    with pytest.raises(ValueError, match="cabin class"):
        normalise_travel_class(raw)


def test_filters_year_only():
    assert build_filters(2025, None) == [{
        "field": {"fieldCaption": "IN_Departure date"},
        "filterType": "MATCH",
        "startsWith": "2025",
    }]


@pytest.mark.parametrize(("centres", "values"), [
    ("F0892", ["F0892"]), (["F0892", " F0901 "], ["F0892", "F0901"]),
])
def test_filters_with_centres(centres, values):
    _, centre_filter = build_filters(2024, centres)
    assert centre_filter == {"field": {"fieldCaption": "Centre financier"},
                             "filterType": "SET", "values": values, "exclude": False}


@pytest.mark.parametrize("centres", ["", [], ["  "]])
def test_blank_centres_add_no_filter(centres):
    assert len(build_filters(2024, centres)) == 1


def test_maps_a_good_row():
    entry, errors = map_flight_row({**ROW, "_row": 7}, 2025)
    assert errors == []
    assert entry == {
        "entry_type": "plane",
        "data": {
            "origin_iata": "GVA",
            "destination_iata": "JFK",
            "user_institutional_id": "123456",
            "unit_institutional_id": "F0892",
            "departure_date": "2025-03-12",
            "number_of_trips": 2,
            "cabin_class": "business",
            "round_trip": True,
            "transport_type": "AIR",
            "passenger_type": "EMPLOYEE",
            "supplier": "SWISS",
            "ticket_number": "7241234567890",
            "distance_km": 6316.4,
        },
        "kg_co2eq": 10864.21,
    }


def test_tolerant_values():
    entry, errors = map_flight_row({**ROW, "SCIPER": 123456.0, "IN_Departure date": 20250312,
                                    "Number of trips": None, "ROUND_TRIP": "no",
                                    "OUT_DISTANCE_CORRECTED": "1234,5",
                                    "OUT_CO2_CORRECTED": None}, 2025)
    assert errors == []
    data = entry["data"]
    assert data["user_institutional_id"] == "123456"
    assert data["departure_date"] == "2025-03-12"
    assert data["number_of_trips"] == 1
    assert data["round_trip"] is False
    assert data["distance_km"] == 1234.5
    assert entry["kg_co2eq"] is None


def test_year_is_checked_again():
    assert problems(**{"IN_Departure date": "20240312"}) == [
        ("IN_Departure date", "20240312", "departure date 20240312 is not in 2025")]


@pytest.mark.parametrize("raw", ["20251345", "20250230", "2025-03-12", "2025031"])
def test_bad_date(raw):
    [(column, value, reason)] = problems(**{"IN_Departure date": raw})
    assert (column, value) == ("IN_Departure date", raw)
    assert "is not a YYYYMMDD date" in reason


def test_missing_date():
    assert problems(**{"IN_Departure date": None})[0][2] == "departure date is missing"


def test_unknown_class():
    [(column, value, reason)] = problems(**{"IN_Segment class": "AIR SLEEPER CLASS"})
    assert (column, value) == ("IN_Segment class", "AIR SLEEPER CLASS")
    assert reason.startswith("unknown cabin class 'AIR SLEEPER CLASS'")


@pytest.mark.parametrize("raw", ["", None])
def test_missing_iata(raw):
    assert problems(**{"IN_Segment origin airport code": raw}) == [
        ("IN_Segment origin airport code", raw, "origin airport code is missing")]


def test_malformed_iata():
    [(_, _, reason)] = problems(**{"IN_Segment destination airport code": "GV1"})
    assert reason == "destination airport code 'GV1' is not a 3-letter IATA code"


@pytest.mark.parametrize(("changes", "column", "reason"), [
    ({"OUT_DISTANCE_CORRECTED": "far"}, "OUT_DISTANCE_CORRECTED", "distance (km) is not a number"),
    ({"OUT_DISTANCE_CORRECTED": None}, "OUT_DISTANCE_CORRECTED", "distance (km) is missing"),
    ({"OUT_DISTANCE_CORRECTED": -5}, "OUT_DISTANCE_CORRECTED",
     "distance (km) must be a number of at least 0"),
    ({"OUT_CO2_CORRECTED": "n/a"}, "OUT_CO2_CORRECTED", "CO2 (kg) is not a number"),
    ({"Number of trips": 0}, "Number of trips",
     "number of trips must be a whole number of at least 1"),
    ({"Number of trips": 1.5}, "Number of trips",
     "number of trips must be a whole number of at least 1"),
    ({"ROUND_TRIP": "MAYBE"}, "ROUND_TRIP", "round trip must be YES or NO"),
    ({"SCIPER": None}, "SCIPER", "SCIPER is missing"),
])
def test_row_errors(changes, column, reason):
    [(got_column, value, got_reason)] = problems(**changes)
    assert (got_column, got_reason) == (column, reason)
    assert value == next(iter(changes.values()))


def test_every_problem_of_a_row_is_reported():
    errors = problems(**{"IN_Segment class": "AIR SLEEPER CLASS",
                         "IN_Segment origin airport code": "",
                         "IN_Departure date": "20241301"})
    assert [column for column, _, _ in errors] == [
        "IN_Departure date", "IN_Segment origin airport code", "IN_Segment class"]
