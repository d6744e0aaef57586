"""schemas: parsers, the declared columns, schema choice and row validation."""

import json

import pytest

from webapp.errors import InvalidFile, JobFailure
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.parsers import (
    CABIN_CLASS,
    TRAIN_CLASS,
    InvalidValue,
    country_code,
    currency_code,
    fraction,
    iata_code,
    integer,
    iso_date,
    number,
    text,
)
from webapp.ingestion.providers.csv_upload.schemas import (
    ENTRY_SCHEMAS,
    FACTOR_SCHEMAS,
    entry_types_for,
    missing_columns,
    pick_entry_schema,
    pick_factor_schema,
    template_header,
)
from webapp.ingestion.providers.csv_upload.validation import RowValidator


def reason(parse, value: str) -> str:
    with pytest.raises(InvalidValue) as caught:
        parse(value)
    return str(caught.value)


# -- parsers --------------------------------------------------------------------------

def test_text_limits_length():
    assert text(5)("abcde") == "abcde"
    assert reason(text(5), "abcdef") == "is longer than 5 characters"


def test_integer():
    parse = integer(1)
    assert parse("3") == 3
    assert parse("+2") == 2
    assert reason(parse, "0") == "must be at least 1"
    for bad in ("1.5", "two", "1e3"):
        assert reason(parse, bad) == "is not a whole number"
    assert reason(integer(1, 9), "10") == "must be between 1 and 9"


@pytest.mark.parametrize(("raw", "value"), [
    ("12", 12.0), ("12.5", 12.5), ("-0.5", -0.5), ("1e3", 1000.0),
    ("0,5", 0.5), ("12,5", 12.5), ("1234,56", 1234.56), ("0,125", 0.125), (",5", 0.5),
])
def test_number_accepts_dot_and_decimal_comma(raw, value):
    assert number()(raw) == value


@pytest.mark.parametrize(("raw", "why"), [
    ("abc", "is not a number"),
    ("nan", "is not a number"),
    ("inf", "is not a number"),
    ("1,2,3", "is not a number"),
    ("1,234.5", "is not a number"),
    ("1,234", "is ambiguous: write decimals with a dot and no thousands separator"),
    ("-12,500", "is ambiguous: write decimals with a dot and no thousands separator"),
])
def test_number_refuses(raw, why):
    assert reason(number(), raw) == why


def test_number_bounds_messages():
    assert reason(number(0), "-1") == "must not be negative"
    assert reason(number(0, 168), "168.5") == "must be between 0 and 168"
    assert reason(number(maximum=10), "11") == "must be at most 10"
    assert number(0, 168)("168") == 168.0


def test_fraction():
    assert fraction()("1") == 1.0
    assert fraction()("0,25") == 0.25
    assert reason(fraction(), "1.2") == "must be between 0 and 1"
    assert reason(fraction(), "-0.1") == "must be between 0 and 1"


def test_iso_date():
    assert iso_date()("2024-02-29") == "2024-02-29"
    for bad in ("2025-02-29", "2025-13-45", "20250131", "2025-1-5", "15/01/2025",
                "2025-W01-1", "2025-01-01T10:00"):
        assert reason(iso_date(), bad) == "is not a date (expected YYYY-MM-DD)"


def test_iata_code():
    assert iata_code()("gva") == "GVA"
    for bad in ("GENEVA", "G1A", "GV", "ÉVA"):
        assert reason(iata_code(), bad) == ("is not an IATA airport code "
                                            "(expected 3 letters, e.g. GVA)")


def test_country_code_is_checked_against_iso_3166():
    parse = country_code()
    assert parse("ch") == "CH"
    assert parse("GB") == "GB"
    for bad in ("UK", "XX", "CHE", "Switzerland"):
        assert reason(parse, bad) == ("is not an ISO 3166 country code "
                                      "(expected 2 letters, e.g. CH)")


def test_currency_code():
    assert currency_code()("eur") == "EUR"
    for bad in ("EURO", "€", "12A"):
        assert reason(currency_code(), bad) == ("is not an ISO 4217 currency code "
                                                "(expected 3 letters, e.g. CHF)")


