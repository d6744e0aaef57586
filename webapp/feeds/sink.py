"""The rows of an institution-wide sync into many modules, in the job's one transaction:
the same COPY and undo copy as a unit's load (loading/sinks.py), with each row's module
taken from its route, and the slices of every unit cleared by one statement per entry
type."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import orjson

from webapp.feeds.routes import UnitRoutes
from webapp.ingestion.loading.sinks import EntrySink, _copy_fields, _copy_text, adjust_entry_counts


class RoutedEntrySink(EntrySink):
    """Replaces the provider's slice of every routed unit's module: on the first row of an
    entry type, that entry type's rows of the provider in all of them (narrowed to the
    request's filters) go, so a unit the source no longer lists is emptied too, once the
    job commits. Rows carry `_target` (routes.Target), set by the provider's routing.
    Counts (`net`, `replaced`) are kept per (module, entry type)."""

    def __init__(self, conn, *, routes: UnitRoutes, **kwargs: Any):
        super().__init__(conn, inventory_id=None, module_id=None, **kwargs)
        self.routes = routes
        self._heads: dict[tuple[int, str], bytes] = {}
        self.skipped: Counter[int] = Counter()  # rows refused, by module of their unit

    def skipped_in(self, target) -> None:
        """One more row of `target`'s unit refused (the provider's row errors)."""
        self.skipped[target.module_id] += 1

    def _modules(self) -> tuple[str, list[Any]]:
        return "module_id = ANY(%s)", [self.routes.module_ids]

    def _delete_slice(self, entry_type: str) -> None:
        where, params = self._slice(entry_type)
        gone = self.conn.execute(
            f"WITH gone AS (DELETE FROM data_entries WHERE {where} RETURNING module_id) "
            "SELECT module_id, count(*) FROM gone GROUP BY module_id", params).fetchall()
        if self._undo is not None and gone:
            self._undo.start(where, params)
        for module_id, deleted in gone:
            self.replaced[(module_id, entry_type)] += deleted
            self.net[(module_id, entry_type)] -= deleted

    def _head(self, module_id: int, inventory_id: int, entry_type: str) -> bytes:
        key = (module_id, entry_type)
        head = self._heads.get(key)
        if head is None:
            head = self._heads[key] = (_copy_fields(inventory_id, module_id, self.year)
                                       + b"\t" + _copy_text(entry_type))
        return head

    def stage(self, rows: list[dict[str, Any]]) -> int:
        per_key: Counter[tuple[int, str]] = Counter()
        lines = []
        tail = self._line_end
        for row in rows:
            target, entry_type = row["_target"], row["entry_type"]
            per_key[(target.module_id, entry_type)] += 1
            kg_co2eq = row.get("kg_co2eq")
            lines.append(b"%b\t%b\t%b\t%b" % (
                self._head(target.module_id, target.inventory_id, entry_type),
                orjson.dumps(row["data"]).replace(b"\\", b"\\\\"),
                b"\\N" if kg_co2eq is None else b"%r" % float(kg_co2eq), tail))
        entry_types = {entry_type for _, entry_type in per_key}
        new_entry_types = sorted(entry_types - self.cleared)
        self.cleared.update(new_entry_types)
        self._loader.submit((new_entry_types, per_key, b"".join(lines)))
        self.inserted += len(rows)
        return len(rows)

    def finish(self, entry_types: set[str]) -> dict[str, Any]:
        return {**super().finish(entry_types), "by_unit": self.by_unit()}

    def by_unit(self) -> dict[str, dict[str, int]]:
        """{unit code: {inserted, deleted, skipped, module_id}} of every unit the job
        changed or refused rows of."""
        deleted: Counter[int] = Counter()
        inserted: Counter[int] = Counter()
        for (module_id, _), n in self.replaced.items():
            deleted[module_id] += n
        for (module_id, _), n in self.net.items():
            inserted[module_id] += n
        touched = set(deleted) | set(inserted) | set(self.skipped)
        codes = self.routes.codes_of(touched)
        return {codes[m]: {"inserted": inserted[m] + deleted[m], "deleted": deleted[m],
                           "skipped": self.skipped[m], "module_id": m}
                for m in sorted(touched, key=codes.get)}

    def _by_entry_type(self, counts: Counter) -> Counter[str]:
        """Summed over the units: an entry type losing more than half its rows across
        every unit needs confirming, as one unit's does."""
        summed: Counter[str] = Counter()
        for (_, entry_type), n in counts.items():
            summed[entry_type] += n
        return summed

    def _store_counts(self) -> None:
        per_module: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
        for (module_id, entry_type), n in self.net.items():
            per_module[module_id][(entry_type, self.source)] = n
        for module_id, changes in sorted(per_module.items()):
            adjust_entry_counts(self.conn, module_id, changes)
