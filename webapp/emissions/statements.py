"""The SQL of a recalculation, assembled from the rules (`rules.py`).

Every statement takes `%(module_id)s`. An entry is the recalculation's to compute when
it has no figure yet or its figure was computed; a figure the source gave (`kg_co2eq`
loaded from the file or Tableau) is kept, and only marked as the source's the first
time (`method` 'source'). Each entry type is one statement: its rule's, or the one for
types without a rule, run only for the types the module holds. Rows whose result did
not change are not written at all, so a rerun with nothing new costs a read of the
module, not a rewrite of it.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import NamedTuple

from webapp.emissions.rules import EmissionRule

# The SQL fields of a rule; each is text, or pairs of (name, text).
_SQL_FIELDS = ("keys", "joins", "factor_id", "rate", "reason", "columns", "quantity",
               "quantity_reason", "distance", "emission_fields")
OURS = "(e.kg_co2eq IS NULL OR e.emission->>'method' = 'computed')"
# A figure the source gave that no recalculation has marked yet.
UNMARKED = "(e.kg_co2eq IS NOT NULL AND e.emission IS NULL)"
_MODULE = "e.module_id = %(module_id)s"


def _emission(method: str, factor_id: str, distance: str, reason: str,
              extra: tuple[tuple[str, str], ...] = ()) -> str:
    fields = [("method", method), ("factor_id", factor_id), ("distance_km", distance),
              ("missing_reason", reason), *extra]
    return "jsonb_build_object(" + ", ".join(f"'{name}', {sql}" for name, sql in fields) + ")"


def _escaped(sql: str | tuple[tuple[str, str], ...]) -> str | tuple[tuple[str, str], ...]:
    """A rule's fragment (they take no parameters) made safe beside `%(module_id)s`:
    its own `%` (format()'s %s and %L) must reach PostgreSQL as they are."""
    if isinstance(sql, str):
        return sql.replace("%", "%%")
    return tuple((name, text.replace("%", "%%")) for name, text in sql)


KEYS_TABLE = "emission_keys"


class RuleStatements(NamedTuple):
    """Run in order, after `entry_keys_statement`: `resolve` writes one row per distinct
    key into the temporary KEYS_TABLE (then ANALYZE it: the planner must know it is
    small, or it sorts a million entries to merge-join them with it), `update` writes
    the entries from it."""

    resolve: str
    update: str


_READS_ENTRY = re.compile(r"\be\.")
ENTRY_KEYS_TABLE = "entry_keys"


def _key_column(rule: EmissionRule, name: str) -> str:
    return f"{rule.entry_type}__{name}"


def entry_keys_statement(rules: list[EmissionRule]) -> str:
    """Every rule's distinct keys, in one pass over the module (`%(ruled)s`: the entry
    types to read) into ENTRY_KEYS_TABLE: a column per rule and key, filled for the
    entries of that rule's type. One scan instead of one per rule."""
    columns = ", ".join(
        f"CASE WHEN e.entry_type = '{rule.entry_type}' THEN {_escaped(sql)} END "
        f"AS {_key_column(rule, name)}" for rule in rules for name, sql in rule.keys)
    return f"""
        CREATE TEMPORARY TABLE {ENTRY_KEYS_TABLE} ON COMMIT DROP AS
        SELECT DISTINCT e.entry_type, {columns}
        FROM data_entries e
        WHERE {_MODULE} AND e.entry_type = ANY(%(ruled)s) AND ({OURS} OR {UNMARKED})"""


def rule_statements(rule: EmissionRule) -> RuleStatements:
    """The statements computing `kg_co2eq` and `emission` of every entry of `rule`'s type.

    An entry's `emission` record depends on its resolved key and on whether its quantity
    is known, and, for some rules, on the entry itself (a train's own distance, an
    equipment's hours in the reason). When the rule's `distance` and `quantity_reason`
    read nothing of the entry, both possible records are built once per key by the
    resolve step, and each entry only picks one: building a JSON record per entry, twice
    (once to compare it, once to write it), was about half of a recalculation.
    """
    rule = replace(rule, **{name: _escaped(getattr(rule, name)) for name in _SQL_FIELDS})
    names = [name for name, _ in rule.keys]
    scope = f"{_MODULE} AND e.entry_type = '{rule.entry_type}' AND ({OURS} OR {UNMARKED})"
    columns = "".join(f", {sql} AS {name}" for name, sql in rule.columns)
    quantity = f"({rule.quantity})"
    kg = f"r.rate * {quantity}"
    # The key as a record's text: NULL-safe ('(2025,,GVA)' has no cabin class, '(2025,"",GVA)'
    # an empty one) and less than half the cost of a JSON array per entry (measured).
    key = f"r.key = row({', '.join(sql for _, sql in rule.keys)})::text"
    resolved = f"""
        WITH factors AS NOT MATERIALIZED (
            SELECT f.id, f.year, f.classification AS c, f.values AS v
            FROM emission_factors f
            WHERE f.factor_type_id = (SELECT id FROM factor_types
                                      WHERE slug = '{rule.factor_type}')),
        keys AS (
            SELECT {", ".join(f"{_key_column(rule, name)} AS {name}" for name in names)}
            FROM {ENTRY_KEYS_TABLE} WHERE entry_type = '{rule.entry_type}'),
        resolved AS (
            SELECT row({", ".join(f"k.{name}" for name in names)})::text AS key,
                   {rule.factor_id} AS factor_id, {rule.rate} AS rate,
                   {rule.reason} AS reason{columns}
            FROM keys k {rule.joins})"""
    if _READS_ENTRY.search(rule.distance) or _READS_ENTRY.search(rule.quantity_reason):
        found = f"{kg} IS NOT NULL"  # the factors are named only when they were used
        reason = (f"coalesce(r.reason, CASE WHEN {quantity} IS NULL "
                  f"THEN {rule.quantity_reason} END)")
        emission = _record(rule, found, reason)
        return RuleStatements(
            f"CREATE TEMPORARY TABLE {KEYS_TABLE} ON COMMIT DROP AS {resolved} "
            "SELECT * FROM resolved",
            _update(scope, key, kg, emission))
    # Once per key: the record when the quantity is known, and when it is not.
    known = _record(rule, "r.rate IS NOT NULL", "r.reason")
    unknown = _record(rule, "false", f"coalesce(r.reason, {rule.quantity_reason})")
    resolve = (f"CREATE TEMPORARY TABLE {KEYS_TABLE} ON COMMIT DROP AS {resolved} "
               f"SELECT r.*, {known} AS if_known, {unknown} AS if_unknown FROM resolved r")
    emission = f"CASE WHEN {quantity} IS NULL THEN r.if_unknown ELSE r.if_known END"
    return RuleStatements(resolve, _update(scope, key, kg, emission))


def _record(rule: EmissionRule, found: str, reason: str) -> str:
    """An entry's `emission` record, over its resolved key `r`: the factor is named, and
    the method is 'computed', only when `found`."""
    extra = tuple((name, f"CASE WHEN {found} THEN {sql} END")
                  for name, sql in rule.emission_fields)
    return _emission(f"CASE WHEN {found} THEN 'computed' END",
                     f"CASE WHEN {found} THEN r.factor_id END", rule.distance, reason, extra)


def _update(scope: str, key: str, kg: str, emission: str) -> str:
    return f"""
        UPDATE data_entries e
        SET kg_co2eq = CASE WHEN {UNMARKED} THEN e.kg_co2eq ELSE {kg} END,
            emission = CASE WHEN {UNMARKED} THEN {SOURCE} ELSE {emission} END
        FROM {KEYS_TABLE} r
        WHERE {scope} AND {key}
          -- never computed (just loaded): written without building its result twice
          AND (e.emission IS NULL
               OR (e.kg_co2eq, e.emission) IS DISTINCT FROM ({kg}, {emission}))"""


SOURCE = _emission("'source'", "NULL", "NULL", "NULL")


def unruled_statement() -> str:
    """Entries of the types `%(unruled)s`, which no rule knows: no figure, and the
    reason says so; a figure the source gave is kept and marked as the source's."""
    reason = "format('no emission rule for entry type %%L', e.entry_type)"
    no_rule = _emission("NULL", "NULL", "NULL", reason)
    return f"""
        UPDATE data_entries e
        SET kg_co2eq = CASE WHEN {UNMARKED} THEN e.kg_co2eq END,
            emission = CASE WHEN {UNMARKED} THEN {SOURCE} ELSE {no_rule} END
        WHERE {_MODULE} AND e.entry_type = ANY(%(unruled)s)
          AND ({UNMARKED} OR ({OURS}
                              AND (e.kg_co2eq, e.emission) IS DISTINCT FROM (NULL, {no_rule})))"""


# The entry types a module holds, found in a few steps down the slice index (module_id,
# year, source, entry_type) rather than by reading its entries: a loose index scan.
ENTRY_TYPES_STATEMENT = """
    WITH RECURSIVE slices AS (
        (SELECT year, source, entry_type FROM data_entries WHERE module_id = %(module_id)s
         ORDER BY year, source, entry_type LIMIT 1)
        UNION ALL
        SELECT n.* FROM slices s CROSS JOIN LATERAL (
            SELECT year, source, entry_type FROM data_entries
            WHERE module_id = %(module_id)s
              AND (year, source, entry_type) > (s.year, s.source, s.entry_type)
            ORDER BY year, source, entry_type LIMIT 1) n)
    SELECT DISTINCT entry_type FROM slices"""


# Shown for an entry the module's last recalculation has not seen (loaded since).
NOT_CALCULATED = "not calculated yet"

GROUPS_TABLE = "emission_groups"

# One scan of the module: entries, figures and totals per entry type and missing reason,
# into a temporary table. Written alone (CREATE TABLE AS) the scan may run in parallel,
# which it may not inside the INSERT below: half the time on 2 cores (measured).
GROUPS_STATEMENT = f"""
    CREATE TEMPORARY TABLE {GROUPS_TABLE} ON COMMIT DROP AS
    SELECT entry_type, reason, count(*) AS entries, count(kg_co2eq) AS with_emissions,
           coalesce(sum(kg_co2eq), 0) AS kg
    FROM (SELECT e.entry_type, e.kg_co2eq,
                 CASE WHEN e.kg_co2eq IS NULL THEN coalesce(
                     e.emission->>'missing_reason', '{NOT_CALCULATED}') END AS reason
          FROM data_entries e WHERE {_MODULE}) e
    GROUP BY entry_type, reason"""

SUMMARY_STATEMENT = f"""
    WITH types AS (
        SELECT entry_type, sum(entries)::bigint AS entries,
               sum(with_emissions)::bigint AS with_emissions, sum(kg) AS kg
        FROM {GROUPS_TABLE} GROUP BY entry_type),
    reasons AS (
        SELECT reason, sum(entries)::bigint AS entries FROM {GROUPS_TABLE}
        WHERE reason IS NOT NULL GROUP BY reason)
    INSERT INTO module_emission_summaries AS s
        (module_id, total_kg_co2eq, entries, entries_with_emissions, by_entry_type,
         missing, missing_reasons, job_id, recalculated_at)
    SELECT %(module_id)s,
           (SELECT coalesce(sum(kg), 0) FROM types),
           (SELECT coalesce(sum(entries), 0) FROM types),
           (SELECT coalesce(sum(with_emissions), 0) FROM types),
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'entry_type', entry_type, 'entries', entries,
                'entries_with_emissions', with_emissions, 'kg_co2eq', kg)
                ORDER BY entry_type), '[]') FROM types),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('reason', reason, 'entries', entries)
                ORDER BY entries DESC, reason), '[]')
            FROM (SELECT * FROM reasons ORDER BY entries DESC, reason
                  LIMIT %(reasons_kept)s) kept),
           (SELECT count(*) FROM reasons),
           %(job_id)s, now()
    ON CONFLICT (module_id) DO UPDATE SET
        total_kg_co2eq = excluded.total_kg_co2eq, entries = excluded.entries,
        entries_with_emissions = excluded.entries_with_emissions,
        by_entry_type = excluded.by_entry_type, missing = excluded.missing,
        missing_reasons = excluded.missing_reasons, job_id = excluded.job_id,
        recalculated_at = excluded.recalculated_at"""