@pytest.mark.parametrize(("raw", "cabin"), [
    ("economy", "economy"), ("ECO", "economy"), ("Economy Class", "economy"),
    ("AIR ECONOMY CLASS", "economy"), ("Y", "economy"),
    ("premium_economy", "premium_economy"), ("premium economy", "premium_economy"),
    ("Premium-Economy", "premium_economy"), ("PREM", "premium_economy"),
    ("AIR PREMIUM ECONOMY CLASS", "premium_economy"),
    ("business", "business"), ("Business Class", "business"), ("BIZ", "business"),
    ("first", "first"), ("1st", "first"), ("First class", "first"),
])
def test_cabin_class_spellings(raw, cabin):
    assert CABIN_CLASS(raw) == cabin
    assert CABIN_CLASS(raw) == cabin  # second time from the memo: same answer


@pytest.mark.parametrize("raw", ["cattle", "second", "class", "economy plus plus"])
def test_cabin_class_refused(raw):
    assert reason(CABIN_CLASS, raw) == ("is not a cabin class "
                                        "(expected economy, premium_economy, business or first)")


@pytest.mark.parametrize(("raw", "train"), [
    ("first", "first"), ("1", "first"), ("1st", "first"), ("First Class", "first"),
    ("1re classe", "first"), ("1. Klasse", "first"),
    ("second", "second"), ("2", "second"), ("2nd", "second"), ("2nd class", "second"),
    ("2e classe", "second"), ("Seconde", "second"),
])
def test_train_class_spellings(raw, train):
    assert TRAIN_CLASS(raw) == train


@pytest.mark.parametrize("raw", ["3", "economy", "business"])
def test_train_class_refused(raw):
    assert reason(TRAIN_CLASS, raw) == "is not a train class (expected first or second)"


# -- the declared columns follow SPEC §5 ----------------------------------------------

SPEC_ENTRIES = {
    ("headcount", "member"): "name*, position_category*, user_institutional_id*, fte*, note",
    ("travel", "plane"): "origin_iata*, destination_iata*, user_institutional_id*, "
                         "departure_date, number_of_trips, cabin_class*, note, kg_co2eq, "
                         "round_trip, distance_km",
    ("travel", "train"): "origin_name*, origin_country_code*, destination_name*, "
                         "destination_country_code*, user_institutional_id*, departure_date, "
                         "number_of_trips, cabin_class*, note, kg_co2eq, round_trip, "
                         "distance_km",
    ("equipment", "equipment"): "equipment_id*, name*, equipment_class*, sub_class, "
                                "active_usage_hours_per_week, standby_usage_hours_per_week, "
                                "note",
    ("purchases", "purchase"): "name*, supplier, quantity, total_spent_amount*, currency, "
                               "purchase_institutional_code*, "
                               "purchase_institutional_description, note",
}
SPEC_FACTORS = {
    "plane": ("category*, cabin_class*",
              "ef_kg_co2eq_per_km*, rfi_adjustment, min_distance, max_distance"),
    "train": ("country_code*", "ef_kg_co2eq_per_km*"),
    "equipment": ("equipment_class*, sub_class",
                  "active_power_w, standby_power_w, ef_kg_co2eq_per_kwh*"),
    "purchase": ("purchase_institutional_code*, currency*", "ef_kg_co2eq_per_currency*"),
    "headcount": ("headcount_category*, headcount_class, unit", "ef_kg_co2eq_per_unit*"),
}


def declared(columns) -> str:
    return ", ".join(c.name + ("*" if c.required else "") for c in columns)


def test_entry_schemas_match_the_spec():
    assert set(ENTRY_SCHEMAS) == set(SPEC_ENTRIES)
    for key, spec in SPEC_ENTRIES.items():
        # Every data file may also carry unit_institutional_id.
        assert declared(ENTRY_SCHEMAS[key].columns) == spec + ", unit_institutional_id"


def test_factor_schemas_match_the_spec():
    assert set(FACTOR_SCHEMAS) == set(SPEC_FACTORS)
    for factor_type, (classification, values) in SPEC_FACTORS.items():
        schema = FACTOR_SCHEMAS[factor_type]
        assert declared(schema.classification_columns) == classification
        assert declared(schema.value_columns) == values


