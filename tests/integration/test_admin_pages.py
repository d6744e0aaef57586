"""The /admin/users and /admin/units pages and a user's API tokens page (SPEC §13):
admins manage every user; a manager the members of the units they manage (404 outside
them, 403 for who sees a unit without managing it); a token is shown once; all audited,
no secret on a page or in the audit log."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.organisation import email_of, set_up_people
from tests.support.web import PageClient, logged_in_client

TOKEN = re.compile(r"cs_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def people(app, tmp_path, create_user):
    return set_up_people(app, tmp_path, create_user)


@pytest.fixture
def page_of(app, people):
    """Factory: page_of("manager") -> that person's logged-in PageClient."""
    return lambda name: PageClient(app, people[name])


def _audit(db_url: str, action: str) -> list[dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM audit_log WHERE action = %s ORDER BY id",
                            (action,)).fetchall()


def _memberships(db_url: str, email: str) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT u.code, m.role FROM memberships m JOIN units u ON u.id = m.unit_id "
            "JOIN users p ON p.id = m.user_id WHERE p.email = %s ORDER BY u.code",
            (email,)).fetchall()


# -- /admin/users -----------------------------------------------------------------------

def test_the_users_page_lists_searches_and_pages(page_of, db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO users (email, name) SELECT 'bulk-' || lpad(n::text, 2, '0')"
                     " || '@example.org', 'Bulk ' || n FROM generate_series(1, 55) n")
    admin = page_of("admin")
    first = admin.get("/admin/users?q=bulk").text
    assert first.count('href="/admin/users/bulk-') == 50
    assert "Page 1 of 2" in first and "bulk-01@example.org" in first
    last = admin.get("/admin/users?q=bulk&page=2").text
    assert last.count('href="/admin/users/bulk-') == 5 and "bulk-55@example.org" in last
    assert 'rel="prev" href="/admin/users?page=1&amp;q=bulk"' in last
    for name, roles in (("lab-member", "viewer of L-101"), ("manager", "manager of I-10")):
        found = admin.get(f"/admin/users?q={name}@").text
        assert roles in found
        assert "pbkdf2:" not in found and "scrypt:" not in found  # no password hash
    # A manager's list: the members of the units they manage, nobody else.
    managed = page_of("manager").get("/admin/users").text
    assert email_of("lab member") in managed and email_of("manager") in managed
    assert email_of("materials member") not in managed and "bulk-01" not in managed
    assert page_of("school editor").get("/admin/users").status_code == 403


def test_an_admin_creates_a_user_and_a_refusal_keeps_the_form(page_of, db_url):
    admin = page_of("admin")
    refused = admin.post("/admin/users", {"email": "not an address", "name": "Kept Name"})
    assert refused.status_code == 422
    assert "email must be an address like name@example.org" in refused.text
    assert 'value="Kept Name"' in refused.text
    created = admin.post("/admin/users", {"email": "Ada@Example.org", "name": "Ada",
                                          "admin": "1"})
    assert created.status_code == 303
    assert created.location == "/admin/users?q=ada@example.org"
    assert "Created ada@example.org" in admin.get(created.location).text
    row = _audit(db_url, "user.created")[-1]
    assert row["details"] == {"email": "ada@example.org", "admin": True, "via": "page"}
    again = admin.post("/admin/users", {"email": "ada@example.org"})
    assert again.status_code == 409 and "already exists" in again.text


def test_a_manager_creates_users_into_the_units_they_manage(page_of, db_url):
    manager = page_of("manager")
    outside = manager.post("/admin/users", {"email": "x@example.org", "unit_code": "I-20",
                                            "role": "editor"})
    assert outside.status_code == 404 and "no unit has the code &#39;I-20&#39;" in outside.text
    assert manager.post("/admin/users", {"email": "x@example.org", "admin": "1"}
                        ).status_code == 403
    assert "x@example.org" not in str(_audit(db_url, "user.created"))
    created = manager.post("/admin/users", {"email": "x@example.org", "name": "X",
                                            "unit_code": "L-101", "role": "editor"})
    assert created.status_code == 303
    assert _memberships(db_url, "x@example.org") == [("L-101", "editor")]
    assert "editor of L-101" in manager.get(created.location).text


