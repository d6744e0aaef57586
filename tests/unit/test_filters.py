"""Declared filters, secret stripping and bounded messages, without servers."""

from __future__ import annotations

import pytest

from webapp.errors import Invalid, NotFound
from webapp.ingestion.providers.base import RowError, describe_row_error
from webapp.ingestion.providers.filters import (
    ProviderFilter,
    clean_filters,
    outside_scope,
    scope_of,
)
from webapp.ingestion.providers.tableau.provider import TableauFlightsProvider
from webapp.jobs.requests import without_secrets
from webapp.text import clip

CENTRE = ProviderFilter(name="centre", label="Centre", help="Centres", scope="unit",
                        max_items=3, max_length=6)


@pytest.mark.parametrize("value,cleaned", [
    ("F1", ["F1"]),
    ([" F2 ", "F1", "F2"], ["F1", "F2"]),
    (["a b", "x.y", "p/q", "r_s-t"], ["a b", "p/q", "r_s-t", "x.y"]),
])
def test_values_are_stripped_deduplicated_and_sorted(value, cleaned):
    wide = ProviderFilter(name="c", label="C", help="", scope="u")
    assert wide.clean(value) == cleaned
    if len(cleaned) <= 3:
        assert CENTRE.clean(value) == cleaned


@pytest.mark.parametrize("value,reason", [
    (12345, "got a number"), (True, "got a boolean"), ({"a": [1]}, "got an object"),
    ([1], "non-string"), (None, "got null"), ([], "non-empty"), (["  "], "non-empty"),
    (["A", "B", "C", "D"], "at most 3 values"), (["F123456"], "not a valid value"),
    (["F1,F2"], "not a valid value"), (["<b>"], "not a valid value"),
    (["F\x00"], "not a valid value"), (["-F1"], "not a valid value"),
])
def test_wrong_shapes_are_refused_naming_the_filter(value, reason):
    with pytest.raises(Invalid, match=reason) as refused:
        CENTRE.clean(value)
    assert "filters.centre" in refused.value.message and refused.value.status_code == 422


def test_unknown_keys_and_non_objects_are_refused():
    with pytest.raises(Invalid, match="unknown filter 'colour'; this provider accepts: centre"):
        clean_filters([CENTRE], {"centre": "F1", "colour": "red"})
    with pytest.raises(Invalid, match="accepts: none"):
        clean_filters([], {"centre": "F1"})
    for not_an_object in (["centre"], "centre", 3):
        with pytest.raises(Invalid, match="filters must be a JSON object"):
            clean_filters([CENTRE], not_an_object)
    assert clean_filters([CENTRE], None) == {} and clean_filters([], {}) == {}
    assert clean_filters([CENTRE], {"centre": "F1"}) == {"centre": ["F1"]}


def test_scope_maps_values_to_the_entry_field_they_narrow():
    assert scope_of([CENTRE], {}) == {}
    assert scope_of([CENTRE], {"centre": "F1"}) == {"unit": ["F1"]}
    assert outside_scope({"unit": ["F1"]}, {"unit": "F1"}) is None
    assert outside_scope({"unit": ["F1"]}, {"unit": "F2"}) == ("unit", "F2")
    assert outside_scope({"unit": ["F1"]}, {}) == ("unit", None)


def test_tableau_declares_centre_financier_scoping_the_unit():
    [declared] = TableauFlightsProvider.filters
    assert declared.name == "centre_financier" and declared.scope == "unit_institutional_id"
    assert declared.describe()["label"] == "Centre financier"


def test_secrets_are_removed_at_every_depth():
    value = {"a": 1, "Password": "x", "n": {"api_key": "y", "l": [{"token": "z", "b": 2},
                                                                  [{"secret": 1}]]}}
    assert without_secrets(value) == {"a": 1, "n": {"l": [{"b": 2}, [{}]]}}


def test_messages_and_echoed_cells_are_bounded():
    huge = "x" * 120_000
    assert len(NotFound(f"module {huge} does not exist").message) == 500
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…"
    text = describe_row_error(RowError(2, huge, huge, "is not a number"))
    assert len(text) < 250 and text.endswith("is not a number")
