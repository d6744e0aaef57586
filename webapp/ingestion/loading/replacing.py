"""What a load replaces, said before it runs and guarded while it runs (SPEC §12, cont.).

A load replaces its provider's slice (module, year, source, entry type). A second upload
of a smaller file silently shrank 1,800 flights to 295; now the forms say what a load
will replace, and a load that would take away more than half of a slice of at least
CONFIRM_FROM_ROWS rows fails 409, writing nothing, unless the request confirms it
(`config.confirm_replace: true`, the forms' "Replace them" box). The check runs in the
sink, where the slice's old and new sizes are known exactly; a preview shows the counts
row by row instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.errors import ReplaceNotConfirmed

CONFIRM_FROM_ROWS = 100  # smaller slices are replaced without asking


def needs_confirmation(before: int, after: int) -> bool:
    """True when a slice of `before` rows replaced by `after` loses more than half."""
    return before >= CONFIRM_FROM_ROWS and before - after > before / 2


def refusal(source: str, entry_type: str, year: int, before: int,
            after: int) -> ReplaceNotConfirmed:
    return ReplaceNotConfirmed(
        f"This load would replace the {before:,} {source} {entry_type} rows of {year} "
        f"with {after:,}, removing {before - after:,}; nothing was changed. To load it, "
        "tick \"Replace them\" (or send config.confirm_replace: true); a preview shows the "
        "rows first.")


@dataclass(frozen=True)
class StoredSlice:
    """One (source, entry type) slice a module holds, for the forms' sentence."""

    source: str
    entry_type: str
    rows: int

    def sentence(self, year: int) -> str:
        return f"the {self.rows:,} {self.source} {self.entry_type} rows of {year}"


def by_source(entry_counts: list[dict]) -> dict[str, list[StoredSlice]]:
    """The module's stored slices per source, from catalog.entry_counts (kept counts)."""
    slices: dict[str, list[StoredSlice]] = {}
    for count in entry_counts:
        slices.setdefault(count["source"], []).append(
            StoredSlice(count["source"], count["entry_type"], count["count"]))
    return slices