def test_entry_types_for():
    assert entry_types_for("travel") == ["plane", "train"]
    assert entry_types_for("headcount") == ["member"]
    assert entry_types_for("nope") == []


def test_template_header_puts_required_columns_first():
    assert template_header(ENTRY_SCHEMAS["travel", "plane"]) == [
        "origin_iata", "destination_iata", "user_institutional_id", "cabin_class",
        "departure_date", "number_of_trips", "note", "kg_co2eq", "round_trip", "distance_km",
        "unit_institutional_id"]
    assert template_header(FACTOR_SCHEMAS["headcount"]) == [
        "headcount_category", "ef_kg_co2eq_per_unit", "headcount_class", "unit"]


@pytest.mark.parametrize("key", list(ENTRY_SCHEMAS))
def test_each_template_is_recognised_as_its_own_entry_type(key):
    module_type, entry_type = key
    header = template_header(ENTRY_SCHEMAS[key])
    assert pick_entry_schema(module_type, header) is ENTRY_SCHEMAS[key]


@pytest.mark.parametrize("factor_type", list(FACTOR_SCHEMAS))
def test_each_factor_template_has_every_required_column(factor_type):
    schema = FACTOR_SCHEMAS[factor_type]
    assert missing_columns(schema, template_header(schema)) == []
    assert pick_factor_schema(factor_type, template_header(schema)) is schema


# -- choosing a schema ----------------------------------------------------------------

PLANE_HEADER = ["origin_iata", "destination_iata", "user_institutional_id", "cabin_class"]
TRAIN_HEADER = ["origin_name", "origin_country_code", "destination_name",
                "destination_country_code", "user_institutional_id", "cabin_class"]


def test_missing_columns_in_schema_order():
    schema = ENTRY_SCHEMAS["headcount", "member"]
    assert missing_columns(schema, ["note", "name"]) == [
        "position_category", "user_institutional_id", "fte"]


def test_travel_files_are_told_apart_by_their_columns():
    assert pick_entry_schema("travel", PLANE_HEADER + ["note"]).entry_type == "plane"
    assert pick_entry_schema("travel", TRAIN_HEADER).entry_type == "train"


def test_explicit_entry_type_wins():
    both = PLANE_HEADER + TRAIN_HEADER
    assert pick_entry_schema("travel", both, "train").entry_type == "train"
    with pytest.raises(InvalidFile, match="several travel entry types"):
        pick_entry_schema("travel", both)


def test_explicit_entry_type_names_its_missing_columns():
    with pytest.raises(InvalidFile) as caught:
        pick_entry_schema("travel", PLANE_HEADER, "train")
    assert caught.value.message.startswith(
        "The file is missing required columns for train entries: origin_name, "
        "origin_country_code, destination_name, destination_country_code.")
    assert "Columns found: origin_iata, destination_iata" in caught.value.message


def test_a_travel_file_fitting_no_type_says_what_each_needs():
    with pytest.raises(InvalidFile) as caught:
        pick_entry_schema("travel", ["origin_iata", "destination_iata", "user_institutional_id"])
    assert caught.value.status_code == 400
    assert ("fit no travel entry type: plane entries need cabin_class; train entries need "
            "origin_name, origin_country_code, destination_name, destination_country_code, "
            "cabin_class.") in caught.value.message


def test_a_one_column_header_is_shown_so_a_wrong_delimiter_is_visible():
    with pytest.raises(InvalidFile, match=r"Columns found: name\|fte\."):
        pick_entry_schema("headcount", ["name|fte"])


def test_unknown_module_entry_or_factor_type_is_a_request_error_not_a_file_error():
    for call in (lambda: pick_entry_schema("catering", ["name"]),
                 lambda: pick_entry_schema("travel", PLANE_HEADER, "boat"),
                 lambda: pick_factor_schema("boat", ["x"])):
        with pytest.raises(JobFailure) as caught:
            call()
        assert not isinstance(caught.value, InvalidFile)
        assert caught.value.status_code == 422


