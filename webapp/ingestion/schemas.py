"""Declarative column schemas for CSV uploads, and row validation against them.

A schema lists its columns; each column has a parser that turns the raw cell text
into a JSON-serialisable value or raises `InvalidValue` with a reason a user reads
after the column name and value ("departure_date '2025-13-45' is not a date ...").
Adding a module, an entry type or a factor type is adding one declaration to
`ENTRY_SCHEMAS` or `FACTOR_SCHEMAS`; nothing else changes.

Clean rows have these shapes:
    data entry: {"entry_type": "plane", "data": {column: value}, "kg_co2eq": float | None}
    factor:     {"classification": {column: value}, "values": {column: number}}
Empty optional cells are left out of `data` and `classification` (unless the column has
a default), so equal identities always compare equal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from webapp.ingestion.errors import IngestionError, InvalidFile
from webapp.ingestion.providers.base import RowError


class InvalidValue(ValueError):
    """A cell's value is unusable; the message is the reason shown to the user."""


Parser = Callable[[str], Any]  # gets the stripped, non-empty cell; raises InvalidValue
RowCheck = Callable[[int, dict[str, Any]], list[RowError]]

# -- parsers --------------------------------------------------------------------------


def text(max_length: int = 255) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise InvalidValue(f"is longer than {max_length} characters")
        return value
    return parse


def _bounds_reason(minimum: float | None, maximum: float | None) -> str:
    if minimum is None and maximum is None:
        return ""  # unbounded: never shown
    if minimum is not None and maximum is not None:
        return f"must be between {minimum:g} and {maximum:g}"
    if minimum == 0:
        return "must not be negative"
    if minimum is not None:
        return f"must be at least {minimum:g}"
    return f"must be at most {maximum:g}"


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    out_of_bounds = _bounds_reason(minimum, maximum)

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise InvalidValue("is not a whole number") from None
        if (minimum is not None and number < minimum) or (maximum is not None
                                                          and number > maximum):
            raise InvalidValue(out_of_bounds)
        return number
    return parse


# A decimal comma ("0,5") is what Excel writes in French or German locales. "1,234" is
# ambiguous (1.234 or 1234?), so it is refused rather than guessed.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_THOUSANDS_LIKE = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


def number(minimum: float | None = None, maximum: float | None = None) -> Parser:
    out_of_bounds = _bounds_reason(minimum, maximum)

    def parse(value: str) -> float:
        if "," in value:
            if _THOUSANDS_LIKE.fullmatch(value):
                raise InvalidValue("is ambiguous: write decimals with a dot and no "
                                   "thousands separator")
            if not _DECIMAL_COMMA.fullmatch(value):
                raise InvalidValue("is not a number")
            value = value.replace(",", ".")
        try:
            result = float(value)
        except ValueError:
            raise InvalidValue("is not a number") from None
        if not math.isfinite(result):
            raise InvalidValue("is not a number")
        if (minimum is not None and result < minimum) or (maximum is not None
                                                          and result > maximum):
            raise InvalidValue(out_of_bounds)
        return result
    return parse


def fraction() -> Parser:
    """A share between 0 and 1, such as a full-time equivalent."""
    return number(0, 1)


def iso_date() -> Parser:
    def parse(value: str) -> str:
        # fromisoformat alone would also take "20250131" and week dates; CSV wants one form.
        try:
            if len(value) != 10 or value[4] != "-" or value[7] != "-":
                raise ValueError
            date.fromisoformat(value)  # checks the calendar; the text is already ISO
            return value
        except ValueError:
            raise InvalidValue("is not a date (expected YYYY-MM-DD)") from None
    return parse


def letter_code(length: int, what: str, example: str,
                known: frozenset[str] | None = None) -> Parser:
    """A code of `length` ASCII letters, uppercased; optionally one of `known`."""
    reason = f"is not {what} (expected {length} letters, e.g. {example})"

    def parse(value: str) -> str:
        code = value.upper()
        if len(code) != length or not (code.isascii() and code.isalpha()):
            raise InvalidValue(reason)
        if known is not None and code not in known:
            raise InvalidValue(reason)
        return code
    return parse


# ISO 3166-1 alpha-2, plus XK (Kosovo), which rail and travel data use.
_COUNTRY_CODES_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())


def iata_code() -> Parser:
    return letter_code(3, "an IATA airport code", "GVA")


def country_code() -> Parser:
    return letter_code(2, "an ISO 3166 country code", "CH", COUNTRY_CODES)


