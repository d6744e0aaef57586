"""The HR API client and headcount provider against the running stand-in (no database)."""

import asyncio
import base64
import os
import socket

import pytest
import requests

from webapp.errors import (
    CredentialsRefused,
    ProviderUnavailable,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from webapp.ingestion.providers.base import ProviderContext
from webapp.ingestion.providers.hr_api.client import HrClient
from webapp.ingestion.providers.hr_api.mapping import map_record
from webapp.ingestion.providers.hr_api.provider import HrHeadcountProvider
from webapp.ingestion.providers.hr_api.settings import HrSettings
from webapp.standalone.hr_standin import HrStandIn
from webapp.standalone.hr_standin.dataset import DEFECT_UNIT, expected_defects, matching

HEADCOUNT = "/api/v1/headcount"
TOKEN = "/oauth/token"


@pytest.fixture
def standin():
    with HrStandIn() as server:
        yield server


@pytest.fixture
def delays():
    return []


def make_client(standin, delays, **overrides) -> HrClient:
    settings = HrSettings.from_mapping({**standin.settings(), "HR_TIMEOUT_S": "5",
                                        "HR_PAGE_SIZE": "40", **overrides})
    return HrClient(settings, sleep=delays.append)


@pytest.fixture
def client(standin, delays):
    return make_client(standin, delays)


def records(client, year=2025, units=None) -> list:
    return [item for page in client.pages(year, units) for item in page.items]


def values(year=2025, units=None) -> list:
    return [record.values for record in matching(year, units)]


# -- token and pages -------------------------------------------------------------------
def test_one_token_serves_every_page_and_next_links_are_followed(standin, client):
    assert records(client) == values()
    pages = standin.requests_to(HEADCOUNT)
    assert len(pages) == -(-len(values()) // 40) > 3  # ceil: every page, once
    assert [p.args.get("page", ["1"])[0] for p in pages] == \
        [str(n) for n in range(1, len(pages) + 1)]
    assert standin.tokens_issued == 1
    [token] = standin.requests_to(TOKEN)
    assert token.form == {"grant_type": "client_credentials"}
    basic = base64.b64decode(token.headers["Authorization"].split()[1]).decode()
    assert basic == f"{standin.client.client_id}:{standin.client.client_secret}"
    bearers = {p.headers["Authorization"] for p in pages}
    assert len(bearers) == 1 and bearers.pop().startswith("Bearer ")


@pytest.mark.parametrize("units", ["F0892", ["F1023", "F1805"]])
def test_unit_filter_goes_to_the_api(standin, client, units):
    assert records(client, 2024, units) == values(2024, units)
    first = standin.requests_to(HEADCOUNT)[0]
    assert first.args["unit"] == ([units] if isinstance(units, str) else units)
    assert first.args["year"] == ["2024"] and first.args["page_size"] == ["40"]


def test_a_token_near_its_expiry_is_renewed_before_the_request(standin, delays):
    standin.configure(token_lifetime_s=1)  # renewed half-way through its life
    client = make_client(standin, delays, HR_PAGE_SIZE="100")
    clock = [0.0]
    client.clock = lambda: clock[0]
    pages = client.pages(2025)
    next(pages)
    clock[0] = 0.6  # past the half-life: the next page needs a new token
    next(pages)
    assert standin.tokens_issued == 2
    first, second = (r.headers["Authorization"] for r in standin.requests_to(HEADCOUNT))
    assert first != second


def test_expired_token_mid_way_gets_one_new_token(standin, client):
    standin.configure(expire_token_after=2)
    assert records(client) == values()
    assert standin.tokens_issued >= 2
    statuses_ok = len(standin.requests_to(HEADCOUNT)) - (standin.tokens_issued - 1)
    assert statuses_ok == -(-len(values()) // 40)  # each refused page asked again once


def test_token_refused_again_after_renewal_is_401(standin, client):
    standin.configure(expire_token_after=0)
    with pytest.raises(CredentialsRefused) as raised:
        records(client)
    assert raised.value.status_code == 401
    assert "refused a fresh access token" in raised.value.message
    assert standin.tokens_issued == 2  # one renewal, not a loop


def test_wrong_credentials_fail_401_naming_the_settings(standin, delays):
    client = make_client(standin, delays, HR_CLIENT_SECRET="wrong-" * 8)
    with pytest.raises(CredentialsRefused) as raised:
        client.authenticate()
    assert raised.value.status_code == 401
    assert "invalid_client" in raised.value.message
    assert "HR_CLIENT_SECRET" in raised.value.message and "wrong-" not in raised.value.message
    assert delays == []  # a refusal is not retried


# -- retries ---------------------------------------------------------------------------
def test_429_waits_retry_after_then_succeeds(standin, client, delays):
    standin.configure(throttle_page=2, throttle_count=2, retry_after="7")
    assert records(client) == values()
    assert delays == [7.0, 7.0]
    assert [r.args.get("page") for r in standin.requests_to(HEADCOUNT)][:4] == \
        [None, ["2"], ["2"], ["2"]]


def test_503_backs_off_exponentially_then_succeeds(standin, client, delays):
    standin.configure(error_page=3, error_count=2, error_status=503)
    assert records(client) == values()
    assert delays == [1.0, 2.0]


def test_permanent_503_fails_502_naming_the_status(standin, delays):
    client = make_client(standin, delays, HR_RETRY_BACKOFF_S="0.5")
    standin.configure(error_page=2, error_count=10**6, error_status=503)
    with pytest.raises(UpstreamError) as raised:
        records(client)
    assert raised.value.status_code == 502
    assert "HTTP 503 5 times" in raised.value.message
    assert delays == [0.5, 1.0, 2.0, 4.0]  # bounded: 5 attempts


def test_retry_after_beyond_the_time_budget_fails_at_once(standin, client, delays):
    standin.configure(throttle_page=1, throttle_count=5, retry_after="3600")
    with pytest.raises(UpstreamError) as raised:
        records(client)
    assert "HTTP 429" in raised.value.message and "3600 s" in raised.value.message
    assert delays == []  # no worker held for an hour


def test_token_endpoint_503_is_retried(standin, client, delays):
    standin.configure(token_errors=1)
    client.authenticate()
    assert delays == [1.0] and client.has_token


def test_slow_answer_is_504_and_not_retried(standin, delays):
    client = make_client(standin, delays, HR_TIMEOUT_S="0.2")
    standin.configure(delay_s=1.0)
    with pytest.raises(UpstreamTimeout) as raised:
        client.authenticate()
    assert raised.value.status_code == 504 and "HR_TIMEOUT_S" in raised.value.message
    assert delays == []


def test_unreachable_is_503(standin, delays):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(standin, delays, HR_API_URL=f"http://127.0.0.1:{port}")
    with pytest.raises(UpstreamUnreachable) as raised:
        client.authenticate()
    assert raised.value.status_code == 503 and f"127.0.0.1:{port}" in raised.value.message


def test_next_link_to_another_host_is_not_followed(standin, client):
    standin.configure(next_base_url="http://evil.example:8080")
    with pytest.raises(UpstreamError, match=r"another host \(evil.example\)"):
        records(client)
    assert len(standin.requests_to(HEADCOUNT)) == 1


def test_no_secret_or_token_in_logs_or_errors(standin, client, caplog):
    caplog.set_level("DEBUG")
    records(client, units=DEFECT_UNIT)
    token = client.session.token["access_token"]
    standin.expire_tokens()
    standin.configure(error_page=1, error_count=1)
    records(client, units=DEFECT_UNIT)
    standin.configure(refuse_credentials=True)
    standin.expire_tokens()
    with pytest.raises(CredentialsRefused) as raised:
        records(client, units=DEFECT_UNIT)
    secret = standin.client.client_secret
    basic = base64.b64encode(f"{standin.client.client_id}:{secret}".encode()).decode()
    for text in (caplog.text, raised.value.message, repr(client), repr(client.settings)):
        assert secret not in text and token not in text and basic not in text
    assert "HTTP 503" in caplog.text  # the log says what happened, without secrets


# -- settings --------------------------------------------------------------------------
def test_settings_name_what_is_missing():
    with pytest.raises(ProviderUnavailable) as raised:
        HrSettings.from_mapping({"HR_API_URL": "https://hr.example"})
    assert raised.value.message == ("The HR API is not configured: set HR_CLIENT_ID, "
                                    "HR_CLIENT_SECRET.")
    assert HrHeadcountProvider.unavailable_reason({}).startswith(
        "The HR API is not configured: set HR_API_URL")


@pytest.mark.parametrize(("key", "value"), [("HR_TIMEOUT_S", "0"), ("HR_PAGE_SIZE", "2.5"),
                                            ("HR_API_URL", "ftp://hr.example")])
def test_malformed_settings_are_refused(key, value):
    mapping = {"HR_API_URL": "https://hr.example", "HR_CLIENT_ID": "id",
               "HR_CLIENT_SECRET": "s", key: value}
    with pytest.raises(ProviderUnavailable, match=key):
        HrSettings.from_mapping(mapping)


# -- the stand-in speaks OAuth2 as a server does ----------------------------------------
def test_standin_accepts_form_credentials_and_refuses_other_grants(standin):
    url = standin.base_url + TOKEN
    ok = requests.post(url, data={"grant_type": "client_credentials",
                                  "client_id": standin.client.client_id,
                                  "client_secret": standin.client.client_secret}, timeout=5)
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert ok.headers["Cache-Control"] == "no-store"
    grant = requests.post(url, data={"grant_type": "password"}, timeout=5,
                          auth=(standin.client.client_id, standin.client.client_secret))
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    page = requests.get(standin.base_url + HEADCOUNT + "?year=2025", timeout=5)
    assert page.status_code == 401 and "invalid_token" in page.headers["WWW-Authenticate"]


# -- mapping and the provider ----------------------------------------------------------
@pytest.mark.parametrize(("record", "problem"), [
    ({"unit_code": "U", "position_category": "postdoc", "fte": 1}, ("person_id", "is missing")),
    ({"person_id": 1, "unit_code": "U", "position_category": "postdoc", "fte": "x"},
     ("fte", "is not a number")),
    ({"person_id": 1, "unit_code": "U", "position_category": "postdoc", "fte": 1.6},
     ("fte", "must be between 0 and 1.5")),
    ({"person_id": 1, "unit_code": "U", "position_category": "postdoc", "fte": True},
     ("fte", "is not a number")),
    ({"person_id": 1, "unit_code": "U", "position_category": "pilot", "fte": 1},
     ("position_category", "is not a known position category")),
    ({"person_id": 1, "position_category": "postdoc", "fte": 1}, ("unit_code", "is missing")),
])
def test_bad_records_are_refused_with_the_field_named(record, problem):
    entry, problems = map_record(record)
    assert entry is None
    [(column, _, reason)] = problems
    assert (column, reason[:len(problem[1])]) == problem


def test_a_good_record_has_the_csv_member_shape():
    from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS

    entry, problems = map_record({"person_id": 123456.0, "unit_code": "F0892",
                                  "position_category": "PhD student", "fte": "0.8"})
    assert problems == []
    csv_columns = {c.name for c in ENTRY_SCHEMAS[("headcount", "member")].columns}
    assert entry["entry_type"] == "member"
    assert set(entry["data"]) - csv_columns == {"unit_code"}
    assert entry["data"] == {"name": "123456", "position_category": "phd_student",
                             "user_institutional_id": "123456", "fte": 0.8,
                             "unit_code": "F0892"}


def provider_for(standin, filters=None, **settings):
    ctx = ProviderContext(job_id=1, module_id=1, module_type="headcount", inventory_id=1,
                          year=2025, target_type="data_entries", filters=filters or {},
                          settings={**standin.settings(), "HR_PAGE_SIZE": "7", **settings})
    return HrHeadcountProvider(ctx)


async def drain(provider):
    clean, errors, batches = [], [], []
    await provider.validate_connection()
    try:
        async for raw in provider.fetch_data(provider.ctx.filters):
            batches.append(len(raw))
            clean.extend(await provider.transform_data(raw))
            errors.extend(provider._rejected)
            provider._rejected = []
    finally:
        await provider.close()
    return clean, errors, batches


def test_provider_streams_page_by_page_and_reports_bad_records(standin):
    provider = provider_for(standin, {"unit_code": [DEFECT_UNIT]})
    clean, errors, batches = asyncio.run(drain(provider))
    expected = matching(2025, DEFECT_UNIT)
    assert max(batches) == 7 and sum(batches) == len(expected)  # one page per batch
    assert provider.total_hint() == len(expected)
    assert len(errors) == expected_defects(2025, DEFECT_UNIT) >= 1
    bad_rows = [n for n, record in enumerate(expected, start=1) if record.defect]
    assert [error.row for error in errors] == bad_rows
    assert len(clean) + len(errors) == len(expected)
    assert {entry["data"]["unit_code"] for entry in clean} == {DEFECT_UNIT}
    assert not provider.client.has_token  # close() dropped the token


def test_provider_without_configuration_is_503():
    ctx = ProviderContext(job_id=1, module_id=1, module_type="headcount", inventory_id=1,
                          year=2025, target_type="data_entries", settings={})
    with pytest.raises(ProviderUnavailable) as raised:
        asyncio.run(HrHeadcountProvider(ctx).validate_connection())
    assert raised.value.status_code == 503


# -- `make demo`'s start -----------------------------------------------------------------
@pytest.fixture
def demo_env(monkeypatch):
    """What start_hr_standin writes into os.environ, put back after the test."""
    for key in ("HR_API_URL", "HR_CLIENT_ID", "HR_CLIENT_SECRET", "HR_TIMEOUT_S"):
        monkeypatch.setenv(key, "before")
    monkeypatch.delenv("HR_STANDIN_PORT", raising=False)
    return monkeypatch


def test_demo_start_points_the_app_at_the_standin(demo_env, standin):
    from webapp.standalone.hr_standin.launch import start_hr_standin

    demo_env.setenv("HR_STANDIN_PORT", str(standin.port))  # taken: the operator is told
    with pytest.raises(SystemExit, match=f"HR_STANDIN_PORT={standin.port} is in use"):
        start_hr_standin()
    demo_env.setenv("HR_STANDIN_PORT", "0")
    started = start_hr_standin()
    try:
        assert os.environ["HR_API_URL"] == started.base_url != standin.base_url
        settings = HrSettings.from_mapping(os.environ)
        assert records(HrClient(settings), units=DEFECT_UNIT) == values(units=DEFECT_UNIT)
    finally:
        started.stop()
