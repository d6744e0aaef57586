"""Single sign-on's settings fail fast when half configured, and the groups claim is read
as `carbon:<role>:<unit code>` values, ignoring the rest."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, load_config
from webapp.organisation.sso_memberships import parse_groups

PROD = {"APP_ENV": "production", "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://u:p@db/carbon", "REDIS_URL": "redis://cache:6379/0",
        "TRUSTED_HOSTS": "carbon.example.org"}
SSO = {"OIDC_ISSUER": "https://login.uni.example/realms/uni/", "OIDC_CLIENT_ID": "carbon",
       "OIDC_CLIENT_SECRET": "s3cret"}


def test_sso_is_off_by_default_and_local_login_on():
    config = load_config(PROD)
    assert config["OIDC_ISSUER"] is None and config["LOCAL_LOGIN"] is True
    assert config["OIDC_GROUPS_CLAIM"] == "groups"


def test_a_full_configuration_is_read():
    config = load_config({**PROD, **SSO, "LOCAL_LOGIN": "0", "OIDC_GROUPS_CLAIM": "roles"})
    assert config["OIDC_ISSUER"] == "https://login.uni.example/realms/uni"  # no slash
    assert (config["LOCAL_LOGIN"], config["OIDC_GROUPS_CLAIM"]) == (False, "roles")


@pytest.mark.parametrize("missing", sorted(SSO))
def test_half_configured_sso_stops_start_up_naming_what_is_missing(missing):
    env = {**PROD, **SSO}
    del env[missing]
    with pytest.raises(ConfigError, match=f"half configured: {missing} missing"):
        load_config(env)


def test_local_login_off_without_sso_would_lock_everyone_out():
    with pytest.raises(ConfigError, match="nobody could log in"):
        load_config({**PROD, "LOCAL_LOGIN": "0"})


def test_production_needs_an_https_issuer():
    with pytest.raises(ConfigError, match="OIDC_ISSUER must be an https:// URL"):
        load_config({**PROD, **SSO, "OIDC_ISSUER": "http://login.uni.example"})


def test_groups_claim_values():
    grants = parse_groups(["carbon:viewer:F1", "carbon:manager:F1", "carbon:editor:F2",
                           "carbon:owner:F3", "carbon:editor:", "carbon:editor:a:b",
                           "staff", 7, "carbon:viewer:F4"])
    # The higher of two roles for one unit; other applications' groups silently skipped.
    assert grants.roles == {"F1": "manager", "F2": "editor", "F4": "viewer"}
    assert grants.ignored == ["carbon:owner:F3", "carbon:editor:", "carbon:editor:a:b"]
    assert parse_groups("carbon:editor:F9").roles == {"F9": "editor"}  # one string
    assert parse_groups(None).roles == {}