def currency_code() -> Parser:
    # Shape only: a full ISO 4217 list would need upkeep and reject rare valid codes.
    return letter_code(3, "an ISO 4217 currency code", "CHF")


_ENUM_SEPARATORS = re.compile(r"[\s_\-]+")
_ENUM_NOISE = re.compile(r"^air | (class|classe|klasse)$")


def _enum_key(value: str) -> str:
    """Spelling-insensitive key: 'Business Class', 'AIR BUSINESS CLASS' -> 'business'."""
    key = _ENUM_SEPARATORS.sub(" ", value.lower()).strip(" .")
    return _ENUM_NOISE.sub("", key).strip(" .")


def choice(what: str, aliases: Mapping[str, Iterable[str]]) -> Parser:
    """One of the keys of `aliases`, also written as any of its spellings."""
    spellings = {_enum_key(canonical): canonical for canonical in aliases}
    for canonical, others in aliases.items():
        spellings.update((_enum_key(other), canonical) for other in others)
    names = list(aliases)
    expected = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    reason = f"is not {what} (expected {expected})"

    seen: dict[str, str] = {}  # cell text -> value: enum cells repeat, and keys cost regexes

    def parse(value: str) -> str:
        canonical = seen.get(value)
        if canonical is None:
            try:
                canonical = spellings[_enum_key(value)]
            except KeyError:
                raise InvalidValue(reason) from None
            if len(seen) < 10_000:  # bounded, so memory cannot grow with the file
                seen[value] = canonical
        return canonical
    return parse


# One-letter codes are the IATA cabin codes (F, J/C, W, Y).
CABIN_CLASS = choice("a cabin class", {
    "economy": ("eco", "econ", "economic", "coach", "y"),
    "premium_economy": ("premium", "prem", "premium eco", "prem eco", "prem economy",
                        "economy premium", "eco premium", "w"),
    "business": ("bus", "biz", "c", "j"),
    "first": ("1st", "f"),
})
TRAIN_CLASS = choice("a train class", {
    "first": ("1", "1st", "1re", "1ère", "première", "premiere", "erste"),
    "second": ("2", "2nd", "2e", "2ème", "deuxième", "deuxieme", "seconde", "zweite"),
})

# -- schemas --------------------------------------------------------------------------


class Column(NamedTuple):
    """One CSV column. A tuple, so the validation loop can unpack it cheaply."""

    name: str
    required: bool = False
    parse: Parser = text()
    default: Any = None  # used when the optional cell is empty; None = leave it out


# Every data file may say which organisational unit a row belongs to.
UNIT_COLUMN = Column("unit_institutional_id", parse=text(100))


@dataclass(frozen=True)
class EntrySchema:
    """The columns of one data-entry type; `unit_institutional_id` is always added."""

    module_type: str
    entry_type: str
    columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    def __post_init__(self) -> None:
        if UNIT_COLUMN not in self.columns:
            object.__setattr__(self, "columns", (*self.columns, UNIT_COLUMN))


@dataclass(frozen=True)
class FactorSchema:
    """The columns of one factor type: classification = identity, values = numbers."""

    factor_type: str
    classification_columns: tuple[Column, ...]
    value_columns: tuple[Column, ...]
    row_check: RowCheck | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        return self.classification_columns + self.value_columns


Schema = EntrySchema | FactorSchema


def _hours_fit_in_a_week(row: int, data: dict[str, Any]) -> list[RowError]:
    active = data.get("active_usage_hours_per_week")
    standby = data.get("standby_usage_hours_per_week")
    if active is None or standby is None or active + standby <= 168:
        return []
    return [RowError(row, "active_usage_hours_per_week + standby_usage_hours_per_week",
                     f"{active:g} + {standby:g}", "must add up to at most 168 hours a week")]


def _distance_band_is_ordered(row: int, data: dict[str, Any]) -> list[RowError]:
    low, high = data.get("min_distance"), data.get("max_distance")
    if low is None or high is None or low < high:
        return []
    return [RowError(row, "max_distance", f"{high:g}",
                     f"must be greater than min_distance ({low:g})")]


_ID = text(100)
_NOTE = text(2000)
_HOURS = number(0, 168)
_POSITIVE = number(0)

_TRIPS = Column("number_of_trips", parse=integer(1), default=1)
_DATE = Column("departure_date", parse=iso_date())
_KG = Column("kg_co2eq", parse=_POSITIVE)

