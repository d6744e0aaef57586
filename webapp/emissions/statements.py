"""The SQL of a recalculation, assembled from the rules (`rules.py`).

Every statement takes `%(module_id)s`. An entry is the recalculation's to write when it
has no figure yet or its figure was computed; a figure the source gave (`kg_co2eq`
loaded from the file or Tableau, so `emission` still NULL or `method` 'source') is
never touched. Rows whose result did not change are not written at all, so a rerun with
nothing new costs a read of the module, not a rewrite of it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from webapp.emissions.rules import EmissionRule

# The SQL fields of a rule; each is text, or pairs of (name, text).
_SQL_FIELDS = ("keys", "joins", "factor_id", "rate", "reason", "columns", "quantity",
               "quantity_reason", "distance", "emission_fields")
OURS = "(e.kg_co2eq IS NULL OR e.emission->>'method' = 'computed')"
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
    """Run in order: `resolve` writes one row per distinct key into the temporary
    KEYS_TABLE (then ANALYZE it: the planner must know it is small, or it sorts a
    million entries to merge-join them with it), `update` writes the entries from it."""

    resolve: str
    update: str


def rule_statements(rule: EmissionRule) -> RuleStatements:
    """The statements computing `kg_co2eq` and `emission` of every entry of `rule`'s type."""
    rule = replace(rule, **{name: _escaped(getattr(rule, name)) for name in _SQL_FIELDS})
    names = [name for name, _ in rule.keys]
    scope = f"{_MODULE} AND e.entry_type = '{rule.entry_type}' AND {OURS}"
    columns = "".join(f", {sql} AS {name}" for name, sql in rule.columns)
    quantity = f"({rule.quantity})"
    kg = f"r.rate * {quantity}"
    reason = f"coalesce(r.reason, CASE WHEN {quantity} IS NULL THEN {rule.quantity_reason} END)"
    found = f"{kg} IS NOT NULL"  # the factors are named only when they were used
    extra = tuple((name, f"CASE WHEN {found} THEN {sql} END")
                  for name, sql in rule.emission_fields)
    emission = _emission(f"CASE WHEN {found} THEN 'computed' END",
                         f"CASE WHEN {found} THEN r.factor_id END", rule.distance, reason, extra)
    resolve = f"""
        CREATE TEMPORARY TABLE {KEYS_TABLE} ON COMMIT DROP AS
        WITH factors AS NOT MATERIALIZED (
            SELECT f.id, f.year, f.classification AS c, f.values AS v
            FROM emission_factors f
            WHERE f.factor_type_id = (SELECT id FROM factor_types
                                      WHERE slug = '{rule.factor_type}')),
        keys AS (
            SELECT DISTINCT {", ".join(f"{sql} AS {name}" for name, sql in rule.keys)}
            FROM data_entries e WHERE {scope})
        SELECT jsonb_build_array({", ".join(f"k.{name}" for name in names)}) AS key,
               {rule.factor_id} AS factor_id, {rule.rate} AS rate,
               {rule.reason} AS reason{columns}
        FROM keys k {rule.joins}"""
    update = f"""
        UPDATE data_entries e SET kg_co2eq = {kg}, emission = {emission}
        FROM {KEYS_TABLE} r
        WHERE {scope}
          AND r.key = jsonb_build_array({", ".join(sql for _, sql in rule.keys)})
          -- never computed (just loaded): written without building its result twice
          AND (e.emission IS NULL
               OR (e.kg_co2eq, e.emission) IS DISTINCT FROM ({kg}, {emission}))"""
    return RuleStatements(resolve, update)


# A figure loaded with the entry: record where it came from, keep it as it is.
SOURCE_STATEMENT = f"""
    UPDATE data_entries e
    SET emission = {_emission("'source'", "NULL", "NULL", "NULL")}
    WHERE {_MODULE} AND e.kg_co2eq IS NOT NULL AND e.emission IS NULL"""


def unruled_statement(entry_types: list[str]) -> str:
    """Entries of a type no rule knows: no figure, and the reason says so."""
    known = ", ".join(f"'{entry_type}'" for entry_type in entry_types)
    reason = "format('no emission rule for entry type %%L', e.entry_type)"
    emission = _emission("NULL", "NULL", "NULL", reason)
    return f"""
        UPDATE data_entries e SET kg_co2eq = NULL, emission = {emission}
        WHERE {_MODULE} AND e.entry_type NOT IN ({known}) AND {OURS}
          AND (e.kg_co2eq, e.emission) IS DISTINCT FROM (NULL, {emission})"""


# Shown for an entry the module's last recalculation has not seen (loaded since).
NOT_CALCULATED = "not calculated yet"

# One scan of the module: totals per entry type and counts per missing reason together.
SUMMARY_STATEMENT = f"""
    WITH groups AS (
        SELECT entry_type, reason, GROUPING(entry_type) AS by_reason,
               count(*) AS entries, count(kg_co2eq) AS with_emissions,
               coalesce(sum(kg_co2eq), 0) AS kg
        FROM (SELECT e.entry_type, e.kg_co2eq,
                     CASE WHEN e.kg_co2eq IS NULL THEN coalesce(
                         e.emission->>'missing_reason', '{NOT_CALCULATED}') END AS reason
              FROM data_entries e WHERE {_MODULE}) e
        GROUP BY GROUPING SETS ((entry_type), (reason))),
    types AS (SELECT * FROM groups WHERE by_reason = 0),
    reasons AS (SELECT * FROM groups WHERE by_reason = 1 AND reason IS NOT NULL)
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
