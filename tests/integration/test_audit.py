"""The audit log (SPEC §12): each recorded action leaves exactly one row, written in the
action's own transaction (a refused action leaves none); admins read it at /audit and
GET /api/v1/audit, filtered by user, action and target; nobody else can."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import ApiClient
from tests.support.web import csrf_token, logged_in_client, login

CSV_DIR = Path(__file__).resolve().parent.parent / "data" / "csv"
pytestmark = pytest.mark.usefixtures("idle_queue")  # jobs stay pending: nothing runs


def _rows(db_url: str, action: str | None = None) -> list[dict]:
    query = "SELECT * FROM audit_log" + (" WHERE action = %s" if action else "") + \
        " ORDER BY id"
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(query, (action,) if action else ()).fetchall()


def _one(db_url: str, action: str) -> dict:
    rows = _rows(db_url, action)
    assert len(rows) == 1, rows
    return rows[0]


def _editor(app, create_user, api_token) -> tuple[dict, ApiClient]:
    editor = create_user("editor")
    return editor, ApiClient(app.test_client(), api_token(editor))


def test_a_sync_job_leaves_one_row_and_a_conflict_none(app, create_user, api_token, db_url):
    editor, api = _editor(app, create_user, api_token)
    response = api.sync(2)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    row = _one(db_url, "job.created")
    assert (row["actor_id"], row["actor_email"]) == (editor["id"], editor["email"])
    assert (row["target_type"], row["target_id"]) == ("job", job_id)
    assert row["details"]["provider_type"] == "synthetic"
    assert row["details"]["module_id"] == 2
    assert row["client_address"] == "127.0.0.1"
    assert row["at"] is not None

    assert api.sync(2).status_code == 409  # a job is already pending for this module
    assert len(_rows(db_url, "job.created")) == 1


def test_an_upload_job_leaves_one_row(app, create_user, api_token, db_url):
    _, api = _editor(app, create_user, api_token)
    name = "purchases_cp1252_crlf.csv"
    response = api.sync(4, "csv_upload", file=CSV_DIR / name)
    assert response.status_code == 202, response.get_json()
    row = _one(db_url, "job.created")
    assert row["target_id"] == response.get_json()["job_id"]
    assert row["details"]["provider_type"] == "csv_upload"


def test_cancel_and_retry_leave_one_row_each_and_refusals_none(app, create_user,
                                                               api_token, db_url):
    editor, api = _editor(app, create_user, api_token)
    job_id = api.sync(2).get_json()["job_id"]

    assert api.post(f"/sync/cancel/{job_id}").status_code == 200
    cancelled = _one(db_url, "job.cancelled")
    assert (cancelled["target_id"], cancelled["actor_id"]) == (job_id, editor["id"])
    assert api.post(f"/sync/cancel/{job_id}").status_code == 409
    assert len(_rows(db_url, "job.cancelled")) == 1

    retry = api.post(f"/sync/retry/{job_id}")
    assert retry.status_code == 202
    retried = _one(db_url, "job.retried")
    assert retried["target_id"] == retry.get_json()["job_id"]
    assert retried["details"]["retry_of"] == job_id
    assert api.post(f"/sync/retry/{job_id}").status_code == 409  # already retried
    assert len(_rows(db_url, "job.retried")) == 1
    assert len(_rows(db_url, "job.created")) == 1  # the retry is not also a "created"


def test_a_refused_request_leaves_no_row(app, create_user, api_token, db_url):
    _, api = _editor(app, create_user, api_token)
    before = len(_rows(db_url))
    assert api.sync(2, year=None).status_code == 422  # no year
    assert api.post("/sync/cancel/999").status_code == 404
    assert len(_rows(db_url)) == before


def test_logins_and_failures_are_recorded_with_the_address_and_no_password(
        app, create_user, db_url):
    user = create_user("viewer")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.7"
    assert login(client, user["email"], "a-wrong-secret").status_code == 200
    assert login(client, "ghost@example.org", "another-secret").status_code == 200
    assert login(client, user["email"], user["password"]).status_code == 302

    failed = _rows(db_url, "login.failed")
    assert [r["details"]["email"] for r in failed] == [user["email"], "ghost@example.org"]
    assert {r["client_address"] for r in failed} == {"127.0.0.7"}
    assert all(r["actor_id"] is None for r in failed)
    ok = _one(db_url, "login")
    assert (ok["actor_id"], ok["target_id"], ok["client_address"]) == \
        (user["id"], user["id"], "127.0.0.7")
    assert "secret" not in str(_rows(db_url))

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert _one(db_url, "logout")["actor_id"] == user["id"]


def test_cli_changes_are_recorded_without_secrets(app, create_user, db_url):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "new@example.org", "--unit", "F0892",
                                  "--role", "editor",
                                  "--password", "pw-kept-out"])
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["tokens", "create", "new@example.org", "ci"])
    assert token.exit_code == 0, token.output
    clear_token = token.output.strip()
    assert runner.invoke(args=["users", "set-password", "new@example.org",
                               "--password-stdin"], input="pw-also-kept-out\n").exit_code == 0
    assert runner.invoke(args=["tokens", "revoke", "new@example.org", "ci"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "new@example.org"]).exit_code == 0

    user_row = _one(db_url, "user.created")
    assert user_row["details"] == {"email": "new@example.org", "admin": False, "via": "cli"}
    user_id = user_row["target_id"]
    token_row = _one(db_url, "token.created")
    assert token_row["target_type"] == "api_token"
    assert token_row["details"]["name"] == "ci"
    assert _one(db_url, "token.revoked")["target_id"] == token_row["target_id"]
    for action in ("user.password_changed", "user.deactivated"):
        row = _one(db_url, action)
        assert (row["target_type"], row["target_id"], row["actor_id"]) == \
            ("user", user_id, None)
    everything = str(_rows(db_url))
    for secret in ("pw-kept-out", "pw-also-kept-out", clear_token):
        assert secret not in everything


def test_a_failed_cli_command_leaves_no_row(app, db_url):
    before = len(_rows(db_url))
    result = app.test_cli_runner().invoke(args=["tokens", "create", "ghost@example.org", "x"])
    assert result.exit_code != 0
    assert len(_rows(db_url)) == before


@pytest.fixture
def history(app, create_user, api_token):
    """Two editors' jobs: alice creates and cancels one, bob creates another."""
    alice, alice_api = _editor(app, create_user, api_token)
    bob, bob_api = _editor(app, create_user, api_token)
    first = alice_api.sync(2).get_json()["job_id"]
    assert alice_api.post(f"/sync/cancel/{first}").status_code == 200
    second = bob_api.sync(1).get_json()["job_id"]
    return {"alice": alice, "bob": bob, "first": first, "second": second}


