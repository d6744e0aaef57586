"""Walks the unit directory providers (organisation/directory.py): each honours the
contract and reads a sample tree. A provider added without a sample here fails."""

from __future__ import annotations

import inspect
import io

import pytest

from webapp.errors import InvalidFile, ProviderUnavailable
from webapp.organisation.directory import (
    DIRECTORY_PROVIDERS,
    UNIT_FIELDS,
    UnitDirectoryProvider,
    UnitsFileDirectory,
)

TREE = b"code,name,parent_code,active\nL-1,Lab,I-1,yes\nI-1,Institute,,no\n"


def _sample(provider_type: str, tmp_path) -> UnitDirectoryProvider:
    """The provider, built to read TREE."""
    cls = DIRECTORY_PROVIDERS[provider_type]
    if provider_type == "csv_upload":
        return cls({}, open_upload=lambda: io.BytesIO(TREE))
    if provider_type == "units_file":
        path = tmp_path / "directory.csv"
        path.write_bytes(TREE)
        return cls({"UNITS_DIRECTORY_FILE": str(path)})
    raise AssertionError(f"give {provider_type} a sample in _sample()")


@pytest.mark.parametrize("provider_type", sorted(DIRECTORY_PROVIDERS))
def test_every_directory_provider_honours_the_contract(provider_type, tmp_path):
    cls = DIRECTORY_PROVIDERS[provider_type]
    assert issubclass(cls, UnitDirectoryProvider) and cls.provider_type == provider_type
    assert cls.label
    assert cls.fetch_units is not UnitDirectoryProvider.fetch_units
    reason = cls.unavailable_reason({})
    assert reason is None or isinstance(reason, str)
    provider = _sample(provider_type, tmp_path)
    assert provider.unavailable_reason(provider.settings) is None
    rows = list(provider.fetch_units())
    assert [{k: row[k] for k in UNIT_FIELDS} for row in rows] == [
        {"code": "L-1", "name": "Lab", "parent_code": "I-1", "active": "yes"},
        {"code": "I-1", "name": "Institute", "parent_code": "", "active": "no"}]
    assert inspect.isgenerator(provider.fetch_units())  # read lazily, as a source streams


def test_the_directory_file_says_what_is_missing(tmp_path):
    assert "UNITS_DIRECTORY_FILE" in UnitsFileDirectory.unavailable_reason({})
    gone = UnitsFileDirectory({"UNITS_DIRECTORY_FILE": str(tmp_path / "nope.csv")})
    with pytest.raises(ProviderUnavailable, match="cannot be read"):
        list(gone.fetch_units())
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("unit,label\nA,Alpha\n")
    with pytest.raises(InvalidFile, match="needs the columns code, name"):
        list(UnitsFileDirectory({"UNITS_DIRECTORY_FILE": str(wrong)}).fetch_units())
