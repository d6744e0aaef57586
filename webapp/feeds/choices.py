"""What the "Sync every unit" form offers: the years, the module types some routing
provider serves, and for a module type its routing providers (registry.py), each saying
whether it needs a file and why it cannot run here, if it cannot, and its entry types
(a template per type for a file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.ingestion.providers import registry
from webapp.ingestion.providers.csv_upload.schemas import entry_types_for
from webapp.models import TargetType
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.years import year_list


def routing_providers(module_type: str, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The providers that can sync every unit's `module_type` module at once: those
    whose rows name their unit (`unit_key`), outside sources first."""
    found = registry.providers_for(module_type, TargetType.DATA_ENTRIES)
    return [{"provider_type": provider_type, "label": cls.label or provider_type,
             "needs_upload": cls.needs_upload,
             "unavailable": cls.unavailable_reason(settings)}
            for (provider_type, _), cls in sorted(
                found.items(), key=lambda item: (item[1].needs_upload, item[0][0]))
            if cls.unit_key is not None]


def routed_module_types() -> list[str]:
    return [module_type for module_type in MODULE_TYPES
            if any(cls.unit_key for cls in registry.providers_for(
                module_type, TargetType.DATA_ENTRIES).values())]


def form_choices(module_type: str | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The form's context; an unknown `module_type` falls back to the first offered."""
    module_types = routed_module_types()
    chosen = module_type if module_type in module_types else module_types[0]
    return {"years": [row["year"] for row in year_list()], "module_types": module_types,
            "module_type": chosen, "providers": routing_providers(chosen, settings),
            "entry_types": entry_types_for(chosen)}  # the file templates, one per type