def test_factor_file_missing_columns():
    with pytest.raises(InvalidFile, match="missing required columns for purchase factors: "
                                          "currency, ef_kg_co2eq_per_currency"):
        pick_factor_schema("purchase", ["purchase_institutional_code"])


# -- validating rows ------------------------------------------------------------------

PLANE = ENTRY_SCHEMAS["travel", "plane"]


def test_clean_plane_row_shape():
    clean, errors = RowValidator(PLANE).validate(2, {
        "origin_iata": " gva ", "destination_iata": "LHR", "user_institutional_id": "123456",
        "departure_date": "2025-03-01", "number_of_trips": "", "cabin_class": "Business Class",
        "note": "  ", "kg_co2eq": "182,5", "unit_institutional_id": "UNIT-1", "extra": "x"})
    assert errors == []
    assert clean == {
        "entry_type": "plane",
        "data": {"origin_iata": "GVA", "destination_iata": "LHR",
                 "user_institutional_id": "123456", "departure_date": "2025-03-01",
                 "number_of_trips": 1, "cabin_class": "business",
                 "unit_institutional_id": "UNIT-1"},
        "kg_co2eq": 182.5,
    }
    json.dumps(clean)  # JSON-serialisable as it is


def test_kg_co2eq_is_none_when_absent():
    row = dict(zip(PLANE_HEADER, ["GVA", "LHR", "1", "eco"], strict=True))
    clean, _ = RowValidator(PLANE).validate(2, row)
    assert clean is not None
    assert clean["kg_co2eq"] is None
    assert "kg_co2eq" not in clean["data"]


def test_every_error_of_a_row_is_reported():
    clean, errors = RowValidator(PLANE).validate(7, {
        "origin_iata": "GENEVA", "destination_iata": "  ", "departure_date": "2025-13-45",
        "number_of_trips": "0", "cabin_class": "cattle", "kg_co2eq": "-1"})
    assert clean is None
    assert errors == [
        RowError(7, "origin_iata", "GENEVA",
                 "is not an IATA airport code (expected 3 letters, e.g. GVA)"),
        RowError(7, "destination_iata", "", "is required"),
        RowError(7, "user_institutional_id", "", "is required"),
        RowError(7, "departure_date", "2025-13-45", "is not a date (expected YYYY-MM-DD)"),
        RowError(7, "number_of_trips", "0", "must be at least 1"),
        RowError(7, "cabin_class", "cattle",
                 "is not a cabin class (expected economy, premium_economy, business or first)"),
        RowError(7, "kg_co2eq", "-1", "must not be negative"),
    ]


def test_headcount_fte_over_one():
    _, errors = RowValidator(ENTRY_SCHEMAS["headcount", "member"]).validate(3, {
        "name": "Ada", "position_category": "prof", "user_institutional_id": "1", "fte": "1.5"})
    assert errors == [RowError(3, "fte", "1.5", "must be between 0 and 1")]


EQUIPMENT = ENTRY_SCHEMAS["equipment", "equipment"]
EQUIPMENT_ROW = {"equipment_id": "EQ-1", "name": "PC", "equipment_class": "desktop"}


def test_equipment_hours_may_fill_the_week_exactly():
    clean, errors = RowValidator(EQUIPMENT).validate(2, {
        **EQUIPMENT_ROW, "active_usage_hours_per_week": "40",
        "standby_usage_hours_per_week": "128"})
    assert errors == []
    assert clean is not None
    assert clean["data"]["standby_usage_hours_per_week"] == 128.0
    assert clean["kg_co2eq"] is None


def test_equipment_hours_beyond_a_week():
    _, errors = RowValidator(EQUIPMENT).validate(5, {
        **EQUIPMENT_ROW, "active_usage_hours_per_week": "100",
        "standby_usage_hours_per_week": "80"})
    assert errors == [RowError(5, "active_usage_hours_per_week + standby_usage_hours_per_week",
                               "100 + 80", "must add up to at most 168 hours a week")]


def test_equipment_week_check_waits_for_valid_hours():
    # One bad value is one error: the sum is not also reported.
    _, errors = RowValidator(EQUIPMENT).validate(5, {
        **EQUIPMENT_ROW, "active_usage_hours_per_week": "170",
        "standby_usage_hours_per_week": "80"})
    assert errors == [RowError(5, "active_usage_hours_per_week", "170",
                               "must be between 0 and 168")]