def test_the_user_page_gives_and_removes_roles_in_the_managers_units(page_of, db_url):
    manager, lab = page_of("manager"), email_of("lab member")
    page = manager.get(f"/admin/users/{lab}")
    assert page.status_code == 200 and "L-101" in page.text
    assert "Deactivate" not in page.text  # admins only
    assert manager.get(f"/admin/users/{email_of('materials member')}").status_code == 404
    assert page_of("school editor").get(f"/admin/users/{lab}").status_code == 403
    outside = manager.post(f"/admin/users/{lab}/memberships",
                           {"unit_code": "I-20", "role": "viewer"})
    assert outside.status_code == 404 and "no unit has the code" in outside.text
    given = manager.post(f"/admin/users/{lab}/memberships",
                         {"unit_code": "I-10", "role": "editor"})
    assert given.status_code == 303 and given.location == f"/admin/users/{lab}"
    assert _memberships(db_url, lab) == [("I-10", "editor"), ("L-101", "viewer")]
    bad_role = manager.post(f"/admin/users/{lab}/memberships",
                            {"unit_code": "I-10", "role": "owner"})
    assert bad_role.status_code == 422 and "role must be one of" in bad_role.text
    removed = manager.post(f"/admin/units/L-101/members/{lab}/remove", {"back": "user"})
    assert removed.status_code == 303 and removed.location == f"/admin/users/{lab}"
    assert _memberships(db_url, lab) == [("I-10", "editor")]
    assert [row["details"]["unit_code"] for row in _audit(db_url, "member.set")][-1] == "I-10"
    # Their last role in the manager's units gone, they are out of the manager's sight.
    last = manager.post(f"/admin/units/I-10/members/{lab}/remove", {"back": "user"})
    assert last.status_code == 303 and last.location == "/admin/users"
    assert manager.get(f"/admin/users/{lab}").status_code == 404
    assert [row["details"] for row in _audit(db_url, "member.removed")] == [
        {"unit_code": "L-101", "email": lab}, {"unit_code": "I-10", "email": lab}]


def test_an_admin_deactivates_a_user_on_the_page(app, page_of, people, db_url):
    lab = people["lab member"]
    session = logged_in_client(app, lab)
    assert page_of("manager").post(f"/admin/users/{lab['email']}/deactivate"
                                   ).status_code == 403
    admin = page_of("admin")
    assert "Deactivate" in admin.get(f"/admin/users/{lab['email']}").text
    done = admin.post(f"/admin/users/{lab['email']}/deactivate")
    assert done.status_code == 303
    after = admin.get(done.location).text
    assert "is deactivated" in after and "Deactivated" in after
    assert session.get("/").status_code == 302
    assert _audit(db_url, "user.deactivated")[-1]["details"] == {
        "email": lab["email"], "via": "page"}
    no_token = admin.post(f"/users/{lab['email']}/tokens", {"name": "late"})
    assert no_token.status_code == 409 and "is deactivated" in no_token.text


# -- API tokens -------------------------------------------------------------------------

