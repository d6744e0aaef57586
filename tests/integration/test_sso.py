"""Single sign-on (SPEC §13) against a real OpenID Connect provider run locally
(tests/support/oidc.py): accounts created on first login, memberships from the groups
claim, LOCAL_LOGIN=0, and every refusal leaving no session and no user."""

from __future__ import annotations

import logging
import time

import pytest

from tests.support.app import create_extra_app
from tests.support.sso import authorize, callback, query, sso_login, start
from tests.support.web import login
from webapp.extensions import db
from webapp.models import AuditEntry, Membership, Unit, User


@pytest.fixture
def units(sso_app):
    """Units F0001, F0002, F0003 beside the seed's F0892: {code: id}."""
    with sso_app.app_context():
        for code in ("F0001", "F0002", "F0003"):
            db.session.add(Unit(code=code, name=f"Unit {code}"))
        db.session.commit()
        return dict(db.session.execute(db.select(Unit.code, Unit.id)).all())


def _users(app) -> list[User]:
    with app.app_context():
        return db.session.execute(db.select(User).order_by(User.id)).scalars().all()


def _memberships(app, user_id: int) -> dict[str, tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(Unit.code, Membership.role, Membership.source).join(Membership.unit)
            .where(Membership.user_id == user_id)).all()
        return {code: (role, source) for code, role, source in rows}


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def test_first_login_creates_a_viewer_with_the_claimed_memberships(
        sso_app, oidc_provider, units):
    oidc_provider.set_user("u-ada", email="Ada@Uni.example", name="Ada Lovelace",
                           groups=["carbon:editor:F0001", "carbon:boss:F0002",
                                   "carbon:viewer:NOPE", "moodle:teacher", "carbon:viewer"])
    client = sso_app.test_client()
    url = start(client, next_url="/audit")
    sent = query(url)
    # PKCE, state and nonce all go out; the provider gets the verifier back.
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) >= 43
    assert sent["state"] and sent["nonce"] and "openid" in sent["scope"].split()
    answer = callback(client, authorize(url, "u-ada"))
    assert answer.status_code == 302 and answer.headers["Location"] == "/audit"
    assert oidc_provider.token_requests[-1]["code_verifier"]
    assert _logged_in(client)

    [user] = _users(sso_app)
    assert (user.email, user.name, user.admin) == ("ada@uni.example", "Ada Lovelace", False)
    assert (user.oidc_issuer, user.oidc_subject) == (oidc_provider.issuer, "u-ada")
    assert user.password_hash is None
    assert _memberships(sso_app, user.id) == {"F0001": ("editor", "sso")}
    with sso_app.app_context():
        audit = db.session.execute(db.select(AuditEntry.action, AuditEntry.details)
                                   .order_by(AuditEntry.id)).all()
    assert [action for action, _ in audit] == ["user.created", "login.sso"]
    assert audit[1][1] == {"memberships": {"F0001": "editor"}}
    assert "token" not in str(audit).lower()  # neither tokens nor their names
    # An SSO-only account has no password: the password form refuses it.
    assert "Wrong email or password." in login(
        sso_app.test_client(), "ada@uni.example", "a-guess").get_data(as_text=True)


def test_a_second_login_replaces_only_the_sso_memberships(sso_app, oidc_provider, units):
    oidc_provider.set_user("u-bob", email="bob@uni.example",
                           groups=["carbon:editor:F0001", "carbon:viewer:F0002"])
    assert sso_login(sso_app.test_client(), "u-bob").status_code == 302
    [user] = _users(sso_app)
    with sso_app.app_context():  # an admin's own grant, beside the claim's
        db.session.add(Membership(user_id=user.id, unit_id=units["F0003"], role="viewer",
                                  source="manual"))
        db.session.commit()

    oidc_provider.set_user("u-bob", email="bob@uni.example",
                           groups=["carbon:manager:F0002", "carbon:editor:F0003"])
    assert sso_login(sso_app.test_client(), "u-bob").status_code == 302
    assert [u.id for u in _users(sso_app)] == [user.id]  # the same account, not a new one
    assert _memberships(sso_app, user.id) == {"F0002": ("manager", "sso"),
                                              "F0003": ("viewer", "manual")}


def test_local_login_off_refuses_passwords(app, oidc_provider, create_user):
    sso_only = create_extra_app({**app.config, **oidc_provider.settings(),
                                 "LOCAL_LOGIN": False})
    user = create_user("admin")
    client = sso_only.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Log in with your university account" in page
    assert 'type="password"' not in page
    answer = login(client, user["email"], user["password"])
    assert answer.status_code == 403
    assert "Password login is turned off" in answer.get_data(as_text=True)
    assert not _logged_in(client)
    # The same password still works where local login is on.
    assert login(app.test_client(), user["email"], user["password"]).status_code == 302


def _assert_refused(app, client, answer, status: int, words: str) -> None:
    page = answer.get_data(as_text=True)
    assert answer.status_code == status, page[:500]
    assert words in page and "<h1>Login refused</h1>" in page
    assert "eyJ" not in page  # no JWT (tokens start with a base64url '{"')
    assert not _logged_in(client)
    assert _users(app) == []