def _items(admin_api, query: str = "") -> dict:
    response = admin_api.get(f"/audit{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_api_filters_and_pages(admin_api, history):
    alice, bob = history["alice"], history["bob"]
    everything = _items(admin_api)
    assert everything["total"] == len(everything["items"]) >= 5  # 3 users, 2 jobs, 1 cancel
    ids = [item["id"] for item in everything["items"]]
    assert ids == sorted(ids, reverse=True)  # newest first

    by_alice = _items(admin_api, f"?user={alice['email'].upper()}")
    assert [i["action"] for i in by_alice["items"]] == ["job.cancelled", "job.created"]
    assert _items(admin_api, f"?user={bob['id']}")["total"] == 1
    created = _items(admin_api, "?action=job.created")
    assert {i["target_id"] for i in created["items"]} == {history["first"], history["second"]}
    one_job = _items(admin_api, f"?target_type=job&target_id={history['first']}")
    assert [i["action"] for i in one_job["items"]] == ["job.cancelled", "job.created"]
    assert _items(admin_api, "?action=job.created&user=" + bob["email"])["items"][0][
        "target_id"] == history["second"]
    assert _items(admin_api, "?action=no.such.action") == {
        "items": [], "total": 0, "limit": 50, "offset": 0}

    page = _items(admin_api, "?limit=2&offset=1")
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, everything["total"])
    assert [i["id"] for i in page["items"]] == ids[1:3]


@pytest.mark.parametrize("query, name", [
    ("?target_id=abc", "target_id"), ("?target_id=2147483648", "target_id"),
    ("?user=99999999999", "user"), ("?action=" + "a" * 300, "action"),
    ("?target_type=job%00", "target_type"), ("?limit=0", "limit")])
def test_bad_filters_are_a_400_naming_them(admin_api, query, name):
    response = admin_api.get(f"/audit{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request" and name in body["message"]


def test_only_admins_read_the_api(app, create_user, api_token):
    for role in ("viewer", "editor"):
        api = ApiClient(app.test_client(), api_token(create_user(role)))
        response = api.get("/audit")
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"
    assert app.test_client().get("/api/v1/audit").status_code == 401


def test_the_page_lists_filters_and_is_for_admins_only(app, create_user, history):
    for role in ("viewer", "editor"):
        assert logged_in_client(app, create_user(role)).get("/audit").status_code == 403
    admin = logged_in_client(app, create_user("admin"))
    html = admin.get("/audit").get_data(as_text=True)
    assert "Audit log" in html and history["alice"]["email"] in html
    assert "command line" in html  # the users created by the CLI helper
    assert f'href="/jobs/{history["first"]}"' in html
    filtered = admin.get(f"/audit?user={history['bob']['email']}").get_data(as_text=True)
    assert history["bob"]["email"] in filtered
    assert history["alice"]["email"] not in filtered
    assert "1 entry" in filtered
    refused = admin.get("/audit?target_id=abc")
    assert refused.status_code == 400 and "target_id" in refused.get_data(as_text=True)
    assert 'href="/audit"' in html  # the nav link admins see


def test_the_page_is_paginated(app, create_user, db_url):
    admin = create_user("admin")
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO audit_log (action, target_type, target_id) "
                     "SELECT 'test.bulk', 'job', n FROM generate_series(1, 120) AS n")
    client = logged_in_client(app, admin)
    first = client.get("/audit?action=test.bulk").get_data(as_text=True)
    assert "Page 1 of 3" in first and "job #120" in first and "job #70" not in first
    last = client.get("/audit?action=test.bulk&page=3").get_data(as_text=True)
    assert "Page 3 of 3" in last and "job #1<" in last
    assert 'rel="prev" href="/audit?page=2&amp;action=test.bulk"' in last
