"""The OpenID Connect provider, through Authlib's Flask client.

Authlib does every protocol check: the authorization code flow with PKCE (S256), the
`state` kept in the session and compared on return, the `nonce` sent and compared with
the ID token's, and the ID token's signature (against the keys the issuer publishes at
its `jwks_uri`), issuer, audience and expiry. This module only turns Authlib's errors
into refusals a person can read, without echoing tokens.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import ExpiredTokenError, JoseError

from webapp.errors import Refusal, Unavailable

CLIENT_NAME = "university"
EXTENSION = "carbon_sso"
SCOPES = "openid email profile"
TIMEOUT_S = 5  # a provider that hangs must not hold a request for long
log = logging.getLogger(__name__)


class LoginRefused(Refusal):
    """Single sign-on did not prove who the user is; nobody is logged in."""

    status_code = 401


def init_app(app: Flask) -> None:
    """Register the provider when OIDC_* are set. Its metadata is read at the first login,
    so a provider that is down never stops the app from starting."""
    if not app.config.get("OIDC_ISSUER"):
        return
    oauth = OAuth(app)
    client = oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256",
                       "default_timeout": TIMEOUT_S},
    )
    app.extensions[EXTENSION] = client


def configured(app: Flask) -> bool:
    return EXTENSION in app.extensions


def redirect_to_provider(callback_url: str):
    """The redirect to the provider's login; Authlib stores state, nonce and the PKCE
    verifier in the session for the callback."""
    try:
        return current_app.extensions[EXTENSION].authorize_redirect(callback_url)
    except (requests.RequestException, ValueError) as error:
        log.warning("single sign-on: the provider's metadata could not be read: %s",
                    type(error).__name__)
        raise Unavailable("The university login service cannot be reached. Try again "
                          "in a few minutes.") from None


def verified_claims() -> tuple[str, dict[str, Any]]:
    """On the callback: exchange the code and check the ID token.

    Returns:
        (issuer, claims): the ID token's claims, completed by the userinfo endpoint.

    Raises:
        LoginRefused: state, nonce, signature, expiry or the provider refused.
        Unavailable: the provider could not be reached.
    """
    client = current_app.extensions[EXTENSION]
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        raise LoginRefused("This login link is not the one we sent you (its state does "
                           "not match), or it was already used. Start again from the "
                           "login page.", status_code=400) from None
    except OAuthError as error:
        # The provider's own error code (access_denied, login_required…) is safe to show;
        # its description may carry anything, so it is logged, not shown.
        log.info("single sign-on: the provider answered %s", error.error)
        raise LoginRefused(f"The university login did not let you in "
                           f"({_code(error.error)}). Start again from the login page, "
                           "or ask the IT service desk.") from None
    except ExpiredTokenError:
        raise LoginRefused("The university login's answer has expired. Start again "
                           "from the login page.") from None
    except JoseError as error:
        # A bad signature, an unknown key, a wrong nonce, issuer or audience: whoever
        # sent this token, it does not prove who the user is.
        log.warning("single sign-on: ID token refused: %s", type(error).__name__)
        raise LoginRefused("The university login's answer could not be verified, so "
                           "nobody was logged in. Start again from the login page.") from None
    except requests.RequestException as error:
        log.warning("single sign-on: the provider could not be reached: %s",
                    type(error).__name__)
        raise Unavailable("The university login service cannot be reached. Try again "
                          "in a few minutes.") from None
    claims = dict(token.get("userinfo") or {})
    if not claims.get("sub"):
        raise LoginRefused("The university login sent no ID token. Start again from "
                           "the login page.")
    issuer = claims.get("iss") or current_app.config["OIDC_ISSUER"]
    # Some providers keep email or groups out of the ID token unless asked: the userinfo
    # endpoint has them. The ID token's own claims win.
    if not claims.get("email") or current_app.config["OIDC_GROUPS_CLAIM"] not in claims:
        claims = {**_userinfo(client, token), **claims}
    return issuer, claims


def _userinfo(client, token: dict) -> dict[str, Any]:
    """The userinfo endpoint's claims, for providers that keep email and groups out of
    the ID token. Its `sub` must be the ID token's (OpenID Connect Core §5.3.2)."""
    try:
        info = dict(client.userinfo(token=token))
    except (requests.RequestException, OAuthError, ValueError, KeyError) as error:
        log.warning("single sign-on: userinfo not read: %s", type(error).__name__)
        return {}
    return {key: value for key, value in info.items() if key != "sub"} \
        if info.get("sub") == token["userinfo"]["sub"] else {}


def _code(value: object) -> str:
    """The error code as the provider sent it, if it looks like one (RFC 6749 §4.1.2.1)."""
    text = str(value or "unknown_error")[:60]
    return text if text.replace("_", "").isalnum() else "unknown_error"
