"""The users API (SPEC §13): admins list every user, a manager the members of the units
they manage; admins and managers create users (only admins create admins); admins
deactivate them, which ends their sessions and their tokens. Every change is audited."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.accounts import ApiClient
from tests.support.organisation import email_of, set_up_people
from tests.support.web import logged_in_client, login


@pytest.fixture
def people(app, tmp_path, create_user):
    return set_up_people(app, tmp_path, create_user)


@pytest.fixture
def api_of(app, api_token, people):
    """Factory: api_of("manager") -> that person's API client."""
    return lambda name: ApiClient(app.test_client(), api_token(people[name]))


def _emails(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["email"] for item in response.get_json()["items"]]


def _audit(db_url: str, action: str) -> list[dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM audit_log WHERE action = %s ORDER BY id",
                            (action,)).fetchall()


def test_an_admin_lists_searches_and_pages_every_user(people, api_of):
    admin = api_of("admin")
    everyone = _emails(admin.get("/users?limit=500"))
    assert everyone == sorted(everyone)
    assert {email_of(name) for name in people} <= set(everyone)
    assert _emails(admin.get("/users?q=MEMBER")) == [email_of("lab member"),
                                                      email_of("materials member")]
    first, second = admin.get("/users?q=member&limit=1"), admin.get(
        "/users?q=member&limit=1&offset=1")
    assert first.get_json()["total"] == second.get_json()["total"] == 2
    assert _emails(first) + _emails(second) == [email_of("lab member"),
                                                 email_of("materials member")]
    assert admin.get("/users?q=member&offset=5").get_json() == {
        "items": [], "total": 2, "limit": 100, "offset": 5}
    lab = admin.get("/users?q=lab-member").get_json()["items"][0]
    assert lab == {"email": email_of("lab member"), "name": "lab-member", "admin": False,
                   "active": True, "sso": False, "created_at": lab["created_at"],
                   "memberships": [{"unit_code": "L-101", "role": "viewer",
                                    "source": "manual"}]}


def test_a_manager_lists_the_members_of_their_units_only(app, people, api_of):
    # The lab member is also a viewer of the sibling institute: not the manager's to see.
    assert app.test_cli_runner().invoke(args=[
        "members", "add", email_of("lab member"), "I-20", "viewer"]).exit_code == 0
    listed = api_of("manager").get("/users").get_json()
    assert [item["email"] for item in listed["items"]] == [email_of("lab member"),
                                                           email_of("manager")]
    assert listed["total"] == 2
    assert listed["items"][0]["memberships"] == [
        {"unit_code": "L-101", "role": "viewer", "source": "manual"}]


@pytest.mark.parametrize("who", ["school editor", "lab member", "plain"])
def test_who_manages_no_unit_may_not_list_or_create_users(api_of, db_url, who):
    client = api_of(who)
    listed = client.get("/users")
    assert listed.status_code == 403
    assert listed.get_json()["message"] == \
        "listing users needs an admin or the manager role in a unit"
    created = client.post("/users", json={"email": "new@example.org"})
    assert created.status_code == 403
    assert "new@example.org" not in str(_audit(db_url, "user.created"))


def test_an_admin_creates_users_and_admins_without_a_password(app, people, api_of, db_url):
    admin = api_of("admin")
    created = admin.post("/users", json={"email": " Ada@Example.org ", "name": "Ada L."})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["email"], body["name"], body["admin"], body["active"], body["memberships"]) \
        == ("ada@example.org", "Ada L.", False, True, [])
    other_admin = admin.post("/users", json={"email": "root@example.org", "admin": True})
    assert other_admin.status_code == 201 and other_admin.get_json()["admin"] is True
    assert other_admin.get_json()["name"] == "root"
    rows = _audit(db_url, "user.created")[-2:]
    assert [(row["details"], row["actor_id"]) for row in rows] == [
        ({"email": "ada@example.org", "admin": False, "via": "api"}, people["admin"]["id"]),
        ({"email": "root@example.org", "admin": True, "via": "api"}, people["admin"]["id"])]
    # No password: only single sign-on, or one an admin sets, logs them in.
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT password_hash FROM users WHERE email = %s",
                            ("ada@example.org",)).fetchone() == (None,)
    assert "Wrong email or password." in login(
        app.test_client(), "ada@example.org", "anything").get_data(as_text=True)


def test_a_manager_creates_plain_users_not_admins(people, api_of, db_url):
    manager = api_of("manager")
    refused = manager.post("/users", json={"email": "boss@example.org", "admin": True})
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "creating an admin needs an admin"
    created = manager.post("/users", json={"email": "new@example.org"})
    assert created.status_code == 201
    # Not theirs to see until they give the new user a role in a unit they manage.
    assert email_of("plain") not in _emails(manager.get("/users"))
    assert "new@example.org" not in _emails(manager.get("/users"))
    put = manager.client.put("/api/v1/units/L-101/members/new@example.org",
                             headers=manager.headers, json={"role": "editor"})
    assert put.status_code == 200
    assert "new@example.org" in _emails(manager.get("/users"))
    assert [row["details"]["email"] for row in _audit(db_url, "user.created")][-1] == \
        "new@example.org"
    assert "boss@example.org" not in str(_audit(db_url, "user.created"))


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"email": "MANAGER@example.org"}, 409, "a user with the email manager@example.org "
                                            "already exists"),
    ({"email": "not-an-address"}, 422, "email must be an address like name@example.org"),
    ({"email": "two@@example.org"}, 422, "email must be an address"),
    ({"email": "a b@example.org"}, 422, "email must be an address"),
    ({"email": "a/b@example.org"}, 422, "email must be an address"),
    ({"email": "x@" + "a" * 260 + ".org"}, 422, "email must be an address"),
    ({}, 422, "email must be an address"),
    ({"email": "ok@example.org", "name": "n" * 201}, 422, "name must be at most 200"),
    ({"email": 7}, 400, "email must be a string"),
    ({"email": "ok@example.org", "admin": "yes"}, 400, "admin must be true or false"),
])
def test_a_refused_creation_says_why_and_creates_nothing(people, api_of, db_url, body,
                                                          status, words):
    before = len(_audit(db_url, "user.created"))
    response = api_of("admin").post("/users", json=body)
    assert response.status_code == status
    assert words in response.get_json()["message"]
    assert len(_audit(db_url, "user.created")) == before


