"""How each entry type's kg CO2eq is found: one declaration per entry type (SPEC §10).

A rule is SQL fragments that `statements.py` assembles into one set-based UPDATE:

- `keys`: what the factor choice depends on, read from an entry `e` (`e.year`, some of
  `e.data`). Entries repeat these a lot (a million flights use a few thousand airport
  pairs), so the factor is chosen once per distinct key, not once per entry.
- `joins`, `factor_id`, `rate`, `reason` (and extra `columns`): over one key `k` and the
  factors `f` of the rule's factor type (`factors`: id, year, c = classification,
  v = values), the chosen factor, kg CO2eq per unit of quantity, and why there is none.
  The rate is NULL whenever the reason is not.
- `quantity`, `quantity_reason`, `distance`, `emission_fields`: per entry, over `e` and
  its resolved key `r`: how many units (NULL when it cannot be known, then
  `quantity_reason` says why), and what the entry's `emission` record carries.

Adding an entry type is one declaration here; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Shared per-entry fragments.
_TRIPS = "coalesce((e.data->>'number_of_trips')::int, 1)"
_ROUND_TRIP = "(CASE WHEN e.data->'round_trip' = 'true' THEN 2 ELSE 1 END)"
_NUMBER = "(e.data->>'{}')::float8"
_KM = "to_char({}, 'FM999,999,999,990')"  # "6,296", as the reasons show distances

EARTH_RADIUS_KM = 6371
PLANE_EXTRA_KM = 95  # added to the great-circle distance: detours, holding, approach

# Haversine; least() keeps rounding from taking asin past 1 near antipodes, and it
# ignores NULLs, hence the CASE: an unknown airport leaves the distance NULL.
_GREAT_CIRCLE = f"""CASE WHEN o.iata IS NOT NULL AND d.iata IS NOT NULL THEN
    {PLANE_EXTRA_KM} + 2 * {EARTH_RADIUS_KM} * asin(least(1, sqrt(
        sin(radians(d.lat - o.lat) / 2) ^ 2
        + cos(radians(o.lat)) * cos(radians(d.lat)) * sin(radians(d.lon - o.lon) / 2) ^ 2)))
    END"""


@dataclass(frozen=True)
class EmissionRule:
    entry_type: str
    module_type: str
    factor_type: str  # factor_types.slug
    # In words, for pages and the README (SPEC §10's table).
    quantity_text: str
    factor_text: str
    formula_text: str
    # SQL (see the module docstring).
    keys: tuple[tuple[str, str], ...]
    joins: str
    factor_id: str
    rate: str
    reason: str
    quantity: str
    quantity_reason: str = "NULL"
    distance: str = "NULL"
    columns: tuple[tuple[str, str], ...] = ()
    emission_fields: tuple[tuple[str, str], ...] = field(default=())


PLANE = EmissionRule(
    "plane", "travel", "plane",
    quantity_text="one-way distance: great-circle distance between the airports + 95 km "
                  "(haversine, R = 6371 km, airports from the airportsdata package); "
                  "the entry's distance_km replaces it (no +95)",
    factor_text="cabin_class, and the band [min_distance, max_distance) holding the "
                "distance (an empty bound is open)",
    formula_text="distance × number_of_trips × (2 if round_trip) × ef_kg_co2eq_per_km × "
                 "(rfi_adjustment or 1)",
    keys=(("year", "e.year"), ("cabin_class", "e.data->>'cabin_class'"),
          ("origin", "e.data->>'origin_iata'"), ("destination", "e.data->>'destination_iata'"),
          ("given_km", _NUMBER.format("distance_km"))),
    joins=f"""
        LEFT JOIN airports o ON o.iata = k.origin
        LEFT JOIN airports d ON d.iata = k.destination
        CROSS JOIN LATERAL (SELECT coalesce(k.given_km, {_GREAT_CIRCLE}) AS km) m
        LEFT JOIN LATERAL (
            SELECT f.id, (f.v->>'ef_kg_co2eq_per_km')::float8
                         * coalesce((f.v->>'rfi_adjustment')::float8, 1) AS rate
            FROM factors f
            WHERE f.year = k.year AND f.c->>'cabin_class' = k.cabin_class
              AND m.km >= coalesce((f.v->>'min_distance')::float8, 0)
              AND (f.v->>'max_distance' IS NULL OR m.km < (f.v->>'max_distance')::float8)
            -- overlapping bands: the one starting nearest below the distance
            ORDER BY (f.v->>'min_distance')::float8 DESC NULLS LAST, f.id
            LIMIT 1) f ON true""",
    factor_id="f.id",
    rate="f.rate",
    reason=f"""CASE
        WHEN m.km IS NULL AND o.iata IS NULL AND d.iata IS NULL AND k.origin <> k.destination
            THEN format('unknown airport codes %L and %L', k.origin, k.destination)
        WHEN m.km IS NULL AND o.iata IS NULL
            THEN format('unknown airport code %L', coalesce(k.origin, ''))
        WHEN m.km IS NULL
            THEN format('unknown airport code %L', coalesce(k.destination, ''))
        WHEN f.id IS NULL THEN format('no plane factor for %s at %s km in %s',
            coalesce(replace(k.cabin_class, '_', ' '), '(no cabin class)'), {_KM.format('m.km')},
            k.year)
        END""",
    columns=(("distance_km", "m.km"),),
    quantity=f"r.distance_km * {_TRIPS} * {_ROUND_TRIP}",
    distance="r.distance_km",
)

TRAIN = EmissionRule(
    "train", "travel", "train",
    quantity_text="the entry's distance_km (not computed: no distance, no emissions)",
    factor_text="country_code: the destination's, else the origin's, else RoW",
    formula_text="distance_km × number_of_trips × (2 if round_trip) × ef_kg_co2eq_per_km",
    # The distance is part of the key only so that the emission record (which names
    # it) is built once per key rather than once per entry (statements.py).
    keys=(("year", "e.year"), ("origin", "e.data->>'origin_country_code'"),
          ("destination", "e.data->>'destination_country_code'"),
          ("given_km", _NUMBER.format("distance_km"))),
    joins="""
        LEFT JOIN LATERAL (
            SELECT f.id, (f.v->>'ef_kg_co2eq_per_km')::float8 AS rate
            FROM factors f
            WHERE f.year = k.year AND f.c->>'country_code' IN (k.destination, k.origin, 'RoW')
            ORDER BY CASE f.c->>'country_code' WHEN k.destination THEN 0
                                               WHEN k.origin THEN 1 ELSE 2 END, f.id
            LIMIT 1) f ON true""",
    factor_id="f.id",
    rate="f.rate",
    reason="""CASE WHEN f.id IS NULL THEN format('no train factor in %s for %s', k.year,
        concat_ws(' or ', nullif(concat_ws(', ', k.destination,
                                           nullif(k.origin, k.destination)), ''), 'RoW'))
        END""",
    columns=(("distance_km", "k.given_km"),),
    quantity=f"r.distance_km * {_TRIPS} * {_ROUND_TRIP}",
    quantity_reason="'no distance_km: train distances are not computed, give them in the "
                    "file'",
    distance="r.distance_km",
)

_ACTIVE_H = _NUMBER.format("active_usage_hours_per_week")
_STANDBY_H = _NUMBER.format("standby_usage_hours_per_week")
_HAS_HOURS = ("(e.data ? 'active_usage_hours_per_week' "
              "OR e.data ? 'standby_usage_hours_per_week')")
# A power the factor lacks only matters for hours that are not zero.
_KWH = (f"(CASE WHEN coalesce({_ACTIVE_H}, 0) = 0 THEN 0 ELSE {_ACTIVE_H} * r.active_w END"
        f" + CASE WHEN coalesce({_STANDBY_H}, 0) = 0 THEN 0 ELSE {_STANDBY_H} * r.standby_w END"
        ") * 52 / 1000")

EQUIPMENT = EmissionRule(
    "equipment", "equipment", "equipment",
    quantity_text="kWh a year = (active h/week × active_power_w + standby h/week × "
                  "standby_power_w) × 52 / 1000, the powers from the factor",
    factor_text="(equipment_class, sub_class), else (equipment_class, empty sub_class)",
    formula_text="kWh × ef_kg_co2eq_per_kwh",
    keys=(("year", "e.year"), ("class", "e.data->>'equipment_class'"),
          ("sub_class", "coalesce(e.data->>'sub_class', '')")),
    joins="""
        LEFT JOIN LATERAL (
            SELECT f.id, f.v FROM factors f
            WHERE f.year = k.year AND f.c->>'equipment_class' = k.class
              AND coalesce(f.c->>'sub_class', '') IN (k.sub_class, '')
            ORDER BY coalesce(f.c->>'sub_class', '') = '', f.id  -- the exact sub-class first
            LIMIT 1) f ON true""",
    factor_id="f.id",
    rate="(f.v->>'ef_kg_co2eq_per_kwh')::float8",
    reason="""CASE WHEN f.id IS NULL THEN format('no equipment factor in %s for class %L %s',
        k.year, coalesce(k.class, ''), CASE WHEN k.sub_class = '' THEN 'without sub-class'
        ELSE format('with sub-class %L or without sub-class', k.sub_class) END) END""",
    columns=(("active_w", "(f.v->>'active_power_w')::float8"),
             ("standby_w", "(f.v->>'standby_power_w')::float8")),
    quantity=f"CASE WHEN {_HAS_HOURS} THEN {_KWH} END",
    quantity_reason=f"""CASE
        WHEN NOT {_HAS_HOURS} THEN 'no usage hours: give active_usage_hours_per_week or '
                                   || 'standby_usage_hours_per_week'
        ELSE format('the equipment factor for class %L in %s has no %s',
                    e.data->>'equipment_class', e.year,
                    CASE WHEN r.active_w IS NULL AND {_ACTIVE_H} > 0 THEN 'active_power_w'
                         ELSE 'standby_power_w' END) END""",
)

PURCHASE = EmissionRule(
    "purchase", "purchases", "purchase",
    quantity_text="total_spent_amount",
    factor_text="(purchase_institutional_code, currency)",
    formula_text="total_spent_amount × ef_kg_co2eq_per_currency",
    keys=(("year", "e.year"), ("code", "e.data->>'purchase_institutional_code'"),
          ("currency", "e.data->>'currency'")),
    joins="""
        LEFT JOIN LATERAL (
            SELECT f.id, (f.v->>'ef_kg_co2eq_per_currency')::float8 AS rate
            FROM factors f
            WHERE f.year = k.year AND f.c->>'purchase_institutional_code' = k.code
              AND f.c->>'currency' = k.currency
            ORDER BY f.id LIMIT 1) f ON true""",
    factor_id="f.id",
    rate="f.rate",
    reason="""CASE
        WHEN k.currency IS NULL THEN format('no currency: the purchase factor for code %L '
                                            || 'depends on it', coalesce(k.code, ''))
        WHEN f.id IS NULL THEN format('no purchase factor for code %L in %s in %s',
                                      coalesce(k.code, ''), k.currency, k.year) END""",
    quantity=_NUMBER.format("total_spent_amount"),
    quantity_reason="'no total_spent_amount'",
)

MEMBER = EmissionRule(
    "member", "headcount", "headcount",
    quantity_text="fte",
    factor_text="every headcount factor whose headcount_category equals the entry's "
                "position_category (case-insensitive), summed over its classes",
    formula_text="fte × Σ ef_kg_co2eq_per_unit",
    keys=(("year", "e.year"), ("category", "lower(e.data->>'position_category')")),
    joins="""
        CROSS JOIN LATERAL (
            SELECT array_agg(f.id ORDER BY f.id) AS ids,
                   sum((f.v->>'ef_kg_co2eq_per_unit')::float8) AS rate
            FROM factors f
            WHERE f.year = k.year AND lower(f.c->>'headcount_category') = k.category) f""",
    factor_id="CASE WHEN cardinality(f.ids) = 1 THEN f.ids[1] END",
    rate="f.rate",
    reason="""CASE WHEN f.ids IS NULL THEN format('no headcount factor for category %L in %s',
        coalesce(k.category, ''), k.year) END""",
    columns=(("factor_ids", "to_jsonb(f.ids)"),),
    quantity=_NUMBER.format("fte"),
    quantity_reason="'no fte'",
    emission_fields=(("factor_ids", "r.factor_ids"),),
)

RULES: dict[str, EmissionRule] = {
    rule.entry_type: rule for rule in (PLANE, TRAIN, EQUIPMENT, PURCHASE, MEMBER)
}
