"""The provider contract and the one ingestion lifecycle every provider shares.

`run_pipeline()` is the template method: it alone moves the job through its states
(through the tracker, which calls the service layer), records progress, row errors and
counts, and turns every exception into a failed job. Providers implement only the
source logic: `validate_connection`, `fetch_data`, `transform_data` and, rarely,
`load_data`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Protocol

from webapp.errors import InvalidRows, JobCancelled, JobFailure, ProviderUnavailable
from webapp.ingestion.providers.filters import ProviderFilter, outside_scope, scope_of
from webapp.text import clip_cell

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class RowError:
    """One rejected row; `row` is the number the user sees (spreadsheet row or source index)."""

    row: int
    column: str
    value: str
    reason: str
    # The cell a spreadsheet upload's error is in, e.g. "Travel!C17"; None for CSV files
    # (row and column say it) and API sources.
    cell: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"row": self.row, "column": self.column, "value": self.value,
                 "reason": self.reason}
        if self.cell:  # only a workbook's errors have one: CSV errors read as they did
            found["cell"] = self.cell
        return found


class JobTracker(Protocol):
    """What the pipeline needs from the service layer (implemented in ingestion/runner.py)."""

    def start(self) -> None: ...
    def progress(self, phase: str, *, fetched: int, processed: int, total: int | None) -> None: ...
    def row_errors(self, errors: list[RowError]) -> None: ...
    def raise_if_cancelled(self) -> None: ...
    def complete(self, counts: dict[str, int], finish_load: Callable[[], dict[str, int]],
                 *, fetched: int, processed: int) -> None: ...
    def fail(self, error: BaseException) -> None: ...


class RowSink(Protocol):
    """Where clean rows go: a staging area inside the job's one data transaction."""

    def stage(self, rows: list[dict[str, Any]]) -> int: ...
    def finish(self, entry_types: set[str]) -> dict[str, int]: ...


# `stored(key)`: the values of `key` in the data of the entries a provider has loaded into
# a module (most frequent first, bounded); see webapp/ingestion/filter_choices.py.
StoredValues = Callable[[str], list[str]]


@dataclass
class ProviderContext:
    """Everything a provider may know about its job. No job rows, and no handle on the
    job's database session: a provider that reads stored data opens its own connection."""

    job_id: int
    module_id: int | None  # None: an institution-wide sync (`routes` says where rows go)
    module_type: str
    inventory_id: int | None
    year: int
    target_type: str
    filters: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    factor_type_id: int | None = None
    factor_type_slug: str | None = None
    # App settings (e.g. TABLEAU_*). Read secrets from here; never copy them elsewhere.
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Opens the uploaded file as a binary stream (CSV providers); None for API providers.
    open_upload: Callable[[], BinaryIO] | None = None
    # Opens a connection of its own to this app's database, for providers whose source
    # is data stored here earlier (copy forward). Never the job's connection: the job's
    # transaction and its writes stay the sink's.
    open_database: Callable[[], psycopg.Connection] | None = None
    log: logging.LoggerAdapter | logging.Logger = field(
        default_factory=lambda: logging.getLogger("webapp.ingestion")
    )
    # An institution-wide sync's routes (webapp/feeds/routes.py): each clean row goes to
    # the module of the unit its `unit_key` names. None for a unit's own sync.
    routes: Any = None


