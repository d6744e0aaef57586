"""A deterministic flights datasource, shaped like the travel agency extract in Tableau.

Seeded, so every run (and every test) sees the same rows. Each year holds a known
handful of rows our mapping must refuse (unknown class, broken date, missing airport);
tests ask `expected_rows` / `expected_defects` instead of hard-coding counts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

SEED = 20250101
YEARS = (2023, 2024, 2025)
ROWS_PER_YEAR = 1_200
CENTRES = (
    "F0892", "F0901", "F0915", "F1023", "F1107", "F1150", "F1234", "F1310",
    "F1402", "F1488", "F1561", "F1620", "F1733", "F1805",
)
# Rows per year the mapping must reject, by defect.
DEFECTS_PER_YEAR = {"unknown_class": 3, "bad_date": 2, "missing_iata": 2}

# (caption, VizQL dataType, defaultAggregation). The real extract carries more fields
# than we read; two extras make sure the client asks only for what it needs.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("SCIPER", "INTEGER", "SUM"),
    ("Centre financier", "STRING", "COUNT"),
    ("IN_Departure date", "STRING", "COUNT"),
    ("IN_Segment origin airport code", "STRING", "COUNT"),
    ("IN_Segment destination airport code", "STRING", "COUNT"),
    ("IN_Segment class", "STRING", "COUNT"),
    ("Number of trips", "INTEGER", "SUM"),
    ("ROUND_TRIP", "STRING", "COUNT"),
    ("TRANSPORT_TYPE", "STRING", "COUNT"),
    ("PASSENGER_TYPE", "STRING", "COUNT"),
    ("IN_Supplier", "STRING", "COUNT"),
    ("IN_Ticket number", "STRING", "COUNT"),
    ("OUT_DISTANCE_CORRECTED", "REAL", "SUM"),
    ("OUT_CO2_CORRECTED", "REAL", "SUM"),
    ("IN_Booking date", "STRING", "COUNT"),
    ("IN_Fare amount CHF", "REAL", "SUM"),
)
CAPTIONS = tuple(caption for caption, _, _ in FIELDS)

AIRPORTS = {  # IATA: (latitude, longitude)
    "GVA": (46.238, 6.109), "ZRH": (47.458, 8.548), "BSL": (47.590, 7.529),
    "CDG": (49.010, 2.548), "LHR": (51.470, -0.454), "FRA": (50.037, 8.562),
    "AMS": (52.310, 4.768), "MUC": (48.354, 11.786), "FCO": (41.800, 12.239),
    "MAD": (40.472, -3.561), "BCN": (41.297, 2.078), "LIS": (38.774, -9.134),
    "VIE": (48.110, 16.570), "CPH": (55.618, 12.656), "ARN": (59.652, 17.919),
    "JFK": (40.641, -73.778), "BOS": (42.366, -71.010), "SFO": (37.622, -122.379),
    "YUL": (45.470, -73.741), "NRT": (35.772, 140.393), "SIN": (1.364, 103.992),
    "PEK": (40.080, 116.585), "DXB": (25.253, 55.366), "GRU": (-23.436, -46.473),
    "JNB": (-26.134, 28.242),
}
HOME_AIRPORTS = ("GVA", "GVA", "GVA", "ZRH", "BSL")
CLASSES = (  # (Tableau label, weight, kg CO2e per passenger-km)
    ("AIR ECONOMY CLASS", 80, 0.15),
    ("AIR PREMIUM ECONOMY CLASS", 6, 0.23),
    ("AIR BUSINESS CLASS", 12, 0.43),
    ("AIR FIRST CLASS", 2, 0.60),
)
SUPPLIERS = (("SWISS", "724"), ("EASYJET", "888"), ("AIR FRANCE", "057"),
             ("LUFTHANSA", "220"), ("KLM", "074"), ("BRITISH AIRWAYS", "125"))
PASSENGER_TYPES = ("EMPLOYEE", "EMPLOYEE", "EMPLOYEE", "GUEST", "STUDENT")


@dataclass(frozen=True)
class FlightRecord:
    """One datasource row; `defect` says why our mapping must refuse it (None if valid)."""

    values: dict[str, Any]
    defect: str | None = None

    @property
    def year(self) -> str:
        return str(self.values["IN_Departure date"])[:4]

    @property
    def centre(self) -> str:
        return self.values["Centre financier"]


def _distance_km(origin: str, destination: str) -> float:
    (lat1, lon1), (lat2, lon2) = AIRPORTS[origin], AIRPORTS[destination]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a)) + 95.0  # +95 km: the usual routing detour


def _flight(rng: random.Random, year: int, people: list[tuple[int, str]]) -> dict[str, Any]:
    sciper, centre = rng.choice(people)
    origin = rng.choice(HOME_AIRPORTS)
    destination = rng.choice([code for code in AIRPORTS if code != origin])
    label, _, factor = rng.choices(CLASSES, weights=[w for _, w, _ in CLASSES])[0]
    trips = rng.choices((1, 2, 3), weights=(90, 8, 2))[0]
    round_trip = rng.random() < 0.7
    distance = round(_distance_km(origin, destination), 1)
    legs = trips * (2 if round_trip else 1)
    supplier, prefix = rng.choice(SUPPLIERS)
    day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    booked = day - timedelta(days=rng.randrange(1, 90))
    return {
        "SCIPER": sciper,
        "Centre financier": centre,
        "IN_Departure date": day.strftime("%Y%m%d"),
        "IN_Segment origin airport code": origin,
        "IN_Segment destination airport code": destination,
        "IN_Segment class": label,
        "Number of trips": trips,
        "ROUND_TRIP": "YES" if round_trip else "NO",
        "TRANSPORT_TYPE": "AIR",
        "PASSENGER_TYPE": rng.choice(PASSENGER_TYPES),
        "IN_Supplier": supplier,
        "IN_Ticket number": prefix + f"{rng.randrange(10**10):010d}",
        "OUT_DISTANCE_CORRECTED": distance,
        "OUT_CO2_CORRECTED": round(distance * factor * legs, 2),
        "IN_Booking date": booked.strftime("%Y%m%d"),
        "IN_Fare amount CHF": round(80 + distance * rng.uniform(0.08, 0.4), 2),
    }


def _spoil(values: dict[str, Any], defect: str, rng: random.Random) -> None:
    year = str(values["IN_Departure date"])[:4]
    if defect == "unknown_class":
        values["IN_Segment class"] = rng.choice(("AIR SLEEPER CLASS", "RAIL FIRST CLASS"))
    elif defect == "bad_date":  # still starts with the year, so the server returns it
        values["IN_Departure date"] = rng.choice((f"{year}1345", f"{year}0230"))
    elif defect == "missing_iata":
        caption = rng.choice(("IN_Segment origin airport code",
                              "IN_Segment destination airport code"))
        values[caption] = rng.choice(("", None))


def build_dataset(seed: int = SEED) -> list[FlightRecord]:
    """All rows, years interleaved as an extract would be, in a stable order."""
    rng = random.Random(seed)
    people = [(rng.randrange(100_000, 400_000), rng.choice(CENTRES)) for _ in range(420)]
    records: list[FlightRecord] = []
    for year in YEARS:
        positions = rng.sample(range(ROWS_PER_YEAR), sum(DEFECTS_PER_YEAR.values()))
        defects = [d for d, n in DEFECTS_PER_YEAR.items() for _ in range(n)]
        spoiled = dict(zip(positions, defects, strict=True))
        for index in range(ROWS_PER_YEAR):
            values = _flight(rng, year, people)
            defect = spoiled.get(index)
            if defect:
                _spoil(values, defect, rng)
            records.append(FlightRecord(values, defect))
    rng.shuffle(records)
    return records


@lru_cache(maxsize=4)
def default_dataset(seed: int = SEED) -> tuple[FlightRecord, ...]:
    return tuple(build_dataset(seed))


def matching(year: int, centres: str | list[str] | None = None,
             records: tuple[FlightRecord, ...] | None = None) -> list[FlightRecord]:
    """Rows the stand-in returns for a year MATCH filter and an optional centre SET."""
    wanted = [centres] if isinstance(centres, str) else centres
    return [r for r in (records or default_dataset())
            if r.year == str(year) and (not wanted or r.centre in wanted)]


def expected_rows(year: int, centres: str | list[str] | None = None,
                  captions: list[str] | tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The rows, restricted to `captions`, in the order the stand-in answers them."""
    keep = captions or CAPTIONS
    return [{c: r.values.get(c) for c in keep} for r in matching(year, centres)]


def expected_defects(year: int, centres: str | list[str] | None = None) -> int:
    """How many of those rows our mapping must reject (one problem each)."""
    return sum(1 for r in matching(year, centres) if r.defect)