def test_row_check_errors_come_with_column_errors():
    _, errors = RowValidator(EQUIPMENT).validate(5, {
        "equipment_id": "", "name": "PC", "equipment_class": "desktop",
        "active_usage_hours_per_week": "100", "standby_usage_hours_per_week": "100"})
    assert [e.column for e in errors] == [
        "equipment_id", "active_usage_hours_per_week + standby_usage_hours_per_week"]


def test_purchase_row_normalises_currency():
    clean, errors = RowValidator(ENTRY_SCHEMAS["purchases", "purchase"]).validate(2, {
        "name": "Pipettes", "total_spent_amount": "250.50", "currency": "chf",
        "purchase_institutional_code": "P-1"})
    assert errors == []
    assert clean == {"entry_type": "purchase", "kg_co2eq": None,
                     "data": {"name": "Pipettes", "total_spent_amount": 250.5,
                              "currency": "CHF", "purchase_institutional_code": "P-1"}}


def test_train_row():
    clean, errors = RowValidator(ENTRY_SCHEMAS["travel", "train"]).validate(2, {
        "origin_name": "Lausanne", "origin_country_code": "ch", "destination_name": "Milano",
        "destination_country_code": "IT", "user_institutional_id": "1", "cabin_class": "2nd",
        "number_of_trips": "3"})
    assert errors == []
    assert clean is not None
    assert clean["entry_type"] == "train"
    assert clean["data"]["cabin_class"] == "second"
    assert clean["data"]["origin_country_code"] == "CH"
    assert clean["data"]["number_of_trips"] == 3


def test_factor_row_shape():
    clean, errors = RowValidator(FACTOR_SCHEMAS["equipment"]).validate(2, {
        "equipment_class": "laptop", "sub_class": "", "active_power_w": "45",
        "ef_kg_co2eq_per_kwh": "0,125"})
    assert errors == []
    assert clean == {"classification": {"equipment_class": "laptop"},
                     "values": {"active_power_w": 45.0, "ef_kg_co2eq_per_kwh": 0.125}}


def test_factor_row_errors_and_distance_band():
    clean, errors = RowValidator(FACTOR_SCHEMAS["plane"]).validate(4, {
        "category": "medium", "cabin_class": "Business", "ef_kg_co2eq_per_km": "x",
        "min_distance": "1500", "max_distance": "800"})
    assert clean is None
    assert errors == [
        RowError(4, "ef_kg_co2eq_per_km", "x", "is not a number"),
        RowError(4, "max_distance", "800", "must be greater than min_distance (1500)"),
    ]


def test_plane_factor_cabin_class_is_normalised():
    clean, _ = RowValidator(FACTOR_SCHEMAS["plane"]).validate(2, {
        "category": "long_haul", "cabin_class": "ECO", "ef_kg_co2eq_per_km": "0.1"})
    assert clean == {"classification": {"category": "long_haul", "cabin_class": "economy"},
                     "values": {"ef_kg_co2eq_per_km": 0.1}}


def test_a_remembered_cell_gives_the_same_outcome_on_later_rows():
    # The validator remembers parsed cells; a repeat must still be parsed, rejected or
    # left out exactly like the first time, with the later row's number.
    validate = RowValidator(PLANE).validate
    row = {"origin_iata": "gva", "destination_iata": "LHR", "user_institutional_id": "7",
           "cabin_class": "ECO", "note": " ", "departure_date": "2025-02-30"}
    for row_number in (2, 3):
        clean, errors = validate(row_number, row)
        assert clean is None
        assert errors == [RowError(row_number, "departure_date", "2025-02-30",
                                   "is not a date (expected YYYY-MM-DD)")]
    clean, errors = validate(4, {**row, "departure_date": ""})
    assert errors == []
    assert clean is not None
    assert clean["data"] == {"origin_iata": "GVA", "destination_iata": "LHR",
                             "user_institutional_id": "7", "number_of_trips": 1,
                             "cabin_class": "economy"}