def test_deactivating_ends_sessions_and_tokens(app, people, api_of, api_token, db_url):
    lab = people["lab member"]
    session = logged_in_client(app, lab)
    token = ApiClient(app.test_client(), api_token(lab))
    assert token.get("/me").status_code == 200
    assert api_of("manager").post(f"/users/{lab['email']}/deactivate").status_code == 403
    admin = api_of("admin")
    response = admin.post(f"/users/{lab['email']}/deactivate")
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    refused = token.get("/me")
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "the token's owner is deactivated"
    assert session.get("/").status_code == 302  # back to the login page
    assert login(app.test_client(), lab["email"], lab["password"]).status_code != 302
    rows = _audit(db_url, "user.deactivated")
    assert [(row["target_id"], row["details"]) for row in rows] == [
        (lab["id"], {"email": lab["email"], "via": "api"})]
    # Again: nothing changes and nothing more is recorded.
    assert admin.post(f"/users/{lab['email']}/deactivate").status_code == 200
    assert len(_audit(db_url, "user.deactivated")) == 1
    assert admin.post("/users/ghost@example.org/deactivate").status_code == 404
    myself = admin.post(f"/users/{people['admin']['email']}/deactivate")
    assert myself.status_code == 409
    assert myself.get_json()["message"] == "you cannot deactivate your own account"


# -- the first single sign-on login of a created user -----------------------------------

def test_a_created_user_logs_in_with_single_sign_on_and_keeps_their_roles(
        sso_app, oidc_provider, create_user, api_token, db_url):
    from tests.support.sso import sso_login

    manager = create_user("manager")  # of the demo's unit
    client = ApiClient(sso_app.test_client(), api_token(manager))
    assert client.post("/users", json={"email": "kim@uni.example"}).status_code == 201
    assert client.client.put("/api/v1/units/F0892/members/kim@uni.example",
                             headers=client.headers, json={"role": "editor"}
                             ).status_code == 200
    oidc_provider.set_user("u-kim", email="Kim@Uni.example")
    browser = sso_app.test_client()
    assert sso_login(browser, "u-kim").status_code == 302
    assert browser.get("/").status_code == 200  # logged in
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*), min(oidc_subject) FROM users WHERE email = "
                            "'kim@uni.example'").fetchone() == (1, "u-kim")
    assert [row["details"] for row in _audit(db_url, "user.linked")] == [
        {"email": "kim@uni.example", "via": "sso"}]
    me = browser.get("/api/v1/me").get_json()
    assert me["memberships"] == [{"unit_code": "F0892", "role": "editor",
                                  "source": "manual"}]
    # The provider's identity finds them from now on; another identity with the same
    # email takes nothing over.
    oidc_provider.set_user("u-other", email="kim@uni.example")
    refused = sso_login(sso_app.test_client(), "u-other")
    assert refused.status_code == 409 and "not linked" in refused.get_data(as_text=True)


@pytest.mark.parametrize("account", ["with a password", "admin", "deactivated"])
def test_only_a_plain_password_less_account_is_linked(sso_app, oidc_provider, db_url,
                                                       account):
    from tests.support.sso import sso_login
    from webapp.extensions import db
    from webapp.organisation import users

    with sso_app.app_context():
        user = users.create_user("lin@uni.example", admin=account == "admin",
                                 password="pw-lin" if account == "with a password" else None)
        if account == "deactivated":
            users.deactivate_user(user, via="test")
        db.session.commit()
    oidc_provider.set_user("u-lin", email="lin@uni.example")
    answer = sso_login(sso_app.test_client(), "u-lin")
    assert answer.status_code == (401 if account == "deactivated" else 409)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT oidc_subject FROM users WHERE email = "
                            "'lin@uni.example'").fetchone() == (None,)
    assert _audit(db_url, "user.linked") == []


def test_the_command_line_shares_the_rules(app, db_url):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["users", "create", "not-an-address", "--password", "x"])
    assert bad.exit_code == 1
    assert "email must be an address like name@example.org" in bad.output
    assert _audit(db_url, "user.created") == []
    assert runner.invoke(args=["users", "create", "ok@example.org"]).exit_code == 0
    nameless = runner.invoke(args=["tokens", "create", "ok@example.org", " "])
    assert nameless.exit_code == 1 and "the token needs a name" in nameless.output
    assert runner.invoke(args=["users", "deactivate", "ok@example.org"]).exit_code == 0
    late = runner.invoke(args=["tokens", "create", "ok@example.org", "ci"])
    assert late.exit_code == 1 and "ok@example.org is deactivated" in late.output
    assert _audit(db_url, "token.created") == []
