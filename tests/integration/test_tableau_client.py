"""The Tableau client and flights provider against the running stand-in (no database needed)."""

import asyncio
import socket
import time
import uuid

import jwt
import pytest
import requests

from webapp.errors import (
    CredentialsRefused,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from webapp.ingestion.providers.base import ProviderContext
from webapp.ingestion.providers.tableau.client import TableauClient, TableauSettings, mint_jwt
from webapp.ingestion.providers.tableau.mapping import FLIGHT_CAPTIONS, build_filters
from webapp.ingestion.providers.tableau.provider import TableauFlightsProvider
from webapp.standalone.tableau_standin import StandIn
from webapp.standalone.tableau_standin.dataset import expected_defects, expected_rows, matching


@pytest.fixture
def standin():
    with StandIn() as server:
        yield server


@pytest.fixture
def delays():
    return []


def make_client(standin, delays, **overrides) -> TableauClient:
    settings = TableauSettings.from_mapping({**standin.settings(), "TABLEAU_TIMEOUT_S": "5",
                                             **overrides})
    return TableauClient(settings, sleep=delays.append)


@pytest.fixture
def client(standin, delays):
    return make_client(standin, delays)


# -- happy path ------------------------------------------------------------------------
def test_sign_in_and_out(standin, client):
    with client:
        client.sign_in()
        assert client.signed_in and standin.active_sessions == 1
        [signin] = standin.requests_to("/auth/signin")
        assert signin.path == "/api/3.24/auth/signin"
        assert signin.headers["Accept"] == "application/json"
        assert signin.json["credentials"]["site"] == {"contentUrl": "carbon"}
    assert standin.active_sessions == 0
    [signout] = standin.requests_to("/auth/signout")
    assert signout.headers["X-Tableau-Auth"]


def test_read_metadata(standin, client):
    with client:
        fields = client.read_metadata(standin.identity.datasource_luid)
    captions = {f["fieldCaption"] for f in fields}
    assert set(FLIGHT_CAPTIONS) <= captions
    assert all({"fieldName", "dataType"} <= f.keys() for f in fields)
    [request] = standin.requests_to("/read-metadata")
    assert request.json == {"datasource": {"datasourceLuid": standin.identity.datasource_luid}}
    assert request.headers["X-Tableau-Auth"]


@pytest.mark.parametrize(("year", "centres"), [(2025, None), (2024, "F0892"),
                                               (2023, ["F1023", "F1805"])])
def test_query_with_filters_gives_exactly_the_expected_rows(standin, client, year, centres):
    with client:
        rows = client.query_datasource(standin.identity.datasource_luid, FLIGHT_CAPTIONS,
                                       build_filters(year, centres))
    assert rows == expected_rows(year, centres, FLIGHT_CAPTIONS)
    assert rows and all(list(row) == FLIGHT_CAPTIONS for row in rows)
    [request] = standin.requests_to("/query-datasource")
    assert request.json["options"]["returnFormat"] == "OBJECTS"
    assert request.json["query"]["fields"][0] == {"fieldCaption": "SCIPER"}


def test_dataset_is_big_and_has_known_defects():
    assert sum(len(matching(year)) for year in (2023, 2024, 2025)) >= 3000
    assert all(expected_defects(year) == 7 for year in (2023, 2024, 2025))
    assert len({r.centre for r in matching(2025)}) >= 12


def test_unknown_caption_is_a_vizql_400(standin, client):
    with client, pytest.raises(UpstreamError) as raised:
        client.query_datasource(standin.identity.datasource_luid, ["SCIPER", "Seat"], [])
    assert raised.value.status_code == 502
    assert "HTTP 400 (error 400803): Unknown Field: Seat." in raised.value.message


# -- faults ----------------------------------------------------------------------------
def test_refused_sign_in_names_tableau_code(standin, client):
    standin.configure(refuse_signin=True)
    with pytest.raises(CredentialsRefused) as raised:
        client.sign_in()
    assert raised.value.status_code == 401
    assert raised.value.message.startswith("Tableau refused the sign-in (error 401001): check")


def test_wrong_secret_is_refused_and_never_shown(standin, delays):
    client = make_client(standin, delays, TABLEAU_CONNECTED_APP_SECRET_VALUE="wrong" * 10)
    with pytest.raises(CredentialsRefused) as raised:
        client.sign_in()
    assert "wrong" not in raised.value.message
    assert standin.signin_rejections == ["invalid JWT: InvalidSignatureError"]


def test_429_with_retry_after_then_success(standin, client, delays):
    standin.configure(throttle=2, retry_after=7)
    client.sign_in()  # two 429s, each retried with a fresh JWT (a reused jti is refused)
    assert delays == [7, 7]
    assert len(standin.requests_to("/auth/signin")) == 3
    assert standin.signin_rejections == []


def test_retry_after_is_capped(standin, client, delays):
    client.sign_in()
    standin.configure(throttle=1, retry_after=3600)
    client.read_metadata(standin.identity.datasource_luid)
    assert delays == [client.max_retry_after_s]


def test_5xx_backs_off_exponentially_then_fails_502(standin, client, delays):
    client.sign_in()
    standin.configure(server_errors=10, server_error_status=503)
    with pytest.raises(UpstreamError) as raised:
        client.read_metadata(standin.identity.datasource_luid)
    assert raised.value.status_code == 502
    assert "HTTP 503" in raised.value.message and "after 4 attempts" in raised.value.message
    assert delays == [1.0, 2.0, 4.0]


def test_the_backoff_setting_sets_the_first_delay(standin, delays):
    client = make_client(standin, delays, TABLEAU_RETRY_BACKOFF_S="0.01")
    standin.configure(server_errors=10, server_error_status=502)
    with pytest.raises(UpstreamError):
        client.sign_in()
    assert delays == [0.01, 0.02, 0.04]


def test_5xx_then_success(standin, client, delays):
    client.sign_in()
    standin.configure(server_errors=2, server_error_status=500)
    assert client.read_metadata(standin.identity.datasource_luid)
    assert delays == [1.0, 2.0]


def test_unreachable_is_503(delays, standin):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(standin, delays, TABLEAU_SERVER_URL=f"http://127.0.0.1:{port}")
    with pytest.raises(UpstreamUnreachable) as raised:
        client.sign_in()
    assert raised.value.status_code == 503
    assert f"127.0.0.1:{port}" in raised.value.message


def test_slow_answer_is_504(standin, delays):
    client = make_client(standin, delays, TABLEAU_TIMEOUT_S="0.2")
    standin.configure(delay_s=1.0)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as raised:
        client.sign_in()
    assert raised.value.status_code == 504
    assert time.monotonic() - started < 1.0
    assert delays == []  # a timeout is not retried: the job would wait far too long


def test_expired_token_signs_in_again_once(standin, client):
    standin.configure(expire_token_after=1)
    with client:
        client.read_metadata(standin.identity.datasource_luid)  # first call on the token
        rows = client.query_datasource(standin.identity.datasource_luid, FLIGHT_CAPTIONS,
                                       build_filters(2025, "F0892"))
    assert rows == expected_rows(2025, "F0892", FLIGHT_CAPTIONS)
    assert len(standin.requests_to("/auth/signin")) == 2
    first, second = (r.headers["X-Tableau-Auth"] for r in standin.requests_to("/query-datasource"))
    assert first != second


def test_token_refused_after_signing_in_again_is_401(standin, client):
    standin.configure(expire_token_after=0)
    with pytest.raises(CredentialsRefused) as raised:
        client.read_metadata(standin.identity.datasource_luid)
    assert raised.value.status_code == 401
    assert "(error 401002)" in raised.value.message
    assert len(standin.requests_to("/auth/signin")) == 2


def test_no_secret_or_token_in_logs_or_errors(standin, client, caplog):
    caplog.set_level("DEBUG")
    client.sign_in()
    token = client._token
    standin.expire_tokens()
    standin.configure(server_errors=1)
    client.read_metadata(standin.identity.datasource_luid)
    standin.configure(refuse_signin=True)
    standin.expire_tokens()
    with pytest.raises(CredentialsRefused) as raised:
        client.read_metadata(standin.identity.datasource_luid)
    secret = standin.identity.secret_value
    for text in (caplog.text, raised.value.message):
        assert secret not in text and token not in text and "eyJ" not in text


# -- the stand-in checks JWTs as Tableau does --------------------------------------------
def signin_with(standin, claims=None, headers=None, key=None):
    identity = standin.identity
    now = int(time.time())
    body_claims = {"iss": identity.client_id, "sub": identity.username, "aud": "tableau",
                   "exp": now + 300, "jti": str(uuid.uuid4()),
                   "scp": ["tableau:viz_data_service:read"], **(claims or {})}
    token = jwt.encode(body_claims, key or identity.secret_value, algorithm="HS256",
                       headers={"kid": identity.secret_id, "iss": identity.client_id,
                                **(headers or {})})
    return post_jwt(standin, token)


def post_jwt(standin, token, site="carbon"):
    return requests.post(f"{standin.base_url}/api/3.24/auth/signin",
                         json={"credentials": {"jwt": token, "site": {"contentUrl": site}}},
                         headers={"Accept": "application/json"}, timeout=5)


def test_standin_accepts_a_good_jwt(standin):
    response = signin_with(standin)
    assert response.status_code == 200
    credentials = response.json()["credentials"]
    assert credentials["token"] and credentials["site"]["contentUrl"] == "carbon"
    assert credentials["user"]["id"]


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"key": "another-secret-value-that-is-long-enough"}, "invalid JWT: InvalidSignatureError"),
    ({"claims": {"aud": "salesforce"}}, "invalid JWT: InvalidAudienceError"),
    ({"claims": {"exp": int(time.time()) + 3600}}, "exp is more than 10 minutes ahead"),
    ({"claims": {"exp": int(time.time()) - 60}}, "invalid JWT: ExpiredSignatureError"),
    ({"claims": {"sub": "someone@example.org"}}, "unknown user (sub)"),
    ({"claims": {"scp": ["tableau:content:read"]}}, "scp must list tableau:viz_data_service:read"),
    ({"headers": {"kid": "other-secret"}}, "unknown secret id (kid)"),
    ({"headers": {"iss": "other-app"}}, "unknown connected app (header iss)"),
])
def test_standin_rejects_a_bad_jwt(standin, kwargs, reason):
    response = signin_with(standin, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "401001"
    assert standin.signin_rejections == [reason]


def test_standin_rejects_a_reused_jti(standin):
    settings = TableauSettings.from_mapping(standin.settings())
    token = mint_jwt(settings)
    assert post_jwt(standin, token).status_code == 200
    assert post_jwt(standin, token).status_code == 401
    assert standin.signin_rejections == ["jti already used"]


def test_standin_rejects_the_wrong_site(standin):
    response = post_jwt(standin, mint_jwt(TableauSettings.from_mapping(standin.settings())),
                        site="other")
    assert response.status_code == 401
    assert standin.signin_rejections == ["unknown site contentUrl 'other'"]


# -- the provider, end to end without a database -----------------------------------------
def provider_for(standin, year=2025, filters=None, **settings):
    ctx = ProviderContext(job_id=1, module_id=1, module_type="travel", inventory_id=1,
                          year=year, target_type="data_entries", filters=filters or {},
                          settings={**standin.settings(), **settings})
    return TableauFlightsProvider(ctx)


async def drain(provider, filters):
    clean, errors, raw_rows = [], [], []
    await provider.validate_connection()
    try:
        async for raw in provider.fetch_data(filters):
            assert provider.total_hint() is not None
            raw_rows.extend(r["_row"] for r in raw)
            clean.extend(await provider.transform_data(raw))
            errors.extend(provider._rejected)
            provider._rejected = []
    finally:
        await provider.close()
    return clean, errors, raw_rows


def test_provider_loads_the_year_and_reports_bad_rows(standin):
    provider = provider_for(standin, filters={"centre_financier": "F0892"})
    provider.batch_size = 50
    clean, errors, raw_rows = asyncio.run(drain(provider, provider.ctx.filters))
    expected = expected_rows(2025, "F0892")
    assert raw_rows == list(range(1, len(expected) + 1))
    assert provider.total_hint() == len(expected)
    assert len(errors) == expected_defects(2025, "F0892")
    assert len(clean) + len(errors) == len(expected)
    assert {e["data"]["unit_institutional_id"] for e in clean} == {"F0892"}
    assert standin.active_sessions == 0  # close() signed out


def test_provider_names_missing_captions(standin):
    standin.configure(drop_caption="IN_Segment class")
    provider = provider_for(standin)
    with pytest.raises(UpstreamError, match="lacks the field IN_Segment class"):
        asyncio.run(provider.validate_connection())
    asyncio.run(provider.close())
    assert standin.active_sessions == 0


class RecordingTracker:
    """Just enough of the JobTracker protocol to watch run_pipeline drive the provider."""

    def __init__(self):
        self.errors, self.phases, self.outcome = [], [], None

    def start(self):
        pass

    def progress(self, phase, *, fetched, processed, total):
        self.phases.append((phase, total))

    def row_errors(self, errors):
        self.errors.extend(errors)

    def raise_if_cancelled(self):
        pass

    def complete(self, counts, finish_load, *, fetched, processed):
        self.outcome = ("completed", counts, finish_load())

    def fail(self, error):
        self.outcome = ("failed", error)


class ListSink:
    def __init__(self):
        self.rows, self.entry_types = [], None

    def stage(self, rows):
        self.rows.extend(rows)
        return len(rows)

    def finish(self, entry_types):
        self.entry_types = entry_types
        return {"inserted": len(self.rows)}


def test_run_pipeline_skips_bad_rows_by_default(standin):
    tracker, sink = RecordingTracker(), ListSink()
    provider = provider_for(standin, year=2024)
    provider.tracker, provider.sink = tracker, sink
    asyncio.run(provider.run_pipeline())
    total, defects = len(expected_rows(2024)), expected_defects(2024)
    assert tracker.outcome == ("completed", {"skipped": defects}, {"inserted": total - defects})
    assert ("loading", total) in tracker.phases
    assert sink.entry_types == {"plane"}
    assert all(e.row >= 1 and e.reason for e in tracker.errors)


def test_run_pipeline_fails_with_the_upstream_code(standin):
    standin.configure(refuse_signin=True)
    tracker = RecordingTracker()
    provider = provider_for(standin)
    provider.tracker, provider.sink = tracker, ListSink()
    asyncio.run(provider.run_pipeline())
    status, error = tracker.outcome
    assert status == "failed" and isinstance(error, CredentialsRefused)
    assert error.status_code == 401


def test_run_pipeline_without_configuration_is_503():
    tracker = RecordingTracker()
    ctx = ProviderContext(job_id=1, module_id=1, module_type="travel", inventory_id=1,
                          year=2025, target_type="data_entries", settings={})
    provider = TableauFlightsProvider(ctx, tracker, ListSink())
    asyncio.run(provider.run_pipeline())
    status, error = tracker.outcome
    assert status == "failed" and error.status_code == 503
    assert error.message.startswith("Tableau is not configured: set TABLEAU_SERVER_URL")