_ENTRY_SCHEMA_LIST = (
    EntrySchema("headcount", "member", (
        Column("name", True),
        Column("position_category", True),
        Column("user_institutional_id", True, _ID),
        Column("fte", True, fraction()),
        Column("note", parse=_NOTE),
    )),
    EntrySchema("travel", "plane", (
        Column("origin_iata", True, iata_code()),
        Column("destination_iata", True, iata_code()),
        Column("user_institutional_id", True, _ID),
        _DATE,
        _TRIPS,
        Column("cabin_class", True, CABIN_CLASS),
        Column("note", parse=_NOTE),
        _KG,
    )),
    EntrySchema("travel", "train", (
        Column("origin_name", True),
        Column("origin_country_code", True, country_code()),
        Column("destination_name", True),
        Column("destination_country_code", True, country_code()),
        Column("user_institutional_id", True, _ID),
        _DATE,
        _TRIPS,
        Column("cabin_class", True, TRAIN_CLASS),
        Column("note", parse=_NOTE),
        _KG,
    )),
    EntrySchema("equipment", "equipment", (
        Column("equipment_id", True, _ID),
        Column("name", True),
        Column("equipment_class", True),
        Column("sub_class"),
        Column("active_usage_hours_per_week", parse=_HOURS),
        Column("standby_usage_hours_per_week", parse=_HOURS),
        Column("note", parse=_NOTE),
    ), row_check=_hours_fit_in_a_week),
    EntrySchema("purchases", "purchase", (
        Column("name", True),
        Column("supplier"),
        Column("quantity", parse=_POSITIVE),
        Column("total_spent_amount", True, _POSITIVE),
        Column("currency", parse=currency_code()),
        Column("purchase_institutional_code", True, _ID),
        Column("purchase_institutional_description"),
        Column("note", parse=_NOTE),
    )),
)

_FACTOR_SCHEMA_LIST = (
    FactorSchema("plane", (
        Column("category", True),
        Column("cabin_class", True, CABIN_CLASS),
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE),
        Column("rfi_adjustment", parse=_POSITIVE),
        Column("min_distance", parse=_POSITIVE),
        Column("max_distance", parse=_POSITIVE),
    ), row_check=_distance_band_is_ordered),
    FactorSchema("train", (
        Column("country_code", True, country_code()),
    ), (
        Column("ef_kg_co2eq_per_km", True, _POSITIVE),
    )),
    FactorSchema("equipment", (
        Column("equipment_class", True),
        Column("sub_class"),
    ), (
        Column("active_power_w", parse=_POSITIVE),
        Column("standby_power_w", parse=_POSITIVE),
        Column("ef_kg_co2eq_per_kwh", True, _POSITIVE),
    )),
    FactorSchema("purchase", (
        Column("purchase_institutional_code", True, _ID),
        Column("currency", True, currency_code()),
    ), (
        Column("ef_kg_co2eq_per_currency", True, _POSITIVE),
    )),
    FactorSchema("headcount", (
        Column("headcount_category", True),
        Column("headcount_class"),
        Column("unit"),
    ), (
        Column("ef_kg_co2eq_per_unit", True, _POSITIVE),
    )),
)

ENTRY_SCHEMAS: dict[tuple[str, str], EntrySchema] = {
    (schema.module_type, schema.entry_type): schema for schema in _ENTRY_SCHEMA_LIST
}
FACTOR_SCHEMAS: dict[str, FactorSchema] = {
    schema.factor_type: schema for schema in _FACTOR_SCHEMA_LIST
}

# -- choosing a schema for a header ---------------------------------------------------


def entry_types_for(module_type: str) -> list[str]:
    """The entry types a module's data files can hold, in declaration order."""
    return [entry for module, entry in ENTRY_SCHEMAS if module == module_type]


def missing_columns(schema: Schema, header: Iterable[str]) -> list[str]:
    """Required columns of `schema` absent from a (normalised) header, in schema order."""
    present = set(header)
    return [c.name for c in schema.columns if c.required and c.name not in present]


def template_header(schema: Schema) -> list[str]:
    """Column names for a downloadable template: required first, each group in order."""
    return ([c.name for c in schema.columns if c.required]
            + [c.name for c in schema.columns if not c.required])


def _require_columns(schema: Schema, header: list[str], what: str) -> None:
    missing = missing_columns(schema, header)
    if missing:
        raise InvalidFile(f"The file is missing required columns for {what}: "
                          f"{', '.join(missing)}. {_found(header)}")