class DataIngestionProvider(ABC):
    """Source logic for one (module type, provider type, target type) combination."""

    provider_name: ClassVar[str]  # csv_upload, tableau_api, ...
    target_type: ClassVar[str]  # data_entries | factors
    label: ClassVar[str] = ""  # human name for pages, e.g. "CSV upload"
    needs_upload: ClassVar[bool] = False
    # Files can be fixed by the user, so they abort by default; API sources cannot.
    default_on_error: ClassVar[str] = "abort"
    # What a request may narrow (see filters.py); a filtered load replaces only its scope.
    filters: ClassVar[tuple[ProviderFilter, ...]] = ()
    # The source is this app's own earlier data, not an outside system: forms list such
    # a provider after the outside sources and never pick it for the user.
    copies_stored_data: ClassVar[bool] = False

    def __init__(self, ctx: ProviderContext, tracker: JobTracker | None = None,
                 sink: RowSink | None = None):
        self.ctx = ctx
        self.tracker = tracker
        self.sink = sink
        self._rejected: list[RowError] = []
        self.errors_total = 0
        self.first_error: RowError | None = None
        self._entry_types_seen: set[str] = set()

    # -- availability ---------------------------------------------------------------
    # The key of a clean row's data that names its unit (a Tableau row's centre
    # financier): an institution-wide sync routes rows by it. None: the provider's rows
    # cannot be routed, so it syncs one unit at a time. `unit_label` names it in errors.
    unit_key: ClassVar[str | None] = None
    unit_label: ClassVar[str] = "unit"

    # A provider configured by the server's settings names their type: a class whose
    # from_mapping(settings) raises ProviderUnavailable, saying what is missing.
    settings_type: ClassVar[Any] = None

    @classmethod
    def unavailable_reason(cls, settings: Mapping[str, Any]) -> str | None:
        """None when the provider can run on this server, else why not (shown to users)."""
        if cls.settings_type is None:
            return None
        try:
            cls.settings_type.from_mapping(settings)
        except ProviderUnavailable as error:
            return error.message
        return None

    @classmethod
    def filter_choices(cls, declared: ProviderFilter, stored: StoredValues) -> list[str]:
        """Values of the filter `declared` worth suggesting in a form, or [] (the default:
        no suggestions). A page waits on this, so it must answer at once: from `stored`,
        or from what the provider knows without asking its source. The caller bounds and
        caches the answer, and drops values the filter would refuse.
        """
        return []

    # -- the plan's lifecycle --------------------------------------------------------
    @abstractmethod
    async def validate_connection(self) -> bool:
        """Check the source is usable before fetching; raise a JobFailure if not."""

    @abstractmethod
    def fetch_data(self, filters: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield raw rows in bounded batches (an async generator), so memory stays flat."""

    @abstractmethod
    async def transform_data(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the clean rows of one batch; report each bad row with `reject()`."""

    async def load_data(self, clean: list[dict[str, Any]]) -> dict[str, int]:
        """Stage one batch of clean rows; the final write happens atomically at the end."""
        assert self.sink is not None
        return {"staged": self.sink.stage(clean)}

    async def close(self) -> None:  # noqa: B027 - optional hook, most providers need none
        """Release source resources (sign out, close files). Always called."""

    # -- helpers for providers -------------------------------------------------------
    def reject(self, row: int, column: str, value: Any, reason: str) -> None:
        """Record a row error. The row is left out of the load and reported to the user."""
        self._rejected.append(RowError(row, column, "" if value is None else str(value), reason,
                                       self.cell_of(row, column)))

    def cell_of(self, row: int, column: str) -> str | None:
        """The cell a row error is in (a spreadsheet upload's, e.g. Travel!C17), or None."""
        return None

    def _within_scope(self, clean: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Reject clean rows outside the request's filters: written, they would survive
        the next sync of their own scope as duplicates. Providers that know their row
        numbers keep them in a clean row's `_row`."""
        scope = scope_of(self.filters, self.ctx.filters)
        if not scope:
            return clean
        kept = []
        for row in clean:
            outside = outside_scope(scope, row.get("data") or {})
            if outside is None:
                kept.append(row)
                continue
            key, value = outside
            declared = next(f for f in self.filters if f.scope == key)
            shown = ", ".join(scope[key][:5]) + (", …" if len(scope[key]) > 5 else "")
            self.reject(row.get("_row", 0), declared.label, value,
                        f"is outside this sync's filter {declared.name} ({shown})")
        return kept

    def _routed(self, clean: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """An institution-wide sync's rows, each with its `_target`; a row naming no
        unit, an unknown or an inactive one is a row error."""
        routes = self.ctx.routes
        if routes is None:
            return clean
        kept = []
        for row in clean:
            code = (row.get("data") or {}).get(self.unit_key)
            target, refusal = routes.target(code)
            if target is None:
                self.reject(row.get("_row", 0), self.unit_label, code, refusal)
            else:
                row["_target"] = target
                kept.append(row)
        return kept

    def units_of(self, raw: list[dict[str, Any]]) -> dict[int, Any]:
        """{row number: the unit code it names} of a batch of raw rows, so that an
        institution-wide sync counts a unit's skipped rows; {} (the default): they count
        for the whole job only."""
        return {}

    def _count_skipped_by_unit(self, units: dict[int, Any], rows: set[int]) -> None:
        if self.ctx.routes is None:
            return
        for row in rows:
            target, _ = self.ctx.routes.target(units.get(row))
            if target is not None:
                self.sink.skipped_in(target)

    def slice_entry_types(self) -> set[str]:
        """Entry types this job replaces (data entries). Providers that know their slice
        even when no row is valid (a CSV of planes) override this."""
        return self._entry_types_seen

    def total_hint(self) -> int | None:
        """Rows expected in all, when the source knows it (for percent and ETA)."""
        return None

    @property
    def on_error(self) -> str:
        return self.ctx.config.get("on_error") or self.default_on_error

    # -- the template method ---------------------------------------------------------
    async def run_pipeline(self) -> None:
        """processing → validate → fetch → transform → load → completed; failed on error."""
        assert self.tracker is not None and self.sink is not None
        tracker = self.tracker
        fetched = processed = 0
        skipped_rows: set[int] = set()
        try:
            tracker.start()
            tracker.progress("validating", fetched=0, processed=0, total=None)
            await self.validate_connection()
            tracker.progress("fetching", fetched=0, processed=0, total=self.total_hint())
            async for raw in self.fetch_data(self.ctx.filters):
                tracker.raise_if_cancelled()
                fetched += len(raw)
                tracker.progress("transforming", fetched=fetched, processed=processed,
                                 total=self.total_hint())
                units = self.units_of(raw) if self.ctx.routes is not None else {}
                clean = self._routed(self._within_scope(await self.transform_data(raw)))
                if self._rejected:
                    self.first_error = self.first_error or self._rejected[0]
                    self._count_skipped_by_unit(units, {e.row for e in self._rejected})
                    skipped_rows.update(e.row for e in self._rejected)
                    self.errors_total += len(self._rejected)
                    tracker.row_errors(self._rejected)
                    self._rejected = []
                if self.errors_total and self.on_error == "abort":
                    continue  # keep validating the whole source so every bad row is reported
                self._entry_types_seen.update(r["entry_type"] for r in clean if "entry_type" in r)
                await self.load_data(clean)
                processed += len(clean)
                tracker.progress("loading", fetched=fetched, processed=processed,
                                 total=self.total_hint())
            tracker.raise_if_cancelled()
            if self.errors_total and (self.on_error == "abort" or not processed):
                # Skip mode too: "no valid row" must never become "replace with nothing".
                raise InvalidRows(_abort_message(self.first_error, self.errors_total,
                                                 len(skipped_rows), every=not processed))
            sink = self.sink
            tracker.complete({"skipped": len(skipped_rows)},
                             lambda: sink.finish(self.slice_entry_types()),
                             fetched=fetched, processed=processed)
        except JobCancelled:
            tracker.fail(JobCancelled())
        except JobFailure as error:
            tracker.fail(error)
        except Exception as error:  # noqa: BLE001 - every failure must end the job
            self.ctx.log.exception("job %s crashed", self.ctx.job_id)
            tracker.fail(error)
        finally:
            await self.close()


def describe_row_error(error: RowError) -> str:
    """'Row 17: departure_date '2025-13-45' is not a date' — one sentence a user can act on."""
    value = f" {clip_cell(error.value)!r}" if error.value else ""
    where = f" ({error.cell})" if error.cell else ""
    return f"Row {error.row}{where}: {clip_cell(error.column)}{value} {error.reason}"


def _abort_message(first: RowError | None, errors: int, rows: int, every: bool) -> str:
    nothing = ("no row is valid; nothing was loaded and the stored rows are kept" if every
               else "nothing was loaded")
    if rows == 1 and errors == 1 and first is not None:
        return f"{describe_row_error(first)}; {nothing}."
    lead = f" First: {describe_row_error(first)}." if first else ""
    rows_text = "1 invalid row" if rows == 1 else f"{rows:,} invalid rows"
    return f"{rows_text} ({errors:,} errors); {nothing}.{lead}"
