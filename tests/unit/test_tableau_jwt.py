"""Connected App JWT and TABLEAU_* settings: what Tableau checks, and secrets kept out of sight."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from webapp.errors import ProviderUnavailable
from webapp.ingestion.providers.tableau.client import TableauClient, TableauSettings, mint_jwt
from webapp.ingestion.providers.tableau.provider import TableauFlightsProvider

SECRET = "a-very-secret-value-that-must-never-leak-0123456789"
ENV = {
    "TABLEAU_SERVER_URL": "https://tableau.example.org/",
    "TABLEAU_SITE_CONTENT_URL": "carbon",
    "TABLEAU_CONNECTED_APP_CLIENT_ID": "client-123",
    "TABLEAU_CONNECTED_APP_SECRET_ID": "secret-id-456",
    "TABLEAU_CONNECTED_APP_SECRET_VALUE": SECRET,
    "TABLEAU_USERNAME": "reader@example.org",
    "TABLEAU_FLIGHTS_DATASOURCE_LUID": "luid-789",
}


@pytest.fixture
def settings() -> TableauSettings:
    return TableauSettings.from_mapping(ENV)


def decode(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience="tableau")


def test_header_names_the_secret_and_the_app(settings):
    header = jwt.get_unverified_header(mint_jwt(settings))
    assert header["alg"] == "HS256"
    assert header["kid"] == "secret-id-456"
    assert header["iss"] == "client-123"


def test_claims(settings):
    claims = decode(mint_jwt(settings))
    assert claims["iss"] == "client-123"
    assert claims["sub"] == "reader@example.org"
    assert claims["aud"] == "tableau"
    assert "tableau:viz_data_service:read" in claims["scp"]
    assert isinstance(claims["scp"], list)
    uuid.UUID(claims["jti"])


def test_exp_is_in_the_future_and_at_most_ten_minutes_ahead(settings):
    now = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)
    claims = jwt.decode(mint_jwt(settings, now=now), SECRET, algorithms=["HS256"],
                        audience="tableau", options={"verify_exp": False})
    lifetime = claims["exp"] - int(now.timestamp())
    assert 0 < lifetime <= timedelta(minutes=10).total_seconds()


def test_every_jwt_has_a_new_jti(settings):
    jtis = {decode(mint_jwt(settings))["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_defaults(settings):
    assert settings.server_url == "https://tableau.example.org"  # trailing slash dropped
    assert settings.api_version == "3.24"
    assert settings.verify_ssl is True
    assert settings.timeout_s == 30.0


@pytest.mark.parametrize(("raw", "expected"), [
    ("false", False), ("0", False), ("No", False), ("true", True), ("", True),
    (False, False), ("/etc/ssl/campus-ca.pem", "/etc/ssl/campus-ca.pem"),
])
def test_verify_ssl(raw, expected):
    assert TableauSettings.from_mapping({**ENV, "TABLEAU_VERIFY_SSL": raw}).verify_ssl == expected


def test_timeout_must_be_a_positive_number():
    assert TableauSettings.from_mapping({**ENV, "TABLEAU_TIMEOUT_S": "2.5"}).timeout_s == 2.5
    with pytest.raises(ProviderUnavailable, match="TABLEAU_TIMEOUT_S"):
        TableauSettings.from_mapping({**ENV, "TABLEAU_TIMEOUT_S": "soon"})
    with pytest.raises(ProviderUnavailable, match="TABLEAU_TIMEOUT_S must be a positive"):
        TableauSettings.from_mapping({**ENV, "TABLEAU_TIMEOUT_S": "0"})


@pytest.mark.parametrize(("raw", "expected"), [(None, 1.0), ("", 1.0), ("0.05", 0.05),
                                               ("0", 0.0)])
def test_retry_backoff_setting(raw, expected):
    settings = TableauSettings.from_mapping({**ENV, "TABLEAU_RETRY_BACKOFF_S": raw})
    assert settings.retry_backoff_s == expected


@pytest.mark.parametrize("raw", ["-1", "soon", "nan"])
def test_retry_backoff_must_be_zero_or_more_seconds(raw):
    with pytest.raises(ProviderUnavailable, match="TABLEAU_RETRY_BACKOFF_S must be zero or more"):
        TableauSettings.from_mapping({**ENV, "TABLEAU_RETRY_BACKOFF_S": raw})


def test_missing_names_each_unset_variable():
    env = {**ENV, "TABLEAU_USERNAME": "  ", "TABLEAU_CONNECTED_APP_SECRET_VALUE": None}
    del env["TABLEAU_SERVER_URL"]
    assert TableauSettings.missing(env) == [
        "TABLEAU_SERVER_URL", "TABLEAU_CONNECTED_APP_SECRET_VALUE", "TABLEAU_USERNAME"]
    with pytest.raises(ProviderUnavailable) as raised:
        TableauSettings.from_mapping(env)
    assert raised.value.status_code == 503
    assert raised.value.message.startswith("Tableau is not configured: set TABLEAU_SERVER_URL")


def test_provider_says_why_it_is_unavailable():
    reason = TableauFlightsProvider.unavailable_reason({})
    assert reason.startswith("Tableau is not configured: set TABLEAU_SERVER_URL, ")
    assert "TABLEAU_FLIGHTS_DATASOURCE_LUID" in reason
    assert TableauFlightsProvider.unavailable_reason(ENV) is None


def test_secret_never_printed(settings):
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "secret-id-456" in repr(settings)  # the id is not secret and helps support
    assert SECRET not in repr(TableauClient(settings))