def _found(header: list[str]) -> str:
    # Naming what was found helps when the delimiter or the header row is not the expected one.
    names = [name for name in header if name]
    shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
    return f"Columns found: {shown}." if names else "No column names were found."


def pick_entry_schema(module_type: str, header: list[str],
                      entry_type: str | None = None) -> EntrySchema:
    """The entry schema a data file's header fits.

    A module with several entry types (travel: plane, train) is told apart by the
    columns, unless `entry_type` says which.

    Raises:
        IngestionError (422): unknown module type or entry type.
        InvalidFile: required columns are missing, or the header fits several types.
    """
    types = entry_types_for(module_type)
    if not types:
        raise IngestionError(f"Module type {module_type!r} takes no data files.", 422)
    if entry_type is not None:
        if entry_type not in types:
            raise IngestionError(f"Entry type {entry_type!r} is not one of {module_type}'s: "
                                 f"{', '.join(types)}.", 422)
        types = [entry_type]
    schemas = [ENTRY_SCHEMAS[module_type, t] for t in types]
    if len(schemas) == 1:
        _require_columns(schemas[0], header, f"{schemas[0].entry_type} entries")
        return schemas[0]
    fitting = [schema for schema in schemas if not missing_columns(schema, header)]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        raise InvalidFile(f"The file has the columns of several {module_type} entry types "
                          f"({', '.join(s.entry_type for s in fitting)}); "
                          "choose the entry type when uploading it.")
    needs = "; ".join(f"{s.entry_type} entries need {', '.join(missing_columns(s, header))}"
                      for s in schemas)
    raise InvalidFile(f"The file's columns fit no {module_type} entry type: {needs}. "
                      f"{_found(header)}")


def pick_factor_schema(factor_type: str, header: list[str]) -> FactorSchema:
    """The schema of `factor_type`, checked against a factor file's header.

    Raises:
        IngestionError (422): unknown factor type.
        InvalidFile: required columns are missing.
    """
    schema = FACTOR_SCHEMAS.get(factor_type)
    if schema is None:
        raise IngestionError(f"Factor type {factor_type!r} has no CSV format; known types: "
                             f"{', '.join(FACTOR_SCHEMAS)}.", 422)
    _require_columns(schema, header, f"{factor_type} factors")
    return schema


# -- validating rows ------------------------------------------------------------------


def _parse_columns(columns: tuple[Column, ...], row: int, values: Mapping[str, str],
                   out: dict[str, Any], errors: list[RowError]) -> None:
    # The hot loop of every upload: keep it flat.
    for name, required, parse, default in columns:
        raw = values.get(name) or ""
        value = raw.strip()
        if not value:
            if required:  # blank reported as "", so the message reads "x is required"
                errors.append(RowError(row, name, "", "is required"))
            elif default is not None:
                out[name] = default
            continue
        try:
            out[name] = parse(value)
        except InvalidValue as error:
            errors.append(RowError(row, name, raw, str(error)))


def validate_entry_row(schema: EntrySchema, row_number: int,
                       values: Mapping[str, str]) -> tuple[dict[str, Any] | None,
                                                           list[RowError]]:
    """Validate one data-file row; return (clean row, []) or (None, every error found)."""
    data: dict[str, Any] = {}
    errors: list[RowError] = []
    _parse_columns(schema.columns, row_number, values, data, errors)
    if schema.row_check is not None:
        errors += schema.row_check(row_number, data)
    if errors:
        return None, errors
    kg_co2eq = data.pop("kg_co2eq", None)  # a travel row's own figure, kept beside data
    return {"entry_type": schema.entry_type, "data": data, "kg_co2eq": kg_co2eq}, errors


def validate_factor_row(schema: FactorSchema, row_number: int,
                        values: Mapping[str, str]) -> tuple[dict[str, Any] | None,
                                                            list[RowError]]:
    """Validate one factor-file row; return (clean row, []) or (None, every error found)."""
    classification: dict[str, Any] = {}
    factor_values: dict[str, Any] = {}
    errors: list[RowError] = []
    _parse_columns(schema.classification_columns, row_number, values, classification, errors)
    _parse_columns(schema.value_columns, row_number, values, factor_values, errors)
    if schema.row_check is not None:
        errors += schema.row_check(row_number, {**classification, **factor_values})
    if errors:
        return None, errors
    return {"classification": classification, "values": factor_values}, errors
