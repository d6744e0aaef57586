"""Turn rows of the Tableau flights datasource into plane data entries.

Pure functions, no I/O: the provider fetches, this module decides what a row means.
Every problem becomes a (column, value, reason) tuple so no row is dropped silently;
columns are the Tableau captions, which is what the user can look up upstream.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

SCIPER = "SCIPER"
CENTRE = "Centre financier"
DEPARTURE = "IN_Departure date"
ORIGIN = "IN_Segment origin airport code"
DESTINATION = "IN_Segment destination airport code"
CLASS = "IN_Segment class"
TRIPS = "Number of trips"
ROUND_TRIP = "ROUND_TRIP"
TRANSPORT = "TRANSPORT_TYPE"
PASSENGER = "PASSENGER_TYPE"
SUPPLIER = "IN_Supplier"
TICKET = "IN_Ticket number"
DISTANCE = "OUT_DISTANCE_CORRECTED"
CO2 = "OUT_CO2_CORRECTED"

FLIGHT_CAPTIONS: list[str] = [
    SCIPER, CENTRE, DEPARTURE, ORIGIN, DESTINATION, CLASS, TRIPS, ROUND_TRIP,
    TRANSPORT, PASSENGER, SUPPLIER, TICKET, DISTANCE, CO2,
]

RowProblem = tuple[str, Any, str]

# Keys are the class name once "AIR" and "CLASS" are stripped and spacing normalised.
_CABIN_CLASSES = {
    "ECONOMY": "economy",
    "ECO": "economy",
    "PREMIUM ECONOMY": "premium_economy",
    "PREMIUM": "premium_economy",
    "BUSINESS": "business",
    "FIRST": "first",
}
_IATA = re.compile(r"[A-Z]{3}")
_YES = {"YES", "Y", "TRUE", "1"}
_NO = {"NO", "N", "FALSE", "0"}


def normalise_travel_class(value: Any) -> str:
    """Map a Tableau class ("AIR ECONOMY CLASS") to ours ("economy").

    Tolerant of case, spacing, "_" and "-", and of a missing "AIR"/"CLASS".

    Raises:
        ValueError: the value is empty or not one of the four cabin classes.
    """
    text = re.sub(r"[\s_\-]+", " ", str(value or "")).strip().upper()
    words = text.split(" ")
    if words and words[0] == "AIR":
        words = words[1:]
    if words and words[-1] == "CLASS":
        words = words[:-1]
    key = " ".join(words)
    if not key:
        raise ValueError("cabin class is missing")
    try:
        return _CABIN_CLASSES[key]
    except KeyError:
        raise ValueError(f"unknown cabin class {str(value).strip()!r}; expected economy, "
                         "premium economy, business or first") from None


def build_filters(year: int, centre_financier: str | list[str] | None = None
                  ) -> list[dict[str, Any]]:
    """VizQL filters: departure date starts with the year; optionally a set of centres."""
    filters: list[dict[str, Any]] = [{
        "field": {"fieldCaption": DEPARTURE},
        "filterType": "MATCH",
        "startsWith": str(year),
    }]
    if isinstance(centre_financier, str):
        centres = [centre_financier]
    else:
        centres = list(centre_financier or [])
    centres = [str(c).strip() for c in centres if c is not None and str(c).strip()]
    if centres:
        filters.append({
            "field": {"fieldCaption": CENTRE},
            "filterType": "SET",
            "values": centres,
            "exclude": False,
        })
    return filters


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _identifier(value: Any) -> str | None:
    """Text for ids that may arrive as numbers (123456 or 123456.0 → "123456")."""
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number(value: Any) -> float:
    """A float from a JSON number or a string ("1234.5", "1234,5"); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("'", "").replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def _departure(value: Any, year: int, problems: list[RowProblem]) -> str | None:
    text = _identifier(value)
    if text is None:
        problems.append((DEPARTURE, value, "departure date is missing"))
        return None
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError
        day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        problems.append((DEPARTURE, value, f"departure date {text} is not a YYYYMMDD date"))
        return None
    if day.year != year:
        problems.append((DEPARTURE, value, f"departure date {text} is not in {year}"))
        return None
    return day.isoformat()