def test_a_new_token_is_shown_once_and_revoking_it_ends_it(app, page_of, people, db_url):
    me = page_of("plain")
    email = people["plain"]["email"]
    nameless = me.post(f"/users/{email}/tokens", {"name": " "})
    assert nameless.status_code == 422 and "the token needs a name" in nameless.text
    created = me.post(f"/users/{email}/tokens", {"name": "nightly export"})
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    shown = TOKEN.findall(created.text)
    assert len(shown) == 1
    clear = shown[0]
    again = me.get(f"/users/{email}/tokens")
    assert "nightly export" in again.text and clear not in again.text
    assert not TOKEN.search(again.text)
    bearer = {"Authorization": f"Bearer {clear}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).get_json()["email"] == email
    with psycopg.connect(db_url) as conn:
        (token_id,) = conn.execute("SELECT id FROM api_tokens WHERE name = 'nightly export'"
                                   ).fetchone()
        assert clear not in str(conn.execute("SELECT * FROM api_tokens").fetchall())
    revoked = me.post(f"/users/{email}/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    assert "is revoked" in me.get(revoked.location).text
    refused = app.test_client().get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "this API token was revoked"
    assert [row["target_id"] for row in _audit(db_url, "token.created")
            + _audit(db_url, "token.revoked")] == [token_id, token_id]
    assert _audit(db_url, "token.created")[0]["details"] == {
        "email": email, "name": "nightly export", "via": "page"}
    with psycopg.connect(db_url) as conn:
        assert clear not in str(conn.execute("SELECT * FROM audit_log").fetchall())


def test_tokens_are_their_owners_and_the_admins_alone(app, page_of, people, db_url):
    lab = email_of("lab member")
    # Not even the manager of the lab: a token acts with all its owner's roles.
    refused = page_of("manager").get(f"/users/{lab}/tokens")
    assert refused.status_code == 403
    assert "managing API tokens needs an admin, or to be" in refused.text
    assert page_of("manager").get("/users/ghost@example.org/tokens").status_code == 403
    admin = page_of("admin")
    assert admin.get("/users/ghost@example.org/tokens").status_code == 404
    created = admin.post(f"/users/{lab}/tokens", {"name": "for the lab"})
    clear = TOKEN.search(created.text).group()
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    assert me.get_json()["email"] == lab
    # Another user's token id under one's own address is no token of one's own.
    with psycopg.connect(db_url) as conn:
        (token_id,) = conn.execute("SELECT id FROM api_tokens WHERE name = 'for the lab'"
                                   ).fetchone()
    plain = people["plain"]["email"]
    assert page_of("plain").post(f"/users/{plain}/tokens/{token_id}/revoke"
                                 ).status_code == 404


# -- /admin/units -----------------------------------------------------------------------

def test_the_units_page_shows_the_tree_as_the_caller_sees_it(page_of):
    admin = page_of("admin")
    top = admin.get("/admin/units").text
    assert 'id="unit-S-1"' in top and 'id="unit-F0892"' in top
    assert 'id="unit-I-10"' not in top
    school = admin.get("/admin/units?parent=S-1").text
    assert 'id="unit-I-10"' in school and 'id="unit-I-20"' in school
    assert "Units in S-1" in school
    manager = page_of("manager")
    mine = manager.get("/admin/units").text
    assert 'id="unit-I-10"' in mine and 'id="unit-S-1"' not in mine
    assert 'href="/admin/units/I-10/members"' in mine
    found = manager.get("/admin/units?q=glac").text
    assert 'id="unit-L-101"' in found and 'id="unit-I-10"' not in found
    assert manager.get("/admin/units?parent=S-1").status_code == 404
    assert page_of("school editor").get("/admin/units").status_code == 403


def test_a_manager_manages_members_within_their_subtree_only(page_of, db_url):
    manager, plain = page_of("manager"), email_of("plain")
    listed = manager.get("/admin/units/L-101/members")
    assert listed.status_code == 200 and email_of("lab member") in listed.text
    for outside in ("I-20", "S-1", "F0892"):  # beside, above, another school
        assert manager.get(f"/admin/units/{outside}/members").status_code == 404
        assert manager.post(f"/admin/units/{outside}/members",
                            {"email": plain, "role": "viewer"}).status_code == 404
    editor = page_of("school editor")  # sees the lab, manages nothing
    assert editor.get("/admin/units/L-101/members").status_code == 403
    assert editor.post("/admin/units/L-101/members",
                       {"email": plain, "role": "viewer"}).status_code == 403
    assert editor.post(f"/admin/units/L-101/members/{email_of('lab member')}/remove"
                       ).status_code == 403
    assert _memberships(db_url, plain) == []

    added = manager.post("/admin/units/L-101/members", {"email": plain, "role": "editor"})
    assert added.status_code == 303 and added.location == "/admin/units/L-101/members"
    assert f"{plain} is editor of L-101" in manager.get(added.location).text
    changed = manager.post("/admin/units/L-101/members", {"email": plain, "role": "manager"})
    assert changed.status_code == 303
    assert _memberships(db_url, plain) == [("L-101", "manager")]
    unknown = manager.post("/admin/units/L-101/members",
                           {"email": "ghost@example.org", "role": "viewer"})
    assert unknown.status_code == 404 and 'value="ghost@example.org"' in unknown.text
    removed = manager.post(f"/admin/units/L-101/members/{plain}/remove")
    assert removed.status_code == 303
    assert _memberships(db_url, plain) == []
    assert [row["details"]["role"] for row in _audit(db_url, "member.set")][-2:] == [
        "editor", "manager"]
    assert _audit(db_url, "member.removed")[-1]["details"] == {"unit_code": "L-101",
                                                               "email": plain}


def test_an_admin_imports_units_from_the_page_as_a_job(app, create_user, worker, db_url):
    import io

    admin = PageClient(app, create_user("admin"))
    page = admin.get("/admin/units").get_data(as_text=True)
    assert 'action="/admin/units/import"' in page
    sent = admin.post("/admin/units/import", data={
        "file": (io.BytesIO(b"code,name,parent_code,active\nZ-1,Zoology,,yes\n"
                            b"Z-2,Zoo lab,Z-1,yes\n"), "units.csv"), "on_error": "abort"},
        content_type="multipart/form-data")
    assert sent.status_code == 303
    job_id = int(re.search(r"/jobs/(\d+)$", sent.location).group(1))
    with psycopg.connect(db_url) as conn:
        def done():
            return conn.execute("SELECT status FROM data_ingestion_jobs WHERE id = %s",
                                (job_id,)).fetchone()[0] in ("completed", "failed")
        from tests.support.polling import wait_for
        wait_for(done, 30, f"units job {job_id}")
        assert conn.execute("SELECT status, target_type FROM data_ingestion_jobs "
                            "WHERE id = %s", (job_id,)).fetchone() == ("completed", "units")
        assert {r[0] for r in conn.execute("SELECT code FROM units")} >= {"Z-1", "Z-2"}
    assert f"/jobs/{job_id}" in admin.get("/admin/units").get_data(as_text=True)
    empty = admin.post("/admin/units/import", data={}, content_type="multipart/form-data")
    assert empty.status_code == 303
    assert "Choose a units CSV file" in admin.get("/admin/units").get_data(as_text=True)
    manager = PageClient(app, create_user("manager"))  # of F0892: no import form, 403
    assert 'action="/admin/units/import"' not in manager.get("/admin/units").text
    refused = manager.post("/admin/units/import", data={
        "file": (io.BytesIO(b"code,name,parent_code,active\n"), "units.csv")},
        content_type="multipart/form-data")
    assert refused.status_code == 403
