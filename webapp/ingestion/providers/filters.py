"""Filters a provider declares: what a sync request may narrow, and what it then replaces.

A provider lists its filters as class data (`DataIngestionProvider.filters`). The service
checks a request's `filters` against them before any job exists; the Sync form, the
OpenAPI document and `GET /providers` read them; and the sink replaces only the stored
entries whose `scope` field holds one of the filter's values, so a filtered sync never
removes rows outside its filter. A provider may also name values worth suggesting for a
filter (`DataIngestionProvider.filter_choices`), which the Sync form lists as you type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webapp.errors import Invalid
from webapp.text import clip, clip_cell


@dataclass(frozen=True)
class ProviderFilter:
    """One filter: a set of text values, e.g. centres financiers.

    A request gives one value as a string or several as a list of strings; it is stored
    as a sorted list without repeats. `scope` is the key of a loaded entry's `data` that
    the filter narrows: a filtered load replaces only the entries whose key holds one of
    the values (and must not write any other entry).
    """

    name: str
    label: str
    help: str
    scope: str
    max_items: int = 100
    max_length: int = 40
    # Codes, not prose: no control characters, quotes or markup reach Tableau or a page.
    pattern: str = r"[A-Za-z0-9][A-Za-z0-9 ._/-]*"
    type: str = "list of strings"

    def clean(self, value: Any) -> list[str]:
        """The request's value as a sorted list of distinct stripped strings.

        Raises:
            Invalid: (422) the value has the wrong type or shape, naming the filter.
        """
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise Invalid(f"filters.{self.name} must be {self.shape()}, got "
                          f"{_json_type(value)}", filter=self.name)
        values = sorted({v.strip() for v in items})
        if not values or "" in values:
            raise Invalid(f"filters.{self.name} needs non-empty values; leave the filter "
                          "out to sync everything", filter=self.name)
        if len(values) > self.max_items:
            raise Invalid(f"filters.{self.name} takes at most {self.max_items} values, got "
                          f"{len(values)}", filter=self.name)
        for v in values:
            if not self.accepts(v):
                raise Invalid(f"filters.{self.name}: {clip_cell(v)!r} is not a valid value; "
                              f"expected {self.shape()}", filter=self.name)
        return values

    def accepts(self, value: str) -> bool:
        """Whether one value has the filter's shape (a request may send it)."""
        return len(value) <= self.max_length and re.fullmatch(self.pattern, value) is not None

    def shape(self) -> str:
        return (f"a string or a list of at most {self.max_items} strings of at most "
                f"{self.max_length} characters (letters, digits, space, . _ / -)")

    def schema(self) -> dict[str, Any]:
        """JSON Schema of the value a request may send."""
        text = {"type": "string", "minLength": 1, "maxLength": self.max_length,
                "pattern": f"^{self.pattern}$"}
        return {"description": self.help, "oneOf": [
            text, {"type": "array", "items": text, "minItems": 1,
                   "maxItems": self.max_items}]}

    def describe(self) -> dict[str, Any]:
        """What pages and `GET /providers` show."""
        return {"name": self.name, "type": self.type, "label": self.label, "help": self.help,
                "max_items": self.max_items, "max_length": self.max_length}


def clean_filters(declared: Sequence[ProviderFilter], filters: Any) -> dict[str, list[str]]:
    """A request's `filters` checked against a provider's declared filters.

    Raises:
        Invalid: (422) not an object, an unknown key, or a value of the wrong shape.
    """
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise Invalid(f"filters must be a JSON object, got {_json_type(filters)}")
    known = {f.name: f for f in declared}
    unknown = sorted(key for key in filters if key not in known)
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise Invalid(f"unknown filter{'s' if len(unknown) > 1 else ''} "
                      f"{', '.join(repr(clip(k, 40)) for k in unknown[:5])}; this provider "
                      f"accepts: {accepted}", accepted_filters=sorted(known))
    return {name: known[name].clean(value) for name, value in sorted(filters.items())}


def scope_of(declared: Sequence[ProviderFilter], filters: Mapping[str, Any]
             ) -> dict[str, list[str]]:
    """{entry data key: values} a load with these filters is limited to."""
    return {f.scope: f.clean(filters[f.name]) for f in declared if filters.get(f.name)}


def outside_scope(scope: Mapping[str, Sequence[str]], data: Mapping[str, Any]
                  ) -> tuple[str, Any] | None:
    """(key, value) of the first scoped key whose value is not among the filter's values."""
    for key, values in scope.items():
        if data.get(key) not in values:
            return key, data.get(key)
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list with non-string items"
    return "null" if value is None else type(value).__name__

