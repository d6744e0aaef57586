"""pytest plugin: a real OpenID Connect provider (the `oidc-provider-mock` package: Authlib's
authorization server, real discovery, JWKS, token and userinfo endpoints) on a free
localhost port, and an app wired to it.

The provider signs honest ID tokens. To test the refusals it cannot be asked for (a
wrong nonce, an expired token, a foreign signature), `OidcProvider.tamper` rewrites the
next ID token the token endpoint hands out: its claims changed and re-signed with the
provider's own published key (so only the changed claim is wrong), or signed with a key
the provider never published.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import flask
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from tests.support.app import create_extra_app

CLIENT_ID, CLIENT_SECRET = "carbon-sync-tests", "not-a-real-secret"


@dataclass
class Tamper:
    claims: dict[str, Any] = field(default_factory=dict)
    foreign_key: bool = False  # sign with a key the provider did not publish
    drop: tuple[str, ...] = ()  # claims left out of the ID token (userinfo keeps them)


class OidcProvider:
    """The running provider: its issuer URL, users' claims, and the tamper switch."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.tamper: Tamper | None = None
        self.token_requests: list[dict[str, str]] = []  # form fields of /oauth2/token

    def set_user(self, sub: str, **claims: Any) -> None:
        """The claims (email, name, groups…) the provider gives `sub` at its next login."""
        answer = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert answer.status_code == 204, answer.text

    def settings(self) -> dict[str, Any]:
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_GROUPS_CLAIM": "groups"}

    def _rewrite_token_response(self, response: flask.Response) -> flask.Response:
        """after_request hook of the provider's app: record the token request; re-sign the
        ID token when a tamper is set (once)."""
        if flask.request.path != "/oauth2/token" or response.status_code != 200:
            return response
        self.token_requests.append(flask.request.form.to_dict())
        tamper, self.tamper = self.tamper, None
        if tamper is None:
            return response
        body = json.loads(response.get_data())
        # The provider's signing key (an authlib.jose key), as joserfc reads keys.
        published = RSAKey.import_key(
            flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True))
        original = jwt.decode(body["id_token"], published)
        key = published
        if tamper.foreign_key:  # same kid, so the client checks the signature itself
            key = RSAKey.generate_key(2048, parameters={"kid": published.kid})
        claims = {name: value for name, value in original.claims.items()
                  if name not in tamper.drop}
        body["id_token"] = jwt.encode(original.header, {**claims, **tamper.claims}, key)
        response.set_data(json.dumps(body))
        return response


@pytest.fixture(scope="session")
def oidc_provider():
    from oidc_provider_mock import app as provider_app

    wsgi = provider_app(require_nonce=True)
    provider = OidcProvider("")
    wsgi.after_request(provider._rewrite_token_response)
    # "localhost": Authlib accepts plain http only for loopback names (RFC 8252 §7.3).
    server = make_server("localhost", 0, wsgi, threaded=True)
    provider.issuer = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    thread.join(10)


@pytest.fixture
def sso_app(app, oidc_provider):
    """The test app's settings plus single sign-on (a second app: the session's app stays
    without it, as most tests expect)."""
    oidc_provider.tamper = None
    return create_extra_app({**app.config, **oidc_provider.settings()})
