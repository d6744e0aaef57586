"""The plan's REGISTRY and the factory: the single entry point that builds providers.

Adding a provider = one class + one line here. The factory refuses every combination
that is not registered, so e.g. Tableau can never run for headcount.
"""

from __future__ import annotations

from webapp.errors import Invalid
from webapp.ingestion.providers.base import (
    DataIngestionProvider,
    JobTracker,
    ProviderContext,
    RowSink,
)

ProviderKey = tuple[str, str, str]  # (module_type, provider_type, target_type)

REGISTRY: dict[ProviderKey, type[DataIngestionProvider]] = {}

# Factor providers serve every module's factor types; the plan writes them as 'generic'.
GENERIC_MODULE = "generic"


def _register_builtin_providers() -> None:
    from webapp.ingestion.providers.copy_previous_year.entries import (
        CopyPreviousYearEntriesProvider,
    )
    from webapp.ingestion.providers.copy_previous_year.factors import (
        CopyPreviousYearFactorsProvider,
    )
    from webapp.ingestion.providers.csv_upload.entries import CSVDataEntriesProvider
    from webapp.ingestion.providers.csv_upload.factors import CSVFactorsProvider
    from webapp.ingestion.providers.hr_api.provider import HrHeadcountProvider
    from webapp.ingestion.providers.tableau.provider import TableauFlightsProvider

    REGISTRY.update({
        ("travel", "tableau_api", "data_entries"): TableauFlightsProvider,
        ("travel", "csv_upload", "data_entries"): CSVDataEntriesProvider,
        ("headcount", "hr_api", "data_entries"): HrHeadcountProvider,
        ("headcount", "csv_upload", "data_entries"): CSVDataEntriesProvider,
        ("equipment", "csv_upload", "data_entries"): CSVDataEntriesProvider,
        ("purchases", "csv_upload", "data_entries"): CSVDataEntriesProvider,
        (GENERIC_MODULE, "csv_upload", "factors"): CSVFactorsProvider,
        # Copy forward (SPEC §13): every module type with entries, and every factor type.
        ("travel", "copy_previous_year", "data_entries"): CopyPreviousYearEntriesProvider,
        ("headcount", "copy_previous_year", "data_entries"): CopyPreviousYearEntriesProvider,
        ("equipment", "copy_previous_year", "data_entries"): CopyPreviousYearEntriesProvider,
        ("purchases", "copy_previous_year", "data_entries"): CopyPreviousYearEntriesProvider,
        (GENERIC_MODULE, "copy_previous_year", "factors"): CopyPreviousYearFactorsProvider,
    })


def providers_for(module_type: str, target_type: str | None = None
                  ) -> dict[tuple[str, str], type[DataIngestionProvider]]:
    """{(provider_type, target_type): class} usable for a module (its own and generic ones)."""
    found = {}
    for (module, provider, target), cls in REGISTRY.items():
        if module in (module_type, GENERIC_MODULE) and target_type in (None, target):
            found.setdefault((provider, target), cls)
    return found


def resolve(module_type: str, provider_type: str, target_type: str
            ) -> type[DataIngestionProvider]:
    """The class registered for this combination.

    Raises:
        Invalid: (422) naming the providers that are valid for this module and target.
    """
    cls = REGISTRY.get((module_type, provider_type, target_type)) \
        or REGISTRY.get((GENERIC_MODULE, provider_type, target_type))
    if cls is None:
        valid = sorted(p for p, _ in providers_for(module_type, target_type))
        raise Invalid(
            f"provider {provider_type!r} is not available for {target_type} of module "
            f"type {module_type!r}; valid providers: {', '.join(valid) or 'none'}",
            valid_providers=valid)
    return cls


def build(ctx: ProviderContext, provider_type: str, *, tracker: JobTracker, sink: RowSink
          ) -> DataIngestionProvider:
    """Instantiate the provider for a job context (also how a retry rebuilds it)."""
    cls = resolve(ctx.module_type, provider_type, ctx.target_type)
    return cls(ctx, tracker=tracker, sink=sink)


_register_builtin_providers()
