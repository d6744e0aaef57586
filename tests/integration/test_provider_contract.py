"""Walks the provider REGISTRY: every registered combination must honour the contract and
complete a real job. A provider added without a sample here makes this test fail."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from tests.support.copying import plant_previous_year
from webapp.ingestion.providers.base import DataIngestionProvider
from webapp.ingestion.providers.registry import GENERIC_MODULE, REGISTRY, resolve

CORPUS = Path(__file__).resolve().parent.parent / "data" / "csv"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
MODULE_IDS = {"headcount": 1, "travel": 2, "equipment": 3, "purchases": 4}
FACTOR_TYPES = {"plane": (1, "travel"), "train": (2, "travel"), "equipment": (3, "equipment"),
                "purchase": (4, "purchases"), "headcount": (5, "headcount")}


def _good_file(module_type: str, target: str, factor_type: str | None = None) -> dict:
    """A corpus file that completes for this target, and the policy it completes with."""
    for case in MANIFEST:
        if (case["target"] == target and case["expect"]["status"] == "completed"
                and case["module_type"] == module_type
                and case.get("factor_type") == factor_type):
            return case
    raise AssertionError(f"no good corpus file for {module_type}/{target}/{factor_type}")


def _cases():
    for (module_type, provider_type, target), cls in sorted(REGISTRY.items()):
        if module_type == GENERIC_MODULE:
            for slug, (factor_type_id, owner) in FACTOR_TYPES.items():
                yield pytest.param(owner, provider_type, target, factor_type_id, slug, cls,
                                   id=f"{provider_type}-{target}-{slug}")
        else:
            yield pytest.param(module_type, provider_type, target, None, None, cls,
                               id=f"{provider_type}-{target}-{module_type}")


def _request(provider_type, module_type, target, slug):
    """The sample request (ApiClient.sync's arguments) that must complete for each type."""
    if provider_type == "csv_upload":
        case = _good_file(module_type, target, slug)
        return {"file": CORPUS / case["file"], "filename": "sample.csv",
                "config": {"on_error": case["on_error"]}}
    if provider_type == "tableau_api":
        return {"filters": {"centre_financier": "F0892"}}
    if provider_type == "hr_api":
        return {"filters": {"unit_code": "F0892"}}
    if provider_type == "synthetic":
        return {"config": {"rows": 5}}
    if provider_type == "copy_previous_year":
        return {}  # copies what plant_previous_year wrote into 2024
    raise AssertionError(f"new provider type {provider_type!r}: add a sample request to "
                         "tests/integration/test_provider_contract.py")


@pytest.mark.parametrize("module_type,provider_type,target,factor_type_id,slug,cls",
                         list(_cases()))
def test_registered_provider_honours_the_contract(admin_api, worker, tableau_standin,
                                                  db_url, module_type,
                                                  provider_type, target, factor_type_id,
                                                  slug, cls):
    assert issubclass(cls, DataIngestionProvider)
    assert cls.provider_name == provider_type and cls.target_type == target
    assert cls.label, "providers need a human label for the pages"
    assert not inspect.isabstract(cls)
    for method in ("validate_connection", "transform_data", "load_data", "run_pipeline"):
        assert inspect.iscoroutinefunction(getattr(cls, method)), method
    assert inspect.isasyncgenfunction(cls.fetch_data)
    assert resolve(module_type, provider_type, target) is cls
    reason = cls.unavailable_reason({})
    assert reason is None or isinstance(reason, str)

    api = admin_api  # factors need the admin role
    tableau_standin.reset()
    if provider_type == "copy_previous_year":
        plant_previous_year(db_url, api)
    response = api.sync(MODULE_IDS[module_type], provider_type, factor_type_id=factor_type_id,
                        **_request(provider_type, module_type, target, slug))
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    assert final["counts"]["inserted"] > 0
