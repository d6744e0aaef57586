"""Values the Sync form suggests for a provider's filters (as a `<datalist>`).

Each provider says where its suggestions come from (`filter_choices` on its class); this
module hands it the one source it may use cheaply, the values stored in the module's
entries, and bounds and caches the answer. The module page is opened after every form
post and the read may scan 50,000 entries, so the answer is kept briefly, per module and
per state of the provider's last job (a new load shows new values at once).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from webapp.extensions import db
from webapp.ingestion.providers import registry
from webapp.ingestion.providers.filters import ProviderFilter
from webapp.models import Module
from webapp.models.jobs import TargetType

MAX_CHOICES = 500  # values one datalist offers
# Entries read at most per lookup: bounds its time whatever the module holds (an index
# range scan of the module's slice; a value seen only past that many rows is not offered).
MAX_ROWS_READ = 50_000
KEEP_S = 60.0  # how long an answer is reused (another process may have loaded since)
MAX_KEPT = 256  # answers kept at once

_kept: dict[tuple, tuple[float, dict[str, list[str]]]] = {}
_lock = threading.Lock()


def filter_choices(module: Module, provider_type: str,
                   target_type: str = TargetType.DATA_ENTRIES) -> dict[str, list[str]]:
    """{filter name: values to suggest, sorted} for one provider on one module."""
    cls = registry.providers_for(module.module_type, target_type).get(
        (provider_type, target_type))
    if cls is None or not cls.filters:
        return {}
    badge = (module.last_sync_status or {}).get(f"{provider_type}:{target_type}") or {}
    key = (module.id, provider_type, target_type, badge.get("last_job_id"),
           badge.get("status"), badge.get("last_run"))
    found = _recall(key)
    if found is None:
        def stored(data_key: str) -> list[str]:
            return stored_values(module.id, module.year, provider_type, data_key)

        found = {declared.name: _suggestable(declared, cls.filter_choices(declared, stored))
                 for declared in cls.filters}
        _keep(key, found)
    return found


def stored_values(module_id: int, year: int, source: str, data_key: str,
                  limit: int = MAX_CHOICES) -> list[str]:
    """The most frequent values of `data_key` in the module's entries from `source`, at most
    `limit` of them, read from at most MAX_ROWS_READ entries."""
    rows = db.session.execute(text(
        "SELECT v FROM (SELECT data ->> :key AS v FROM data_entries "
        "WHERE module_id = :module AND year = :year AND source = :source LIMIT :rows) s "
        "WHERE v <> '' GROUP BY v ORDER BY count(*) DESC, v LIMIT :limit"),
        {"key": data_key, "module": module_id, "year": year, "source": source,
         "rows": MAX_ROWS_READ, "limit": limit})
    return [value for (value,) in rows]


def _suggestable(declared: ProviderFilter, values: list[str]) -> list[str]:
    """Only values a request may send, at most MAX_CHOICES, in the order people scan."""
    return sorted({v for v in values[:MAX_CHOICES] if declared.accepts(v)})


def _recall(key: tuple) -> dict[str, list[str]] | None:
    with _lock:
        kept = _kept.get(key)
    if kept is None or time.monotonic() - kept[0] > KEEP_S:
        return None
    return kept[1]


def _keep(key: tuple, choices: dict[str, list[str]]) -> None:
    with _lock:
        if len(_kept) >= MAX_KEPT:  # the oldest answers go first
            for old in sorted(_kept, key=lambda k: _kept[k][0])[:MAX_KEPT // 4]:
                del _kept[old]
        _kept[key] = (time.monotonic(), choices)