@pytest.mark.parametrize("forge", ["changed", "missing"])
def test_a_forged_state_is_refused(sso_app, oidc_provider, forge):
    client = sso_app.test_client()
    back = authorize(start(client), "u-eve")
    state = query(back)["state"]
    forged = back.replace(f"state={state}", "state=forged" if forge == "changed" else "")
    _assert_refused(sso_app, client, callback(client, forged), 400, "state does not match")
    # The genuine answer was not spent by the forgery... and still logs in.
    oidc_provider.set_user("u-eve", email="eve@uni.example")
    assert callback(client, back).status_code == 302 and _logged_in(client)


def test_a_provider_error_is_refused(sso_app):
    client = sso_app.test_client()
    back = authorize(start(client), None, deny=True)
    assert query(back)["error"] == "access_denied"
    _assert_refused(sso_app, client, callback(client, back), 401, "(access_denied)")


@pytest.mark.parametrize("tamper, words, why", [
    ({"claims": {"nonce": "not-the-one-we-sent"}}, "could not be verified",
     "InvalidClaimError"),
    ({"claims": {"exp": int(time.time()) - 600, "iat": int(time.time()) - 1200}},
     "has expired", None),
    ({"foreign_key": True}, "could not be verified", "BadSignatureError"),
], ids=["wrong-nonce", "expired", "foreign-signature"])
def test_an_id_token_that_proves_nothing_is_refused(sso_app, oidc_provider, caplog,
                                                    tamper, words, why):
    from tests.support.oidc import Tamper

    oidc_provider.set_user("u-mallory", email="mallory@uni.example")
    client = sso_app.test_client()
    oidc_provider.tamper = Tamper(**tamper)
    app_log = logging.getLogger("webapp")  # it does not propagate to the root logger
    app_log.addHandler(caplog.handler)
    try:
        answer = sso_login(client, "u-mallory")
    finally:
        app_log.removeHandler(caplog.handler)
    _assert_refused(sso_app, client, answer, 401, words)
    assert oidc_provider.tamper is None  # the provider did hand out the tampered token
    if why:  # refused for this reason, not another
        assert f"ID token refused: {why}" in caplog.text
    assert "eyJ" not in caplog.text  # and the log holds no token


def test_an_unreachable_provider_is_503_not_500(app):
    from tests.support.oidc import CLIENT_ID, CLIENT_SECRET

    nowhere = create_extra_app({**app.config, "OIDC_ISSUER": "http://localhost:9",
                                "OIDC_CLIENT_ID": CLIENT_ID,
                                "OIDC_CLIENT_SECRET": CLIENT_SECRET})
    answer = nowhere.test_client().get("/login/sso")
    assert answer.status_code == 503
    assert "cannot be reached" in answer.get_data(as_text=True)
    assert "<h1>Login unavailable</h1>" in answer.get_data(as_text=True)


def test_a_deactivated_user_is_refused(sso_app, oidc_provider):
    oidc_provider.set_user("u-gone", email="gone@uni.example")
    assert sso_login(sso_app.test_client(), "u-gone").status_code == 302
    with sso_app.app_context():
        db.session.execute(db.update(User).values(active=False))
        db.session.commit()
    client = sso_app.test_client()
    answer = sso_login(client, "u-gone")
    assert answer.status_code == 401 and "deactivated" in answer.get_data(as_text=True)
    assert not _logged_in(client)
    with sso_app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "login.sso")).scalar() == 1


def test_an_email_of_a_local_account_is_not_taken_over(sso_app, oidc_provider, create_user):
    admin = create_user("admin")
    oidc_provider.set_user("u-imposter", email=admin["email"])
    client = sso_app.test_client()
    answer = sso_login(client, "u-imposter")
    assert answer.status_code == 409 and "not linked" in answer.get_data(as_text=True)
    assert not _logged_in(client)
    assert [u.email for u in _users(sso_app)] == [admin["email"]]


def test_an_admin_can_give_an_sso_user_a_password(sso_app, oidc_provider):
    oidc_provider.set_user("u-lin", email="lin@uni.example")
    assert sso_login(sso_app.test_client(), "u-lin").status_code == 302
    result = sso_app.test_cli_runner().invoke(
        args=["users", "set-password", "lin@uni.example", "--password-stdin"],
        input="a long new password\n")
    assert result.exit_code == 0, result.output
    client = sso_app.test_client()
    assert login(client, "lin@uni.example", "a long new password").status_code == 302
    assert _logged_in(client)


def test_groups_missing_from_the_id_token_are_read_from_userinfo(sso_app, oidc_provider):
    from tests.support.oidc import Tamper

    oidc_provider.set_user("u-kim", email="kim@uni.example", groups=["carbon:editor:F0892"])
    oidc_provider.tamper = Tamper(drop=("groups", "email"))  # signed by the provider's key
    assert sso_login(sso_app.test_client(), "u-kim").status_code == 302
    assert oidc_provider.tamper is None
    [user] = _users(sso_app)
    assert user.email == "kim@uni.example"
    assert _memberships(sso_app, user.id) == {"F0892": ("editor", "sso")}


def test_without_a_provider_there_is_no_sso(app):
    client = app.test_client()
    assert "university account" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404