def _airport(obj: dict[str, Any], caption: str, label: str,
             problems: list[RowProblem]) -> str | None:
    value = obj.get(caption)
    if _blank(value):
        problems.append((caption, value, f"{label} airport code is missing"))
        return None
    code = str(value).strip().upper()
    if not _IATA.fullmatch(code):
        problems.append((caption, value, f"{label} airport code {code!r} is not a 3-letter "
                                         "IATA code"))
        return None
    return code


def _trips(value: Any, problems: list[RowProblem]) -> int | None:
    if _blank(value):
        return 1  # as in the CSV template: one trip unless said otherwise
    try:
        number = _number(value)
    except ValueError:
        number = 0.5  # falls through to the error below
    if not number.is_integer() or number < 1:
        problems.append((TRIPS, value, "number of trips must be a whole number of at least 1"))
        return None
    return int(number)


def _round_trip(value: Any, problems: list[RowProblem]) -> bool | None:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    problems.append((ROUND_TRIP, value, "round trip must be YES or NO"))
    return None


def _amount(value: Any, caption: str, label: str, required: bool,
            problems: list[RowProblem]) -> float | None:
    if _blank(value):
        if required:
            problems.append((caption, value, f"{label} is missing"))
        return None
    try:
        number = _number(value)
    except ValueError:
        problems.append((caption, value, f"{label} is not a number"))
        return None
    if not math.isfinite(number) or number < 0:
        problems.append((caption, value, f"{label} must be a number of at least 0"))
        return None
    return number


def map_flight_row(obj: dict[str, Any], year: int
                   ) -> tuple[dict[str, Any] | None, list[RowProblem]]:
    """One Tableau row → (plane entry, []) or (None, [(column, value, reason), ...]).

    All problems of the row are reported at once, so the user fixes them in one pass.
    The year is checked again here: the server-side filter is a convenience, not a
    guarantee (a MATCH on text also lets a broken date such as "20251345" through).
    """
    problems: list[RowProblem] = []
    user = _identifier(obj.get(SCIPER))
    if user is None:
        problems.append((SCIPER, obj.get(SCIPER), "SCIPER is missing"))
    departure = _departure(obj.get(DEPARTURE), year, problems)
    origin = _airport(obj, ORIGIN, "origin", problems)
    destination = _airport(obj, DESTINATION, "destination", problems)
    try:
        cabin = normalise_travel_class(obj.get(CLASS))
    except ValueError as error:
        problems.append((CLASS, obj.get(CLASS), str(error)))
        cabin = None
    trips = _trips(obj.get(TRIPS), problems)
    round_trip = _round_trip(obj.get(ROUND_TRIP), problems)
    distance = _amount(obj.get(DISTANCE), DISTANCE, "distance (km)", True, problems)
    co2 = _amount(obj.get(CO2), CO2, "CO2 (kg)", False, problems)
    if problems:
        return None, problems
    entry = {
        "entry_type": "plane",
        "data": {
            "origin_iata": origin,
            "destination_iata": destination,
            "user_institutional_id": user,
            "unit_institutional_id": _identifier(obj.get(CENTRE)),
            "departure_date": departure,
            "number_of_trips": trips,
            "cabin_class": cabin,
            "round_trip": round_trip,
            "transport_type": _identifier(obj.get(TRANSPORT)),
            "passenger_type": _identifier(obj.get(PASSENGER)),
            "supplier": _identifier(obj.get(SUPPLIER)),
            "ticket_number": _identifier(obj.get(TICKET)),
            "distance_km": distance,
        },
        "kg_co2eq": co2,
    }
    return entry, []
