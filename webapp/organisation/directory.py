"""Where a units job reads the unit tree from: an uploaded CSV file, or the site's
directory (SPEC §13, the `UnitDirectoryProvider` contract).

A site plugs its HR or organisation directory in as one class and one registry line:
subclass `UnitDirectoryProvider`, implement `fetch_units()`, and `register()` it (from a
module named in PROVIDER_PLUGINS, or in DIRECTORY_PROVIDERS below). The units job kind
(organisation/unit_jobs.py) validates and imports what it yields exactly as it does a
file: a provider only reads its source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from webapp.errors import InvalidFile, ProviderUnavailable
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.schemas import missing_columns
from webapp.ingestion.providers.csv_upload.spreadsheet import open_table, with_cells
from webapp.organisation.units import UNIT_SCHEMA

UNIT_FIELDS = ("code", "name", "parent_code", "active")


class UnitDirectoryProvider:
    """A source of the unit tree. Providers never touch jobs or the database."""

    provider_type: ClassVar[str]
    label: ClassVar[str] = ""
    needs_upload: ClassVar[bool] = False  # the request carries the file (csv_upload)

    def __init__(self, settings: Mapping[str, Any],
                 open_upload: Callable[[], BinaryIO] | None = None, sheet: Any = None):
        self.settings = settings
        self.open_upload = open_upload
        self.sheet = sheet  # a workbook's sheet to read (config.sheet); None: the first
        self.table: Any = None  # the file read, once fetch_units() opened it

    def with_cells(self, errors: list[RowError]) -> list[RowError]:
        """`errors` with the cell each is in, when the units came from a workbook."""
        return errors if self.table is None else with_cells(self.table, errors)

    @classmethod
    def unavailable_reason(cls, settings: Mapping[str, Any]) -> str | None:
        """Why this provider cannot run on this server (a setting missing), or None."""
        return None

    def fetch_units(self) -> Iterator[dict[str, Any]]:
        """Yield every unit of the source as {code, name, parent_code, active}, in any
        order (parents may come after their children). Values may be strings as a file
        has them or Python values (None, True); `_row` may carry the number a user
        would look the row up by (a file's line), else rows are numbered from 1.

        Raises:
            a JobFailure (webapp/errors.py) when the source cannot be read.
        """
        raise NotImplementedError


def file_units(provider: UnitDirectoryProvider, stream: BinaryIO) -> Iterator[dict[str, Any]]:
    """A units file's rows, CSV or workbook (raw cells, with their line as `_row`); a
    workbook's error cells (#N/A) come as a row of their own: `{"_row", "_errors"}`. The
    table is kept in `provider.table`, so errors can name their cells.

    Raises:
        InvalidFile: not readable, or without the code or name column.
    """
    table = provider.table = open_table(stream, sheet=provider.sheet)
    missing = missing_columns(UNIT_SCHEMA, table.header)
    if missing:
        raise InvalidFile(f"A units file needs the columns {', '.join(missing)} "
                          f"({', '.join(UNIT_FIELDS)}).")
    for number, row in table.rows():
        for error in table.take_cell_errors():
            yield {"_row": error.row, "_errors": [error]}
        yield {**row, "_row": number}
    for error in table.take_cell_errors():
        yield {"_row": error.row, "_errors": [error]}


class UploadedUnitsFile(UnitDirectoryProvider):
    """The file sent with the request (`POST /api/v1/units/import`): CSV or a workbook."""

    provider_type = "csv_upload"
    label = "CSV or Excel upload"
    needs_upload = True

    def fetch_units(self) -> Iterator[dict[str, Any]]:
        with self.open_upload() as stream:
            yield from file_units(self, stream)


class UnitsFileDirectory(UnitDirectoryProvider):
    """The directory's export, a CSV file the operator names in UNITS_DIRECTORY_FILE
    (e.g. written nightly by the HR system on a shared volume). A path on the server,
    set by the operator, not a URL from a request: nothing a caller sends chooses what
    the server reads."""

    provider_type = "units_file"
    label = "Directory file"

    @classmethod
    def unavailable_reason(cls, settings: Mapping[str, Any]) -> str | None:
        if not settings.get("UNITS_DIRECTORY_FILE"):
            return "the directory file is not configured: set UNITS_DIRECTORY_FILE"
        return None

    def fetch_units(self) -> Iterator[dict[str, Any]]:
        path = Path(self.settings["UNITS_DIRECTORY_FILE"])
        try:
            stream = path.open("rb")
        except OSError as error:
            # The operator's path, not a secret; the reason without the OS's details.
            raise ProviderUnavailable(f"the directory file {path} cannot be read "
                                      f"({type(error).__name__})") from None
        with stream:
            yield from file_units(self, stream)


DIRECTORY_PROVIDERS: dict[str, type[UnitDirectoryProvider]] = {
    UploadedUnitsFile.provider_type: UploadedUnitsFile,
    UnitsFileDirectory.provider_type: UnitsFileDirectory,
}


def register(provider_cls: type[UnitDirectoryProvider]) -> type[UnitDirectoryProvider]:
    """Add a site's directory provider (usable as a class decorator)."""
    DIRECTORY_PROVIDERS[provider_cls.provider_type] = provider_cls
    return provider_cls
